import ExcelJS from 'exceljs';
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteRowBatch } from '../../src/db/connection.js';
import { importRoster } from '../../src/modules/people/roster-service.js';
import { buildPersonRow } from '../../src/modules/people/service.js';
import * as store from '../../src/modules/people/store.js';
import { newId } from '../../src/shared/ids.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { STUDENT_HEADERS, buildXlsx, pupil, studentRow } from './roster-fixtures.js';

/** More than two insert batches of 500 rows, so the import sends three. */
const PUPILS = 1_200;

/** Row of the failing name: in the second batch, which fails while the loop builds the third. */
const FAILING_ROW = 700;

const rosters = new Map<string, Promise<Buffer>>();

/** Build the roster once per test file, because ExcelJS takes about a second to write it. */
function bigRoster(failingName = ''): Promise<Buffer> {
  let file = rosters.get(failingName);
  if (!file) {
    file = buildBigRoster(failingName);
    rosters.set(failingName, file);
  }
  return file;
}

async function buildBigRoster(failingName: string): Promise<Buffer> {
  const rows = Array.from({ length: PUPILS }, (_, i) => {
    const p = pupil(20_000 + i);
    const named = i === FAILING_ROW && failingName ? { ...p, name: failingName } : p;
    return studentRow(named, '', `${1 + (i % 6)}-${1 + (Math.floor(i / 6) % 10)}`, `BT${String(i).padStart(4, '0')}`);
  });
  return buildXlsx({ headers: STUDENT_HEADERS, rows: rows as ExcelJS.CellValue[][] });
}

async function count(t: TestDb, query: string): Promise<number> {
  const result = await sql<{ n: number | string }>`${sql.raw(query)}`.execute(t.ctx.db);
  return Number(result.rows[0].n);
}

async function countSchoolRows(t: TestDb, schoolId: string) {
  const inSchool = `join persons p on p.id = x.person_id where p.school_id = '${schoolId}'`;
  return {
    classes: await count(t, `select count(*) as n from classes where school_id = '${schoolId}'`),
    persons: await count(t, `select count(*) as n from persons where school_id = '${schoolId}'`),
    guardians: await count(t, `select count(*) as n from guardians x ${inSchool}`),
    consents: await count(t, `select count(*) as n from consents x ${inSchool}`),
  };
}

async function installFailingTrigger(t: TestDb, name: string): Promise<void> {
  if (t.ctx.dialect === 'sqlite') {
    await sql.raw(`CREATE TRIGGER fail_batch BEFORE INSERT ON persons WHEN NEW.name = '${name}' BEGIN SELECT RAISE(ABORT, 'boom'); END`).execute(t.ctx.db);
    return;
  }
  await sql
    .raw(`CREATE FUNCTION fail_batch() RETURNS trigger AS $$ BEGIN IF NEW.name = '${name}' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`)
    .execute(t.ctx.db);
  await sql.raw('CREATE TRIGGER fail_batch BEFORE INSERT ON persons FOR EACH ROW EXECUTE FUNCTION fail_batch()').execute(t.ctx.db);
}

async function dropFailingTrigger(t: TestDb): Promise<void> {
  if (t.ctx.dialect === 'sqlite') {
    await sql.raw('DROP TRIGGER fail_batch').execute(t.ctx.db);
    return;
  }
  await sql.raw('DROP TRIGGER fail_batch ON persons').execute(t.ctx.db);
  await sql.raw('DROP FUNCTION fail_batch()').execute(t.ctx.db);
}

describe.each(DIALECTS)('%s: roster import in batches', (dialect) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(async () => {
    await t.close();
  });

  it('loads every batch of a large roster', async () => {
    const school = await buildSchool(t.ctx);
    const file = await bigRoster();

    const result = await importRoster(t.ctx, school.code, file, { createClasses: true });
    expect(result.counts).toEqual({ rows: PUPILS, created: PUPILS, updated: 0, unchanged: 0, rejected: 0, classesCreated: 60 });
    expect(await countSchoolRows(t, school.id)).toEqual({ classes: 60, persons: PUPILS, guardians: PUPILS, consents: PUPILS });

    const last = pupil(20_000 + PUPILS - 1);
    const person = await t.ctx.db.selectFrom('persons').selectAll().where('id_number_hash', '=', t.ctx.cipher.hash(last.idNumber)).executeTakeFirstOrThrow();
    expect(person).toMatchObject({ school_id: school.id, name: last.name, student_number: `BT${PUPILS - 1}` });
    expect(t.ctx.cipher.decrypt(person.id_number_enc!)).toBe(last.idNumber);
    const guardian = await t.ctx.db.selectFrom('guardians').selectAll().where('person_id', '=', person.id).executeTakeFirstOrThrow();
    expect(t.ctx.cipher.decrypt(guardian.phone_enc!)).toBe(last.phone);
    const consent = await t.ctx.db.selectFrom('consents').selectAll().where('person_id', '=', person.id).executeTakeFirstOrThrow();
    expect(consent.guardian_id).toBe(guardian.id);

    const again = await importRoster(t.ctx, school.code, file);
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: PUPILS, classesCreated: 0 });
  });

  it('writes nothing when a late batch fails', async () => {
    const school = await buildSchool(t.ctx);
    const file = await bigRoster('批次失败');
    await installFailingTrigger(t, '批次失败');
    try {
      await expect(importRoster(t.ctx, school.code, file, { createClasses: true })).rejects.toThrow(/boom/);
    } finally {
      await dropFailingTrigger(t);
    }
    expect(await countSchoolRows(t, school.id)).toEqual({ classes: 0, persons: 0, guardians: 0, consents: 0 });

    // The connection is usable again and the same file loads.
    expect((await importRoster(t.ctx, school.code, await bigRoster(), { createClasses: true })).counts.created).toBe(PUPILS);
  });

  it('inserts persons beside their new class in one call', async () => {
    const school = await buildSchool(t.ctx);
    const klass: store.ClassRow = { id: newId(), school_id: school.id, grade: 3, number: 4, name: '三(4)班', head_teacher_id: null };
    const person = buildPersonRow(t.ctx, { schoolId: school.id, kind: 'student', name: '测试', classId: klass.id, idNumber: pupil(9).idNumber });
    const guardian: store.GuardianRow = {
      id: newId(),
      person_id: person.id,
      name: '测试家长',
      relation: null,
      phone_enc: null,
      phone_hash: null,
      phone_masked: null,
      dingtalk_user_id: null,
      created_at: 1,
      updated_at: 1,
    };

    await t.ctx.db.transaction().execute((trx) => store.insertRosterRows(trx, { classes: [klass], persons: [person], guardians: [guardian], consents: [] }));

    expect(await t.ctx.db.selectFrom('persons').select(['class_id', 'name', 'active']).where('id', '=', person.id).executeTakeFirst()).toEqual({
      class_id: klass.id,
      name: '测试',
      active: 1,
    });
    expect(await t.ctx.db.selectFrom('guardians').select('name').where('person_id', '=', person.id).executeTakeFirst()).toEqual({ name: '测试家长' });
  });

  it('rejects a guardian of a missing person', async () => {
    const guardian: store.GuardianRow = {
      id: newId(),
      person_id: 'no-such-person',
      name: '无人',
      relation: null,
      phone_enc: null,
      phone_hash: null,
      phone_masked: null,
      dingtalk_user_id: null,
      created_at: 1,
      updated_at: 1,
    };
    await expect(store.insertRosterRows(t.ctx.db, { classes: [], persons: [], guardians: [guardian], consents: [] })).rejects.toThrow(/foreign key/i);
  });
});

describe('sqlite row batch', () => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb('sqlite');
    await sql.raw('CREATE TABLE batch_probe (id INTEGER PRIMARY KEY, label TEXT NOT NULL)').execute(t.ctx.db);
  });
  afterAll(async () => {
    await t.close();
  });

  const insertProbe = 'insert into batch_probe (id, label) values (?, ?)';
  const labels = async () => (await sql<{ id: number; label: string }>`select id, label from batch_probe order by id`.execute(t.ctx.db)).rows;

  it('runs the statement once per row', async () => {
    const result = await t.ctx.db.executeQuery(CompiledQuery.raw(insertProbe, [new SqliteRowBatch([[1, 'a'], [2, 'b'], [3, 'c']])]));
    expect(result.numAffectedRows).toBe(3n);
    expect(await labels()).toEqual([
      { id: 1, label: 'a' },
      { id: 2, label: 'b' },
      { id: 3, label: 'c' },
    ]);
  });

  it('inserts none of a batch with a bad row', async () => {
    await expect(t.ctx.db.executeQuery(CompiledQuery.raw(insertProbe, [new SqliteRowBatch([[10, 'x'], [1, 'duplicate']])]))).rejects.toThrow(/UNIQUE/);
    expect((await labels()).map((row) => row.id)).toEqual([1, 2, 3]);
  });

  it('keeps earlier work of the enclosing transaction after a bad batch', async () => {
    await t.ctx.db.transaction().execute(async (trx) => {
      await trx.executeQuery(CompiledQuery.raw(insertProbe, [20, 'before']));
      await expect(trx.executeQuery(CompiledQuery.raw(insertProbe, [new SqliteRowBatch([[21, 'y'], [20, 'again']])]))).rejects.toThrow(/UNIQUE/);
      await trx.executeQuery(CompiledQuery.raw(insertProbe, [new SqliteRowBatch([[22, 'after']])]));
    });
    expect((await labels()).map((row) => row.id)).toEqual([1, 2, 3, 20, 22]);
  });

  it('binds ordinary parameters as before', async () => {
    await t.ctx.db.executeQuery(CompiledQuery.raw(insertProbe, [30, 'single']));
    const rows = await t.ctx.db.executeQuery(CompiledQuery.raw('select label from batch_probe where id = ?', [30]));
    expect(rows.rows).toEqual([{ label: 'single' }]);
  });
});
