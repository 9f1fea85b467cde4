import type { Kysely, Transaction } from 'kysely';
import { prepareQuery } from '../../db/prepared.js';
import type {
  AbsenceFollowUpTable,
  CheckHistoryTable,
  CheckSession,
  ClusterAlertTable,
  DailyCheckTable,
  Database,
  FollowUpContactTable,
} from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type DailyCheckRow = DailyCheckTable;
export type CheckHistoryRow = CheckHistoryTable;
export type FollowUpRow = AbsenceFollowUpTable;
export type ContactRow = FollowUpContactTable;
export type ClusterAlertRow = ClusterAlertTable;

// --- daily checks ---

export async function listChecks(db: Executor, filter: { schoolId: string; day: string; classId?: string; session?: CheckSession }): Promise<DailyCheckRow[]> {
  let query = db.selectFrom('daily_checks').selectAll().where('school_id', '=', filter.schoolId).where('day', '=', filter.day);
  if (filter.classId) query = query.where('class_id', '=', filter.classId);
  if (filter.session) query = query.where('session', '=', filter.session);
  return query.orderBy('person_id').orderBy('session').execute();
}

/** Checks of one class from `fromDay` to `toDay` (inclusive), for the cluster rule. */
export async function listClassChecksBetween(db: Executor, classId: string, fromDay: string, toDay: string): Promise<DailyCheckRow[]> {
  return db.selectFrom('daily_checks').selectAll().where('class_id', '=', classId).where('day', '>=', fromDay).where('day', '<=', toDay).execute();
}

export async function findCheck(db: Executor, personId: string, day: string, session: CheckSession): Promise<DailyCheckRow | undefined> {
  return db.selectFrom('daily_checks').selectAll().where('person_id', '=', personId).where('day', '=', day).where('session', '=', session).executeTakeFirst();
}

export async function findCheckById(db: Executor, id: string): Promise<DailyCheckRow | undefined> {
  return db.selectFrom('daily_checks').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Insert a first entry; false when another request inserted the same pupil, day and session first. */
export async function insertCheck(db: Executor, row: DailyCheckRow): Promise<boolean> {
  const result = await db
    .insertInto('daily_checks')
    .values(row)
    .onConflict((oc) => oc.columns(['person_id', 'day', 'session']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Apply a correction only when the row is still at `expectedVersion`; false when someone else changed it first. */
export async function updateCheck(db: Executor, id: string, expectedVersion: number, changes: Partial<DailyCheckRow>): Promise<boolean> {
  const result = await db.updateTable('daily_checks').set(changes).where('id', '=', id).where('version', '=', expectedVersion).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Pupils of a class marked absent for an unknown reason in a session of a day. */
export async function listUnknownAbsences(db: Executor, schoolId: string, day: string, session: CheckSession): Promise<DailyCheckRow[]> {
  return db
    .selectFrom('daily_checks')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('day', '=', day)
    .where('session', '=', session)
    .where('status', '=', 'absent')
    .where('absence_reason', '=', 'unknown')
    .execute();
}

// --- history ---

export async function insertHistory(db: Executor, row: CheckHistoryRow): Promise<void> {
  await db.insertInto('check_history').values(row).execute();
}

export async function listHistory(db: Executor, entityIds: string[]): Promise<CheckHistoryRow[]> {
  if (entityIds.length === 0) return [];
  return db.selectFrom('check_history').selectAll().where('entity_id', 'in', entityIds).orderBy('changed_at').orderBy('id').execute();
}

// --- follow-ups ---

/** Insert a follow-up; false when the pupil already has an open one (open_key is unique). */
export async function insertFollowUp(db: Executor, row: FollowUpRow): Promise<boolean> {
  const result = await db
    .insertInto('absence_follow_ups')
    .values(row)
    .onConflict((oc) => oc.column('open_key').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function findFollowUpById(db: Executor, id: string): Promise<FollowUpRow | undefined> {
  return db.selectFrom('absence_follow_ups').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findOpenFollowUp(db: Executor, personId: string): Promise<FollowUpRow | undefined> {
  return db.selectFrom('absence_follow_ups').selectAll().where('open_key', '=', personId).executeTakeFirst();
}

/** The gate's lookup: one unique-index probe on open_key, prepared once per connection. */
const openFollowUpHold = prepareQuery<{ personId: string }, { id: string; absence_began_on: string }>((db, slot) =>
  db.selectFrom('absence_follow_ups').select(['id', 'absence_began_on']).where('open_key', '=', slot('personId')),
);

export async function findOpenFollowUpForGate(db: Executor, personId: string): Promise<{ id: string; absence_began_on: string } | undefined> {
  return (await openFollowUpHold(db, { personId })).rows[0];
}

export async function updateFollowUp(db: Executor, id: string, changes: Partial<FollowUpRow>): Promise<void> {
  await db.updateTable('absence_follow_ups').set(changes).where('id', '=', id).execute();
}

export async function listFollowUps(db: Executor, filter: { schoolId: string; status?: FollowUpRow['status']; classId?: string; limit?: number }): Promise<FollowUpRow[]> {
  let query = db.selectFrom('absence_follow_ups').selectAll().where('school_id', '=', filter.schoolId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.classId) query = query.where('class_id', '=', filter.classId);
  return query.orderBy('absence_began_on', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 500).execute();
}

/** Follow-ups of a class whose absence began on or before `toDay` and which were open on or after `fromDay`. */
export async function listClassFollowUpsOverlapping(db: Executor, classId: string, fromDay: string, toDay: string): Promise<FollowUpRow[]> {
  return db
    .selectFrom('absence_follow_ups')
    .selectAll()
    .where('class_id', '=', classId)
    .where('absence_began_on', '<=', toDay)
    .where('status', '!=', 'cancelled')
    .where((eb) => eb.or([eb('status', '=', 'open'), eb('certificate_issued_on', '>=', fromDay)]))
    .execute();
}

export async function insertContact(db: Executor, row: ContactRow): Promise<void> {
  await db.insertInto('follow_up_contacts').values(row).execute();
}

export async function listContacts(db: Executor, followUpIds: string[]): Promise<ContactRow[]> {
  if (followUpIds.length === 0) return [];
  return db.selectFrom('follow_up_contacts').selectAll().where('follow_up_id', 'in', followUpIds).orderBy('contacted_at').execute();
}

// --- cluster alerts ---

/** Insert an alert; false when one with the same dedupe key exists. */
export async function insertClusterAlert(db: Executor, row: ClusterAlertRow): Promise<boolean> {
  const result = await db.insertInto('cluster_alerts').values(row).onConflict((oc) => oc.column('dedupe_key').doNothing()).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function findClusterAlertById(db: Executor, id: string): Promise<ClusterAlertRow | undefined> {
  return db.selectFrom('cluster_alerts').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The latest alert of a class and rule whose window ends on or after `fromDay`. */
export async function findOverlappingClusterAlert(db: Executor, classId: string, rule: ClusterAlertRow['rule'], fromDay: string): Promise<ClusterAlertRow | undefined> {
  return db
    .selectFrom('cluster_alerts')
    .selectAll()
    .where('class_id', '=', classId)
    .where('rule', '=', rule)
    .where('window_end', '>=', fromDay)
    .orderBy('window_end', 'desc')
    .executeTakeFirst();
}

export async function updateClusterAlert(db: Executor, id: string, changes: Partial<ClusterAlertRow>): Promise<void> {
  await db.updateTable('cluster_alerts').set(changes).where('id', '=', id).execute();
}

/** Alerts whose window ends between `from` and `to` (inclusive), newest first; every school when schoolId is absent. */
export async function listClusterAlerts(db: Executor, filter: { schoolId?: string; from: string; to: string; limit?: number }): Promise<ClusterAlertRow[]> {
  let query = db.selectFrom('cluster_alerts').selectAll().where('window_end', '>=', filter.from).where('window_end', '<=', filter.to);
  if (filter.schoolId) query = query.where('school_id', '=', filter.schoolId);
  return query.orderBy('window_end', 'desc').orderBy('created_at', 'desc').limit(filter.limit ?? 1000).execute();
}
