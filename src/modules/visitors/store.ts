import type { Kysely, Transaction } from 'kysely';
import type { Database, VisitorCheckTable, VisitorTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type VisitorRow = VisitorTable;
export type VisitorCheckRow = VisitorCheckTable;

export async function insertVisitor(db: Executor, row: VisitorRow): Promise<void> {
  await db.insertInto('visitors').values(row).execute();
}

export async function findVisitor(db: Executor, id: string): Promise<VisitorRow | undefined> {
  return db.selectFrom('visitors').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updateVisitor(db: Executor, id: string, changes: Partial<VisitorRow>): Promise<void> {
  await db.updateTable('visitors').set(changes).where('id', '=', id).execute();
}

/**
 * Update a visitor only while its status is one of `from`; returns false when another
 * request changed it first (two guards recording the same exit).
 */
export async function updateVisitorIfStatus(db: Executor, id: string, from: VisitorRow['status'][], changes: Partial<VisitorRow>): Promise<boolean> {
  const result = await db.updateTable('visitors').set(changes).where('id', '=', id).where('status', 'in', from).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export interface VisitorFilter {
  schoolId: string;
  day: string;
  /** Only the visitors this user hosts or registered. */
  hostUserId?: string;
  idNumberHash?: string;
}

export async function listVisitors(db: Executor, filter: VisitorFilter): Promise<VisitorRow[]> {
  let query = db.selectFrom('visitors').selectAll().where('school_id', '=', filter.schoolId).where('day', '=', filter.day);
  if (filter.hostUserId) {
    const hostUserId = filter.hostUserId;
    query = query.where((eb) => eb.or([eb('host_user_id', '=', hostUserId), eb('registered_by', '=', hostUserId)]));
  }
  if (filter.idNumberHash) query = query.where('id_number_hash', '=', filter.idNumberHash);
  return query.orderBy('expected_from').orderBy('created_at').execute();
}

export async function insertCheck(db: Executor, row: VisitorCheckRow): Promise<void> {
  await db.insertInto('visitor_checks').values(row).execute();
}

export async function listChecks(db: Executor, visitorId: string): Promise<VisitorCheckRow[]> {
  return db.selectFrom('visitor_checks').selectAll().where('visitor_id', '=', visitorId).orderBy('checked_at').execute();
}

/** The checks of the visitors of a school's day. */
export async function listChecksOfDay(db: Executor, schoolId: string, day: string): Promise<VisitorCheckRow[]> {
  return db
    .selectFrom('visitor_checks')
    .innerJoin('visitors', 'visitors.id', 'visitor_checks.visitor_id')
    .selectAll('visitor_checks')
    .where('visitors.school_id', '=', schoolId)
    .where('visitors.day', '=', day)
    .orderBy('visitor_checks.checked_at')
    .execute();
}
