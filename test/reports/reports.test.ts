import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import type { AuthUser } from '../../src/modules/auth/index.js';
import { createUser } from '../../src/modules/auth/service.js';
import { markDistrictDays, markSchoolDays } from '../../src/modules/calendar/service.js';
import { saveClassCheck } from '../../src/modules/checks/service.js';
import { createDevice } from '../../src/modules/gate/devices.js';
import { recordRecheck } from '../../src/modules/gate/alerts.js';
import { describeDeadline } from '../../src/modules/reports/deadline-summary.js';
import { buildDueReports } from '../../src/modules/reports/worker.js';
import { recordWalkIn } from '../../src/modules/visitors/service.js';
import { makePhone } from '../../src/shared/synthetic.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { readStoredCells } from '../helpers/xlsx-cells.js';
import { getSchoolByIdOrThrow } from '../../src/modules/people/service.js';
import { buildSchool, buildStaff, buildStudent } from '../helpers/factories.js';
import { setCode } from '../gate/helpers.js';

const PASSWORD = 'report-test-password';
const DAY = '2026-12-07';
const PREVIOUS_DAY = '2026-12-06';

interface Session {
  headers: Record<string, string>;
}

interface Reply {
  status: number;
  body: any;
}

/**
 * Hand-counted fixture of school A on 2026-12-07 (a Monday):
 *   一(1)班: p1 passes 07:40, p2 passes 08:05 (late), p3 passed only at 23:50 the evening
 *            before and is absent for illness with fever and cough (one open follow-up).
 *   二(3)班: p4 is denied for fever 38.1 at 07:45 and admitted after a normal re-check;
 *            p5 (yellow code, named like a formula) is denied.
 *   p3's code was last fetched two days before, so it is stale; every other code is green.
 *   One walk-in visitor whose purpose starts with "+".
 * So: grade 1 expected 3, arrived 2, absent 1, late 1; grade 2 expected 2, arrived 1,
 * absent 1; fevers 1; non-green 1; stale 1; illness absences 1; open follow-ups 1;
 * clusters 0; visitors 1.
 */
describe.each(DIALECTS)('daily reports on %s', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let baseUrl: string;
  let schoolA: { id: string; code: string; name: string };
  let schoolB: { id: string; code: string; name: string };
  let schoolC: { id: string; code: string; name: string };
  let adminA: Session;
  let doctorA: Session;
  let headTeacherA: Session;
  let adminB: Session;
  let adminC: Session;
  let pupilC: Awaited<ReturnType<typeof buildStudent>>;
  let district: Session;
  const pupils: Record<string, { id: string; name: string }> = {};
  let classOneId: string;

  async function call(method: string, path: string, session: Session, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = { ...session.headers, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  }

  async function downloadBytes(path: string, session: Session): Promise<Buffer> {
    const response = await fetch(`${baseUrl}${path}`, { headers: session.headers });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('spreadsheetml');
    return Buffer.from(await response.arrayBuffer());
  }

  async function download(path: string, session: Session): Promise<ExcelJS.Workbook> {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load((await downloadBytes(path, session)) as unknown as ArrayBuffer);
    return workbook;
  }

  async function signIn(username: string, role: string, schoolCode?: string, className?: string): Promise<Session> {
    await createUser(t.ctx, { username, displayName: `${username}老师`, role, schoolCode, className, password: PASSWORD }, null);
    const response = await fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    expect(response.status).toBe(200);
    const cookies = response.headers.getSetCookie().map((c) => c.split(';')[0]);
    const csrf = cookies.find((c) => c.startsWith('fk_csrf='))!.slice('fk_csrf='.length);
    return { headers: { cookie: cookies.join('; '), 'x-csrf-token': csrf } };
  }

  async function pass(device: { device: { id: string }; key: string }, personId: string, eventId: string, at: number, temperature: number) {
    const response = await fetch(`${baseUrl}/api/devices/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${device.device.id}.${device.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ eventId, occurredAt: at, temperature, personId }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { decision: string; reason: string; gateEventId?: string };
  }

  /**
   * Move the test clock to `instant`. The clock jumps further than the 30-minute session
   * idle timeout between steps of the day, so every session counts as just used.
   */
  async function moveTo(instant: number): Promise<void> {
    t.setNow(instant);
    await t.ctx.db.updateTable('sessions').set({ last_seen_at: instant }).execute();
  }

  function rowsOf(sheet: ExcelJS.Worksheet): unknown[][] {
    const rows: unknown[][] = [];
    sheet.eachRow({ includeEmpty: true }, (row) => {
      const values = (row.values as unknown[]).slice(1);
      rows.push(Array.from(values, (value) => (value === undefined ? null : value)));
    });
    return rows;
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(instantOf(PREVIOUS_DAY, '23:00'));
    app = await buildApp(t.ctx);
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });

    schoolA = await buildSchool(t.ctx, { name: '报表第一小学' });
    schoolB = await buildSchool(t.ctx, { name: '报表第二小学' });
    schoolC = await buildSchool(t.ctx, { name: '报表第三小学' });

    const names = ['报表甲', '报表乙', '报表丙', '报表丁', '=1+2'];
    for (const [index, key] of ['p1', 'p2', 'p3', 'p4', 'p5'].entries()) {
      const grade = index < 3 ? 1 : 2;
      const built = await buildStudent(t.ctx, schoolA.id, { grade, classNumber: grade === 1 ? 1 : 3, name: names[index] });
      pupils[key] = { id: built.person.id, name: built.person.name };
      if (key === 'p1') classOneId = built.klass.id;
    }
    const q1 = await buildStudent(t.ctx, schoolB.id, { grade: 3, classNumber: 1 });
    pupilC = await buildStudent(t.ctx, schoolC.id, { grade: 1, classNumber: 1 });
    await buildStaff(t.ctx, schoolA.id, 'school_doctor');

    const fresh = instantOf(DAY, '04:30');
    for (const key of ['p1', 'p2', 'p4']) await setCode(t.ctx, schoolA.id, pupils[key].id, 'green', fresh);
    await setCode(t.ctx, schoolA.id, pupils.p3.id, 'green', instantOf('2026-12-05', '04:30'));
    await setCode(t.ctx, schoolA.id, pupils.p5.id, 'yellow', fresh);
    await setCode(t.ctx, schoolB.id, q1.person.id, 'green', fresh);

    const laneA = await createDevice(t.ctx, { schoolCode: schoolA.code, kind: 'api', name: '东门 1 号通道', lane: '东门' });
    const laneB = await createDevice(t.ctx, { schoolCode: schoolB.code, kind: 'api', name: '南门通道', lane: '南门' });

    // The evening before: p3's pass counts for 2026-12-06, not for the report's day.
    t.setNow(instantOf(PREVIOUS_DAY, '23:50'));
    expect((await pass(laneA, pupils.p3.id, 'e0', t.ctx.now(), 36.4)).decision).toBe('pass');

    t.setNow(instantOf(DAY, '07:40'));
    expect((await pass(laneA, pupils.p1.id, 'e1', t.ctx.now(), 36.5)).decision).toBe('pass');
    expect((await pass(laneB, q1.person.id, 'e1', t.ctx.now(), 36.3)).decision).toBe('pass');
    t.setNow(instantOf(DAY, '07:45'));
    const fever = await pass(laneA, pupils.p4.id, 'e2', t.ctx.now(), 38.1);
    expect(fever.reason).toBe('fever');
    t.setNow(instantOf(DAY, '07:50'));
    expect((await pass(laneA, pupils.p5.id, 'e3', t.ctx.now(), 36.6)).decision).toBe('deny');
    t.setNow(instantOf(DAY, '07:55'));
    const alert = await t.ctx.db.selectFrom('alerts').select('id').where('school_id', '=', schoolA.id).where('kind', '=', 'fever').executeTakeFirstOrThrow();
    expect((await recordRecheck(t.ctx, schoolA.code, alert.id, { temperature: 36.9, measuredBy: '校医', note: null })).result).toBe('normal');
    t.setNow(instantOf(DAY, '08:05'));
    expect((await pass(laneA, pupils.p2.id, 'e4', t.ctx.now(), 36.6)).decision).toBe('pass');

    t.setNow(instantOf(DAY, '08:40'));
    await saveClassCheck(t.ctx, { userId: 'head-a', name: '一(1)班班主任' }, schoolA.id, classOneId, {
      day: DAY,
      session: 'morning',
      entries: [{ personId: pupils.p3.id, status: 'absent', absenceReason: 'illness', symptoms: ['fever', 'cough'], note: '@家长来电' }],
    });
    const guardUser: AuthUser = { id: 'guard-a', username: 'guard-a', displayName: '门卫', role: 'guard', schoolId: schoolA.id, classId: null, personId: null, sessionId: 's' };
    await recordWalkIn(t.ctx, guardUser, schoolA.code, { name: '报表访客', phone: makePhone(9100), purpose: '+送教材', hostName: '教务处', temperature: 36.4, shownCode: 'green', reason: '临时送货' });

    t.setNow(instantOf(DAY, '16:35'));
    adminA = await signIn(`rep_admin_a_${dialect}`, 'school_admin', schoolA.code);
    doctorA = await signIn(`rep_doctor_a_${dialect}`, 'school_doctor', schoolA.code);
    headTeacherA = await signIn(`rep_head_a_${dialect}`, 'head_teacher', schoolA.code, '一(1)班');
    adminB = await signIn(`rep_admin_b_${dialect}`, 'school_admin', schoolB.code);
    adminC = await signIn(`rep_admin_c_${dialect}`, 'school_admin', schoolC.code);
    district = await signIn(`rep_district_${dialect}`, 'district_admin');

  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('builds totals matching the hand count', async () => {
    await moveTo(instantOf(DAY, '16:40'));
    const reply = await call('POST', `/api/schools/${schoolA.code}/reports/${DAY}/build`, adminA);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const report = reply.body;
    expect(report).toMatchObject({ version: 1, status: 'draft', isZero: false });
    expect(report.content.grades).toEqual([
      { grade: 1, label: '一年级', expected: 3, arrived: 2, absent: 1, late: 1, illnessAbsent: 1 },
      { grade: 2, label: '二年级', expected: 2, arrived: 1, absent: 1, late: 0, illnessAbsent: 0 },
    ]);
    expect(report.content.total).toMatchObject({ label: '合计', expected: 5, arrived: 3, absent: 2, late: 1, illnessAbsent: 1 });
    expect(report.figures).toEqual({ expected: 5, arrived: 3, absent: 2, late: 1, fevers: 1, nonGreen: 1, stale: 1, unsynced: 0, illnessAbsences: 1, openFollowUps: 1, clusters: 0, visitors: 1 });
    expect(report.content.fevers).toEqual([
      expect.objectContaining({ name: '报表丁', className: '二(3)班', maxTemperature: 38.1, readings: 1, recheck: 'normal', recheckTemperature: 36.9 }),
    ]);
    expect(report.content.codes.map((c: { name: string; color: string; isStale: boolean }) => [c.name, c.color, c.isStale]).sort()).toEqual([
      ['=1+2', 'yellow', false],
      ['报表丙', 'green', true],
    ]);
    expect(report.content.illnessAbsences).toMatchObject({ available: true, items: [{ name: '报表丙', className: '一(1)班', symptoms: ['发热', '咳嗽'], note: '@家长来电' }] });
    expect(report.content.followUps.items).toEqual([expect.objectContaining({ name: '报表丙', since: DAY, expectedReturn: null })]);
    expect(report.content.clusters).toEqual({ available: true, items: [], note: null });
    expect(report.content.visitors.items).toEqual([expect.objectContaining({ name: '报表访客', purpose: '+送教材', registration: '临时登记（临时送货）', status: '在校' })]);
    expect(report.content.summary).toContain('发热 1 人');
  });

  it('writes the zero report line when nothing is abnormal', async () => {
    const reply = await call('POST', `/api/schools/${schoolB.code}/reports/${DAY}/build`, adminB);
    expect(reply.status).toBe(200);
    expect(reply.body.isZero).toBe(true);
    expect(reply.body.figures).toMatchObject({ expected: 1, arrived: 1, absent: 0, fevers: 0, nonGreen: 0, stale: 0, illnessAbsences: 0, openFollowUps: 0, clusters: 0, visitors: 0 });
    expect(reply.body.content.summary).toBe('零报告：今日无发热人员、无非绿码人员、无健康码过期人员、无健康码未同步人员、无因病缺勤、无待跟进的缺勤、无聚集性病例，无异常情况。');
  });

  it('keeps each school to its own report', async () => {
    expect((await call('GET', `/api/schools/${schoolA.code}/reports/${DAY}`, adminB)).status).toBe(403);
    expect((await call('POST', `/api/schools/${schoolA.code}/reports/${DAY}/build`, adminB)).status).toBe(403);
    expect((await call('GET', `/api/schools/${schoolA.code}/reports/${DAY}`, headTeacherA)).status).toBe(403);
    expect((await call('GET', `/api/district/reports?day=${DAY}`, adminA)).status).toBe(403);
    // The district reads submitted reports only, and school A's is still a draft.
    expect((await call('GET', `/api/schools/${schoolA.code}/reports/${DAY}`, district)).status).toBe(404);
  });

  it('lets only the school admin submit', async () => {
    const byHeadTeacher = await call('POST', `/api/schools/${schoolA.code}/reports/${DAY}/submit`, headTeacherA, {});
    expect(byHeadTeacher.status).toBe(403);
    expect(byHeadTeacher.body.message).toContain('没有权限');
    expect((await call('POST', `/api/schools/${schoolA.code}/reports/${DAY}/submit`, doctorA, {})).status).toBe(403);
    expect((await call('POST', `/api/schools/${schoolA.code}/reports/${DAY}/build`, doctorA)).status).toBe(200);
  });

  it('rejects bad days with Chinese messages', async () => {
    const malformed = await call('POST', `/api/schools/${schoolA.code}/reports/2026-13-01/build`, adminA);
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toContain('日报日期（day）“2026-13-01”不是存在的日期，请检查月份和日期，应为 YYYY-MM-DD');
    const future = await call('POST', `/api/schools/${schoolA.code}/reports/2026-12-08/build`, adminA);
    expect(future.status).toBe(400);
    expect(future.body.message).toContain('晚于今天');
    const missing = await call('GET', `/api/schools/${schoolC.code}/reports/${DAY}`, adminC);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toContain('尚未生成');
    const notSubmitted = await call('GET', `/api/schools/${schoolC.code}/reports/${DAY}`, district);
    expect(notSubmitted.status).toBe(404);
    expect(notSubmitted.body.message).toContain('尚未上报');
    const badTime = await call('PUT', `/api/schools/${schoolA.code}/report-settings`, adminA, { buildAt: '25:00' });
    expect(badTime.status).toBe(400);
    expect(badTime.body.message).toContain('日报生成时间“25:00”无效');
  });

  it('versions corrections after submission', async () => {
    await moveTo(instantOf(DAY, '17:20'));
    const first = await call('POST', `/api/schools/${schoolA.code}/reports/${DAY}/submit`, adminA, {});
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ version: 1, status: 'submitted', submittedAt: t.ctx.now(), submittedBy: `rep_admin_a_${dialect}老师`, changeNote: null });

    const again = await call('POST', `/api/schools/${schoolA.code}/reports/${DAY}/submit`, adminA, {});
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('第 1 版已上报');

    // A correction: p5 was absent for illness after all.
    await moveTo(instantOf(DAY, '17:25'));
    await saveClassCheck(t.ctx, { userId: 'head-b', name: '二(3)班班主任' }, schoolA.id, (await t.ctx.db.selectFrom('persons').select('class_id').where('id', '=', pupils.p5.id).executeTakeFirstOrThrow()).class_id!, {
      day: DAY,
      session: 'morning',
      entries: [{ personId: pupils.p5.id, status: 'absent', absenceReason: 'illness', symptoms: ['cough'] }],
    });
    const rebuilt = await call('POST', `/api/schools/${schoolA.code}/reports/${DAY}/build`, adminA);
    expect(rebuilt.body).toMatchObject({ version: 2, status: 'draft' });
    expect(rebuilt.body.figures.illnessAbsences).toBe(2);

    const frozen = await call('GET', `/api/schools/${schoolA.code}/reports/${DAY}?version=1`, adminA);
    expect(frozen.body).toMatchObject({ version: 1, status: 'submitted' });
    expect(frozen.body.figures.illnessAbsences).toBe(1);
    expect(frozen.body.content.illnessAbsences.items).toHaveLength(1);

    // The district still reads version 1: the draft of version 2 is not submitted yet.
    const districtView = await call('GET', `/api/schools/${schoolA.code}/reports/${DAY}`, district);
    expect(districtView.status).toBe(200);
    expect(districtView.body).toMatchObject({ version: 1, status: 'submitted' });
    expect(districtView.body.versions.map((v: { version: number }) => v.version)).toEqual([1]);
    const draftForDistrict = await call('GET', `/api/schools/${schoolA.code}/reports/${DAY}?version=2`, district);
    expect(draftForDistrict.status).toBe(404);
    expect(draftForDistrict.body.message).toContain('尚未上报');

    await moveTo(instantOf(DAY, '17:35'));
    const noNote = await call('POST', `/api/schools/${schoolA.code}/reports/${DAY}/submit`, adminA, {});
    expect(noNote.status).toBe(400);
    expect(noNote.body.message).toContain('更正说明不能为空');

    const second = await call('POST', `/api/schools/${schoolA.code}/reports/${DAY}/submit`, adminA, { note: '补报二(3)班一名因病缺勤学生' });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ version: 2, status: 'submitted', changeNote: '补报二(3)班一名因病缺勤学生' });
    expect(second.body.changes).toEqual(expect.arrayContaining([{ field: 'illnessAbsences', label: '因病缺勤人数', from: 1, to: 2 }]));
    expect(second.body.changeSummary).toContain('因病缺勤人数 1 → 2');
    expect(second.body.versions.map((v: { version: number; status: string; submittedAt: number }) => [v.version, v.status, v.submittedAt])).toEqual([
      [2, 'submitted', instantOf(DAY, '17:35')],
      [1, 'submitted', instantOf(DAY, '17:20')],
    ]);
  });

  it('lists who has not reported by the deadline', async () => {
    await moveTo(instantOf(DAY, '17:29'));
    const before = await call('GET', `/api/district/reports?day=${DAY}`, district);
    expect(before.body.deadline).toBe('17:30');
    expect(before.body.deadlinePassed).toBe(false);
    const stateOf = (view: { schools: Array<{ code: string }> }, code: string) => view.schools.find((s) => s.code === code) as any;
    expect(stateOf(before.body, schoolC.code)).toMatchObject({ state: 'missing', missedDeadline: false });

    await moveTo(instantOf(DAY, '17:31'));
    expect((await call('POST', `/api/schools/${schoolB.code}/reports/${DAY}/submit`, adminB, {})).status).toBe(200);

    await moveTo(instantOf(DAY, '17:40'));
    const after = (await call('GET', `/api/district/reports?day=${DAY}`, district)).body;
    expect(after.deadlinePassed).toBe(true);
    expect(stateOf(after, schoolA.code)).toMatchObject({ state: 'submitted', version: 2, late: false, missedDeadline: false, firstSubmittedAt: instantOf(DAY, '17:20') });
    expect(stateOf(after, schoolB.code)).toMatchObject({ state: 'submitted', version: 1, late: true, missedDeadline: true, isZero: true });
    expect(stateOf(after, schoolC.code)).toMatchObject({ state: 'missing', missedDeadline: true, figures: null });
    expect(after.totals).toMatchObject({ schools: 3, submitted: 2, missing: 1, zero: 1, lateSubmissions: 1 });
    expect(describeDeadline(before.body)).toBe('尚未到截止时间，目前 2 所未上报。');
    expect(describeDeadline(after)).toBe('截止时 2 所学校未上报：报表第二小学、报表第三小学。其中 1 所已逾期上报，1 所仍未上报。');
    expect(after.totals.figures).toMatchObject({ expected: 6, arrived: 4, absent: 2, fevers: 1, nonGreen: 1, stale: 1, illnessAbsences: 2, visitors: 1 });

    // 00:10 on 8 December in Shanghai is still 7 December in UTC: "today" is the 8th.
    await moveTo(Date.parse('2026-12-07T16:10:00Z'));
    const nextDay = (await call('GET', '/api/district/reports', district)).body;
    expect(nextDay.day).toBe('2026-12-08');
    expect(nextDay.deadlinePassed).toBe(false);
    expect(nextDay.totals).toMatchObject({ submitted: 0, missing: 3 });
  });

  it('moves the deadline per district', async () => {
    await moveTo(instantOf(DAY, '17:40'));
    const bad = await call('PUT', '/api/district/report-settings', district, { deadline: '5 点半' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('上报截止时间“5 点半”无效');
    for (const blank of ['', '  ']) {
      const empty = await call('PUT', '/api/district/report-settings', district, { deadline: blank });
      expect(empty.status).toBe(400);
      expect(empty.body.message).toBe('输入不正确：请填写上报截止时间（HH:MM，北京时间），例如 17:30');
    }
    expect((await call('PUT', '/api/district/report-settings', district, { deadline: '17:30' })).body.deadline).toBe('17:30');
    const early = await call('PUT', '/api/district/report-settings', district, { deadline: '9:00' });
    expect(early.body.deadline).toBe('09:00');
    const view = (await call('GET', `/api/district/reports?day=${DAY}`, district)).body;
    expect(view.totals.lateSubmissions).toBe(2);
    await call('PUT', '/api/district/report-settings', district, { deadline: '17:30' });
  });

  it('sums the trend per day', async () => {
    await moveTo(instantOf(DAY, '17:40'));
    const reply = await call('GET', `/api/district/reports/trend?to=${DAY}&days=3`, district);
    expect(reply.status).toBe(200);
    // Saturday the 5th and Sunday the 6th have no school and no reports, so the trend leaves them out.
    expect(reply.body.points.map((p: { day: string }) => p.day)).toEqual([DAY]);
    expect(reply.body.points[0]).toMatchObject({ expectedSchools: 3, submitted: 2, expected: 6, arrived: 4, fevers: 1, illnessAbsences: 2, attendanceRate: 66.7 });
    const withWeek = (await call('GET', `/api/district/reports/trend?to=${DAY}&days=7`, district)).body;
    expect(withWeek.points.map((p: { day: string }) => p.day)).toEqual(['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', DAY]);
    expect(withWeek.points[0]).toMatchObject({ expectedSchools: 3, submitted: 0, expected: 0, attendanceRate: null });
  });

  it('exports the school report cell by cell', async () => {
    const report = (await call('GET', `/api/schools/${schoolA.code}/reports/${DAY}`, adminA)).body;
    const workbook = await download(`/api/schools/${schoolA.code}/reports/${DAY}/export`, adminA);
    expect(workbook.worksheets.map((s) => s.name)).toEqual(['汇总', '发热人员', '健康码异常', '因病缺勤', '缺勤跟进', '聚集性预警', '外来人员']);

    const summary = rowsOf(workbook.getWorksheet('汇总')!);
    expect(summary[0][0]).toBe('报表第一小学 2026年12月7日 疫情防控日报');
    expect(summary[1][0]).toBe(`学校代码：${schoolA.code}；第 2 版，已于 2026-12-07 17:35 由 rep_admin_a_${dialect}老师 上报`);
    expect(summary[2][0]).toBe(report.content.summary);
    expect(summary[3][0]).toBe('更正说明：补报二(3)班一名因病缺勤学生');
    expect(summary.slice(4, 8)).toEqual([
      ['年级', '应到人数', '实到人数', '缺勤人数', '迟到人数', '因病缺勤人数', '出勤率'],
      ['一年级', 3, 2, 1, 1, 1, '66.7%'],
      ['二年级', 2, 1, 1, 0, 1, '50.0%'],
      ['合计', 5, 3, 2, 1, 2, '60.0%'],
    ]);
    expect(summary.slice(9)).toEqual([
      ['项目', '数量'],
      ['发热人数', 1],
      ['非绿码人数', 1],
      ['健康码过期人数', 1],
      ['健康码未同步人数', 0],
      ['因病缺勤人数', 2],
      ['待跟进缺勤人数', 2],
      ['聚集性预警数', 0],
      ['外来人员数', 1],
    ]);

    const fevers = rowsOf(workbook.getWorksheet('发热人员')!);
    expect(fevers.slice(1)).toEqual([
      ['姓名', '人员类型', '班级', '最高体温(°C)', '首次测温时间', '测温异常次数', '复测结果', '复测体温(°C)'],
      ['报表丁', '学生', '二(3)班', 38.1, '2026-12-07 07:45', 1, '复测正常', 36.9],
    ]);
    const codes = rowsOf(workbook.getWorksheet('健康码异常')!).slice(2);
    expect(codes).toHaveLength(2);
    expect(codes).toEqual(
      expect.arrayContaining([
        ['=1+2', '学生', '二(3)班', '黄码', '否', '2026-12-07 04:30'],
        ['报表丙', '学生', '一(1)班', '绿码', '已过期', '2026-12-05 04:30'],
      ]),
    );
    const absences = rowsOf(workbook.getWorksheet('因病缺勤')!).slice(2);
    expect(absences).toEqual(
      expect.arrayContaining([
        ['报表丙', '一(1)班', '发热、咳嗽', '@家长来电'],
        ['=1+2', '二(3)班', '咳嗽', ''],
      ]),
    );
    expect(rowsOf(workbook.getWorksheet('聚集性预警')!).slice(2)).toEqual([['无']]);
    const visitors = rowsOf(workbook.getWorksheet('外来人员')!).slice(2);
    expect(visitors).toEqual([['报表访客', '+送教材', '教务处', expect.stringMatching(/^\d\d:\d\d$/), '', 36.4, '绿码', '临时登记（临时送货）', '在校']]);
  });

  it('stores formula characters as text', async () => {
    const bytes = await downloadBytes(`/api/schools/${schoolA.code}/reports/${DAY}/export`, adminA);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
    let formulas = 0;
    const formulaLike: Array<{ sheet: number; address: string; value: string }> = [];
    workbook.worksheets.forEach((sheet, index) =>
      sheet.eachRow((row) =>
        row.eachCell((cell) => {
          if (cell.type === ExcelJS.ValueType.Formula) formulas += 1;
          if (typeof cell.value === 'string' && /^[=+\-@]/.test(cell.value)) {
            formulaLike.push({ sheet: index + 1, address: cell.address, value: cell.value });
            expect(cell.numFmt).toBe('@');
          }
        }),
      ),
    );
    expect(formulas).toBe(0);
    expect(formulaLike.length).toBeGreaterThanOrEqual(4);

    // Each such value is a shared-string text cell in the text format, holding the value as typed.
    for (const { sheet, address, value } of formulaLike) {
      const stored = readStoredCells(bytes, [address], sheet).get(address);
      expect(stored, `${address} of sheet ${sheet}`).toEqual({ type: 's', hasFormula: false, text: value, numberFormatId: 49 });
    }
  });

  it('exports every school in one sheet', async () => {
    await moveTo(instantOf(DAY, '17:40'));
    const workbook = await download(`/api/district/reports/export?day=${DAY}`, district);
    const rows = rowsOf(workbook.getWorksheet('全区汇总')!);
    expect(rows[0][0]).toBe('2026年12月7日 全区学校疫情防控日报汇总');
    expect(rows[1][0]).toBe('上报截止时间 17:30；共 3 所学校，已上报 2 所，未上报 1 所，逾期上报 1 所，零报告 1 所');
    const bySchool = new Map(rows.slice(3).map((row) => [row[0], row]));
    expect(bySchool.get(schoolA.code)).toEqual([schoolA.code, '报表第一小学', '已上报', 2, '2026-12-07 17:35', 5, 3, 2, '60.0%', 1, 1, 1, 1, 0, 2, 2, 0, 1, '否']);
    expect(bySchool.get(schoolB.code)).toEqual([schoolB.code, '报表第二小学', '逾期上报', 1, '2026-12-07 17:31', 1, 1, 0, '100.0%', 0, 0, 0, 0, 0, 0, 0, 0, 0, '是']);
    expect(bySchool.get(schoolC.code)?.slice(0, 3)).toEqual([schoolC.code, '报表第三小学', '逾期未报']);
    expect(rows.at(-1)).toEqual(['合计', '2 所已上报', '', null, '', 6, 4, 2, '66.7%', 1, 1, 1, 1, 0, 2, 2, 0, 1, '1 所']);
  });

  it('builds at the set time once', async () => {
    await moveTo(instantOf(DAY, '16:29'));
    expect(await buildDueReports(t.ctx)).toBe(0);
    await moveTo(instantOf(DAY, '16:30'));
    expect(await buildDueReports(t.ctx)).toBe(1);
    expect(await buildDueReports(t.ctx)).toBe(0);
    const built = await call('GET', `/api/schools/${schoolC.code}/reports/${DAY}`, adminC);
    expect(built.body).toMatchObject({ version: 1, status: 'draft', trigger: 'schedule', builtBy: '系统定时生成' });
    const notice = await t.ctx.db.selectFrom('outbox').select(['title', 'recipient_role']).where('idempotency_key', '=', `reports:built:${schoolC.id}:${DAY}`).executeTakeFirst();
    expect(notice).toMatchObject({ title: `${DAY} 日报已生成，请核对后上报`, recipient_role: 'school_admin' });
  });

  it('counts a pupil the head teacher marked present as arrived', async () => {
    // School C's only pupil never passed the gate, so the scheduled draft counts 0 arrived.
    const before = await call('GET', `/api/schools/${schoolC.code}/reports/${DAY}`, adminC);
    expect(before.body.content.total).toMatchObject({ expected: 1, arrived: 0, absent: 1 });

    await saveClassCheck(t.ctx, { userId: 'head-c', name: '一(1)班班主任' }, schoolC.id, pupilC.klass.id, {
      day: DAY,
      session: 'morning',
      entries: [{ personId: pupilC.person.id, status: 'present' }],
    });
    const rebuilt = await call('POST', `/api/schools/${schoolC.code}/reports/${DAY}/build`, adminC);
    expect(rebuilt.status, JSON.stringify(rebuilt.body)).toBe(200);
    expect(rebuilt.body.content.total).toMatchObject({ expected: 1, arrived: 1, absent: 0, late: 0 });
  });

  it('counts the checked pupil on /attendance too', async () => {
    // The dashboard's 已到校 reads /attendance, so it must agree with the report's 实到.
    const attendance = await call('GET', `/api/schools/${schoolC.code}/attendance?day=${DAY}`, adminC);
    expect(attendance.status, JSON.stringify(attendance.body)).toBe(200);
    expect(attendance.body.arrivedCount).toBe(1);
    expect(attendance.body.notArrivedCount).toBe(0);
    expect(attendance.body.lateCount).toBe(0);
    const [klass] = attendance.body.classes;
    expect(klass.arrived).toHaveLength(1);
    expect(klass.arrived[0]).toMatchObject({ personId: pupilC.person.id, source: 'check', late: false });
    expect(klass.notArrived).toEqual([]);
  });

  // These change the calendar of December, so they run after every other test of the file.
  it('rejects a day without school', async () => {
    const actor = { user: null, name: '测试', ip: null };
    await markSchoolDays(t.ctx, actor, await getSchoolByIdOrThrow(t.ctx, schoolC.id), { from: '2026-12-03', isSchoolDay: false, reason: '流感停课' });
    await markDistrictDays(t.ctx, actor, (await getSchoolByIdOrThrow(t.ctx, schoolB.id)).districtId, { from: '2026-12-02', isSchoolDay: false, reason: '冬季运动会' });

    const cases: Array<[Session, string, string, string]> = [
      [adminC, schoolC.code, '2026-12-05', '2026-12-05 是周六，不是上学日'],
      [adminC, schoolC.code, '2026-12-03', '2026-12-03（周四）本校停课：流感停课，不是上学日'],
      [adminB, schoolB.code, '2026-12-02', '2026-12-02（周三）全区放假：冬季运动会，不是上学日'],
    ];
    for (const [session, code, day, why] of cases) {
      const build = await call('POST', `/api/schools/${code}/reports/${day}/build`, session);
      expect(build.status, day).toBe(400);
      expect(build.body.message).toContain(`${why}，当天没有校门入校记录和晨午检记录，不需要生成日报`);
      expect(build.body.message).toContain('设置 › 校历');
      const submit = await call('POST', `/api/schools/${code}/reports/${day}/submit`, session, {});
      expect(submit.status, day).toBe(400);
      expect(submit.body.message).toContain(`${why}，当天没有校门入校记录和晨午检记录，不需要上报日报`);
      expect((await call('GET', `/api/schools/${code}/reports/${day}`, session)).status).toBe(404);
    }
  });

  it('notes gate arrivals without school', async () => {
    // p3 passed the gate on Sunday evening, 23:50 on 6 December.
    const note = '2026-12-06 是周日，不是上学日；当天有校门入校记录 1 人，日报按这些记录生成';
    const build = await call('POST', `/api/schools/${schoolA.code}/reports/${PREVIOUS_DAY}/build`, adminA);
    expect(build.status, JSON.stringify(build.body)).toBe(200);
    expect(build.body.content.calendarNote).toBe(note);
    // Nobody was expected on a Sunday: the one arrival counts, and the other four pupils are not absent.
    expect(build.body.content.noSchoolDay).toBe(true);
    expect(build.body.content.total).toMatchObject({ expected: 0, arrived: 1, absent: 0, late: 0 });
    expect(build.body.content.grades).toEqual([
      expect.objectContaining({ label: '一年级', expected: 0, arrived: 1, absent: 0 }),
      expect.objectContaining({ label: '二年级', expected: 0, arrived: 0, absent: 0 }),
    ]);
    expect(build.body.figures).toMatchObject({ expected: 0, arrived: 1, absent: 0 });
    expect(build.body.content.summary).toMatch(/^非上学日，不计应到和缺勤，实到 1 人；/);
    const submit = await call('POST', `/api/schools/${schoolA.code}/reports/${PREVIOUS_DAY}/submit`, adminA, {});
    expect(submit.status, JSON.stringify(submit.body)).toBe(200);
    expect(submit.body.status).toBe('submitted');

    const workbook = await download(`/api/schools/${schoolA.code}/reports/${PREVIOUS_DAY}/export`, adminA);
    const summary = rowsOf(workbook.getWorksheet('汇总')!);
    expect(summary.flat()).toContain(note);
    const header = summary.findIndex((row) => row[0] === '年级');
    expect(summary.slice(header, header + 4)).toEqual([
      ['年级', '应到人数', '实到人数', '缺勤人数', '迟到人数', '因病缺勤人数', '出勤率'],
      ['一年级', 0, 1, 0, 0, 0, '—'],
      ['二年级', 0, 0, 0, 0, 0, '—'],
      ['合计', 0, 1, 0, 0, 0, '—'],
    ]);

    const districtDay = await call('GET', `/api/district/reports?day=${PREVIOUS_DAY}`, district);
    expect(districtDay.status, JSON.stringify(districtDay.body)).toBe(200);
    const row = districtDay.body.schools.find((s: { code: string }) => s.code === schoolA.code);
    expect(row.figures).toMatchObject({ expected: 0, arrived: 1, absent: 0 });
  });

  it('asks to rebuild a stale draft', async () => {
    // School C's pupil was checked present on the 7th. The school then closes that day.
    await markSchoolDays(t.ctx, { user: null, name: '测试', ip: null }, await getSchoolByIdOrThrow(t.ctx, schoolC.id), { from: DAY, isSchoolDay: false, reason: '流感停课' });
    const stale = await call('POST', `/api/schools/${schoolC.code}/reports/${DAY}/submit`, adminC, {});
    expect(stale.status).toBe(409);
    expect(stale.body.message).toContain('2026-12-07（周一）本校停课：流感停课，不是上学日');
    expect(stale.body.message).toContain('请重新生成日报');

    const rebuilt = await call('POST', `/api/schools/${schoolC.code}/reports/${DAY}/build`, adminC);
    expect(rebuilt.status, JSON.stringify(rebuilt.body)).toBe(200);
    expect(rebuilt.body.content.calendarNote).toBe('2026-12-07（周一）本校停课：流感停课，不是上学日；当天有晨午检记录 1 条，日报按这些记录生成');
    const submitted = await call('POST', `/api/schools/${schoolC.code}/reports/${DAY}/submit`, adminC, {});
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
  });

  it('flags a draft the records outgrew', async () => {
    const school = await buildSchool(t.ctx, { name: '报表第四小学' });
    const pupil = await buildStudent(t.ctx, school.id, { grade: 1, classNumber: 1 });
    const admin = await signIn(`rep_admin_d_${dialect}`, 'school_admin', school.code);
    const built = await call('POST', `/api/schools/${school.code}/reports/${DAY}/build`, admin);
    expect(built.status, JSON.stringify(built.body)).toBe(200);
    expect(built.body.figures).toMatchObject({ expected: 1, arrived: 0 });

    const unchanged = await call('GET', `/api/schools/${school.code}/reports/${DAY}`, admin);
    expect(unchanged.body.sinceBuild.changes).toEqual([]);

    // The head teacher marks the pupil present after the draft was built.
    await saveClassCheck(t.ctx, { userId: 'head-d', name: '一(1)班班主任' }, school.id, pupil.klass.id, {
      day: DAY,
      session: 'morning',
      entries: [{ personId: pupil.person.id, status: 'present' }],
    });
    const outdated = await call('GET', `/api/schools/${school.code}/reports/${DAY}`, admin);
    expect(outdated.body.figures.arrived).toBe(0);
    expect(outdated.body.sinceBuild.changes).toContainEqual({ field: 'arrived', label: '实到人数', from: 0, to: 1 });
    expect(outdated.body.sinceBuild.changeSummary).toContain('实到人数 0 → 1');

    const rebuilt = await call('POST', `/api/schools/${school.code}/reports/${DAY}/build`, admin);
    expect(rebuilt.body.figures.arrived).toBe(1);
    const fresh = await call('GET', `/api/schools/${school.code}/reports/${DAY}`, admin);
    expect(fresh.body.sinceBuild.changes).toEqual([]);

    // A submitted version is what it is: no comparison is made.
    const submitted = await call('POST', `/api/schools/${school.code}/reports/${DAY}/submit`, admin, {});
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    const read = await call('GET', `/api/schools/${school.code}/reports/${DAY}`, admin);
    expect(read.body.status).toBe('submitted');
    expect(read.body.sinceBuild).toBeUndefined();
  });

  it('rejects a rebuild without records', async () => {
    // A submitted report of the 1st counts one arrival, and then the day's records are gone,
    // as with the demo's seeded history.
    const day = '2026-12-01';
    await saveClassCheck(t.ctx, { userId: 'head-c', name: '一(1)班班主任' }, schoolC.id, pupilC.klass.id, {
      day,
      session: 'morning',
      entries: [{ personId: pupilC.person.id, status: 'present' }],
    });
    const built = await call('POST', `/api/schools/${schoolC.code}/reports/${day}/build`, adminC);
    expect(built.status, JSON.stringify(built.body)).toBe(200);
    expect(built.body.content.total).toMatchObject({ expected: 1, arrived: 1 });
    const submitted = await call('POST', `/api/schools/${schoolC.code}/reports/${day}/submit`, adminC, {});
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    await t.ctx.db.deleteFrom('daily_checks').where('school_id', '=', schoolC.id).where('day', '=', day).execute();

    const rebuilt = await call('POST', `/api/schools/${schoolC.code}/reports/${day}/build`, adminC);
    expect(rebuilt.status).toBe(409);
    expect(rebuilt.body.message).toContain(`${day} 的日报第 1 版已上报（实到 1 人）`);
    expect(rebuilt.body.message).toContain('已没有当天的校门入校记录和晨午检记录');
    expect(rebuilt.body.message).toContain('如需更正，请联系区教育局');

    const latest = await call('GET', `/api/schools/${schoolC.code}/reports/${day}`, adminC);
    expect(latest.body).toMatchObject({ version: 1, status: 'submitted' });
    expect(latest.body.figures.arrived).toBe(1);
  });
});
