import { Kysely } from 'kysely';

/**
 * The daily report's 未同步 figure: codes the bureau never returned, counted apart from
 * 码过期 and 非绿码. Reports built before this column have null here and keep the figures
 * they were built with, in which a never-synced code counted as stale and non-green.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('daily_reports').addColumn('unsynced_count', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('daily_reports').dropColumn('unsynced_count').execute();
}
