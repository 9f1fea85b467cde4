import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { getSchoolDayStatus } from '../../src/modules/calendar/service.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { createAccount, sessionHeaders } from '../checks/helpers.js';

// 2026-12-07 is a Monday; 2026-12-05 a Saturday.
const TODAY = '2026-12-07';

describe.each(DIALECTS)('%s: school calendar API', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let school: Awaited<ReturnType<typeof buildSchool>>;
  let otherSchool: Awaited<ReturnType<typeof buildSchool>>;
  let accounts: { district: string; principal: string; otherPrincipal: string; teacher: string };
  const headers = (username: string) => sessionHeaders(t.ctx, username);

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(instantOf(TODAY, '09:00'));
    school = await buildSchool(t.ctx, { name: '校历测试小学' });
    otherSchool = await buildSchool(t.ctx, { name: '校历测试二小' });
    app = await buildApp(t.ctx);
    accounts = {
      district: await createAccount(t.ctx, 'district_admin'),
      principal: await createAccount(t.ctx, 'school_admin', { schoolCode: school.code }),
      otherPrincipal: await createAccount(t.ctx, 'school_admin', { schoolCode: otherSchool.code }),
      teacher: await createAccount(t.ctx, 'teacher', { schoolCode: school.code }),
    };
  });
  afterAll(async () => {
    await app.close();
    await t.close();
  });

  const markDistrict = async (body: object) => app.inject({ method: 'POST', url: '/api/district/calendar/days', headers: await headers(accounts.district), payload: body });
  const markSchool = async (username: string, body: object, code = school.code) =>
    app.inject({ method: 'POST', url: `/api/schools/${code}/calendar/days`, headers: await headers(username), payload: body });
  const dayOf = async (day: string, code = school.code) => (await app.inject({ method: 'GET', url: `/api/schools/${code}/calendar/days/${day}`, headers: await headers(accounts.teacher) })).json();

  it('marks a district holiday for every school', async () => {
    const response = await markDistrict({ from: '2026-12-21', to: '2026-12-23', isSchoolDay: false, reason: '冬季防疫放假' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ marked: 3 });

    expect(await dayOf('2026-12-22')).toMatchObject({ isSchoolDay: false, source: 'district', text: '2026-12-22（周二）全区放假：冬季防疫放假，不是上学日' });
    const other = await getSchoolDayStatus(t.ctx, otherSchool.id, '2026-12-22');
    expect(other.isSchoolDay).toBe(false);

    const listed = (await app.inject({ method: 'GET', url: '/api/district/calendar?from=2026-12-01&to=2026-12-31', headers: await headers(accounts.district) })).json();
    expect(listed.entries.map((e: { day: string }) => e.day)).toEqual(['2026-12-21', '2026-12-22', '2026-12-23']);
    expect(listed.entries[0]).toMatchObject({ isSchoolDay: false, reason: '冬季防疫放假', updatedByName: expect.stringContaining('测试district_admin') });
  });

  it('marks a make-up Saturday as a school day', async () => {
    expect((await dayOf('2026-12-26')).text).toBe('2026-12-26 是周六，不是上学日');
    expect((await markDistrict({ from: '2026-12-26', isSchoolDay: true, reason: '调休上课' })).statusCode).toBe(200);
    expect(await dayOf('2026-12-26')).toMatchObject({ isSchoolDay: true, source: 'district', label: '全区调休上课：调休上课', text: '2026-12-26 是上学日（全区调休上课：调休上课）' });
  });

  it("lets a school admin close their own school only", async () => {
    const closed = await markSchool(accounts.principal, { from: '2026-12-09', to: '2026-12-10', isSchoolDay: false, reason: '流感停课' });
    expect(closed.json()).toEqual({ marked: 2 });
    expect((await dayOf('2026-12-09')).text).toBe('2026-12-09（周三）本校停课：流感停课，不是上学日');
    expect((await getSchoolDayStatus(t.ctx, otherSchool.id, '2026-12-09')).isSchoolDay).toBe(true);

    const foreign = await markSchool(accounts.otherPrincipal, { from: '2026-12-09', isSchoolDay: false, reason: '停课' });
    expect(foreign.statusCode).toBe(403);
    const districtByPrincipal = await app.inject({ method: 'POST', url: '/api/district/calendar/days', headers: await headers(accounts.principal), payload: { from: '2026-12-09', isSchoolDay: false, reason: '停课' } });
    expect(districtByPrincipal.statusCode).toBe(403);
    const byTeacher = await markSchool(accounts.teacher, { from: '2026-12-09', isSchoolDay: false, reason: '停课' });
    expect(byTeacher.statusCode).toBe(403);
  });

  it('lets the school override a district day', async () => {
    await markSchool(accounts.principal, { from: '2026-12-23', isSchoolDay: true, reason: '期末考试' });
    expect(await dayOf('2026-12-23')).toMatchObject({ isSchoolDay: true, source: 'school', label: '本校上课：期末考试' });
    expect((await getSchoolDayStatus(t.ctx, otherSchool.id, '2026-12-23')).isSchoolDay).toBe(false);

    const cleared = await app.inject({ method: 'DELETE', url: `/api/schools/${school.code}/calendar/days?from=2026-12-23`, headers: await headers(accounts.principal) });
    expect(cleared.json()).toEqual({ removed: 1 });
    expect((await dayOf('2026-12-23')).source).toBe('district');
  });

  it('shows every day of a span with the entries behind it', async () => {
    const response = await app.inject({ method: 'GET', url: `/api/schools/${school.code}/calendar?from=2026-12-05&to=2026-12-11`, headers: await headers(accounts.teacher) });
    expect(response.statusCode).toBe(200);
    const view = response.json();
    expect(view.weekdays).toEqual([1, 2, 3, 4, 5]);
    expect(view.days.map((d: { day: string; isSchoolDay: boolean }) => `${d.day.slice(8)}${d.isSchoolDay ? '上' : '休'}`)).toEqual(['05休', '06休', '07上', '08上', '09休', '10休', '11上']);
    expect(view.schoolEntries.map((e: { day: string }) => e.day)).toEqual(['2026-12-09', '2026-12-10']);
    expect(view.districtEntries).toEqual([]);
  });

  it('sets the school weekdays', async () => {
    const saved = await app.inject({ method: 'PUT', url: `/api/schools/${school.code}/calendar/weekdays`, headers: await headers(accounts.principal), payload: { weekdays: [6, 1, 2, 3, 4, 5] } });
    expect(saved.json()).toEqual({ weekdays: [1, 2, 3, 4, 5, 6] });
    expect((await dayOf('2026-12-12')).isSchoolDay).toBe(true);
    const empty = await app.inject({ method: 'PUT', url: `/api/schools/${school.code}/calendar/weekdays`, headers: await headers(accounts.principal), payload: { weekdays: [] } });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toContain('请至少选择一天作为上学日');
    await app.inject({ method: 'PUT', url: `/api/schools/${school.code}/calendar/weekdays`, headers: await headers(accounts.principal), payload: { weekdays: [1, 2, 3, 4, 5] } });
  });

  it('rejects bad input naming the value', async () => {
    const cases: Array<[object, string]> = [
      [{ from: '2026-12-32', isSchoolDay: false, reason: '停课' }, '开始日期“2026-12-32”无效，请写 YYYY-MM-DD，例如 2026-12-07'],
      [{ from: '12/09/2026', isSchoolDay: false, reason: '停课' }, '开始日期“12/09/2026”无效'],
      [{ from: '2026-12-09', to: '2026-12-01', isSchoolDay: false, reason: '停课' }, '开始日期“2026-12-09”晚于结束日期“2026-12-01”'],
      [{ from: '2027-01-01', to: '2027-12-31', isSchoolDay: false, reason: '停课' }, '日期范围 2027-01-01 至 2027-12-31 共 365 天，超过上限 92 天，请分段设置'],
      [{ from: '2019-09-01', isSchoolDay: false, reason: '停课' }, '开始日期“2019-09-01”太早：校历只能查看或修改 2025-12-06 及以后的日期'],
      [{ from: '2031-09-01', isSchoolDay: false, reason: '停课' }, '开始日期“2031-09-01”太晚：校历只能查看或修改 2028-12-07 及以前的日期'],
      [{ from: '2026-12-09', isSchoolDay: false, reason: ' ' }, '请填写原因，例如“国庆节”或“流感停课”'],
    ];
    for (const [body, message] of cases) {
      const response = await markSchool(accounts.principal, body);
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toContain(message);
    }
    const longRead = await app.inject({ method: 'GET', url: `/api/schools/${school.code}/calendar?from=2026-01-01&to=2027-06-30`, headers: await headers(accounts.teacher) });
    expect(longRead.statusCode).toBe(400);
    expect(longRead.json().message).toContain('日期范围 2026-01-01 至 2027-06-30 共 546 天，超过上限 366 天');
    const badDay = await app.inject({ method: 'GET', url: `/api/schools/${school.code}/calendar/days/2026-02-30`, headers: await headers(accounts.teacher) });
    expect(badDay.statusCode).toBe(400);
    expect(badDay.json().message).toContain('日期“2026-02-30”无效');
  });

  it('names each bad field once', async () => {
    const onlyFrom = await markSchool(accounts.principal, { from: '2026-12-09' });
    expect(onlyFrom.statusCode).toBe(400);
    expect(onlyFrom.json().message).toBe('输入不正确：请求体有误：缺少必填字段 是否上学日（isSchoolDay）、原因（reason）');

    const badType = await markSchool(accounts.principal, { from: 20261209, isSchoolDay: 'no', reason: '停课' });
    expect(badType.json().message).toBe('输入不正确：请求体有误：开始日期（from）应为文本；是否上学日（isSchoolDay）应为布尔值（true 或 false）');

    // Without `to` the span is `from` alone, so a bad `from` is not reported again as 结束日期.
    const badFrom = await markSchool(accounts.principal, { from: '2026-13-01', isSchoolDay: false, reason: '停课' });
    expect(badFrom.json().message).toBe('输入不正确：开始日期“2026-13-01”无效，请写 YYYY-MM-DD，例如 2026-12-07');

    const badFromAndReason = await markSchool(accounts.principal, { from: '2026-13-01', isSchoolDay: false, reason: ' ' });
    expect(badFromAndReason.json().message).toBe('输入不正确：开始日期“2026-13-01”无效，请写 YYYY-MM-DD，例如 2026-12-07；请填写原因，例如“国庆节”或“流感停课”');

    const bothEnds = await markSchool(accounts.principal, { from: '2026-13-01', to: '2026-13-02', isSchoolDay: false, reason: '停课' });
    expect(bothEnds.json().message).toBe('输入不正确：开始日期“2026-13-01”无效，请写 YYYY-MM-DD，例如 2026-12-07；结束日期“2026-13-02”无效，请写 YYYY-MM-DD，例如 2026-12-07');

    const read = await app.inject({ method: 'GET', url: '/api/district/calendar?from=2026-13-01', headers: await headers(accounts.district) });
    expect(read.statusCode).toBe(400);
    expect(read.json().message).toBe('输入不正确：开始日期“2026-13-01”无效，请写 YYYY-MM-DD，例如 2026-12-07');

    const clear = await app.inject({ method: 'DELETE', url: `/api/schools/${school.code}/calendar/days?from=2026-13-01`, headers: await headers(accounts.principal) });
    expect(clear.statusCode).toBe(400);
    expect(clear.json().message).toBe('输入不正确：开始日期“2026-13-01”无效，请写 YYYY-MM-DD，例如 2026-12-07');

    const clearWithoutFrom = await app.inject({ method: 'DELETE', url: `/api/schools/${school.code}/calendar/days`, headers: await headers(accounts.principal) });
    expect(clearWithoutFrom.json().message).toBe('输入不正确：查询参数有误：缺少必填字段 开始日期（from）');
  });

  it('writes each change to the audit log', async () => {
    const rows = await t.ctx.db.selectFrom('audit_log').select(['action', 'target', 'detail', 'school_id']).where('action', 'like', 'calendar.%').orderBy('at').execute();
    expect(rows.map((r) => r.action)).toEqual([
      'calendar.district.mark',
      'calendar.district.mark',
      'calendar.school.mark',
      'calendar.school.mark',
      'calendar.school.clear',
      'calendar.school.weekdays',
      'calendar.school.weekdays',
    ]);
    expect(JSON.parse(rows[2]!.detail)).toEqual({ from: '2026-12-09', to: '2026-12-10', isSchoolDay: false, reason: '流感停课', days: 2 });
    expect(rows[2]!.target).toBe(school.code);
    expect(rows[2]!.school_id).toBe(school.id);
  });
});
