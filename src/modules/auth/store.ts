import type { Kysely, Transaction } from 'kysely';
import type { AuditLogTable, Database, SessionTable, UserTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type UserRow = UserTable;
export type SessionRow = SessionTable;
export type AuditRow = AuditLogTable;

/** A user with the names of their school and class, for screens. */
export interface UserProfileRow extends UserRow {
  school_code: string | null;
  school_name: string | null;
  class_name: string | null;
}

export async function countUsers(db: Executor): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Find the account a typed username names, without regard to case (usernames are ASCII,
 * which SQLite's and PostgreSQL's lower() both fold). An exact match wins. Accounts that
 * differ only in case can remain from before the unique index on lower(username). For
 * them any other spelling matches none, so undefined is returned.
 */
export async function findUserByUsername(db: Executor, username: string): Promise<UserRow | undefined> {
  const rows = await db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', [eb.ref('username')]), '=', username.toLowerCase()))
    .execute();
  const exact = rows.find((row) => row.username === username);
  if (exact) return exact;
  return rows.length === 1 ? rows[0] : undefined;
}

/** Usernames shared by more than one account when case is ignored, each group sorted by code unit. */
export async function listUsernameCaseClashes(db: Executor): Promise<string[][]> {
  const rows = await db.selectFrom('users').select('username').execute();
  const groups = new Map<string, string[]>();
  for (const { username } of rows) {
    const key = username.toLowerCase();
    groups.set(key, [...(groups.get(key) ?? []), username]);
  }
  return [...groups.values()].filter((group) => group.length > 1).map((group) => group.sort());
}

/** List the head teachers tied to a class, oldest account first, to name them when another is added. */
export async function listHeadTeachersOfClass(db: Executor, classId: string): Promise<Array<Pick<UserRow, 'username' | 'display_name'>>> {
  return db.selectFrom('users').select(['username', 'display_name']).where('class_id', '=', classId).where('role', '=', 'head_teacher').orderBy('created_at').orderBy('username').execute();
}

export async function findUserById(db: Executor, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertUser(db: Executor, row: UserRow): Promise<void> {
  await db.insertInto('users').values(row).execute();
}

export async function updateUser(db: Executor, id: string, changes: Partial<Omit<UserRow, 'id'>>): Promise<void> {
  await db.updateTable('users').set(changes).where('id', '=', id).execute();
}

/** Add one failed attempt and return the new count, atomically. */
export async function incrementFailedAttempts(db: Executor, id: string): Promise<number> {
  const row = await db
    .updateTable('users')
    .set((eb) => ({ failed_attempts: eb('failed_attempts', '+', 1) }))
    .where('id', '=', id)
    .returning('failed_attempts')
    .executeTakeFirstOrThrow();
  return Number(row.failed_attempts);
}

// NOTE: the joins read the people module's schools and classes tables for display names
// only; every change to those tables goes through the people service.
function selectProfiles(db: Executor) {
  return db
    .selectFrom('users')
    .leftJoin('schools', 'schools.id', 'users.school_id')
    .leftJoin('classes', 'classes.id', 'users.class_id')
    .selectAll('users')
    .select(['schools.code as school_code', 'schools.name as school_name', 'classes.name as class_name']);
}

export async function findUserProfile(db: Executor, id: string): Promise<UserProfileRow | undefined> {
  return selectProfiles(db).where('users.id', '=', id).executeTakeFirst();
}

/** Users of one school, or of every school when `schoolId` is undefined, by username. */
export async function listUserProfiles(db: Executor, schoolId: string | undefined): Promise<UserProfileRow[]> {
  let query = selectProfiles(db);
  if (schoolId !== undefined) query = query.where('users.school_id', '=', schoolId);
  return query.orderBy('users.username').execute();
}

export async function insertSession(db: Executor, row: SessionRow): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

export async function findSession(db: Executor, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function touchSession(db: Executor, id: string, lastSeenAt: number): Promise<void> {
  await db.updateTable('sessions').set({ last_seen_at: lastSeenAt }).where('id', '=', id).execute();
}

export async function deleteSession(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}

/** Remove every session of a user except `keepId` (the one that changed the password). */
export async function deleteOtherSessions(db: Executor, userId: string, keepId: string | null): Promise<number> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepId) query = query.where('id', '!=', keepId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Remove sessions idle since before `idleBefore` or created before `createdBefore`. */
export async function deleteStaleSessions(db: Executor, idleBefore: number, createdBefore: number): Promise<number> {
  const result = await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('last_seen_at', '<', idleBefore), eb('created_at', '<', createdBefore)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function insertAudit(db: Executor, row: AuditRow): Promise<void> {
  await db.insertInto('audit_log').values(row).execute();
}

export interface AuditQuery {
  schoolId?: string;
  /** Exact username or user id. */
  user?: string;
  /** Exact action, or a prefix ending in '.' such as 'auth.'. */
  action?: string;
  /** Actions to leave out, applied after `action`. */
  excludeActions?: readonly string[];
  /** Only these actions, applied after `action`. */
  onlyActions?: readonly string[];
  from?: number;
  to?: number;
  limit: number;
  offset: number;
}

/** Audit entries matching the query, newest first, and how many match in total. */
export async function searchAudit(db: Executor, query: AuditQuery): Promise<{ rows: AuditRow[]; total: number }> {
  let base = db.selectFrom('audit_log');
  if (query.schoolId !== undefined) base = base.where('school_id', '=', query.schoolId);
  if (query.user) {
    const user = query.user;
    base = base.where((eb) => eb.or([eb('username', '=', user), eb('user_id', '=', user)]));
  }
  if (query.action) {
    base = query.action.endsWith('.')
      ? base.where('action', 'like', `${query.action.replace(/[%_\\]/g, '')}%`)
      : base.where('action', '=', query.action);
  }
  if (query.excludeActions?.length) base = base.where('action', 'not in', query.excludeActions);
  if (query.onlyActions?.length) base = base.where('action', 'in', query.onlyActions);
  if (query.from !== undefined) base = base.where('at', '>=', query.from);
  if (query.to !== undefined) base = base.where('at', '<', query.to);

  const counted = await base.select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
  const rows = await base.selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(query.limit).offset(query.offset).execute();
  return { rows, total: Number(counted.n) };
}
