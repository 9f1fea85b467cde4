// The web console imports this file into its bundle, so it imports only types.
import type { UserRole } from '../../db/schema.js';

export type { UserRole };

export const USER_ROLES: readonly UserRole[] = ['district_admin', 'school_admin', 'head_teacher', 'teacher', 'school_doctor', 'guard', 'task_force'];

/** Role names as users see them. */
export const ROLE_LABELS: Record<UserRole, string> = {
  district_admin: '区级管理员',
  school_admin: '学校管理员',
  head_teacher: '班主任',
  teacher: '教师',
  school_doctor: '校医',
  guard: '门卫',
  task_force: '疫情防控专班',
};

/** Roles that may read the audit log and manage accounts (each within its scope). */
export const ADMIN_ROLES: readonly UserRole[] = ['district_admin', 'school_admin'];

/** List roles for a message as key and Chinese name, such as "guard（门卫）、teacher（教师）", since API and CLI callers send the key. */
export function describeRoles(roles: readonly UserRole[] = USER_ROLES): string {
  return roles.map((role) => `${role}（${ROLE_LABELS[role]}）`).join('、');
}

export function isUserRole(value: string): value is UserRole {
  return (USER_ROLES as readonly string[]).includes(value);
}

/** Roles that belong to the district, not to one school: their accounts have no school. */
export const DISTRICT_ROLES: readonly UserRole[] = ['district_admin', 'task_force'];

/** Roles a creator may hand out: a district admin any role, a school admin only roles inside a school. */
export function rolesGrantableBy(role: UserRole): UserRole[] {
  if (role === 'district_admin') return [...USER_ROLES];
  if (role === 'school_admin') return USER_ROLES.filter((r) => !DISTRICT_ROLES.includes(r));
  return [];
}
