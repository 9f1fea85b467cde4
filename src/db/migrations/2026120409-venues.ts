import { Kysely, sql } from 'kysely';

/**
 * Venue codes: venues and their code versions, card readers and staff phones, the
 * registered senior, student and citizen cards, check-ins, far-apart review flags and
 * retention runs.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('venues')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('address', 'text')
    .addColumn('operator', 'text', (c) => c.notNull())
    .addColumn('line', 'text')
    .addColumn('plate', 'text')
    .addColumn('school_id', 'text', (c) => c.references('schools.id'))
    .addColumn('latitude', 'double precision')
    .addColumn('longitude', 'double precision')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('code_version', 'integer', (c) => c.notNull())
    .addColumn('code_issued_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .execute();
  await db.schema.createIndex('venues_operator_line').on('venues').columns(['operator', 'line']).execute();
  await db.schema.createIndex('venues_school').on('venues').column('school_id').execute();

  await db.schema
    .createTable('venue_devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('operator', 'text', (c) => c.notNull())
    .addColumn('venue_id', 'text', (c) => c.references('venues.id'))
    .addColumn('key_hash', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint')
    .execute();

  await db.schema
    .createTable('venue_cards')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('card_hash', 'text', (c) => c.notNull().unique())
    .addColumn('card_masked', 'text', (c) => c.notNull())
    .addColumn('holder_name', 'text', (c) => c.notNull())
    .addColumn('id_number_enc', 'text', (c) => c.notNull())
    .addColumn('id_number_hash', 'text', (c) => c.notNull())
    .addColumn('id_number_masked', 'text', (c) => c.notNull())
    .addColumn('phone_enc', 'text')
    .addColumn('phone_hash', 'text')
    .addColumn('phone_masked', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('lost_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('venue_checkins')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('venue_id', 'text', (c) => c.notNull())
    .addColumn('checked_in_at', 'bigint', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('subject_hash', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('id_number_enc', 'text')
    .addColumn('id_number_hash', 'text')
    .addColumn('id_number_masked', 'text')
    .addColumn('phone_enc', 'text')
    .addColumn('phone_hash', 'text')
    .addColumn('phone_masked', 'text')
    .addColumn('code_color', 'text', (c) => c.notNull())
    .addColumn('code_source', 'text', (c) => c.notNull())
    .addColumn('code_seen', 'integer')
    .addColumn('seen_color', 'text')
    .addColumn('card_id', 'text')
    .addColumn('device_id', 'text')
    .addColumn('flagged', 'integer', (c) => c.notNull())
    .execute();
  // Every index costs each check-in's insert, so there are three. Tracing reads one venue
  // (or a line's venues) over a time range, and retention deletes venue by venue, through
  // the first; the check-in writer and person tracing read one person over a time range
  // through the second; the third finds phone-only people and leaves out the rows
  // without a phone.
  await db.schema.createIndex('venue_checkins_venue_time').on('venue_checkins').columns(['venue_id', 'checked_in_at']).execute();
  await db.schema.createIndex('venue_checkins_subject_time').on('venue_checkins').columns(['subject_hash', 'checked_in_at']).execute();
  await db.schema
    .createIndex('venue_checkins_phone_time')
    .on('venue_checkins')
    .columns(['phone_hash', 'checked_in_at'])
    .where(sql.ref('phone_hash'), 'is not', null)
    .execute();

  await db.schema
    .createTable('venue_flags')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subject_hash', 'text', (c) => c.notNull())
    .addColumn('checkin_id', 'text', (c) => c.notNull())
    .addColumn('previous_checkin_id', 'text', (c) => c.notNull())
    .addColumn('distance_m', 'integer', (c) => c.notNull())
    .addColumn('minutes', 'double precision', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('reviewed_by', 'text')
    .addColumn('reviewed_at', 'bigint')
    .addColumn('review_note', 'text')
    .execute();
  await db.schema.createIndex('venue_flags_status').on('venue_flags').columns(['status', 'created_at']).execute();

  await db.schema
    .createTable('venue_retention_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('ran_at', 'bigint', (c) => c.notNull())
    .addColumn('cutoff', 'bigint', (c) => c.notNull())
    .addColumn('retention_days', 'integer', (c) => c.notNull())
    .addColumn('checkins_deleted', 'integer', (c) => c.notNull())
    .addColumn('flags_deleted', 'integer', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('venue_retention_runs_ran_at').on('venue_retention_runs').column('ran_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['venue_retention_runs', 'venue_flags', 'venue_checkins', 'venue_cards', 'venue_devices', 'venues']) {
    await db.schema.dropTable(table).execute();
  }
}
