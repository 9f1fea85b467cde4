import { Kysely, sql } from 'kysely';

/** Name of the unique index on lower(username); the server adds it at start when this migration could not. */
export const USERNAME_CASE_INDEX = 'users_username_lower_unique';

/**
 * Usernames are unique without regard to case, so Teacher23 cannot sit beside teacher23
 * and sign-in matches either spelling. A database that already holds such a pair keeps it
 * and migrates without the index: the server warns about the pair at every start and adds
 * the index at the first start after one of them is renamed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const clashes = await sql<{ folded: string }>`select lower(username) as folded from users group by lower(username) having count(*) > 1`.execute(db);
  if (clashes.rows.length > 0) return;
  await db.schema.createIndex(USERNAME_CASE_INDEX).ifNotExists().unique().on('users').expression(sql`lower(username)`).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex(USERNAME_CASE_INDEX).ifExists().execute();
}
