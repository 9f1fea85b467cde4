import { Kysely } from 'kysely';

/** The handling note and the name of whoever acknowledged a gate alert. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('alerts').addColumn('acknowledged_note', 'text').execute();
  await db.schema.alterTable('alerts').addColumn('acknowledged_by', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('alerts').dropColumn('acknowledged_by').execute();
  await db.schema.alterTable('alerts').dropColumn('acknowledged_note').execute();
}
