import { Kysely } from 'kysely';

/**
 * The console account that recorded each consent and the one that revoked it: the user
 * id, plus the username and display name at the time, so the record still reads right
 * after the account is renamed or removed. Rows written before this migration, and rows
 * written by the command line, have none.
 */
const COLUMNS = [
  'recorded_by_user_id',
  'recorded_by_username',
  'recorded_by_name',
  'revoked_by_user_id',
  'revoked_by_username',
  'revoked_by_name',
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  for (const column of COLUMNS) await db.schema.alterTable('consents').addColumn(column, 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const column of [...COLUMNS].reverse()) await db.schema.alterTable('consents').dropColumn(column).execute();
}
