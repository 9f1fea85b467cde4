import { Kysely } from 'kysely';

/**
 * Daily reports: every built and submitted version of a school's report of a day, as a
 * JSON snapshot with its key figures in columns (the district view sums the columns and
 * never reads raw events), and the district's reporting deadline.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('daily_reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('built_at', 'bigint', (c) => c.notNull())
    .addColumn('built_by', 'text')
    .addColumn('built_by_name', 'text', (c) => c.notNull())
    .addColumn('submitted_at', 'bigint')
    .addColumn('submitted_by', 'text')
    .addColumn('submitted_by_name', 'text')
    .addColumn('change_note', 'text')
    .addColumn('changes', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('expected_count', 'integer', (c) => c.notNull())
    .addColumn('arrived_count', 'integer', (c) => c.notNull())
    .addColumn('absent_count', 'integer', (c) => c.notNull())
    .addColumn('late_count', 'integer', (c) => c.notNull())
    .addColumn('fever_count', 'integer', (c) => c.notNull())
    .addColumn('non_green_count', 'integer', (c) => c.notNull())
    .addColumn('stale_count', 'integer', (c) => c.notNull())
    .addColumn('illness_absence_count', 'integer')
    .addColumn('open_follow_up_count', 'integer')
    .addColumn('cluster_count', 'integer')
    .addColumn('visitor_count', 'integer')
    .addColumn('is_zero', 'integer', (c) => c.notNull())
    .addUniqueConstraint('daily_reports_school_day_version', ['school_id', 'day', 'version'])
    .execute();
  await db.schema.createIndex('daily_reports_district_day').on('daily_reports').columns(['district_id', 'day', 'status']).execute();

  await db.schema
    .createTable('district_report_settings')
    .addColumn('district_id', 'text', (c) => c.primaryKey())
    .addColumn('deadline', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('district_report_settings').execute();
  await db.schema.dropTable('daily_reports').execute();
}
