import { Kysely, sql } from 'kysely';

/**
 * The gate: devices and their keys, card numbers, every entry attempt, attendance, alerts
 * and re-checks at the observation point.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('lane', 'text')
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull())
    .addColumn('digest_ha1_enc', 'text')
    .addColumn('last_seen_at', 'bigint')
    .addColumn('last_serial_no', 'bigint')
    .addColumn('offline_alerted_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.createIndex('devices_school').on('devices').column('school_id').execute();

  await db.schema
    .createTable('cards')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('card_hash', 'text', (c) => c.notNull())
    .addColumn('card_masked', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('cards_school_card', ['school_id', 'card_hash'])
    .execute();
  await db.schema.createIndex('cards_person').on('cards').column('person_id').execute();

  await db.schema
    .createTable('gate_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'bigint', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text')
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('temperature', 'double precision')
    .addColumn('code_color', 'text')
    .addColumn('code_stale', 'integer')
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('prompt', 'text', (c) => c.notNull())
    .addColumn('flags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('face_distance', 'double precision')
    .addColumn('face_margin', 'double precision')
    .addColumn('snapshot_path', 'text')
    .addUniqueConstraint('gate_events_device_event', ['device_id', 'event_id'])
    .execute();
  // Every index costs each entry's commit; searches narrow by day, so one index serves them.
  await db.schema.createIndex('gate_events_school_day').on('gate_events').columns(['school_id', 'day', 'occurred_at']).execute();
  await db.schema.createIndex('gate_events_person').on('gate_events').columns(['person_id', 'occurred_at']).execute();
  // Partial: only denials keep a snapshot, so the retention job reads a small index.
  await db.schema
    .createIndex('gate_events_snapshots')
    .on('gate_events')
    .columns(['school_id', 'received_at'])
    .where(sql.ref('snapshot_path'), 'is not', null)
    .execute();

  await db.schema
    .createTable('attendance')
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('first_pass_at', 'bigint', (c) => c.notNull())
    .addColumn('late', 'integer', (c) => c.notNull())
    .addColumn('gate_event_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('attendance_pk', ['person_id', 'day'])
    .execute();
  await db.schema.createIndex('attendance_school_day').on('attendance').columns(['school_id', 'day']).execute();

  await db.schema
    .createTable('alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text')
    .addColumn('device_id', 'text')
    .addColumn('gate_event_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('closed_at', 'bigint')
    .addColumn('closed_note', 'text')
    .execute();
  await db.schema.createIndex('alerts_school_status').on('alerts').columns(['school_id', 'status', 'created_at']).execute();

  await db.schema
    .createTable('rechecks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('alert_id', 'text', (c) => c.notNull().references('alerts.id'))
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('temperature', 'double precision', (c) => c.notNull())
    .addColumn('measured_at', 'bigint', (c) => c.notNull())
    .addColumn('measured_by', 'text', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rechecks_alert').on('rechecks').column('alert_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['rechecks', 'alerts', 'attendance', 'gate_events', 'cards', 'devices']) {
    await db.schema.dropTable(table).execute();
  }
}
