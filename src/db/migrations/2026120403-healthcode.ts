import { Kysely, sql } from 'kysely';

/**
 * Health-code sync bookkeeping: when a person's current colour began, whether a change's
 * teacher and management notices are queued, which run a resume continues, and a partial
 * unique index that allows one running sync per school.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('health_codes').addColumn('color_since', 'bigint').execute();

  await db.schema.alterTable('health_code_changes').addColumn('bureau_updated_at', 'bigint').execute();
  await db.schema.alterTable('health_code_changes').addColumn('reason', 'text').execute();
  await db.schema.alterTable('health_code_changes').addColumn('notified_at', 'bigint').execute();
  await db.schema.createIndex('health_code_changes_run').on('health_code_changes').columns(['sync_run_id', 'notified_at']).execute();

  await db.schema.alterTable('sync_runs').addColumn('resumed_from', 'text').execute();
  await db.schema
    .createIndex('sync_runs_one_running')
    .on('sync_runs')
    .column('school_id')
    .unique()
    .where(sql.ref('status'), '=', 'running')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('sync_runs_one_running').execute();
  await db.schema.alterTable('sync_runs').dropColumn('resumed_from').execute();
  await db.schema.dropIndex('health_code_changes_run').execute();
  await db.schema.alterTable('health_code_changes').dropColumn('notified_at').execute();
  await db.schema.alterTable('health_code_changes').dropColumn('reason').execute();
  await db.schema.alterTable('health_code_changes').dropColumn('bureau_updated_at').execute();
  await db.schema.alterTable('health_codes').dropColumn('color_since').execute();
}
