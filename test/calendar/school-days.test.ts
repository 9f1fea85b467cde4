import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { markDistrictDays, markSchoolDays, clearSchoolDays, type CalendarActor } from '../../src/modules/calendar/service.js';
import { sendUnknownAbsenceReminders } from '../../src/modules/checks/reminders.js';
import { listClusterAlerts } from '../../src/modules/checks/service.js';
import { sendNotArrivedLists } from '../../src/modules/gate/attendance.js';
import { getSchoolByIdOrThrow } from '../../src/modules/people/service.js';
import { getDistrictDay, getDistrictTrend } from '../../src/modules/reports/district.js';
import { buildDueReports } from '../../src/modules/reports/worker.js';
import { instantOf } from '../../src/shared/time.js';
import { makePhone } from '../../src/shared/synthetic.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { bearer } from '../gate/helpers.js';
import { buildChecksWorld, createAccount, sessionHeaders } from '../checks/helpers.js';

/**
 * The calendar as the checks, the cluster rule, the reminders, the gate, the daily report
 * and visitors read it. December 2026: the district gives Wednesday the 9th off and makes
 * Saturday the 12th a school day; the school closes on Tuesday the 15th.
 */
const HOLIDAY = '2026-12-09';
const MAKE_UP_SATURDAY = '2026-12-12';
const CLOSURE = '2026-12-15';
const SYSTEM: CalendarActor = { user: null, name: '测试', ip: null };

describe.each(DIALECTS)('%s: school days across modules', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let world: Awaited<ReturnType<typeof buildChecksWorld>>;
  let neighbour: Awaited<ReturnType<typeof buildSchool>>;
  let accounts: { teacher: string; principal: string };
  let sequence = 0;

  const pupil = (i: number) => world.pupils[i]!.person;
  const at = (day: string, time: string) => t.setNow(instantOf(day, time));
  const saveCheck = async (day: string, entries: object[]) =>
    app.inject({
      method: 'PUT',
      url: `/api/schools/${world.school.code}/classes/${world.klass.id}/checks`,
      headers: await sessionHeaders(t.ctx, accounts.teacher),
      payload: { day, session: 'morning', entries },
    });
  const illWithCough = (i: number) => ({ personId: pupil(i).id, status: 'absent', absenceReason: 'illness', symptoms: ['cough'] });
  const passGate = async (personId: string) => {
    sequence += 1;
    const response = await app.inject({
      method: 'POST',
      url: '/api/devices/events',
      headers: bearer(world.device),
      payload: { eventId: `cal-${sequence}`, occurredAt: t.ctx.now(), temperature: 36.5, cardNumber: world.cards.get(personId) },
    });
    return response.json() as { decision: string; flags: string[] };
  };

  beforeAll(async () => {
    t = await createTestDb(dialect);
    at('2026-12-07', '07:00');
    world = await buildChecksWorld(t.ctx);
    neighbour = await buildSchool(t.ctx, { name: '校历邻校' });
    app = await buildApp(t.ctx);
    accounts = {
      teacher: await createAccount(t.ctx, 'head_teacher', { schoolCode: world.school.code, className: world.klass.name }),
      principal: await createAccount(t.ctx, 'school_admin', { schoolCode: world.school.code }),
    };
    await markDistrictDays(t.ctx, SYSTEM, world.school.districtId, { from: HOLIDAY, isSchoolDay: false, reason: '防疫放假' });
    await markDistrictDays(t.ctx, SYSTEM, world.school.districtId, { from: MAKE_UP_SATURDAY, isSchoolDay: true, reason: '调休上课' });
    await markSchoolDays(t.ctx, SYSTEM, world.school, { from: CLOSURE, isSchoolDay: false, reason: '流感停课' });
  });
  afterAll(async () => {
    await app.close();
    await t.close();
  });

  it('rejects a check on a weekend, naming the day', async () => {
    at('2026-12-13', '09:00');
    const sunday = await saveCheck('2026-12-13', [{ personId: pupil(0).id, status: 'present' }]);
    expect(sunday.statusCode).toBe(400);
    expect(sunday.json().message).toBe('输入不正确：2026-12-13 是周日，不是上学日，不能登记晨午检');
    const saturday = await saveCheck('2026-12-05', [{ personId: pupil(0).id, status: 'present' }]);
    expect(saturday.json().message).toContain('2026-12-05 是周六，不是上学日');

    const form = await app.inject({
      method: 'GET',
      url: `/api/schools/${world.school.code}/classes/${world.klass.id}/checks?day=2026-12-13`,
      headers: await sessionHeaders(t.ctx, accounts.teacher),
    });
    expect(form.statusCode).toBe(200);
    expect(form.json().schoolDay).toMatchObject({ isSchoolDay: false, text: '2026-12-13 是周日，不是上学日' });
  });

  it('rejects a check on a holiday and a closure, accepts a make-up day', async () => {
    at(CLOSURE, '09:00');
    const holiday = await saveCheck(HOLIDAY, [{ personId: pupil(0).id, status: 'present' }]);
    expect(holiday.statusCode).toBe(400);
    expect(holiday.json().message).toContain('2026-12-09（周三）全区放假：防疫放假，不是上学日，不能登记晨午检');
    const closure = await saveCheck(CLOSURE, [{ personId: pupil(0).id, status: 'present' }]);
    expect(closure.json().message).toContain('2026-12-15（周二）本校停课：流感停课，不是上学日，不能登记晨午检');
    const makeUp = await saveCheck(MAKE_UP_SATURDAY, [{ personId: pupil(0).id, status: 'present' }]);
    expect(makeUp.statusCode).toBe(200);
    expect(makeUp.json().created).toBe(1);
  });

  it('counts five cases in three school days across a holiday', async () => {
    // Monday, Tuesday and Thursday are three school days, because Wednesday is a holiday.
    at('2026-12-07', '08:30');
    expect((await saveCheck('2026-12-07', [illWithCough(0), illWithCough(1)])).json().clusterAlertsRaised).toBe(0);
    at('2026-12-08', '08:30');
    expect((await saveCheck('2026-12-08', [illWithCough(2)])).json().clusterAlertsRaised).toBe(0);
    at('2026-12-10', '08:30');
    const thursday = await saveCheck('2026-12-10', [illWithCough(3), illWithCough(4)]);
    expect(thursday.json().clusterAlertsRaised).toBe(1);

    const alerts = await listClusterAlerts(t.ctx, { schoolId: world.school.id, from: '2026-12-07', to: '2026-12-10' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: 'school_days', windowStart: '2026-12-07', windowEnd: '2026-12-10', caseCount: 5 });
  });

  it('sends no unknown-absence reminder once the day is closed', async () => {
    at('2026-12-16', '08:20');
    expect((await saveCheck('2026-12-16', [{ personId: pupil(5).id, status: 'absent', absenceReason: 'unknown' }])).statusCode).toBe(200);
    // The school closes for the rest of the day after the morning check.
    await markSchoolDays(t.ctx, SYSTEM, world.school, { from: '2026-12-16', isSchoolDay: false, reason: '流感停课' });
    const school = await getSchoolByIdOrThrow(t.ctx, world.school.id);
    at('2026-12-16', '09:00');
    expect(await sendUnknownAbsenceReminders(t.ctx, school)).toBe(0);

    await clearSchoolDays(t.ctx, SYSTEM, world.school, '2026-12-16', '2026-12-16');
    at('2026-12-16', '09:01');
    expect(await sendUnknownAbsenceReminders(t.ctx, school)).toBe(1);
  });

  it('flags no late arrival and sends no not-arrived list without school', async () => {
    const school = await getSchoolByIdOrThrow(t.ctx, world.school.id);
    at('2026-12-19', '08:30');
    expect(await sendNotArrivedLists(t.ctx, school)).toBe(0);
    // Pupils 0 to 4 are under illness follow-ups, which the gate holds; 5 and the other class's pupil are not.
    at('2026-12-19', '09:30');
    const saturday = await passGate(pupil(5).id);
    expect(saturday.decision).toBe('pass');
    expect(saturday.flags).not.toContain('late');
    const attendance = await t.ctx.db.selectFrom('attendance').select('late').where('person_id', '=', pupil(5).id).where('day', '=', '2026-12-19').executeTakeFirstOrThrow();
    expect(attendance.late).toBe(0);

    // The make-up Saturday is a school day: the list goes out and a 09:30 pass is late.
    at(MAKE_UP_SATURDAY, '08:30');
    expect(await sendNotArrivedLists(t.ctx, school)).toBe(1);
    at(MAKE_UP_SATURDAY, '09:30');
    expect((await passGate(world.other.person.id)).flags).toContain('late');
  });

  it('leaves schools without school out of the not-reported list', async () => {
    at(CLOSURE, '18:00');
    const closure = await getDistrictDay(t.ctx, world.school.districtId, CLOSURE);
    const own = closure.schools.find((s) => s.code === world.school.code)!;
    expect(own).toMatchObject({ state: 'no_school', isSchoolDay: false, noSchoolLabel: '本校停课：流感停课', missedDeadline: false });
    const other = closure.schools.find((s) => s.code === neighbour.code)!;
    expect(other).toMatchObject({ state: 'missing', isSchoolDay: true, missedDeadline: true });
    expect(closure.totals).toMatchObject({ schools: 2, missing: 1, noSchool: 1 });

    const holiday = await getDistrictDay(t.ctx, world.school.districtId, HOLIDAY);
    expect(holiday.schools.map((s) => s.state)).toEqual(['no_school', 'no_school']);
    expect(holiday.schools[0]!.noSchoolLabel).toBe('全区放假：防疫放假');
    expect(holiday.totals.missing).toBe(0);
  });

  it('skips days without school in the trend', async () => {
    at('2026-12-18', '18:00');
    const trend = await getDistrictTrend(t.ctx, world.school.districtId, '2026-12-18', 14);
    // 5 to 18 December without Sundays 6 and 13, Saturday 5 and the holiday on the 9th.
    expect(trend.map((p) => p.day.slice(8))).toEqual(['07', '08', '10', '11', '12', '14', '15', '16', '17', '18']);
    expect(trend.find((p) => p.day === CLOSURE)?.expectedSchools).toBe(1);
    expect(trend.find((p) => p.day === MAKE_UP_SATURDAY)?.expectedSchools).toBe(2);
  });

  it('builds scheduled reports on school days only', async () => {
    at('2026-12-19', '17:00');
    expect(await buildDueReports(t.ctx)).toBe(0);
    at(CLOSURE, '17:00');
    expect(await buildDueReports(t.ctx)).toBe(1);
    const built = await t.ctx.db.selectFrom('daily_reports').select('school_id').where('day', '=', CLOSURE).execute();
    expect(built.map((r) => r.school_id)).toEqual([neighbour.id]);
  });

  it('warns when a visit falls on a day without school', async () => {
    at('2026-12-17', '10:00');
    const headers = await sessionHeaders(t.ctx, accounts.principal);
    const register = (day: string) =>
      app.inject({
        method: 'POST',
        url: `/api/schools/${world.school.code}/visitors`,
        headers,
        payload: { name: '钱维修', phone: makePhone(901), purpose: '维修教室空调', day, from: '09:00', to: '11:00' },
      });
    const saturday = await register('2026-12-19');
    expect(saturday.statusCode).toBe(200);
    expect(saturday.json().notSchoolDayText).toBe('2026-12-19 是周六，不是上学日');
    expect((await register('2026-12-18')).json().notSchoolDayText).toBeNull();
  });
});
