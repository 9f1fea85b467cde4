import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { createDingTalkClient } from '../../src/modules/notify/dingtalk-client.js';
import { exportRoster, importRoster, type DingTalkLookup } from '../../src/modules/people/roster-service.js';
import { listClassSummaries, listPersons } from '../../src/modules/people/service.js';
import { maskIdNumber, maskPhone } from '../../src/shared/crypto.js';
import { formatRosterUpdate } from '../../src/modules/people/roster-updates.js';
import { parseCsv } from '../../src/modules/people/roster-csv.js';
import { startDingTalkSimulator, type DingTalkSimulator } from '../../tools/simulators/dingtalk.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { readStoredCells } from '../helpers/xlsx-cells.js';
import { buildSchool, buildStudent } from '../helpers/factories.js';
import { STUDENT_HEADERS, buildXlsx, pupil, studentRow, type Pupil } from './roster-fixtures.js';

const STAFF_HEADERS = ['姓名', '工号', '手机号', '钉钉用户ID', '职务', '班主任班级', '健康码授权'];

/** Imports into a new school name classes it does not have yet, so they ask to create them. */
const NEW_CLASSES = { createClasses: true };

async function countRows(t: TestDb, table: 'persons' | 'guardians' | 'consents' | 'classes', schoolId: string): Promise<number> {
  const db = t.ctx.db;
  if (table === 'classes' || table === 'persons') {
    const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as('n')).where('school_id', '=', schoolId).executeTakeFirstOrThrow();
    return Number(row.n);
  }
  const row = await db
    .selectFrom(table)
    .innerJoin('persons', 'persons.id', `${table}.person_id`)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('persons.school_id', '=', schoolId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function findPerson(t: TestDb, schoolId: string, idNumber: string) {
  return t.ctx.db
    .selectFrom('persons')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('id_number_hash', '=', t.ctx.cipher.hash(idNumber))
    .executeTakeFirstOrThrow();
}

/** Build a pupil roster of `pupils`, two per class, with a title row. */
async function pupilRoster(pupils: Pupil[], overrides: Map<number, unknown[]> = new Map()): Promise<Buffer> {
  const rows = pupils.map((p, i) => overrides.get(i) ?? studentRow(p, '', `${1 + (i % 2)}-${1 + Math.floor(i / 4)}`, `XS${String(i).padStart(3, '0')}`));
  return buildXlsx({ titles: ['测试小学2026学年学生名单'], headers: STUDENT_HEADERS, rows: rows as unknown[][] as ExcelJS.CellValue[][] });
}

describe.each(DIALECTS)('%s: roster import', (dialect) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(async () => {
    await t.close();
  });

  it('loads pupils, classes, guardians and consent', async () => {
    const school = await buildSchool(t.ctx);
    const pupils = Array.from({ length: 8 }, (_, i) => pupil(1000 + i));
    const result = await importRoster(t.ctx, school.code, await pupilRoster(pupils), NEW_CLASSES);

    expect(result).toMatchObject({ kind: 'student', format: 'xlsx', headerRow: 2, rejected: [], warnings: [], dingtalk: null });
    expect(result.counts).toEqual({ rows: 8, created: 8, updated: 0, unchanged: 0, rejected: 0, classesCreated: 4 });
    expect(await countRows(t, 'persons', school.id)).toBe(8);
    expect(await countRows(t, 'guardians', school.id)).toBe(8);
    expect(await countRows(t, 'consents', school.id)).toBe(8);

    const person = await findPerson(t, school.id, pupils[0].idNumber);
    expect(person).toMatchObject({ kind: 'student', name: pupils[0].name, gender: pupils[0].gender, student_number: 'XS000', active: 1 });
    expect(person.id_number_enc).not.toContain(pupils[0].idNumber.slice(6));
    expect(t.ctx.cipher.decrypt(person.id_number_enc!)).toBe(pupils[0].idNumber);
    expect(person.id_number_masked).toBe(maskIdNumber(pupils[0].idNumber));

    const klass = await t.ctx.db.selectFrom('classes').selectAll().where('id', '=', person.class_id!).executeTakeFirstOrThrow();
    expect(klass).toMatchObject({ grade: 1, number: 1, name: '一(1)班' });

    const guardian = await t.ctx.db.selectFrom('guardians').selectAll().where('person_id', '=', person.id).executeTakeFirstOrThrow();
    expect(guardian).toMatchObject({ name: pupils[0].guardian, phone_masked: `${pupils[0].phone.slice(0, 3)}****${pupils[0].phone.slice(-4)}` });
    expect(t.ctx.cipher.decrypt(guardian.phone_enc!)).toBe(pupils[0].phone);

    const consent = await t.ctx.db.selectFrom('consents').selectAll().where('person_id', '=', person.id).executeTakeFirstOrThrow();
    expect(consent).toMatchObject({ purpose: 'health_code', given_by: 'guardian', guardian_id: guardian.id, revoked_at: null });
  });

  it('changes nothing when the same file is imported again', async () => {
    const school = await buildSchool(t.ctx);
    const file = await pupilRoster(Array.from({ length: 6 }, (_, i) => pupil(1100 + i)));
    await importRoster(t.ctx, school.code, file, NEW_CLASSES);
    const before = await t.ctx.db.selectFrom('persons').select(['id', 'updated_at']).where('school_id', '=', school.id).orderBy('id').execute();

    t.setNow(t.ctx.now() + 60_000);
    const again = await importRoster(t.ctx, school.code, file);

    expect(again.counts).toEqual({ rows: 6, created: 0, updated: 0, unchanged: 6, rejected: 0, classesCreated: 0 });
    expect(await t.ctx.db.selectFrom('persons').select(['id', 'updated_at']).where('school_id', '=', school.id).orderBy('id').execute()).toEqual(before);
    expect(await countRows(t, 'guardians', school.id)).toBe(6);
    expect(await countRows(t, 'consents', school.id)).toBe(6);
  });

  it('updates a changed row and revokes consent on 否', async () => {
    const school = await buildSchool(t.ctx);
    const pupils = Array.from({ length: 4 }, (_, i) => pupil(1200 + i));
    await importRoster(t.ctx, school.code, await pupilRoster(pupils), NEW_CLASSES);

    const moved = { ...pupils[0], phone: '10099990000' };
    const changes = new Map<number, unknown[]>([
      [0, studentRow(moved, '', '3-2', 'XS000')],
      [1, studentRow(pupils[1], '', '2-1', 'XS001', '否')],
    ]);
    const result = await importRoster(t.ctx, school.code, await pupilRoster(pupils, changes), NEW_CLASSES);
    expect(result.counts).toMatchObject({ created: 0, updated: 2, unchanged: 2, classesCreated: 1 });

    const person = await findPerson(t, school.id, moved.idNumber);
    const klass = await t.ctx.db.selectFrom('classes').selectAll().where('id', '=', person.class_id!).executeTakeFirstOrThrow();
    expect([klass.grade, klass.number]).toEqual([3, 2]);
    const guardians = await t.ctx.db.selectFrom('guardians').selectAll().where('person_id', '=', person.id).execute();
    expect(guardians).toHaveLength(1);
    expect(t.ctx.cipher.decrypt(guardians[0].phone_enc!)).toBe('10099990000');

    const revoked = await findPerson(t, school.id, pupils[1].idNumber);
    const consents = await t.ctx.db.selectFrom('consents').selectAll().where('person_id', '=', revoked.id).execute();
    expect(consents).toHaveLength(1);
    expect(consents[0].revoked_at).toBe(t.ctx.now());

    const regranted = await importRoster(t.ctx, school.code, await pupilRoster(pupils));
    expect(regranted.counts).toMatchObject({ updated: 2, unchanged: 2 });
    expect(await t.ctx.db.selectFrom('consents').selectAll().where('person_id', '=', revoked.id).where('revoked_at', 'is', null).execute()).toHaveLength(1);
  });

  it('lists what changed per updated pupil', async () => {
    const school = await buildSchool(t.ctx);
    const pupils = Array.from({ length: 4 }, (_, i) => pupil(1250 + i));
    await importRoster(t.ctx, school.code, await pupilRoster(pupils), NEW_CLASSES);

    const renamed = { ...pupils[0], name: pupil(1260).name };
    const newPhone = '10099990001';
    const changes = new Map<number, unknown[]>([
      [0, studentRow(renamed, '', '2-1', 'XS900')],
      [1, studentRow({ ...pupils[1], phone: newPhone }, '', '2-1', 'XS001', '否')],
    ]);
    const result = await importRoster(t.ctx, school.code, await pupilRoster(pupils, changes));

    expect(result.counts).toMatchObject({ created: 0, updated: 2, unchanged: 2, rejected: 0 });
    expect(result.updates).toEqual([
      {
        row: 3,
        previousName: pupils[0].name,
        name: renamed.name,
        changes: [
          { field: '姓名', from: null, to: null },
          { field: '班级', from: '一(1)班', to: '二(1)班' },
          { field: '学号', from: 'XS000', to: 'XS900' },
        ],
      },
      {
        row: 4,
        previousName: pupils[1].name,
        name: pupils[1].name,
        changes: [
          { field: '监护人手机号', from: maskPhone(pupils[1].phone), to: maskPhone(newPhone) },
          { field: '健康码授权', from: '是', to: '否' },
        ],
      },
    ]);
    expect(formatRosterUpdate(result.updates[0])).toBe(`第 3 行 ${pupils[0].name} → ${renamed.name}：姓名、班级 一(1)班 → 二(1)班、学号 XS000 → XS900`);
  });

  it('warns about a new name on a known ID number', async () => {
    const school = await buildSchool(t.ctx);
    const pupils = Array.from({ length: 2 }, (_, i) => pupil(1270 + i));
    await importRoster(t.ctx, school.code, await pupilRoster(pupils), NEW_CLASSES);

    const renamed = { ...pupils[1], name: pupil(1280).name };
    const result = await importRoster(t.ctx, school.code, await pupilRoster(pupils, new Map([[1, studentRow(renamed, '', '2-1', 'XS001')]])));

    expect(result.counts).toMatchObject({ updated: 1, unchanged: 1 });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(new RegExp(`^1 人的姓名与已登记的不同（第 4 行 ${pupils[1].name} → ${renamed.name}）：`));
    expect(result.warnings[0]).toContain('多半是身份证号填错了');
    const reply = JSON.stringify(result);
    for (const p of pupils) expect(reply).not.toContain(p.idNumber);
  });

  it('loads good rows and reports bad ones', async () => {
    const school = await buildSchool(t.ctx);
    const pupils = Array.from({ length: 3 }, (_, i) => pupil(1300 + i));
    const bad = new Map<number, unknown[]>([[1, [pupils[1].name, pupils[1].gender, 330106199003071230, '', '1-1', 'XS1', '', '', '是']]]);
    const result = await importRoster(t.ctx, school.code, await pupilRoster(pupils, bad), NEW_CLASSES);

    expect(result.counts).toMatchObject({ rows: 3, created: 2, rejected: 1 });
    expect(result.rejected).toEqual([{ row: 4, problems: [expect.objectContaining({ column: '身份证号', value: '3.30106E+17' })] }]);
    expect(await countRows(t, 'persons', school.id)).toBe(2);
  });

  it('writes nothing when the transaction fails', async () => {
    const school = await buildSchool(t.ctx);
    const pupils = Array.from({ length: 5 }, (_, i) => pupil(1400 + i));
    pupils[4] = { ...pupils[4], name: '触发失败' };
    await installFailingTrigger(t, '触发失败');
    try {
      await expect(importRoster(t.ctx, school.code, await pupilRoster(pupils), NEW_CLASSES)).rejects.toThrow(/boom/);
    } finally {
      await dropFailingTrigger(t);
    }
    expect(await countRows(t, 'persons', school.id)).toBe(0);
    expect(await countRows(t, 'classes', school.id)).toBe(0);
  });

  it('rejects a pupil whose ID number belongs to staff', async () => {
    const school = await buildSchool(t.ctx);
    const p = pupil(1500);
    const staff = await buildXlsx({ headers: ['姓名', '工号', '身份证号'], rows: [['王老师', 'T1', p.idNumber]] });
    expect((await importRoster(t.ctx, school.code, staff)).counts.created).toBe(1);

    const result = await importRoster(t.ctx, school.code, await pupilRoster([p]));
    expect(result.counts).toMatchObject({ created: 0, rejected: 1 });
    expect(result.rejected[0].problems[0].reason).toContain('已登记为本校教职工（工号 T1）');
  });

  it('imports staff, roles and head-teacher classes idempotently', async () => {
    const school = await buildSchool(t.ctx);
    const rows = [
      ['王老师', 'T001', '10000000001', 'dt-wang', '班主任', '一(1)班', '是'],
      ['李校长', 'T002', '10000000002', 'dt-li', '校长', '', '是'],
      ['赵医生', 'T003', '10000000003', '', '校医', '', ''],
      ['钱师傅', 'T004', '', '', '门卫', '', '否'],
      ['孙老师', 'T005', '', '', '', '二(3)班', ''],
    ];
    const file = await buildXlsx({ titles: ['教职工名单'], headers: STAFF_HEADERS, rows });
    const first = await importRoster(t.ctx, school.code, file, NEW_CLASSES);
    expect(first.kind).toBe('staff');
    expect(first.counts).toEqual({ rows: 5, created: 5, updated: 0, unchanged: 0, rejected: 0, classesCreated: 2 });

    const staff = await t.ctx.db.selectFrom('persons').selectAll().where('school_id', '=', school.id).orderBy('staff_number').execute();
    expect(staff.map((s) => [s.staff_number, s.kind, s.staff_role])).toEqual([
      ['T001', 'staff', 'head_teacher'],
      ['T002', 'staff', 'management'],
      ['T003', 'staff', 'school_doctor'],
      ['T004', 'staff', 'guard'],
      ['T005', 'staff', 'head_teacher'],
    ]);
    expect(t.ctx.cipher.decrypt(staff[0].phone_enc!)).toBe('10000000001');
    expect(staff[0].dingtalk_user_id).toBe('dt-wang');

    const classes = await listClassSummaries(t.ctx, school.id);
    expect(classes.map((c) => [c.name, c.headTeacher?.name])).toEqual([
      ['一(1)班', '王老师'],
      ['二(3)班', '孙老师'],
    ]);

    const consents = await t.ctx.db.selectFrom('consents').selectAll().where('person_id', 'in', staff.map((s) => s.id)).execute();
    expect(consents.map((c) => [c.given_by, c.guardian_id])).toEqual([
      ['self', null],
      ['self', null],
    ]);

    const again = await importRoster(t.ctx, school.code, file);
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 5 });
  });

  it('moves a head teacher and updates staff by 工号', async () => {
    const school = await buildSchool(t.ctx);
    const before = [
      ['王老师', 'T001', '10000000001', '', '班主任', '一(1)班', ''],
      ['李老师', 'T002', '10000000002', '', '班主任', '一(2)班', ''],
    ];
    await importRoster(t.ctx, school.code, await buildXlsx({ headers: STAFF_HEADERS, rows: before }), NEW_CLASSES);

    const after = [
      ['王老师', 'T001', '10000000011', '', '班主任', '一(2)班', ''],
      ['李老师', 'T002', '10000000002', '', '班主任', '一(1)班', ''],
    ];
    const result = await importRoster(t.ctx, school.code, await buildXlsx({ headers: STAFF_HEADERS, rows: after }));
    expect(result.counts).toMatchObject({ updated: 2, unchanged: 0 });
    expect(result.updates).toEqual([
      {
        row: 2,
        previousName: '王老师',
        name: '王老师',
        changes: [
          { field: '手机号', from: maskPhone('10000000001'), to: maskPhone('10000000011') },
          { field: '班主任班级', from: '一(1)班', to: '一(2)班' },
        ],
      },
      { row: 3, previousName: '李老师', name: '李老师', changes: [{ field: '班主任班级', from: '一(2)班', to: '一(1)班' }] },
    ]);
    expect(result.warnings).toEqual([]);

    const classes = await listClassSummaries(t.ctx, school.id);
    expect(classes.map((c) => [c.name, c.headTeacher?.name])).toEqual([
      ['一(1)班', '李老师'],
      ['一(2)班', '王老师'],
    ]);
    const wang = await t.ctx.db.selectFrom('persons').selectAll().where('school_id', '=', school.id).where('staff_number', '=', 'T001').executeTakeFirstOrThrow();
    expect(t.ctx.cipher.decrypt(wang.phone_enc!)).toBe('10000000011');
  });

  it('rejects staff whose ID number belongs to another 工号', async () => {
    const school = await buildSchool(t.ctx);
    const id = pupil(1600).idNumber;
    await importRoster(t.ctx, school.code, await buildXlsx({ headers: ['姓名', '工号', '身份证号'], rows: [['甲', 'T1', id]] }));
    const result = await importRoster(t.ctx, school.code, await buildXlsx({ headers: ['姓名', '工号', '身份证号'], rows: [['甲', 'T9', id]] }));
    expect(result.counts).toMatchObject({ created: 0, rejected: 1 });
    expect(result.rejected[0].problems[0].reason).toContain('工号 T1');
  });

  it('lists persons masked and filtered by name and class', async () => {
    const school = await buildSchool(t.ctx);
    const pupils = Array.from({ length: 4 }, (_, i) => pupil(1700 + i));
    await importRoster(t.ctx, school.code, await pupilRoster(pupils), NEW_CLASSES);

    const all = await listPersons(t.ctx, school.id, { limit: 50, offset: 0 });
    expect(all.total).toBe(4);
    expect(all.items[0].idNumberMasked).toMatch(/^\d{3}\*{11}[\dX]{4}$/);
    expect(JSON.stringify(all)).not.toContain(pupils[0].idNumber);
    expect(JSON.stringify(all)).not.toContain(pupils[0].phone);

    const byClass = await listPersons(t.ctx, school.id, { className: '一(1)班', limit: 50, offset: 0 });
    expect(byClass.items.map((p) => p.className)).toEqual(['一(1)班', '一(1)班']);
    const byName = await listPersons(t.ctx, school.id, { name: pupils[2].name, limit: 50, offset: 0 });
    expect(byName.items.map((p) => p.name)).toContain(pupils[2].name);
    expect((await listPersons(t.ctx, school.id, { name: '%', limit: 50, offset: 0 })).total).toBe(0);
  });
});

describe.each(DIALECTS)('%s: roster classes', (dialect) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(async () => {
    await t.close();
  });

  /** Create a school with 二(1)班 to 二(3)班, one pupil each, by a first import that may create classes. */
  async function schoolWithGradeTwo() {
    const school = await buildSchool(t.ctx);
    const first = [pupil(4000), pupil(4001), pupil(4002)];
    const rows = first.map((p, i) => studentRow(p, '', `二(${i + 1})班`, `A${i}`));
    const result = await importRoster(t.ctx, school.code, await buildXlsx({ headers: STUDENT_HEADERS, rows }), NEW_CLASSES);
    expect(result.createdClasses).toEqual(['二(1)班', '二(2)班', '二(3)班']);
    return school;
  }

  async function classNames(schoolId: string): Promise<string[]> {
    return (await listClassSummaries(t.ctx, schoolId)).map((c) => c.name);
  }

  it('matches class spellings to one class', async () => {
    const school = await schoolWithGradeTwo();
    const spellings = ['二(3)班', '二（3）班', '二 ( 3 ) 班', '2年级3班', '二年级3班', '二年级（3）班', '二【3】班', '2-3', '203', '２－３'];
    const pupils = spellings.map((_, i) => pupil(4100 + i));
    const rows = pupils.map((p, i) => studentRow(p, '', spellings[i], `B${i}`));
    const result = await importRoster(t.ctx, school.code, await buildXlsx({ headers: STUDENT_HEADERS, rows }));

    expect(result.rejected).toEqual([]);
    expect(result.counts).toMatchObject({ created: spellings.length, classesCreated: 0 });
    expect(await classNames(school.id)).toEqual(['二(1)班', '二(2)班', '二(3)班']);
    const inClass = await listPersons(t.ctx, school.id, { className: '二(3)班', limit: 50, offset: 0 });
    expect(inClass.total).toBe(spellings.length + 1);
  });

  it('rejects rows naming missing classes', async () => {
    const school = await schoolWithGradeTwo();
    const [good, typo, hyphen, withGrade] = [pupil(4200), pupil(4201), pupil(4202), pupil(4203)];
    const headers = [...STUDENT_HEADERS];
    const rows = [
      studentRow(good, '二年级', '二(2)班', 'C0'),
      studentRow(typo, '', '二(13)班', 'C1'),
      studentRow(hyphen, '', '2-13', 'C2'),
      studentRow(withGrade, '三年级', '1班', 'C3'),
    ];
    const result = await importRoster(t.ctx, school.code, await buildXlsx({ headers, rows }));

    expect(result.counts).toMatchObject({ rows: 4, created: 1, rejected: 3, classesCreated: 0 });
    expect(result.createdClasses).toEqual([]);
    expect(result.rejected.map((r) => r.row)).toEqual([3, 4, 5]);
    expect(result.rejected[0].problems).toEqual([
      {
        column: '班级',
        value: '二(13)班',
        reason: '班级“二(13)班”不存在，请检查拼写，或在导入时勾选“自动新建班级”（本校二年级现有二(1)班至二(3)班）',
      },
    ]);
    expect(result.rejected[1].problems[0].reason).toMatch(/^班级“2-13”（即二\(13\)班）不存在，请检查拼写/);
    expect(result.rejected[2].problems[0]).toMatchObject({ column: '班级', value: '1班' });
    expect(result.rejected[2].problems[0].reason).toContain('班级“1班”（即三(1)班）不存在');
    expect(result.rejected[2].problems[0].reason).toContain('本校还没有三年级的班级');
    expect(result.warnings).toContain('3 行因班级不存在未导入（二(13)班、三(1)班）；请核对班级名称，如确需新建这些班级，请在导入时勾选“自动新建班级”');

    expect(await classNames(school.id)).toEqual(['二(1)班', '二(2)班', '二(3)班']);
    expect(await countRows(t, 'persons', school.id)).toBe(4);
    await expect(findPerson(t, school.id, typo.idNumber)).rejects.toThrow();
  });

  it('lists grade classes with gaps by name', async () => {
    const school = await buildSchool(t.ctx);
    const rows = [studentRow(pupil(4700), '', '五(1)班', 'G0'), studentRow(pupil(4701), '', '五(2)班', 'G1'), studentRow(pupil(4702), '', '五(4)班', 'G2')];
    await importRoster(t.ctx, school.code, await buildXlsx({ headers: STUDENT_HEADERS, rows }), NEW_CLASSES);

    const file = await buildXlsx({ headers: STUDENT_HEADERS, rows: [studentRow(pupil(4703), '', '五(3)班', 'G3')] });
    const result = await importRoster(t.ctx, school.code, file);
    expect(result.rejected[0].problems[0].reason).toContain('（本校五年级现有五(1)班、五(2)班、五(4)班）');
  });

  it('lists every class of a large grade', async () => {
    const school = await buildSchool(t.ctx);
    // Fourteen classes with gaps, more than a list cut at twelve would show.
    const numbers = Array.from({ length: 14 }, (_, i) => 2 * i + 1);
    const rows = numbers.map((number, i) => studentRow(pupil(4800 + i), '', `四(${number})班`, `L${i}`));
    await importRoster(t.ctx, school.code, await buildXlsx({ headers: STUDENT_HEADERS, rows }), NEW_CLASSES);

    const file = await buildXlsx({ headers: STUDENT_HEADERS, rows: [studentRow(pupil(4820), '', '四(2)班', 'L20')] });
    const result = await importRoster(t.ctx, school.code, file);
    const reason = result.rejected[0].problems[0].reason;
    expect(reason).toBe(`班级“四(2)班”不存在，请检查拼写，或在导入时勾选“自动新建班级”（本校四年级现有${numbers.map((n) => `四(${n})班`).join('、')}）`);
    expect(reason).not.toContain('等');
  });

  it('points to the class list for a huge grade', async () => {
    const school = await buildSchool(t.ctx);
    // Class numbers go up to 99. Pairs with a gap after each, such as 六(1)班、六(2)班, never form a range, so 66 classes are 66 entries.
    const numbers = Array.from({ length: 99 }, (_, i) => i + 1).filter((number) => number % 3 !== 0);
    const rows = numbers.map((number, i) => studentRow(pupil(4900 + i), '', `六(${number})班`, `M${i}`));
    await importRoster(t.ctx, school.code, await buildXlsx({ headers: STUDENT_HEADERS, rows }), NEW_CLASSES);

    const file = await buildXlsx({ headers: STUDENT_HEADERS, rows: [studentRow(pupil(4990), '', '六(3)班', 'M99')] });
    const result = await importRoster(t.ctx, school.code, file);
    expect(result.rejected[0].problems[0].reason).toBe(
      `班级“六(3)班”不存在，请检查拼写，或在导入时勾选“自动新建班级”（本校六年级共有 66 个班，全部班级可在控制台“晨午检”页的班级下拉框中查看，或运行 npx fangkong classes --school ${school.code} 列出）`,
    );
  });

  it('keeps known pupil out of missing class', async () => {
    const school = await schoolWithGradeTwo();
    const known = pupil(4000);
    const result = await importRoster(t.ctx, school.code, await buildXlsx({ headers: STUDENT_HEADERS, rows: [studentRow(known, '', '二(31)班', 'A0')] }));

    expect(result.counts).toMatchObject({ updated: 0, rejected: 1 });
    const person = await findPerson(t, school.id, known.idNumber);
    const klass = await t.ctx.db.selectFrom('classes').selectAll().where('id', '=', person.class_id!).executeTakeFirstOrThrow();
    expect(klass.name).toBe('二(1)班');
  });

  it('creates missing classes when asked', async () => {
    const school = await schoolWithGradeTwo();
    const rows = [studentRow(pupil(4300), '', '二(13)班', 'D0'), studentRow(pupil(4301), '', '二（13）班', 'D1'), studentRow(pupil(4302), '', '3-1', 'D2')];
    const result = await importRoster(t.ctx, school.code, await buildXlsx({ headers: STUDENT_HEADERS, rows }), NEW_CLASSES);

    expect(result.rejected).toEqual([]);
    expect(result.counts).toMatchObject({ created: 3, classesCreated: 2 });
    expect(result.createdClasses).toEqual(['二(13)班', '三(1)班']);
    expect(result.warnings).toEqual([]);
    expect(await classNames(school.id)).toEqual(['二(1)班', '二(2)班', '二(3)班', '二(13)班', '三(1)班']);
  });

  it('rejects rows of school without classes', async () => {
    const school = await buildSchool(t.ctx);
    const rows = [studentRow(pupil(4400), '', '一(1)班', 'E0'), studentRow(pupil(4401), '', '一(2)班', 'E1')];
    const result = await importRoster(t.ctx, school.code, await buildXlsx({ headers: STUDENT_HEADERS, rows }));

    expect(result.counts).toMatchObject({ created: 0, rejected: 2, classesCreated: 0 });
    expect(result.rejected[0].problems[0].reason).toBe('班级“一(1)班”不存在，请检查拼写，或在导入时勾选“自动新建班级”（本校还没有任何班级）');
    expect(result.warnings.join()).toContain('2 行因班级不存在未导入（一(1)班、一(2)班）');
    expect(await countRows(t, 'classes', school.id)).toBe(0);
    expect(await countRows(t, 'persons', school.id)).toBe(0);
  });

  it('rejects head teacher of missing class', async () => {
    const school = await schoolWithGradeTwo();
    const rows = [
      ['王老师', 'T101', '10000000101', '', '班主任', '二(1)班', '是'],
      ['李老师', 'T102', '10000000102', '', '班主任', '二(2)班、二(12)班', '是'],
    ];
    const result = await importRoster(t.ctx, school.code, await buildXlsx({ headers: STAFF_HEADERS, rows }));

    expect(result.counts).toMatchObject({ created: 1, rejected: 1, classesCreated: 0 });
    expect(result.rejected).toEqual([
      {
        row: 3,
        problems: [
          {
            column: '班主任班级',
            value: '二(2)班、二(12)班',
            reason: '班级“二(12)班”不存在，请检查拼写，或在导入时勾选“自动新建班级”（本校二年级现有二(1)班至二(3)班）',
          },
        ],
      },
    ]);
    const classes = await listClassSummaries(t.ctx, school.id);
    expect(classes.map((c) => [c.name, c.headTeacher?.name ?? null])).toEqual([
      ['二(1)班', '王老师'],
      ['二(2)班', null],
      ['二(3)班', null],
    ]);
    expect(await t.ctx.db.selectFrom('persons').select('id').where('school_id', '=', school.id).where('staff_number', '=', 'T102').execute()).toEqual([]);

    const allowed = await importRoster(t.ctx, school.code, await buildXlsx({ headers: STAFF_HEADERS, rows }), NEW_CLASSES);
    expect(allowed.counts).toMatchObject({ created: 1, unchanged: 1, rejected: 0, classesCreated: 1 });
    expect(allowed.createdClasses).toEqual(['二(12)班']);
  });

  it('uses the given hint for new classes', async () => {
    const school = await schoolWithGradeTwo();
    const file = await buildXlsx({ headers: STUDENT_HEADERS, rows: [studentRow(pupil(4500), '', '二(9)班', 'F0')] });
    const result = await importRoster(t.ctx, school.code, file, { createClassesHint: '加上 --create-classes 重新导入' });

    expect(result.rejected[0].problems[0].reason).toBe('班级“二(9)班”不存在，请检查拼写，或加上 --create-classes 重新导入（本校二年级现有二(1)班至二(3)班）');
    expect(result.warnings.join()).toContain('如确需新建这些班级，请加上 --create-classes 重新导入');
  });

  it('records importing account on consents', async () => {
    const school = await buildSchool(t.ctx);
    const pupils = [pupil(4600), pupil(4601)];
    const principal = { userId: 'user-principal', username: 'principal', displayName: '王校长' };
    await importRoster(t.ctx, school.code, await pupilRoster(pupils), { ...NEW_CLASSES, actor: principal });

    const consents = await t.ctx.db
      .selectFrom('consents')
      .innerJoin('persons', 'persons.id', 'consents.person_id')
      .selectAll('consents')
      .where('persons.school_id', '=', school.id)
      .execute();
    expect(consents).toHaveLength(2);
    for (const consent of consents) {
      expect(consent).toMatchObject({ recorded_by_user_id: 'user-principal', recorded_by_username: 'principal', recorded_by_name: '王校长', revoked_by_user_id: null });
    }

    const clerk = { userId: 'user-clerk', username: 'clerk', displayName: '赵干事' };
    const revoke = new Map<number, unknown[]>([[1, studentRow(pupils[1], '', '1-1', 'XS001', '否')]]);
    await importRoster(t.ctx, school.code, await pupilRoster(pupils, revoke), { actor: clerk });
    const revoked = await t.ctx.db.selectFrom('consents').selectAll().where('person_id', '=', (await findPerson(t, school.id, pupils[1].idNumber)).id).executeTakeFirstOrThrow();
    expect(revoked).toMatchObject({ recorded_by_username: 'principal', revoked_by_user_id: 'user-clerk', revoked_by_username: 'clerk', revoked_by_name: '赵干事' });
    expect(revoked.revoked_at).toBe(t.ctx.now());
  });
});

describe.each(DIALECTS)('%s: roster export', (dialect) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(async () => {
    await t.close();
  });

  it('writes ID numbers as text cells and re-imports without changes', async () => {
    const school = await buildSchool(t.ctx, { name: '回环小学' });
    const pupils = Array.from({ length: 5 }, (_, i) => pupil(2000 + i));
    const rows = new Map<number, unknown[]>([[0, [pupils[0].name, pupils[0].gender, pupils[0].idNumber, '', '1-1', '=1+1', '@家长', pupils[0].phone, '是']]]);
    await importRoster(t.ctx, school.code, await pupilRoster(pupils, rows), NEW_CLASSES);

    const exported = await exportRoster(t.ctx, school.code, { kind: 'student', format: 'xlsx' });
    expect(exported.fileName).toBe('回环小学学生名单.xlsx');
    expect(exported.rows).toBe(5);

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(exported.bytes as unknown as ExcelJS.Buffer);
    const sheet = workbook.worksheets[0];
    expect(sheet.getCell('A1').value).toBe('回环小学学生名单');
    expect(sheet.getCell('A1').isMerged).toBe(true);
    expect(sheet.getRow(2).values).toEqual([undefined, '姓名', '性别', '身份证号', '人员类型', '年级', '班级', '学号', '监护人', '联系电话', '钉钉用户ID', '健康码授权']);

    const idCell = sheet.getCell('C3');
    expect(idCell.type).toBe(ExcelJS.ValueType.String);
    expect(idCell.numFmt).toBe('@');
    expect(pupils.map((p) => p.idNumber)).toContain(idCell.value);
    // Text cells are never run as formulas, so the values need no apostrophe.
    expect(sheet.getCell('G3').value).toBe('=1+1');
    expect(sheet.getCell('H3').value).toBe('@家长');
    const stored = readStoredCells(exported.bytes, ['G3', 'H3']);
    expect(stored.get('G3')).toEqual({ type: 's', hasFormula: false, text: '=1+1', numberFormatId: 49 });
    expect(stored.get('H3')).toEqual({ type: 's', hasFormula: false, text: '@家长', numberFormatId: 49 });

    const again = await importRoster(t.ctx, school.code, exported.bytes);
    expect(again.rejected).toEqual([]);
    expect(again.counts).toEqual({ rows: 5, created: 0, updated: 0, unchanged: 5, rejected: 0, classesCreated: 0 });
    const person = await findPerson(t, school.id, pupils[0].idNumber);
    expect(person.student_number).toBe('=1+1');
  });

  it('round-trips a CSV export with leading tabs on digits', async () => {
    const school = await buildSchool(t.ctx);
    const pupils = Array.from({ length: 3 }, (_, i) => pupil(2100 + i));
    const rows = new Map<number, unknown[]>([[0, [pupils[0].name, pupils[0].gender, pupils[0].idNumber, '', '1-1', '=1+1', '@家长', pupils[0].phone, '是']]]);
    await importRoster(t.ctx, school.code, await pupilRoster(pupils, rows), NEW_CLASSES);

    const exported = await exportRoster(t.ctx, school.code, { kind: 'student', format: 'csv' });
    expect([...exported.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const records = parseCsv(exported.bytes.subarray(3).toString('utf8'));
    expect(records[2][2]).toMatch(/^\t\d{17}[\dX]$/);
    // A CSV has no cell types, so formula characters keep their apostrophe.
    const formulaRow = records.find((record) => record[2] === `\t${pupils[0].idNumber}`)!;
    expect(formulaRow[6]).toBe("'=1+1");
    expect(formulaRow[7]).toBe("'@家长");

    const again = await importRoster(t.ctx, school.code, exported.bytes);
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 3, rejected: 0 });
    const person = await findPerson(t, school.id, pupils[0].idNumber);
    expect(person.student_number).toBe('=1+1');
  });

  it('round-trips staff with head-teacher classes', async () => {
    const school = await buildSchool(t.ctx);
    const rows = [
      ['王老师', 'T001', '10000000001', 'dt-wang', '班主任', '一(1)班、一(2)班', '是'],
      ['李校长', 'T002', '10000000002', '-dt-li', '副校长', '', '否'],
    ];
    await importRoster(t.ctx, school.code, await buildXlsx({ headers: STAFF_HEADERS, rows }), NEW_CLASSES);

    for (const format of ['xlsx', 'csv'] as const) {
      const exported = await exportRoster(t.ctx, school.code, { kind: 'staff', format });
      const again = await importRoster(t.ctx, school.code, exported.bytes);
      expect(again.kind).toBe('staff');
      expect(again.counts, format).toMatchObject({ created: 0, updated: 0, unchanged: 2, rejected: 0 });
    }
    const li = await t.ctx.db.selectFrom('persons').selectAll().where('school_id', '=', school.id).where('staff_number', '=', 'T002').executeTakeFirstOrThrow();
    expect(li.dingtalk_user_id).toBe('-dt-li');
  });

  it('exports factory-made pupils so they import back', async () => {
    const school = await buildSchool(t.ctx);
    const factoryPupil = await buildStudent(t.ctx, school.id, { grade: 4, classNumber: 2 });
    const exported = await exportRoster(t.ctx, school.code, { kind: 'student', format: 'xlsx' });
    const again = await importRoster(t.ctx, school.code, exported.bytes);
    // The factory stores no gender; the import fills it from the ID number once.
    expect(again.counts).toMatchObject({ created: 0, updated: 1, rejected: 0 });
    expect((await findPerson(t, school.id, factoryPupil.idNumber)).gender).toMatch(/^[男女]$/);
  });
});

describe.each(DIALECTS)('%s: DingTalk lookups', (dialect) => {
  let t: TestDb;
  let simulator: DingTalkSimulator;
  let lookup: DingTalkLookup;
  const pupils = Array.from({ length: 4 }, (_, i) => pupil(3000 + i));

  beforeAll(async () => {
    t = await createTestDb(dialect);
    simulator = await startDingTalkSimulator({
      appKey: 'key',
      appSecret: 'secret',
      agentId: '1',
      users: { [pupils[0].phone]: 'dt-found-0', [pupils[1].phone]: 'dt-found-1' },
    });
    const config: Config['dingtalk'] = { apiUrl: simulator.url, appKey: 'key', appSecret: 'secret', agentId: '1', robotWebhook: '', robotSecret: '' };
    const client = createDingTalkClient(config, t.ctx.log, { timeoutMs: 2000 });
    lookup = (mobile) => client.getUserIdByMobile(mobile);
  });
  afterAll(async () => {
    await simulator.close();
    await t.close();
  });

  it('stores found user ids after the import and warns about the rest', async () => {
    const school = await buildSchool(t.ctx);
    const file = await pupilRoster(pupils);
    const result = await importRoster(t.ctx, school.code, file, { lookupDingTalkUserId: lookup, ...NEW_CLASSES });

    expect(result.counts.created).toBe(4);
    expect(result.dingtalk).toEqual({ lookedUp: 4, found: 2, notFound: 2, failed: 0, skipped: 0 });
    expect(result.warnings.join()).toContain('2 个手机号在钉钉中未找到用户（第 5 行、第 6 行）');

    const person = await findPerson(t, school.id, pupils[0].idNumber);
    const guardian = await t.ctx.db.selectFrom('guardians').selectAll().where('person_id', '=', person.id).executeTakeFirstOrThrow();
    expect(guardian.dingtalk_user_id).toBe('dt-found-0');

    const again = await importRoster(t.ctx, school.code, file, { lookupDingTalkUserId: lookup });
    expect(again.counts).toMatchObject({ updated: 0, unchanged: 4 });
    expect(again.dingtalk).toMatchObject({ lookedUp: 2, found: 0, notFound: 2 });
  });

  it('keeps the import when DingTalk is down', async () => {
    const school = await buildSchool(t.ctx);
    const many = Array.from({ length: 8 }, (_, i) => pupil(3100 + i));
    await simulator.setFaults({ down: 'error503' });
    try {
      const result = await importRoster(t.ctx, school.code, await pupilRoster(many), { lookupDingTalkUserId: lookup, ...NEW_CLASSES });
      expect(result.counts.created).toBe(8);
      expect(result.dingtalk!.failed).toBeGreaterThanOrEqual(5);
      expect(result.dingtalk!.failed + result.dingtalk!.skipped).toBe(8);
      expect(result.warnings.join()).toContain('通过手机号查询钉钉用户失败');
    } finally {
      await simulator.clearFaults();
    }
    expect(await countRows(t, 'persons', school.id)).toBe(8);
  });
});

async function installFailingTrigger(t: TestDb, name: string): Promise<void> {
  if (t.ctx.dialect === 'sqlite') {
    await sql
      .raw(`CREATE TRIGGER fail_on_name BEFORE INSERT ON persons WHEN NEW.name = '${name}' BEGIN SELECT RAISE(ABORT, 'boom'); END`)
      .execute(t.ctx.db);
    return;
  }
  await sql
    .raw(
      `CREATE FUNCTION fail_on_name() RETURNS trigger AS $$ BEGIN IF NEW.name = '${name}' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
    )
    .execute(t.ctx.db);
  await sql.raw('CREATE TRIGGER fail_on_name BEFORE INSERT ON persons FOR EACH ROW EXECUTE FUNCTION fail_on_name()').execute(t.ctx.db);
}

async function dropFailingTrigger(t: TestDb): Promise<void> {
  if (t.ctx.dialect === 'sqlite') {
    await sql.raw('DROP TRIGGER fail_on_name').execute(t.ctx.db);
    return;
  }
  await sql.raw('DROP TRIGGER fail_on_name ON persons').execute(t.ctx.db);
  await sql.raw('DROP FUNCTION fail_on_name()').execute(t.ctx.db);
}
