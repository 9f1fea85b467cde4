import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createDevice } from '../../src/modules/gate/devices.js';
import { decideEntry, type EntryPolicySettings } from '../../src/modules/gate/entry-policy.js';
import { describeSchoolDay, type CalendarEntry } from '../../src/modules/calendar/calendar-rules.js';
import { checkEntryWindows, guardView } from '../../src/modules/gate/entry-windows.js';
import { DEFAULT_GATE_SETTINGS, type EntryWindow } from '../../src/modules/gate/gate-settings.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { signIn } from './helpers.js';

// 2026-12-07 is a Monday, 2026-12-09 a Wednesday.
const MONDAY = '2026-12-07';
const WEDNESDAY = '2026-12-09';

const WINDOWS: EntryWindow[] = [
  { grades: [1, 2], from: '07:10', to: '07:25', lanes: ['东门'] },
  { grades: [3, 4], from: '07:25', to: '07:40', lanes: ['东门', '南门'], weekdays: [1, 2, 4, 5] },
  { grades: [3, 4], from: '07:45', to: '08:00', lanes: ['南门'], weekdays: [3] },
  { grades: [5, 6], from: '07:40', to: '07:55' },
];

/** A day of a Monday-to-Friday school with the district entries given. */
const dayOf = (day: string, entries: { district?: Array<[string, CalendarEntry]> } = {}) =>
  describeSchoolDay(day, { weekdays: [1, 2, 3, 4, 5], district: new Map(entries.district ?? []), school: new Map() });

describe('entry window rules', () => {
  it('accepts windows that overlap only on different weekdays, and normalises them', () => {
    const checked = checkEntryWindows([...WINDOWS, { grades: [6], from: '7:00', to: '7:05', weekdays: [6, 6] }], ['东门', '南门']);
    expect(checked.ok).toBe(true);
    if (checked.ok) expect(checked.windows[4]).toEqual({ grades: [6], from: '07:00', to: '07:05', weekdays: [6] });
  });

  const refusals: Array<[string, unknown[], string]> = [
    ['a grade in two overlapping windows', [WINDOWS[0], { grades: [2, 3], from: '07:20', to: '07:30' }], '二年级的第 1 个时段（07:10–07:25）与第 2 个时段（07:20–07:30）时间重叠'],
    ['an overlap on one shared weekday', [{ ...WINDOWS[1] }, { grades: [4], from: '07:30', to: '07:50', weekdays: [5, 6] }], '时间重叠（周五）'],
    ['a start after the end', [{ grades: [1], from: '08:00', to: '07:40' }], '第 1 个时段：开始时间 08:00 不早于结束时间 07:40'],
    ['an unknown lane', [{ grades: [1], from: '07:00', to: '07:20', lanes: ['北门'] }], '第 1 个时段：通道“北门”不存在，现有通道：东门、南门'],
    ['a malformed time', [{ grades: [1], from: '7点', to: '07:20' }], '开始时间“7点”无效'],
    ['no grade', [{ grades: [], from: '07:00', to: '07:20' }], '请至少选择一个年级'],
    ['a weekday of 7', [{ grades: [1], from: '07:00', to: '07:20', weekdays: [7] }], '星期应为 0（周日）到 6（周六）的整数'],
  ];

  it.each(refusals)('refuses %s in Chinese', (_case, windows, message) => {
    const checked = checkEntryWindows(windows, ['东门', '南门']);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.problems.join('；')).toContain(message);
  });

  it('shows the guard the open windows by lane, per weekday', () => {
    const monday = guardView(WINDOWS, instantOf(MONDAY, '07:30'), ['东门', '南门'], dayOf(MONDAY));
    expect(monday.isSchoolDay).toBe(true);
    expect(monday.windows.map((w) => [w.from, w.state])).toEqual([
      ['07:10', 'closed'],
      ['07:25', 'open'],
      ['07:40', 'upcoming'],
    ]);
    expect(monday.lanesNow).toEqual([
      { lane: '东门', grades: [3, 4], gradeNames: '三年级、四年级' },
      { lane: '南门', grades: [3, 4], gradeNames: '三年级、四年级' },
    ]);
    expect(monday.next?.gradeNames).toBe('五年级、六年级');

    const wednesday = guardView(WINDOWS, instantOf(WEDNESDAY, '07:50'), ['东门', '南门'], dayOf(WEDNESDAY));
    expect(wednesday.lanesNow).toEqual([
      { lane: '东门', grades: [5, 6], gradeNames: '五年级、六年级' },
      { lane: '南门', grades: [3, 4, 5, 6], gradeNames: '三年级、四年级、五年级、六年级' },
    ]);
  });

  it('shows no windows on a day without school', () => {
    const withSaturday = [...WINDOWS, { grades: [1], from: '08:00', to: '08:30', weekdays: [6] }];
    const saturday = guardView(withSaturday, instantOf('2026-12-12', '07:50'), ['东门'], dayOf('2026-12-12'));
    expect(saturday.isSchoolDay).toBe(false);
    expect(saturday.notSchoolDayText).toBe('2026-12-12 是周六，不是上学日');
    expect(saturday.windows).toEqual([]);
    expect(saturday.lanesNow).toEqual([{ lane: '东门', grades: [], gradeNames: '' }]);

    const holiday = guardView(WINDOWS, instantOf(MONDAY, '07:30'), ['东门'], dayOf(MONDAY, { district: [[MONDAY, { isSchoolDay: false, reason: '冬至' }]] }));
    expect(holiday.notSchoolDayText).toBe(`${MONDAY}（周一）全区放假：冬至，不是上学日`);
    expect(holiday.windows).toEqual([]);
  });

  it('applies Saturday windows on a make-up Saturday', () => {
    const withSaturday = [...WINDOWS, { grades: [1], from: '08:00', to: '08:30', weekdays: [6] }];
    const makeUp = guardView(withSaturday, instantOf('2026-12-12', '07:50'), ['东门'], dayOf('2026-12-12', { district: [['2026-12-12', { isSchoolDay: true, reason: '调休' }]] }));
    expect(makeUp.isSchoolDay).toBe(true);
    expect(makeUp.notSchoolDayText).toBeNull();
    // The Monday-to-Friday windows (weekdays 1-5) stay off; the window without weekdays and the Saturday one apply.
    expect(makeUp.windows.map((w) => w.from)).toEqual(['07:10', '07:40', '08:00']);
  });

  it('flags a pupil outside the window of the day at the gate', () => {
    const settings: EntryPolicySettings = { ...DEFAULT_GATE_SETTINGS, entryWindows: WINDOWS, dayStartsAt: '08:00' };
    const facts = (at: number, lane: string) => ({
      identity: { status: 'identified' as const, personKind: 'student' as const, grade: 3 },
      method: 'face' as const,
      temperatureC: 36.5,
      code: { color: 'green' as const, isStale: false },
      occurredAt: at,
      lane,
      holds: [],
      isSchoolDay: true,
    });
    expect(decideEntry(facts(instantOf(MONDAY, '07:30'), '东门'), settings).flags).toEqual([]);
    expect(decideEntry(facts(instantOf(WEDNESDAY, '07:30'), '东门'), settings).flags).toEqual(['outside_window', 'wrong_lane']);
    expect(decideEntry(facts(instantOf(WEDNESDAY, '07:50'), '南门'), settings).flags).toEqual([]);
  });
});

describe.each(DIALECTS)('entry windows over HTTP on %s', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let baseUrl: string;
  let school: { id: string; code: string };
  let admin: Record<string, string>;
  let guard: Record<string, string>;

  async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...headers, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(instantOf(MONDAY, '07:00'));
    app = await buildApp(t.ctx);
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    school = await buildSchool(t.ctx);
    await createDevice(t.ctx, { schoolCode: school.code, kind: 'api', name: '东门 1 号通道', lane: '东门' });
    await createDevice(t.ctx, { schoolCode: school.code, kind: 'api', name: '南门 1 号通道', lane: '南门' });
    admin = (await signIn(t.ctx, school.code, 'school_admin')).headers;
    guard = (await signIn(t.ctx, school.code, 'guard')).headers;
  });
  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('rejects bad windows, keeps old ones', async () => {
    const reply = await call('PUT', `/api/schools/${school.code}/entry-windows`, admin, {
      windows: [
        { grades: [1, 2], from: '07:10', to: '07:25', lanes: ['东门'] },
        { grades: [2], from: '07:20', to: '07:30' },
        { grades: [3], from: '08:00', to: '07:50' },
        { grades: [4], from: '07:30', to: '07:50', lanes: ['北门'] },
      ],
    });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain('二年级的第 1 个时段（07:10–07:25）与第 2 个时段（07:20–07:30）时间重叠');
    expect(reply.body.message).toContain('第 3 个时段：开始时间 08:00 不早于结束时间 07:50');
    expect(reply.body.message).toContain('第 4 个时段：通道“北门”不存在，现有通道：东门、南门');
    expect((await call('GET', `/api/schools/${school.code}/entry-windows`, admin)).body.windows).toEqual([]);
  });

  it('saves windows for the guard view', async () => {
    const saved = await call('PUT', `/api/schools/${school.code}/entry-windows`, admin, { windows: WINDOWS });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toMatchObject({ windows: WINDOWS, lanes: ['东门', '南门'] });
    const audits = await t.ctx.db.selectFrom('audit_log').select('action').where('action', '=', 'gate.entry_windows.update').execute();
    expect(audits).toHaveLength(1);

    const forbidden = await call('PUT', `/api/schools/${school.code}/entry-windows`, guard, { windows: [] });
    expect(forbidden.status).toBe(403);

    t.setNow(instantOf(MONDAY, '07:15'));
    const now = await call('GET', `/api/schools/${school.code}/entry-windows/now`, guard);
    expect(now.status).toBe(200);
    expect(now.body.now).toBe('07:15');
    expect(now.body.lanesNow).toEqual([
      { lane: '东门', grades: [1, 2], gradeNames: '一年级、二年级' },
      { lane: '南门', grades: [], gradeNames: '' },
    ]);

    const other = await buildSchool(t.ctx);
    const otherAdmin = (await signIn(t.ctx, other.code, 'school_admin')).headers;
    expect((await call('GET', `/api/schools/${school.code}/entry-windows/now`, otherAdmin)).status).toBe(403);
  });
});
