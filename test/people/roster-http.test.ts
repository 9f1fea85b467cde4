import { randomBytes } from 'node:crypto';
import ExcelJS from 'exceljs';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createUser } from '../../src/modules/auth/service.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { readStoredCells } from '../helpers/xlsx-cells.js';
import { buildSchool } from '../helpers/factories.js';
import { readRosterFile, type RosterRow } from '../../src/modules/people/roster-read.js';
import { STUDENT_HEADERS, buildXlsx, pupil, studentRow } from './roster-fixtures.js';

const PASSWORD = 'Roster-Pass-2026';

interface Session {
  cookie: string;
  csrf: string;
}

/** Build a multipart/form-data body with one file field, the way browsers do. */
async function multipartBody(bytes: Uint8Array, fileName = 'roster.xlsx', field = 'file'): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(bytes)]), fileName);
  const response = new Response(form);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

describe.each(DIALECTS)('%s: roster over HTTP', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let school: { id: string; code: string };
  let otherSchool: { id: string; code: string };
  let admin: Session;
  let otherAdmin: Session;
  let teacher: Session;
  let headTeacher: Session;
  const pupils = Array.from({ length: 6 }, (_, i) => pupil(5000 + i));

  async function signIn(username: string): Promise<Session> {
    const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: PASSWORD } });
    expect(response.statusCode, response.body).toBe(200);
    const cookies = response.cookies as Array<{ name: string; value: string }>;
    const session = cookies.find((c) => c.name === 'fk_session')!;
    const csrf = cookies.find((c) => c.name === 'fk_csrf')!;
    return { cookie: `fk_session=${session.value}; fk_csrf=${csrf.value}`, csrf: csrf.value };
  }

  async function upload(code: string, bytes: Uint8Array, session: Session | null = admin, query = ''): Promise<LightMyRequestResponse> {
    const { body, contentType } = await multipartBody(bytes);
    const headers: Record<string, string> = { 'content-type': contentType };
    if (session) Object.assign(headers, { cookie: session.cookie, 'x-csrf-token': session.csrf });
    return app.inject({ method: 'POST', url: `/api/schools/${code}/roster${query}`, payload: body, headers });
  }

  async function get(url: string, session: Session = admin): Promise<LightMyRequestResponse> {
    return app.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
  }

  async function auditActions(schoolId: string): Promise<string[]> {
    const rows = await t.ctx.db.selectFrom('audit_log').select('action').where('school_id', '=', schoolId).orderBy('at').execute();
    return rows.map((r) => r.action);
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    app = await buildApp(t.ctx);
    school = await buildSchool(t.ctx, { name: '接口小学' });
    otherSchool = await buildSchool(t.ctx);
    await createUser(t.ctx, { username: 'admin1', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'admin2', role: 'school_admin', schoolCode: otherSchool.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'teacher1', role: 'teacher', schoolCode: school.code, password: PASSWORD }, null);
    // The head teacher's account comes before the roster, so it creates the class.
    await createUser(t.ctx, { username: 'head1', role: 'head_teacher', schoolCode: school.code, className: '一(1)班', createClass: true, password: PASSWORD }, null);
    admin = await signIn('admin1');
    otherAdmin = await signIn('admin2');
    teacher = await signIn('teacher1');
    headTeacher = await signIn('head1');

    const rows = pupils.map((p, i) => studentRow(p, '', i < 3 ? '一(1)班' : '一(2)班', `S${i}`));
    rows.push(['没有号码', '', '', '', '一(1)班', '', '', '', '是']);
    const response = await upload(school.code, await buildXlsx({ titles: ['接口小学学生名单'], headers: STUDENT_HEADERS, rows }), admin, '?createClasses=true');
    expect(response.statusCode, response.body).toBe(200);
  });

  afterAll(async () => {
    await app.close();
    await t.close();
  });

  it('imports an uploaded roster and reports rejected rows', async () => {
    const extra = pupil(5100);
    const rows = [...pupils.map((p, i) => studentRow(p, '', i < 3 ? '一(1)班' : '一(2)班', `S${i}`)), studentRow(extra, '二年级', '3班', 'S9')];
    rows.push(['坏号码', '', '110101900307867', '', '一(1)班', '', '', '', '是']);
    const file = await buildXlsx({ titles: ['接口小学学生名单'], headers: STUDENT_HEADERS, rows });
    const badId = { row: 10, problems: [{ column: '身份证号', value: '110********7867', reason: '旧版15位身份证号，请填写18位号码' }] };

    const response = await upload(school.code, file);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.counts).toEqual({ rows: 8, created: 0, updated: 0, unchanged: 6, rejected: 2, classesCreated: 0 });
    expect(body.rejected).toEqual([
      {
        row: 9,
        problems: [{ column: '班级', value: '3班', reason: '班级“3班”（即二(3)班）不存在，请检查拼写，或在导入时勾选“自动新建班级”（本校还没有二年级的班级）' }],
      },
      badId,
    ]);
    expect(body.createdClasses).toEqual([]);

    const allowed = await upload(school.code, file, admin, '?createClasses=true');
    expect(allowed.statusCode, allowed.body).toBe(200);
    expect(allowed.json().counts).toEqual({ rows: 8, created: 1, updated: 0, unchanged: 6, rejected: 1, classesCreated: 1 });
    expect(allowed.json().rejected).toEqual([badId]);
    expect(allowed.json().createdClasses).toEqual(['二(3)班']);

    const audits = await t.ctx.db.selectFrom('audit_log').select(['action', 'detail']).where('school_id', '=', school.id).where('action', '=', 'roster.import').execute();
    expect(audits.map((a) => JSON.parse(a.detail).createClasses)).toEqual([true, false, true]);
  });

  it('lists updated people with what changed', async () => {
    const kept = pupil(5200);
    const moved = pupil(5201);
    const first = [studentRow(kept, '', '一(1)班', 'K1'), studentRow(moved, '', '一(1)班', 'K2')];
    const created = await upload(otherSchool.code, await buildXlsx({ headers: STUDENT_HEADERS, rows: first }), otherAdmin, '?createClasses=true');
    expect(created.statusCode, created.body).toBe(200);

    const renamed = { ...moved, name: pupil(5202).name };
    const second = [studentRow(kept, '', '一(1)班', 'K1'), studentRow(renamed, '', '一(2)班', 'K9')];
    const response = await upload(otherSchool.code, await buildXlsx({ headers: STUDENT_HEADERS, rows: second }), otherAdmin, '?createClasses=true');

    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.counts).toMatchObject({ updated: 1, unchanged: 1, classesCreated: 1 });
    expect(body.updates).toEqual([
      {
        row: 3,
        previousName: moved.name,
        name: renamed.name,
        changes: [
          { field: '姓名', from: null, to: null },
          { field: '班级', from: '一(1)班', to: '一(2)班' },
          { field: '学号', from: 'K2', to: 'K9' },
        ],
      },
    ]);
    expect(body.warnings).toHaveLength(1);
    expect(body.warnings[0]).toContain(`第 3 行 ${moved.name} → ${renamed.name}`);
    expect(response.body).not.toContain(moved.idNumber);
  });

  it('answers 400 for a createClasses value that is not a boolean', async () => {
    const file = await buildXlsx({ headers: STUDENT_HEADERS, rows: [studentRow(pupils[0], '', '一(1)班', 'S0')] });
    const response = await upload(school.code, file, admin, '?createClasses=maybe');
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('createClasses');
  });

  it('stores the uploading account on the consents the import records', async () => {
    const person = await t.ctx.db.selectFrom('persons').select('id').where('id_number_hash', '=', t.ctx.cipher.hash(pupils[0].idNumber)).executeTakeFirstOrThrow();
    const response = await get(`/api/schools/${school.code}/persons/${person.id}/consents`);
    expect(response.statusCode, response.body).toBe(200);
    const admin1 = await t.ctx.db.selectFrom('users').select(['id', 'display_name']).where('username', '=', 'admin1').executeTakeFirstOrThrow();
    expect(response.json().items).toEqual([
      expect.objectContaining({ purpose: 'health_code', note: '花名册导入', recordedBy: { userId: admin1.id, username: 'admin1', displayName: admin1.display_name }, revokedBy: null }),
    ]);
  });

  it('answers 400 for a file that is not a spreadsheet', async () => {
    const response = await upload(school.code, randomBytes(2048));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'ROSTER_UNREADABLE', message: '无法读取花名册文件：文件不是 Excel（.xlsx）或 CSV 表格，请上传花名册表格文件' });
  });

  it('answers 400 for a request without a file', async () => {
    const form = new FormData();
    form.append('note', 'x');
    const response = new Response(form);
    const reply = await app.inject({
      method: 'POST',
      url: `/api/schools/${school.code}/roster`,
      payload: Buffer.from(await response.arrayBuffer()),
      headers: { 'content-type': response.headers.get('content-type')!, cookie: admin.cookie, 'x-csrf-token': admin.csrf },
    });
    expect(reply.statusCode).toBe(400);
    expect(reply.json().message).toContain('字段名 file');
  });

  it('answers 413 in Chinese for a 50 MB upload', async () => {
    const started = performance.now();
    const response = await upload(school.code, Buffer.alloc(50 * 1024 * 1024, 0x41));
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ error: 'ROSTER_TOO_LARGE' });
    expect(response.json().message).toMatch(/^花名册文件过大（50\.0 MB），上限为 20 MB/);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('rejects uploads without the admin role or from another school', async () => {
    const file = await buildXlsx({ headers: ['姓名', '身份证号', '班级'], rows: [[pupils[0].name, pupils[0].idNumber, '101']] });
    expect((await upload(school.code, file, null)).statusCode).toBe(401);
    expect((await upload(school.code, file, teacher)).statusCode).toBe(403);
    expect((await upload(school.code, file, otherAdmin)).statusCode).toBe(403);
    expect((await upload('NO-SUCH', file)).statusCode).toBe(404);
  });

  it('exports the roster as xlsx with ID numbers as text', async () => {
    const response = await get(`/api/schools/${school.code}/roster.xlsx`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('spreadsheetml');
    expect(response.headers['content-disposition']).toContain(`filename*=UTF-8''${encodeURIComponent('接口小学学生名单.xlsx')}`);

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.rawPayload as unknown as ExcelJS.Buffer);
    const ids: unknown[] = [];
    workbook.worksheets[0].getColumn(3).eachCell((cell, row) => {
      if (row > 2) ids.push(cell.value);
    });
    expect(ids).toHaveLength(7);
    expect(ids).toEqual(expect.arrayContaining(pupils.map((p) => p.idNumber)));
    expect(await auditActions(school.id)).toContain('roster.export');

    expect((await get(`/api/schools/${school.code}/roster.xlsx`, teacher)).statusCode).toBe(403);
  });

  async function downloadRejected(body: unknown, session: Session = admin): Promise<LightMyRequestResponse> {
    return app.inject({
      method: 'POST',
      url: `/api/schools/${school.code}/roster/rejected.xlsx`,
      payload: body as object,
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
    });
  }

  /** Read a downloaded workbook back with the importer's own reader. */
  async function readBack(response: LightMyRequestResponse): Promise<RosterRow[]> {
    const workbook = await readRosterFile(response.rawPayload, { maxFileMb: 20 });
    expect(workbook.format).toBe('xlsx');
    expect(workbook.sheets).toHaveLength(1);
    return workbook.sheets[0].rows;
  }

  function texts(row: RosterRow): string[] {
    return row.cells.map((cell) => (cell.kind === 'text' ? cell.text : `<${cell.kind}>`));
  }

  it('downloads the rejected rows as xlsx with text cells', async () => {
    const formulaNames = ['=HYPERLINK("x","打开")', '+SUM(1,2)', '-2+3', '@SUM(1)'].map((start) => start + '甲'.repeat(50));
    const rows = formulaNames.map((name, i) => [name, '', pupil(5200 + i).idNumber, '', '一(1)班', '', '', '', '是']);
    rows.push(['坏号码', '', '110101900307867', '', '一(1)班', '', '', '', '是']);
    const imported = await upload(school.code, await buildXlsx({ headers: STUDENT_HEADERS, rows }));
    expect(imported.statusCode, imported.body).toBe(200);
    const rejected = imported.json().rejected;
    expect(rejected).toHaveLength(5);

    const response = await downloadRejected({ fileName: '二(4)班名单.xlsx', rejected });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="rejected-rows.xlsx"; filename*=UTF-8''${encodeURIComponent('二(4)班名单-被拒绝的行.xlsx')}`,
    );

    const sheet = await readBack(response);
    expect(texts(sheet[0])[0]).toBe('二(4)班名单 被拒绝的行（共 5 行）');
    expect(texts(sheet[1])).toEqual(['行号', '列', '内容', '原因']);
    const lines = sheet.slice(2);
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      // Text only: a formula cell would read back as kind 'formula'.
      expect(line.cells.map((cell) => cell.kind)).toEqual(['text', 'text', 'text', 'text']);
    }
    expect(lines.slice(0, 4).map(texts)).toEqual(
      formulaNames.map((name, i) => [String(i + 2), '姓名', `${name.slice(0, 40)}…`, '姓名超过 50 个字']),
    );
    // Each formula-like value is a shared-string text cell in the text format, written without an apostrophe.
    const stored = readStoredCells(response.rawPayload, ['C3', 'C4', 'C5', 'C6']);
    formulaNames.forEach((name, i) => {
      expect(stored.get(`C${i + 3}`)).toEqual({ type: 's', hasFormula: false, text: `${name.slice(0, 40)}…`, numberFormatId: 49 });
    });
    expect(texts(lines[4])).toEqual(['6', '身份证号', '110********7867', '旧版15位身份证号，请填写18位号码']);
    expect(await auditActions(school.id)).toContain('roster.rejected_export');
  });

  it('masks ID numbers and phones sent back unmasked', async () => {
    const [first, second] = [pupil(5300), pupil(5301)];
    const response = await downloadRejected({
      rejected: [
        { row: 3, problems: [{ column: '身份证号码', value: first.idNumber, reason: '测试' }] },
        { row: 4, problems: [{ column: '家长电话', value: second.phone, reason: `与 ${second.idNumber} 重复` }] },
      ],
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-disposition']).toContain(`filename*=UTF-8''${encodeURIComponent('花名册-被拒绝的行.xlsx')}`);

    const lines = (await readBack(response)).slice(2).map(texts);
    expect(lines[0][2]).toBe(`${first.idNumber.slice(0, 3)}***********${first.idNumber.slice(-4)}`);
    expect(lines[1][2]).toBe(`${second.phone.slice(0, 3)}****${second.phone.slice(-4)}`);
    expect(lines[1][3]).toBe(`与 ${second.idNumber.slice(0, 3)}***********${second.idNumber.slice(-4)} 重复`);
  });

  it('rejects the rejected-rows download outside the school admins', async () => {
    const body = { rejected: [{ row: 2, problems: [{ column: '姓名', value: '', reason: '姓名为空' }] }] };
    expect((await downloadRejected(body, teacher)).statusCode).toBe(403);
    expect((await downloadRejected(body, otherAdmin)).statusCode).toBe(403);

    const invalid = await downloadRejected({ rejected: [{ row: 0, problems: [] }] });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().message).toContain('被拒绝的行第 1 项的行号（rejected[0].row）不能小于 1');
  });

  it('exports staff as CSV', async () => {
    const staff = await buildXlsx({ headers: ['姓名', '工号', '职务', '班主任班级'], rows: [['王老师', 'T1', '班主任', '一(1)班']] });
    expect((await upload(school.code, staff)).json().kind).toBe('staff');

    const response = await get(`/api/schools/${school.code}/roster.csv?kind=staff`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    const text = response.rawPayload.subarray(3).toString('utf8');
    const lines = text.split('\r\n');
    expect(lines[1]).toBe('姓名,性别,工号,身份证号,人员类型,职务,班主任班级,手机号,钉钉用户ID,健康码授权');
    expect(lines[2]).toBe('王老师,,T1,,教职工,班主任,一(1)班,,,否');
  });

  it('lists persons masked, by name and class', async () => {
    const response = await get(`/api/schools/${school.code}/persons?class=${encodeURIComponent('一(2)班')}`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.total).toBe(3);
    expect(body.items.every((p: { className: string }) => p.className === '一(2)班')).toBe(true);
    expect(response.body).not.toContain(pupils[3].idNumber);
    expect(response.body).not.toContain(pupils[3].phone);
    expect(body.items[0].guardians[0].phoneMasked).toMatch(/^100\*{4}\d{4}$/);

    const byName = await get(`/api/schools/${school.code}/persons?name=${encodeURIComponent(pupils[4].name)}`);
    expect(byName.json().items.map((p: { name: string }) => p.name)).toContain(pupils[4].name);
  });

  it('shows a head teacher only their own class', async () => {
    const own = await get(`/api/schools/${school.code}/persons`, headTeacher);
    expect(own.statusCode).toBe(200);
    const classes = new Set(own.json().items.map((p: { className: string }) => p.className));
    expect([...classes]).toEqual(['一(1)班']);
    expect((await get(`/api/schools/${school.code}/persons?class=${encodeURIComponent('一(2)班')}`, headTeacher)).statusCode).toBe(403);

    const classList = await get(`/api/schools/${school.code}/classes`, headTeacher);
    expect(classList.json().items.map((c: { name: string }) => c.name)).toEqual(['一(1)班']);
  });

  it('lists classes with head teacher and pupil counts', async () => {
    const response = await get(`/api/schools/${school.code}/classes`);
    expect(response.statusCode).toBe(200);
    expect(response.json().items).toEqual([
      expect.objectContaining({ name: '一(1)班', grade: 1, number: 1, pupils: 3, headTeacher: expect.objectContaining({ name: '王老师' }) }),
      expect.objectContaining({ name: '一(2)班', pupils: 3, headTeacher: null }),
      expect.objectContaining({ name: '二(3)班', pupils: 1 }),
    ]);
    expect((await get(`/api/schools/${school.code}/classes`, otherAdmin)).statusCode).toBe(403);
  });
});

describe('roster upload over a real socket', () => {
  let t: TestDb;
  let app: HttpApp;
  let url: string;
  let session: Session;

  beforeAll(async () => {
    t = await createTestDb('sqlite', { roster: { maxFileMb: 1 } });
    app = await buildApp(t.ctx);
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    const school = await buildSchool(t.ctx, { code: 'SOCK1' });
    await createUser(t.ctx, { username: 'admin9', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin9', password: PASSWORD }) });
    const cookies = login.headers.getSetCookie().map((c) => c.split(';')[0]);
    const csrf = cookies.find((c) => c.startsWith('fk_csrf='))!.slice('fk_csrf='.length);
    session = { cookie: cookies.join('; '), csrf };
  });

  afterAll(async () => {
    await app.close();
    await t.close();
  });

  it('cuts off a chunked upload that runs past the limit', async () => {
    const { body, contentType } = await multipartBody(Buffer.alloc(3 * 1024 * 1024, 0x41));
    const chunks = [body.subarray(0, 1024 * 1024), body.subarray(1024 * 1024)];
    const stream = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });

    const response = await fetch(`${url}/api/schools/SOCK1/roster`, {
      method: 'POST',
      headers: { 'content-type': contentType, cookie: session.cookie, 'x-csrf-token': session.csrf },
      body: stream,
      duplex: 'half',
    } as RequestInit);

    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'ROSTER_TOO_LARGE', message: '花名册文件过大（超过 1 MB），上限为 1 MB，请拆分后分批导入' });
  });
});
