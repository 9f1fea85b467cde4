/**
 * Public surface of auth for other modules: the signed-in user on `request.user`, the
 * checks that reject a request outside the user's scope, and the audit log.
 *
 * @example
 *   const user = requireUser(request, { roles: ['school_admin', 'district_admin'] });
 *   assertSchoolScope(user, school.id);
 *   await auditRequest(ctx, request, 'person.view', person.id, {}, { schoolId: school.id });
 */
export { requireUser, type RequireUserOptions } from './plugin.js';
export { assertClassScope, assertRole, assertSchoolScope, classScopeOf, listClassScope, type AuthUser, type SchoolScopeOptions } from './scope.js';
export { audit, auditRequest, type AuditActor } from './audit.js';
export { ROLE_LABELS, USER_ROLES, type UserRole } from './roles.js';
