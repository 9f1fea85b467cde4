import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, DistrictSettingsTable, HealthCodeChangeTable, HealthCodeTable, SyncRunStatus, SyncRunTable } from '../../db/schema.js';
import { prepareQuery } from '../../db/prepared.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type HealthCodeRow = Selectable<HealthCodeTable>;
export type HealthCodeChangeRow = Selectable<HealthCodeChangeTable>;
export type SyncRunRow = Selectable<SyncRunTable>;
export type DistrictSettingsRow = Selectable<DistrictSettingsTable>;

/** Rows per IN (...) list, well under SQLite's and PostgreSQL's parameter limits. */
const IN_CHUNK = 500;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function findCodes(db: Executor, personIds: string[]): Promise<HealthCodeRow[]> {
  const rows: HealthCodeRow[] = [];
  for (const ids of chunks(personIds, IN_CHUNK)) {
    rows.push(...(await db.selectFrom('health_codes').selectAll().where('person_id', 'in', ids).execute()));
  }
  return rows;
}

const codeOfPersonQuery = prepareQuery<{ personId: string }, HealthCodeRow>((db, slot) =>
  db.selectFrom('health_codes').selectAll().where('person_id', '=', slot('personId')),
);

/** Find one person's stored code; the gate reads it on every entry, so it is prepared. */
export async function findCode(db: Executor, personId: string): Promise<HealthCodeRow | undefined> {
  return (await codeOfPersonQuery(db, { personId })).rows[0];
}

export async function listCodesOfSchool(db: Executor, schoolId: string): Promise<HealthCodeRow[]> {
  return db.selectFrom('health_codes').selectAll().where('school_id', '=', schoolId).execute();
}

/** Insert or replace the current codes of a batch. */
export async function upsertCodes(db: Executor, rows: HealthCodeRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('health_codes')
    .values(rows)
    .onConflict((oc) =>
      oc.column('person_id').doUpdateSet((eb) => ({
        school_id: eb.ref('excluded.school_id'),
        color: eb.ref('excluded.color'),
        bureau_updated_at: eb.ref('excluded.bureau_updated_at'),
        fetched_at: eb.ref('excluded.fetched_at'),
        last_attempt_at: eb.ref('excluded.last_attempt_at'),
        last_failure: eb.ref('excluded.last_failure'),
        reason: eb.ref('excluded.reason'),
        color_since: eb.ref('excluded.color_since'),
      })),
    )
    .execute();
}

export async function insertChanges(db: Executor, rows: HealthCodeChangeRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('health_code_changes').values(rows).execute();
}

export async function listChangesOfPerson(db: Executor, personId: string, limit: number): Promise<HealthCodeChangeRow[]> {
  return db
    .selectFrom('health_code_changes')
    .selectAll()
    .where('person_id', '=', personId)
    .orderBy('changed_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

export async function listUnnotifiedChanges(db: Executor, runId: string): Promise<HealthCodeChangeRow[]> {
  return db
    .selectFrom('health_code_changes')
    .selectAll()
    .where('sync_run_id', '=', runId)
    .where('notified_at', 'is', null)
    .orderBy('id')
    .execute();
}

export async function markChangesNotified(db: Executor, ids: string[], now: number): Promise<void> {
  for (const part of chunks(ids, IN_CHUNK)) {
    await db.updateTable('health_code_changes').set({ notified_at: now }).where('id', 'in', part).execute();
  }
}

export async function insertSyncRun(db: Executor, row: SyncRunRow): Promise<void> {
  await db.insertInto('sync_runs').values(row).execute();
}

export async function findSyncRun(db: Executor, id: string): Promise<SyncRunRow | undefined> {
  return db.selectFrom('sync_runs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findRunningSyncRun(db: Executor, schoolId: string): Promise<SyncRunRow | undefined> {
  return db.selectFrom('sync_runs').selectAll().where('school_id', '=', schoolId).where('status', '=', 'running').executeTakeFirst();
}

export async function findLatestSyncRun(db: Executor, schoolId: string): Promise<SyncRunRow | undefined> {
  return db.selectFrom('sync_runs').selectAll().where('school_id', '=', schoolId).orderBy('started_at', 'desc').orderBy('id', 'desc').executeTakeFirst();
}

export async function listSyncRuns(db: Executor, schoolId: string, limit: number): Promise<SyncRunRow[]> {
  return db
    .selectFrom('sync_runs')
    .selectAll()
    .where('school_id', '=', schoolId)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Running runs whose last heartbeat is older than `before`: their process is gone. */
export async function listStaleRunningRuns(db: Executor, before: number): Promise<SyncRunRow[]> {
  return db.selectFrom('sync_runs').selectAll().where('status', '=', 'running').where('heartbeat_at', '<', before).execute();
}

export async function listInterruptedRuns(db: Executor, startedAfter: number): Promise<SyncRunRow[]> {
  return db.selectFrom('sync_runs').selectAll().where('status', '=', 'interrupted').where('started_at', '>', startedAfter).orderBy('started_at').execute();
}

/**
 * Mark a running run interrupted if its heartbeat is still older than `before`. Only one
 * process wins this conditional update; returns whether this call did it.
 */
export async function markRunInterrupted(db: Executor, id: string, before: number, now: number, error: string): Promise<boolean> {
  const result = await db
    .updateTable('sync_runs')
    .set({ status: 'interrupted', finished_at: now, error })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .where('heartbeat_at', '<', before)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function touchRun(db: Executor, id: string, now: number): Promise<void> {
  await db.updateTable('sync_runs').set({ heartbeat_at: now }).where('id', '=', id).where('status', '=', 'running').execute();
}

export async function setRunTotal(db: Executor, id: string, total: number): Promise<void> {
  await db.updateTable('sync_runs').set({ total }).where('id', '=', id).execute();
}

/** Add one committed batch to the run's counters (in the batch's transaction) and renew its heartbeat. */
export async function addBatchProgress(
  db: Executor,
  id: string,
  progress: { processed: number; failed: number; changes: number; failedBatch: boolean },
  heartbeatAt: number,
): Promise<void> {
  await db
    .updateTable('sync_runs')
    .set((eb) => ({
      processed: eb('processed', '+', progress.processed),
      failed: eb('failed', '+', progress.failed),
      changes: eb('changes', '+', progress.changes),
      failed_batches: eb('failed_batches', '+', progress.failedBatch ? 1 : 0),
      heartbeat_at: heartbeatAt,
    }))
    .where('id', '=', id)
    .execute();
}

export async function finishRun(
  db: Executor,
  id: string,
  result: { status: SyncRunStatus; counts: string; error: string | null },
  at: { finishedAt: number; heartbeatAt: number },
): Promise<void> {
  await db
    .updateTable('sync_runs')
    .set({ status: result.status, finished_at: at.finishedAt, heartbeat_at: at.heartbeatAt, counts: result.counts, error: result.error })
    .where('id', '=', id)
    .execute();
}

/** Start time of each school's latest run, for schedule catch-up after a failover. */
export async function latestRunStarts(db: Executor): Promise<Map<string, number>> {
  const rows = await db.selectFrom('sync_runs').select(['school_id']).select((eb) => eb.fn.max('started_at').as('started')).groupBy('school_id').execute();
  return new Map(rows.map((row) => [row.school_id, Number(row.started)]));
}

/** Find a district's settings row; a district that never changed a setting has none. */
export async function findDistrictSettings(db: Executor, districtId: string): Promise<DistrictSettingsRow | undefined> {
  return db.selectFrom('district_settings').selectAll().where('district_id', '=', districtId).executeTakeFirst();
}

/** Switch 全区每天同步 of a district on or off, recording who did it and when. */
export async function upsertDistrictSyncEveryDay(
  db: Executor,
  row: Pick<DistrictSettingsRow, 'district_id' | 'sync_every_day' | 'sync_every_day_changed_at' | 'sync_every_day_changed_by' | 'sync_every_day_changed_by_name'>,
): Promise<void> {
  await db
    .insertInto('district_settings')
    .values(row)
    .onConflict((oc) =>
      oc.column('district_id').doUpdateSet({
        sync_every_day: row.sync_every_day,
        sync_every_day_changed_at: row.sync_every_day_changed_at,
        sync_every_day_changed_by: row.sync_every_day_changed_by,
        sync_every_day_changed_by_name: row.sync_every_day_changed_by_name,
      }),
    )
    .execute();
}
