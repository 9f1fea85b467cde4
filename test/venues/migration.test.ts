import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { up } from '../../src/db/migrations/2026120570-venue-bus-lines.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildVenue, makeUser } from './helpers.js';

/**
 * The bus line migration rewrites lines stored before saving normalised them. The test
 * database is migrated already, so rows are given the old spellings and `up` runs again.
 */
describe.each(DIALECTS)('%s: bus line migration', (dialect) => {
  let t: TestDb;
  const stored: Array<[string, string]> = [
    ['K101路', 'K101'],
    ['k101', 'K101'],
    ['Ｋ１０２路', 'K102'],
    [' B支1线 ', 'B支1'],
    ['K103', 'K103'],
    ['路', '路'],
  ];
  const ids: string[] = [];

  beforeAll(async () => {
    t = await createTestDb(dialect);
    const admin = await makeUser(t.ctx, 'district_admin');
    for (const [oldLine] of stored) {
      const venue = await buildVenue(t.ctx, admin, { line: 'K1' });
      await t.ctx.db.updateTable('venues').set({ line: oldLine }).where('id', '=', venue.id).execute();
      ids.push(venue.id);
    }
    await up(t.ctx.db);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(stored.map(([oldLine, newLine], index) => [oldLine, newLine, index] as const))('rewrites %j as %j', async (_oldLine, newLine, index) => {
    const row = await t.ctx.db.selectFrom('venues').select('line').where('id', '=', ids[index]!).executeTakeFirstOrThrow();
    expect(row.line).toBe(newLine);
  });

  it('leaves venues without a line alone', async () => {
    const admin = await makeUser(t.ctx, 'district_admin');
    const hall = await buildVenue(t.ctx, admin, { kind: 'hall', name: '迁移测试礼堂', line: null, plate: null });
    await up(t.ctx.db);
    const row = await t.ctx.db.selectFrom('venues').select('line').where('id', '=', hall.id).executeTakeFirstOrThrow();
    expect(row.line).toBeNull();
  });
});
