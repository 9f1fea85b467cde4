import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { up as migrateUsernameCase } from '../../src/db/migrations/2026120550-username-case.js';
import { ensureUsernameCaseIndex } from '../../src/modules/auth/service.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';

const NOW = Date.parse('2026-12-07T00:00:00Z');

/** A logger that keeps its warnings, for checking what the start-up check reports. */
function warningLog(): { log: Logger; warnings: Array<{ fields: unknown; message: string }> } {
  const warnings: Array<{ fields: unknown; message: string }> = [];
  const log = { warn: (fields: unknown, message: string) => warnings.push({ fields, message }) } as unknown as Logger;
  return { log, warnings };
}

describe.each(DIALECTS)('username case index on %s', (dialect) => {
  let t: TestDb;

  async function insertAccount(username: string): Promise<void> {
    await t.ctx.db
      .insertInto('users')
      .values({
        id: `user-${username}`,
        username,
        display_name: username,
        password_hash: 'scrypt$not-used',
        role: 'teacher',
        school_id: null,
        class_id: null,
        person_id: null,
        failed_attempts: 0,
        locked_until: null,
        created_at: NOW,
        password_changed_at: NOW,
      })
      .execute();
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('rejects a case-only duplicate on a fresh database', async () => {
    await insertAccount('fresh23');
    await expect(insertAccount('Fresh23')).rejects.toThrow();
  });

  it('migrates past existing duplicates and reports them', async () => {
    // An older database: no index yet, and two accounts that differ only in case.
    await t.ctx.db.schema.dropIndex('users_username_lower_unique').execute();
    await insertAccount('teacher23');
    await insertAccount('Teacher23');

    await expect(migrateUsernameCase(t.ctx.db as Kysely<any>)).resolves.toBeUndefined();
    await insertAccount('TEACHER23');

    const { log, warnings } = warningLog();
    await ensureUsernameCaseIndex({ db: t.ctx.db, log });
    expect(warnings).toHaveLength(1);
    expect(warnings[0].fields).toEqual({ clashes: [['TEACHER23', 'Teacher23', 'teacher23']] });
    expect(warnings[0].message).toContain('unique index on lower(username) is missing');
  });

  it('adds the index once duplicates are renamed', async () => {
    await t.ctx.db.updateTable('users').set({ username: 'teacher23-b' }).where('username', '=', 'Teacher23').execute();
    await t.ctx.db.updateTable('users').set({ username: 'teacher23-c' }).where('username', '=', 'TEACHER23').execute();

    const { log, warnings } = warningLog();
    await ensureUsernameCaseIndex({ db: t.ctx.db, log });
    expect(warnings).toEqual([]);
    await expect(insertAccount('Teacher23-B')).rejects.toThrow();

    // A second start finds the index in place.
    await ensureUsernameCaseIndex({ db: t.ctx.db, log });
    expect(warnings).toEqual([]);
  });
});
