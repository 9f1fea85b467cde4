import { Kysely } from 'kysely';

/**
 * Morning and noon checks (one row per pupil, school day and session), the history of
 * every entry and correction, illness-absence follow-ups with their guardian contacts,
 * and cluster alerts.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('daily_checks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('class_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('session', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('temperature', 'double precision')
    .addColumn('symptoms', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('absence_reason', 'text')
    .addColumn('note', 'text')
    .addColumn('arrived', 'integer', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('recorded_by_name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('daily_checks_person_day_session', ['person_id', 'day', 'session'])
    .execute();
  await db.schema.createIndex('daily_checks_school_day').on('daily_checks').columns(['school_id', 'day']).execute();
  await db.schema.createIndex('daily_checks_class_day').on('daily_checks').columns(['class_id', 'day']).execute();

  await db.schema
    .createTable('check_history')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('before', 'text')
    .addColumn('after', 'text', (c) => c.notNull())
    .addColumn('late', 'integer', (c) => c.notNull())
    .addColumn('changed_by', 'text', (c) => c.notNull())
    .addColumn('changed_by_name', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('check_history_entity').on('check_history').columns(['entity_id', 'changed_at']).execute();

  await db.schema
    .createTable('absence_follow_ups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('class_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
    // The person id while the follow-up is open, null once closed: unique, so a pupil
    // has at most one open follow-up, and the gate's hold is one index lookup.
    .addColumn('open_key', 'text', (c) => c.unique())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('absence_began_on', 'text', (c) => c.notNull())
    .addColumn('source_check_id', 'text')
    .addColumn('symptoms', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('saw_doctor', 'integer')
    .addColumn('diagnosis', 'text')
    .addColumn('diagnosis_note', 'text')
    .addColumn('expected_return_on', 'text')
    .addColumn('certificate_issued_on', 'text')
    .addColumn('certificate_issuer', 'text')
    .addColumn('certificate_note', 'text')
    .addColumn('certificate_recorded_by', 'text')
    .addColumn('certificate_recorded_at', 'bigint')
    .addColumn('closed_at', 'bigint')
    .addColumn('closed_note', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('absence_follow_ups_school_status').on('absence_follow_ups').columns(['school_id', 'status', 'absence_began_on']).execute();
  await db.schema.createIndex('absence_follow_ups_person').on('absence_follow_ups').columns(['person_id', 'absence_began_on']).execute();

  await db.schema
    .createTable('follow_up_contacts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('follow_up_id', 'text', (c) => c.notNull().references('absence_follow_ups.id'))
    .addColumn('contacted_at', 'bigint', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('recorded_by_name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('follow_up_contacts_follow_up').on('follow_up_contacts').columns(['follow_up_id', 'contacted_at']).execute();

  await db.schema
    .createTable('cluster_alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('class_id', 'text', (c) => c.notNull())
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('threshold', 'integer', (c) => c.notNull())
    .addColumn('window_start', 'text', (c) => c.notNull())
    .addColumn('window_end', 'text', (c) => c.notNull())
    .addColumn('case_count', 'integer', (c) => c.notNull())
    .addColumn('signs', 'text', (c) => c.notNull())
    .addColumn('cases', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cluster_alerts_school_window').on('cluster_alerts').columns(['school_id', 'window_end']).execute();
  await db.schema.createIndex('cluster_alerts_window').on('cluster_alerts').column('window_end').execute();
  await db.schema.createIndex('cluster_alerts_class_rule').on('cluster_alerts').columns(['class_id', 'rule', 'window_end']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['cluster_alerts', 'follow_up_contacts', 'absence_follow_ups', 'check_history', 'daily_checks']) {
    await db.schema.dropTable(table).execute();
  }
}
