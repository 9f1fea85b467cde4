import { Kysely } from 'kysely';

/**
 * Visitors (外来人员): visits registered in advance by a host or recorded at the gate by
 * a guard, and every check at the gate (temperature and health code) with its decision.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('visitors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('id_number_enc', 'text')
    .addColumn('id_number_hash', 'text')
    .addColumn('id_number_masked', 'text')
    .addColumn('phone_enc', 'text')
    .addColumn('phone_hash', 'text')
    .addColumn('phone_masked', 'text')
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('expected_from', 'bigint')
    .addColumn('expected_to', 'bigint')
    .addColumn('host_user_id', 'text')
    .addColumn('host_name', 'text', (c) => c.notNull())
    .addColumn('registered_by', 'text')
    .addColumn('walk_in', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('walk_in_reason', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('entered_at', 'bigint')
    .addColumn('exited_at', 'bigint')
    .addColumn('temperature', 'double precision')
    .addColumn('code_color', 'text')
    .addColumn('code_source', 'text')
    .addColumn('reason', 'text')
    .addColumn('checked_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('visitors_school_day').on('visitors').columns(['school_id', 'day']).execute();
  await db.schema.createIndex('visitors_school_id_hash').on('visitors').columns(['school_id', 'id_number_hash']).execute();

  await db.schema
    .createTable('visitor_checks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('visitor_id', 'text', (c) => c.notNull().references('visitors.id'))
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('checked_at', 'bigint', (c) => c.notNull())
    .addColumn('temperature', 'double precision', (c) => c.notNull())
    .addColumn('code_color', 'text', (c) => c.notNull())
    .addColumn('code_source', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('prompt', 'text', (c) => c.notNull())
    .addColumn('checked_by', 'text')
    .addColumn('checked_by_name', 'text')
    .execute();
  await db.schema.createIndex('visitor_checks_visitor').on('visitor_checks').column('visitor_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('visitor_checks').execute();
  await db.schema.dropTable('visitors').execute();
}
