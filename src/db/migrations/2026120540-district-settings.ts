import { Kysely } from 'kysely';

/**
 * Settings the district sets once for all its schools. The first is 全区每天同步: while it
 * is on, every school of the district runs its scheduled health-code syncs every day, as
 * a school's own `syncEveryDay` does for that school. The row keeps who last switched it
 * and when, which the schools' 同步时间 tab shows. A district without a row has it off.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('district_settings')
    .addColumn('district_id', 'text', (c) => c.primaryKey())
    .addColumn('sync_every_day', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sync_every_day_changed_at', 'bigint')
    .addColumn('sync_every_day_changed_by', 'text')
    .addColumn('sync_every_day_changed_by_name', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('district_settings').execute();
}
