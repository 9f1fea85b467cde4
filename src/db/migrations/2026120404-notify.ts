import { Kysely } from 'kysely';

/**
 * The notice dispatcher's bookkeeping: claim leases and the "maybe delivered" flag on
 * outbox rows, the link from each in-app copy to its notice, and the sliding-window
 * slots that keep the DingTalk group robot under its per-minute limit across processes.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // SQLite adds one column per ALTER TABLE statement, so each column is its own call.
  await db.schema.alterTable('outbox').addColumn('lease_until', 'bigint').execute();
  await db.schema.alterTable('outbox').addColumn('claim_token', 'text').execute();
  await db.schema.alterTable('outbox').addColumn('uncertain', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('outbox').addColumn('checks', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('outbox').addColumn('recipient_role', 'text').execute();
  await db.schema.alterTable('outbox').addColumn('delivery_note', 'text').execute();
  await db.schema.createIndex('outbox_school_created').on('outbox').columns(['school_id', 'created_at']).execute();
  await db.schema.createIndex('outbox_external').on('outbox').column('external_id').execute();

  await db.schema.alterTable('inbox_messages').addColumn('outbox_id', 'text').execute();
  await db.schema.alterTable('inbox_messages').addColumn('recipient_guardian_id', 'text').execute();
  // Both databases allow many NULLs under a unique index, so inbox-only messages are unaffected.
  await db.schema.createIndex('inbox_outbox').unique().on('inbox_messages').column('outbox_id').execute();
  await db.schema.createIndex('inbox_guardian').on('inbox_messages').columns(['recipient_guardian_id', 'created_at']).execute();

  await db.schema
    .createTable('notify_rate_slots')
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('slot', 'integer', (c) => c.notNull())
    .addColumn('used_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('notify_rate_slots_pk', ['bucket', 'slot'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('notify_rate_slots').execute();
  await db.schema.dropIndex('inbox_guardian').execute();
  await db.schema.dropIndex('inbox_outbox').execute();
  await db.schema.alterTable('inbox_messages').dropColumn('recipient_guardian_id').execute();
  await db.schema.alterTable('inbox_messages').dropColumn('outbox_id').execute();
  await db.schema.dropIndex('outbox_external').execute();
  await db.schema.dropIndex('outbox_school_created').execute();
  for (const column of ['delivery_note', 'recipient_role', 'checks', 'uncertain', 'claim_token', 'lease_until']) {
    await db.schema.alterTable('outbox').dropColumn(column).execute();
  }
}
