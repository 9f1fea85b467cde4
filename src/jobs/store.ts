import type { Kysely, Transaction } from 'kysely';
import type { Database, JobRunTable } from '../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Take or renew the lease `name` for `holder` until `now + ttlMs`, in one conditional
 * upsert: it succeeds when no lease exists, when this holder already has it, or when the
 * other holder's lease has expired. Returns whether `holder` has the lease now.
 */
export async function acquireLease(db: Executor, name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
  const result = await db
    .insertInto('job_leases')
    .values({ name, holder, expires_at: now + ttlMs })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet((eb) => ({ holder: eb.ref('excluded.holder'), expires_at: eb.ref('excluded.expires_at') }))
        .where((eb) => eb.or([eb('job_leases.holder', '=', holder), eb('job_leases.expires_at', '<', now)])),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Give the lease up if `holder` has it, so a standby can take over at once. */
export async function releaseLease(db: Executor, name: string, holder: string): Promise<void> {
  await db.deleteFrom('job_leases').where('name', '=', name).where('holder', '=', holder).execute();
}

export async function findLease(db: Executor, name: string) {
  return db.selectFrom('job_leases').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function insertJobRun(db: Executor, row: JobRunTable): Promise<void> {
  await db.insertInto('job_runs').values(row).execute();
}

export async function finishJobRun(db: Executor, id: string, status: JobRunTable['status'], detail: string, now: number): Promise<void> {
  await db.updateTable('job_runs').set({ status, detail, finished_at: now }).where('id', '=', id).execute();
}

/** Mark runs still 'running' that started before `before` interrupted; returns how many. */
export async function interruptJobRuns(db: Executor, before: number, now: number): Promise<number> {
  const result = await db
    .updateTable('job_runs')
    .set({ status: 'interrupted', finished_at: now })
    .where('status', '=', 'running')
    .where('started_at', '<', before)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function listJobRuns(db: Executor, job: string, limit: number) {
  return db.selectFrom('job_runs').selectAll().where('job', '=', job).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}
