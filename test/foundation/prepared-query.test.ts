import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareQuery, slotsOf } from '../../src/db/prepared.js';
import { newId } from '../../src/shared/ids.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';

interface ProbeRow {
  id: string;
  label: string;
  amount: number;
  note: string | null;
}

const insertProbe = prepareQuery<ProbeRow>((db, slot, row) =>
  (db as unknown as import('kysely').Kysely<{ prepared_probe: ProbeRow }>)
    .insertInto('prepared_probe')
    .values(slotsOf(row, slot))
    .onConflict((oc) => oc.column('id').doUpdateSet({ amount: slot('amount') }).where('prepared_probe.amount', '<', slot('amount'))),
);

const findProbe = prepareQuery<{ id: string }, ProbeRow>((db, slot) =>
  (db as unknown as import('kysely').Kysely<{ prepared_probe: ProbeRow }>)
    .selectFrom('prepared_probe')
    .selectAll()
    .where('id', '=', slot('id'))
    // A constant of the builder stays in the compiled query.
    .where('label', '!=', 'hidden'),
);

describe.each(DIALECTS)('%s: prepared queries', (dialect) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    await sql`create table prepared_probe (id text primary key, label text not null, amount integer not null, note text)`.execute(t.ctx.db);
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs with new values each time', async () => {
    const first = { id: newId(), label: 'a', amount: 1, note: null };
    const second = { id: newId(), label: 'b', amount: 2, note: '备注' };
    await insertProbe(t.ctx.db, first);
    await insertProbe(t.ctx.db, second);

    expect((await findProbe(t.ctx.db, { id: first.id })).rows).toEqual([first]);
    expect((await findProbe(t.ctx.db, { id: second.id })).rows).toEqual([second]);
  });

  it('maps a slot used twice to its value', async () => {
    const row = { id: newId(), label: 'c', amount: 5, note: null };
    await insertProbe(t.ctx.db, row);
    await insertProbe(t.ctx.db, { ...row, amount: 3 });
    expect((await findProbe(t.ctx.db, { id: row.id })).rows[0].amount).toBe(5);

    await insertProbe(t.ctx.db, { ...row, amount: 9 });
    expect((await findProbe(t.ctx.db, { id: row.id })).rows[0].amount).toBe(9);
  });

  it('keeps a constant of the builder', async () => {
    const hidden = { id: newId(), label: 'hidden', amount: 1, note: null };
    await insertProbe(t.ctx.db, hidden);
    expect((await findProbe(t.ctx.db, { id: hidden.id })).rows).toEqual([]);
  });

  it('compiles each shape of values apart', async () => {
    // The same builder with the columns in another order must still fill each column.
    const row = { note: 'n', amount: 4, label: 'd', id: newId() };
    await insertProbe(t.ctx.db, row);
    expect((await findProbe(t.ctx.db, { id: row.id })).rows).toEqual([{ id: row.id, label: 'd', amount: 4, note: 'n' }]);
  });

  it('runs inside a transaction', async () => {
    const row = { id: newId(), label: 'e', amount: 1, note: null };
    await t.ctx.db.transaction().execute(async (trx) => {
      await insertProbe(trx, row);
      expect((await findProbe(trx, { id: row.id })).rows).toHaveLength(1);
    });
    expect((await findProbe(t.ctx.db, { id: row.id })).rows).toHaveLength(1);
  });

  it('rejects a missing value', async () => {
    await expect(findProbe(t.ctx.db, {} as { id: string })).rejects.toThrow('prepared query value "id" is missing');
  });
});
