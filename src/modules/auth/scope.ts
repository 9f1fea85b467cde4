import { AppError } from '../../shared/errors.js';
import { DISTRICT_ROLES, ROLE_LABELS, type UserRole } from './roles.js';

/** The signed-in user that every module reads from `request.user`. */
export interface AuthUser {
  id: string;
  username: string;
  displayName: string;
  role: UserRole;
  /** Null only for district admins. */
  schoolId: string | null;
  /** Set for head teachers: the one class they see and change. */
  classId: string | null;
  personId: string | null;
  /** The session this request came with. */
  sessionId: string;
}

type ScopedUser = Pick<AuthUser, 'role' | 'schoolId' | 'classId'>;

export interface SchoolScopeOptions {
  /**
   * Let a head teacher of this school through. The caller then owes the class filter:
   * list only `classScopeOf(user)` when it is set. Without this option a head teacher is
   * rejected, so a school-wide route cannot leak other classes by forgetting the filter.
   */
  allowClassScoped?: boolean;
}

/**
 * Explain why a user may not act on another school, naming the user's role as assertRole
 * does. A district role such as the task force has no school, and a school role has its own.
 */
function otherSchoolDetail(user: ScopedUser): string {
  const role = `您的账号角色是“${ROLE_LABELS[user.role]}”`;
  if (user.schoolId === null) return `${role}，不属于任何学校，不能查看或操作学校的数据。请换用该校的账号登录，或联系区级管理员`;
  return `${role}，只能查看和操作本校的数据。请换用该校的账号登录`;
}

/**
 * Throw FORBIDDEN unless the user may act on the school: the district on every school,
 * a school role on its own school only.
 */
export function assertSchoolScope(user: ScopedUser, schoolId: string, options: SchoolScopeOptions = {}): void {
  if (user.role === 'district_admin') return;

  if (user.schoolId !== schoolId) {
    throw new AppError('FORBIDDEN', { detail: otherSchoolDetail(user) });
  }
  if (user.role === 'head_teacher' && !options.allowClassScoped) {
    throw new AppError('FORBIDDEN', { detail: '班主任只能查看和操作本班的数据' });
  }
  if (user.role === 'head_teacher' && !user.classId) {
    throw new AppError('FORBIDDEN', { detail: '班主任账号未关联班级，请联系管理员设置' });
  }
}

/**
 * Throw FORBIDDEN unless the user may act on the class `classId` of school `schoolId`:
 * the district on every class, a school role on the classes of its school, a head
 * teacher on their own class only.
 */
export function assertClassScope(user: ScopedUser, classId: string, schoolId: string): void {
  if (user.role === 'district_admin') return;

  if (user.schoolId !== schoolId) {
    throw new AppError('FORBIDDEN', { detail: otherSchoolDetail(user) });
  }
  if (user.role === 'head_teacher' && user.classId !== classId) {
    throw new AppError('FORBIDDEN', { detail: '班主任只能查看和操作本班的数据' });
  }
}

/** The class a user's lists must be narrowed to, or undefined when they see the whole school (or more). */
export function classScopeOf(user: ScopedUser): string | undefined {
  return user.role === 'head_teacher' ? (user.classId ?? undefined) : undefined;
}

/**
 * The class a list request is narrowed to: the head teacher's own class, or `requested`
 * for roles that see the whole school. A head teacher naming another class gets
 * FORBIDDEN rather than their own class's rows, so the refusal is visible and logged.
 */
export function listClassScope(user: ScopedUser, requested: string | undefined): string | undefined {
  const own = classScopeOf(user);
  if (own !== undefined && requested !== undefined && requested !== own) {
    throw new AppError('FORBIDDEN', { detail: '班主任只能查看和操作本班的数据' });
  }
  return own ?? requested;
}

/**
 * Whom a user asks for access to an action of `roles`: the school admin when a school
 * role is allowed (a school admin creates those accounts), otherwise the district admin.
 * Undefined for an admin who could create such an account.
 */
function accessContact(role: UserRole, roles: readonly UserRole[]): string | undefined {
  const schoolRoleAllowed = roles.some((allowed) => !DISTRICT_ROLES.includes(allowed));
  if (role === 'district_admin' || (role === 'school_admin' && schoolRoleAllowed)) return undefined;
  if (schoolRoleAllowed && !DISTRICT_ROLES.includes(role)) return '本校的学校管理员';
  return '区级管理员';
}

/**
 * Throw FORBIDDEN unless the user's role is one of `roles`, naming the user's role, the
 * roles allowed and whom to ask.
 */
export function assertRole(user: Pick<AuthUser, 'role'>, roles: readonly UserRole[]): void {
  if (roles.includes(user.role)) return;

  const allowed = roles.map((role) => ROLE_LABELS[role]).join('、');
  const contact = accessContact(user.role, roles);
  const advice = contact ? `请换用有权限的账号登录，或联系${contact}` : '请换用有权限的账号登录';
  throw new AppError('FORBIDDEN', { detail: `您的账号角色是“${ROLE_LABELS[user.role]}”，此操作只有${allowed}可以执行。${advice}` });
}
