import { sql } from 'kysely';
import type { AppContext } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { formatLocalDateTime } from '../../shared/time.js';
import { USERNAME_CASE_INDEX } from '../../db/migrations/2026120550-username-case.js';
import { className as classNameOf, describeSchoolClasses } from '../people/class-name.js';
import { ensureClass, getSchoolByCodeOrThrow, listClasses } from '../people/service.js';
import { audit } from './audit.js';
import { parseClassName } from './class-ref.js';
import { assertPasswordAcceptable, getDecoyHash, hashPassword, needsRehash, verifyPassword } from './password.js';
import { DISTRICT_ROLES, ROLE_LABELS, describeRoles, isUserRole, rolesGrantableBy, type UserRole } from './roles.js';
import type { AuthUser } from './scope.js';
import { assertRole, assertSchoolScope } from './scope.js';
import {
  LOCKOUT_MS,
  LOCKOUT_THRESHOLD,
  SESSION_IDLE_MS,
  SESSION_MAX_AGE_MS,
  newSessionToken,
  sessionIdOf,
  sessionState,
  shouldTouch,
} from './session-rules.js';
import * as store from './store.js';

/** A user as the API returns it: no hash, no counters. */
export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
  role: UserRole;
  roleLabel: string;
  schoolId: string | null;
  schoolCode: string | null;
  schoolName: string | null;
  classId: string | null;
  className: string | null;
  personId: string | null;
  lockedUntil: number | null;
  createdAt: number;
  passwordChangedAt: number;
}

export function toPublicUser(row: store.UserProfileRow): PublicUser {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    roleLabel: ROLE_LABELS[row.role],
    schoolId: row.school_id,
    schoolCode: row.school_code,
    schoolName: row.school_name,
    classId: row.class_id,
    className: row.class_name,
    personId: row.person_id,
    lockedUntil: row.locked_until,
    createdAt: row.created_at,
    passwordChangedAt: row.password_changed_at,
  };
}

export function toAuthUser(row: store.UserRow, sessionId: string): AuthUser {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    schoolId: row.school_id,
    classId: row.class_id,
    personId: row.person_id,
    sessionId,
  };
}

async function getProfileOrThrow(ctx: AppContext, id: string): Promise<PublicUser> {
  const row = await store.findUserProfile(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', { what: '用户', value: id });
  return toPublicUser(row);
}

export interface NewUser {
  username: string;
  displayName?: string;
  role: string;
  /** School code; required for every role but district_admin. */
  schoolCode?: string;
  /** Class name such as 二(3)班; required for head teachers. */
  className?: string;
  /** Create the head teacher's class when the school lacks it; otherwise such an account is rejected. */
  createClass?: boolean;
  personId?: string | null;
  password: string;
}

/** The step that creates a missing class from the console or the API. The command line passes its --create-class step instead. */
export const CREATE_CLASS_HINT_CONSOLE = '勾选“自动新建班级”（接口字段 createClass 设为 true）后重新创建';

export interface CreateUserOptions {
  /** The step that creates a missing class, named in the rejection message. CREATE_CLASS_HINT_CONSOLE by default. */
  createClassHint?: string;
}

const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;

function assertUsernameValid(username: string): void {
  if (!USERNAME_PATTERN.test(username)) {
    throw new AppError('VALIDATION', { detail: `用户名“${username}”无效：只能包含字母、数字、下划线、点和连字符，长度 3-32` });
  }
}

interface Placement {
  schoolId: string | null;
  /** The existing class of a head teacher. */
  classId: string | null;
  /** The class to create for a head teacher, when `createClass` was set and the school lacks it. */
  newClass: { grade: number; number: number } | null;
}

/**
 * Check the role and find the school and class the new account is tied to. A head
 * teacher's class must exist unless `createClass` is set, so a typo such as 二(13)班 for
 * 二(3)班 does not add a class to the school. An admin's scope is checked before the
 * school's classes are read.
 */
async function resolvePlacement(ctx: AppContext, input: NewUser, role: UserRole, actor: AuthUser | null, createClassHint: string): Promise<Placement> {
  if (DISTRICT_ROLES.includes(role)) {
    if (input.schoolCode) throw new AppError('VALIDATION', { detail: `${ROLE_LABELS[role]}不属于某个学校，请去掉学校代码` });
    return { schoolId: null, classId: null, newClass: null };
  }
  if (!input.schoolCode) {
    throw new AppError('VALIDATION', { detail: `角色“${ROLE_LABELS[role]}”需要指定学校代码` });
  }
  const school = await getSchoolByCodeOrThrow(ctx, input.schoolCode);
  if (actor) assertSchoolScope(actor, school.id);
  if (role !== 'head_teacher') {
    if (input.className) throw new AppError('VALIDATION', { detail: `只有班主任需要指定班级，角色“${ROLE_LABELS[role]}”请去掉班级` });
    return { schoolId: school.id, classId: null, newClass: null };
  }

  if (!input.className) throw new AppError('VALIDATION', { detail: '班主任需要指定班级，例如 二(3)班' });
  const parsed = parseClassName(input.className);
  if (!parsed) throw new AppError('VALIDATION', { detail: `班级“${input.className}”格式不正确，应为 年级(班号)班，例如 二(3)班` });
  const classes = await listClasses(ctx, school.id);
  const existing = classes.find((c) => c.grade === parsed.grade && c.number === parsed.number);
  if (existing) return { schoolId: school.id, classId: existing.id, newClass: null };
  if (input.createClass) return { schoolId: school.id, classId: null, newClass: parsed };

  const name = classNameOf(parsed.grade, parsed.number);
  const written = input.className.trim() === name ? `“${name}”` : `“${input.className.trim()}”（即${name}）`;
  const listed = classes.length === 0 ? '本校还没有任何班级' : `本校现有：${describeSchoolClasses(classes, school.code)}`;
  throw new AppError('VALIDATION', { detail: `${school.name}没有班级${written}，请检查班级名称，或${createClassHint}（${listed}）` });
}

/** A new account, with what the admin should know about it. */
export interface CreatedUser extends PublicUser {
  /** Chinese text for the admin, such as the class already having a head teacher; null when there is none. */
  warning: string | null;
}

/**
 * Create an account. `actor` is the admin creating it, or null for the command line
 * and first-run setup, which may create any role. Usernames are unique without regard
 * to case. A second head teacher of a class is created with a warning naming the first.
 */
export async function createUser(ctx: AppContext, input: NewUser, actor: AuthUser | null, ip?: string, options: CreateUserOptions = {}): Promise<CreatedUser> {
  const username = input.username.trim();
  assertUsernameValid(username);
  if (!isUserRole(input.role)) {
    throw new AppError('VALIDATION', { detail: `角色“${input.role}”无效，可选：${describeRoles()}` });
  }
  const role = input.role;
  if (actor && !rolesGrantableBy(actor.role).includes(role)) {
    throw new AppError('FORBIDDEN', { detail: `当前角色不能创建“${ROLE_LABELS[role]}”账号` });
  }
  assertPasswordAcceptable(input.password, '初始密码');

  const placement = await resolvePlacement(ctx, input, role, actor, options.createClassHint ?? CREATE_CLASS_HINT_CONSOLE);
  const taken = await store.findUserByUsername(ctx.db, username);
  if (taken) {
    const detail =
      taken.username === username
        ? `用户名 ${username} 已存在，请换一个`
        : `用户名 ${username} 与已有账号 ${taken.username} 只有大小写不同；用户名不区分大小写，请换一个`;
    throw new AppError('CONFLICT', { detail });
  }
  const otherHeadTeachers = placement.classId ? await store.listHeadTeachersOfClass(ctx.db, placement.classId) : [];

  const now = ctx.now();
  const row: store.UserRow = {
    id: newId(now),
    username,
    display_name: input.displayName?.trim() || username,
    password_hash: await hashPassword(input.password),
    role,
    school_id: placement.schoolId,
    class_id: placement.classId,
    person_id: input.personId ?? null,
    failed_attempts: 0,
    locked_until: null,
    created_at: now,
    password_changed_at: now,
  };
  let createdClass: string | null = null;
  await ctx.db.transaction().execute(async (trx) => {
    // The class is created with the account, so a rejected account leaves no class behind.
    if (placement.newClass) {
      const klass = await ensureClass({ ...ctx, db: trx }, placement.schoolId!, placement.newClass.grade, placement.newClass.number);
      row.class_id = klass.id;
      createdClass = klass.name;
    }
    await store.insertUser(trx, row);
    await audit(ctx, actor, 'user.create', username, { role, schoolId: row.school_id, classId: row.class_id, createdClass }, { db: trx, ip, schoolId: row.school_id });
  });
  ctx.log.info({ userId: row.id, role, by: actor?.id ?? 'cli', createdClass }, 'user created');
  const profile = await getProfileOrThrow(ctx, row.id);
  return { ...profile, warning: describeOtherHeadTeachers(profile.className, otherHeadTeachers) };
}

/** Describe, for the admin, that a class now has more than one head teacher, naming the others. Returns null when it has one. */
function describeOtherHeadTeachers(className: string | null, others: Array<{ username: string; display_name: string }>): string | null {
  if (others.length === 0) return null;
  const names = others.map((other) => (other.display_name === other.username ? other.username : `${other.display_name}（${other.username}）`)).join('、');
  return `${className ?? '该班'}已有班主任 ${names}，现在该班有 ${others.length + 1} 位班主任；如需更换班主任，请处理原账号`;
}

/**
 * Add the unique index on lower(username) that the username-case migration leaves out
 * while two accounts differ only in case, or warn about each such pair. Runs at every start.
 */
export async function ensureUsernameCaseIndex(ctx: Pick<AppContext, 'db' | 'log'>): Promise<void> {
  const clashes = await store.listUsernameCaseClashes(ctx.db);
  if (clashes.length > 0) {
    ctx.log.warn(
      { clashes },
      'accounts whose usernames differ only in case; sign-in with another spelling matches none of them, and the unique index on lower(username) is missing until one of each group is renamed',
    );
    return;
  }
  await sql`create unique index if not exists ${sql.ref(USERNAME_CASE_INDEX)} on users (lower(username))`.execute(ctx.db);
}

/** True while no account exists, which is the only time first-run setup works. */
export async function isSetupNeeded(ctx: AppContext): Promise<boolean> {
  return (await store.countUsers(ctx.db)) === 0;
}

/**
 * Create the first district admin. It works only while the users table is empty. The
 * check and the insert run in one transaction that locks the table on PostgreSQL, so
 * two concurrent setups cannot both succeed.
 */
export async function setupFirstAdmin(
  ctx: AppContext,
  input: { username: string; displayName?: string; password: string },
  ip?: string,
): Promise<PublicUser> {
  const username = input.username.trim();
  assertUsernameValid(username);
  assertPasswordAcceptable(input.password);
  const passwordHash = await hashPassword(input.password);

  const now = ctx.now();
  const id = newId(now);
  await ctx.db.transaction().execute(async (trx) => {
    if (ctx.dialect === 'postgres') await sql`lock table users in share row exclusive mode`.execute(trx);
    if ((await store.countUsers(trx)) > 0) {
      throw new AppError('CONFLICT', { detail: '系统已经初始化，请用已有账号登录' });
    }
    await store.insertUser(trx, {
      id,
      username,
      display_name: input.displayName?.trim() || username,
      password_hash: passwordHash,
      role: 'district_admin',
      school_id: null,
      class_id: null,
      person_id: null,
      failed_attempts: 0,
      locked_until: null,
      created_at: now,
      password_changed_at: now,
    });
    await audit(ctx, { id, username, schoolId: null }, 'auth.setup', username, {}, { db: trx, ip });
  });
  ctx.log.info({ userId: id }, 'first admin created');
  return getProfileOrThrow(ctx, id);
}

export interface LoginInput {
  username: string;
  password: string;
  ip?: string;
  userAgent?: string;
}

export interface LoginResult {
  /** Cookie value; only its hash is stored. */
  token: string;
  user: PublicUser;
}

/**
 * Check a password and open a session. A wrong password and an unknown username give
 * the same error after the same amount of hashing. The fifth failure in a row locks
 * the account for 15 minutes, and a locked account is rejected before its password is
 * checked.
 */
export async function login(ctx: AppContext, input: LoginInput): Promise<LoginResult> {
  const username = input.username.trim();
  const user = await store.findUserByUsername(ctx.db, username);
  if (!user) {
    await verifyPassword(input.password, await getDecoyHash());
    await audit(ctx, null, 'auth.login_failed', username, { reason: 'unknown_user' }, { ip: input.ip });
    // An unknown name locks like a real account, so the lock reveals no account.
    const lockedUntil = countUnknownUserFailure(ctx, username);
    if (lockedUntil !== null) throw new AppError('ACCOUNT_LOCKED', { until: formatLocalDateTime(lockedUntil) });
    throw new AppError('LOGIN_FAILED');
  }

  const now = ctx.now();
  if (user.locked_until !== null && user.locked_until > now) {
    await audit(ctx, toActor(user), 'auth.login_failed', username, { reason: 'locked' }, { ip: input.ip });
    throw new AppError('ACCOUNT_LOCKED', { until: formatLocalDateTime(user.locked_until) });
  }

  if (!(await verifyPassword(input.password, user.password_hash))) {
    await recordFailedLogin(ctx, user, input.ip);
  }

  const changes: Partial<store.UserRow> = { failed_attempts: 0, locked_until: null };
  if (needsRehash(user.password_hash)) changes.password_hash = await hashPassword(input.password);
  const { token, id: sessionId } = newSessionToken();
  await ctx.db.transaction().execute(async (trx) => {
    await store.updateUser(trx, user.id, changes);
    await store.insertSession(trx, {
      id: sessionId,
      user_id: user.id,
      created_at: now,
      last_seen_at: now,
      ip: input.ip ?? null,
      user_agent: input.userAgent?.slice(0, 300) ?? null,
    });
    await audit(ctx, toActor(user), 'auth.login', username, {}, { db: trx, ip: input.ip });
  });
  ctx.log.info({ userId: user.id }, 'user signed in');
  return { token, user: await getProfileOrThrow(ctx, user.id) };
}

/** Failed sign-ins of unknown user names, per database, in this process. */
const unknownUserFailures = new WeakMap<object, Map<string, { failures: number; lockedUntil: number | null }>>();
/** Names tracked at most; the oldest is dropped first, so a flood of names cannot grow memory. */
const MAX_TRACKED_UNKNOWN_USERS = 10_000;

/**
 * Count a failed sign-in of a name no account has, with the threshold and lock time of
 * real accounts, and return the instant the name is locked until (null while not locked).
 * NOTE: the count lives in this process; with several server processes an unknown name
 * locks a little later than a real one.
 */
function countUnknownUserFailure(ctx: AppContext, username: string): number | null {
  let failures = unknownUserFailures.get(ctx.db);
  if (!failures) {
    failures = new Map();
    unknownUserFailures.set(ctx.db, failures);
  }
  const key = username.toLowerCase();
  const now = ctx.now();
  const entry = failures.get(key) ?? { failures: 0, lockedUntil: null };
  if (entry.lockedUntil !== null && entry.lockedUntil > now) return entry.lockedUntil;
  if (entry.lockedUntil !== null) {
    entry.failures = 0;
    entry.lockedUntil = null;
  }

  entry.failures += 1;
  if (entry.failures >= LOCKOUT_THRESHOLD) {
    entry.failures = 0;
    entry.lockedUntil = now + LOCKOUT_MS;
  }
  failures.delete(key);
  failures.set(key, entry);
  if (failures.size > MAX_TRACKED_UNKNOWN_USERS) failures.delete(failures.keys().next().value!);
  return entry.lockedUntil;
}

function toActor(user: store.UserRow) {
  return { id: user.id, username: user.username, schoolId: user.school_id };
}

/** Count a wrong password, lock the account on the fifth in a row, and throw the error to show. */
async function recordFailedLogin(ctx: AppContext, user: store.UserRow, ip: string | undefined): Promise<never> {
  const failures = await store.incrementFailedAttempts(ctx.db, user.id);
  if (failures < LOCKOUT_THRESHOLD) {
    await audit(ctx, toActor(user), 'auth.login_failed', user.username, { reason: 'wrong_password', failures }, { ip });
    throw new AppError('LOGIN_FAILED');
  }

  const lockedUntil = ctx.now() + LOCKOUT_MS;
  await store.updateUser(ctx.db, user.id, { failed_attempts: 0, locked_until: lockedUntil });
  await audit(ctx, toActor(user), 'auth.locked', user.username, { failures, lockedUntil }, { ip });
  ctx.log.warn({ userId: user.id, lockedUntil }, 'account locked after failed sign-ins');
  throw new AppError('ACCOUNT_LOCKED', { until: formatLocalDateTime(lockedUntil) });
}

export type SessionLookup =
  | { user: AuthUser; token: string }
  | { problem: 'unknown' | 'idle' | 'expired' };

/**
 * Find the user of a cookie token. An idle or too old session is deleted and reported
 * as such; an active one has last_seen_at moved forward (at most once a minute).
 */
export async function resolveSession(ctx: AppContext, token: string): Promise<SessionLookup> {
  const id = sessionIdOf(token);
  const session = await store.findSession(ctx.db, id);
  if (!session) return { problem: 'unknown' };

  const now = ctx.now();
  const state = sessionState(session, now);
  if (state !== 'active') {
    await store.deleteSession(ctx.db, id);
    return { problem: state };
  }

  const user = await store.findUserById(ctx.db, session.user_id);
  if (!user) {
    await store.deleteSession(ctx.db, id);
    return { problem: 'unknown' };
  }
  if (shouldTouch(session.last_seen_at, now)) await store.touchSession(ctx.db, id, now);
  return { user: toAuthUser(user, id), token };
}

export async function logout(ctx: AppContext, user: AuthUser, ip?: string): Promise<void> {
  await store.deleteSession(ctx.db, user.sessionId);
  await audit(ctx, user, 'auth.logout', user.username, {}, { ip });
}

export async function getCurrentUser(ctx: AppContext, user: AuthUser): Promise<PublicUser> {
  return getProfileOrThrow(ctx, user.id);
}

/**
 * Change the signed-in user's password after checking the old one. Every other session
 * of the user ends, so a stolen cookie stops working.
 */
export async function changePassword(ctx: AppContext, user: AuthUser, oldPassword: string, newPassword: string, ip?: string): Promise<void> {
  const row = await store.findUserById(ctx.db, user.id);
  if (!row) throw new AppError('UNAUTHORIZED', { detail: '账号不存在，请重新登录' });
  if (!(await verifyPassword(oldPassword, row.password_hash))) {
    await audit(ctx, user, 'auth.password_change_failed', user.username, {}, { ip });
    throw new AppError('VALIDATION', { detail: '原密码不正确' });
  }
  assertPasswordAcceptable(newPassword);
  if (newPassword === oldPassword) throw new AppError('VALIDATION', { detail: '新密码不能与原密码相同' });

  const passwordHash = await hashPassword(newPassword);
  await ctx.db.transaction().execute(async (trx) => {
    await store.updateUser(trx, user.id, { password_hash: passwordHash, password_changed_at: ctx.now() });
    const ended = await store.deleteOtherSessions(trx, user.id, user.sessionId);
    await audit(ctx, user, 'auth.password_change', user.username, { endedSessions: ended }, { db: trx, ip });
  });
}

/** Accounts an admin may see: all for the district, the school's own for a school admin. */
export async function listUsers(ctx: AppContext, actor: AuthUser): Promise<PublicUser[]> {
  assertRole(actor, ['district_admin', 'school_admin']);
  const schoolId = actor.role === 'district_admin' ? undefined : (actor.schoolId ?? '');
  return (await store.listUserProfiles(ctx.db, schoolId)).map(toPublicUser);
}

/** Lift a lockout before it runs out, for an admin whose scope covers the account. */
export async function unlockUser(ctx: AppContext, actor: AuthUser, userId: string, ip?: string): Promise<PublicUser> {
  assertRole(actor, ['district_admin', 'school_admin']);
  const target = await store.findUserById(ctx.db, userId);
  if (!target) throw new AppError('NOT_FOUND', { what: '用户', value: userId });
  if (actor.role !== 'district_admin') {
    if (!target.school_id) throw new AppError('FORBIDDEN', { detail: '不能解锁区级账号' });
    assertSchoolScope(actor, target.school_id);
  }
  await store.updateUser(ctx.db, userId, { failed_attempts: 0, locked_until: null });
  await audit(ctx, actor, 'user.unlock', target.username, {}, { ip, schoolId: target.school_id });
  return getProfileOrThrow(ctx, userId);
}

/** Delete sessions past their idle timeout or maximum age; returns how many. */
export async function purgeStaleSessions(ctx: AppContext): Promise<number> {
  const now = ctx.now();
  return store.deleteStaleSessions(ctx.db, now - SESSION_IDLE_MS, now - SESSION_MAX_AGE_MS);
}
