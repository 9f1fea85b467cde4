import { describe, expect, it } from 'vitest';
import {
  applyObservation,
  isStale,
  planChangeNotices,
  planFailureNotices,
  planGuardianNotices,
  runStatus,
  stayHomeWindow,
  UNKNOWN_REASON_NOT_FOUND,
  UNKNOWN_REASON_UNAUTHORIZED,
  type ChangeForNotice,
  type Observation,
  type PupilState,
  type StoredCode,
} from '../../src/modules/healthcode/code-change.js';
import { isPollDue, nextDayFrom, nextRuns, previousRun, syncServesDay, validateCron, presetCrons, matchingPreset } from '../../src/modules/healthcode/sync-schedule.js';
import { parseQueryBody, parseRetryAfter } from '../../src/modules/healthcode/bureau-client.js';
import { DEFAULT_SCHOOL_SETTINGS } from '../../src/modules/people/school-settings.js';
import { instantOf } from '../../src/shared/time.js';
import { AppError } from '../../src/shared/errors.js';

const NOW = instantOf('2026-12-06', '21:00');
const T0 = instantOf('2026-12-05', '10:00');
const green: StoredCode = { color: 'green', bureauUpdatedAt: T0, fetchedAt: T0, colorSince: T0, reason: null };
const yellow: StoredCode = { color: 'yellow', bureauUpdatedAt: T0, fetchedAt: T0, colorSince: T0, reason: '密接' };
const neverFetched: StoredCode = { color: 'unknown', bureauUpdatedAt: null, fetchedAt: null, colorSince: null, reason: null };

describe('applyObservation', () => {
  const code = (color: 'green' | 'yellow' | 'red'): Observation => ({ kind: 'code', color, updatedAt: NOW - 60_000 });
  const cases: Array<[string, StoredCode | undefined, Observation, string, { from: string | null; to: string } | undefined]> = [
    ['first green is no change', undefined, code('green'), 'green', undefined],
    ['first yellow is a change from nothing', undefined, code('yellow'), 'yellow', { from: null, to: 'yellow' }],
    ['first red is a change from nothing', undefined, code('red'), 'red', { from: null, to: 'red' }],
    ['green to yellow', green, code('yellow'), 'yellow', { from: 'green', to: 'yellow' }],
    ['yellow back to green', yellow, code('green'), 'green', { from: 'yellow', to: 'green' }],
    ['green stays green', green, code('green'), 'green', undefined],
    ['green to unknown (not found)', green, { kind: 'not_found' }, 'unknown', { from: 'green', to: 'unknown' }],
    ['green to unknown (unauthorized)', green, { kind: 'unauthorized' }, 'unknown', { from: 'green', to: 'unknown' }],
    ['first not found is no change', undefined, { kind: 'not_found' }, 'unknown', undefined],
    ['failed keeps yellow', yellow, { kind: 'failed', message: '超时' }, 'yellow', undefined],
    ['failed keeps green', green, { kind: 'failed', message: '超时' }, 'green', undefined],
    ['failed with no code is unknown', undefined, { kind: 'failed', message: '超时' }, 'unknown', undefined],
    ['never fetched then green is no change', neverFetched, code('green'), 'green', undefined],
  ];

  it.each(cases)('%s', (_name, previous, observation, color, change) => {
    const result = applyObservation(previous, observation, NOW);
    expect(result.next.color).toBe(color);
    expect(result.change).toEqual(change);
  });

  it('failure keeps fetchedAt and sets lastFailure', () => {
    const { next } = applyObservation(yellow, { kind: 'failed', message: '健康码接口超时' }, NOW);
    expect(next.fetchedAt).toBe(T0);
    expect(next.lastAttemptAt).toBe(NOW);
    expect(next.lastFailure).toBe('健康码接口超时');
    expect(next.colorSince).toBe(T0);
  });

  it('success clears lastFailure and sets fetchedAt', () => {
    const { next } = applyObservation({ ...green }, { kind: 'code', color: 'green', updatedAt: T0 }, NOW);
    expect(next.fetchedAt).toBe(NOW);
    expect(next.lastFailure).toBeNull();
    expect(next.colorSince).toBe(T0);
  });

  it('unknown reasons name the cause', () => {
    expect(applyObservation(green, { kind: 'not_found' }, NOW).next.reason).toBe(UNKNOWN_REASON_NOT_FOUND);
    expect(applyObservation(green, { kind: 'unauthorized' }, NOW).next.reason).toBe(UNKNOWN_REASON_UNAUTHORIZED);
  });

  it('a new colour starts a new episode', () => {
    const { next } = applyObservation(green, { kind: 'code', color: 'yellow', updatedAt: NOW - 5_000 }, NOW);
    expect(next.colorSince).toBe(NOW - 5_000);
  });
});

describe('isStale', () => {
  const day = 24 * 60;
  it.each([
    [null, true],
    [NOW, false],
    [NOW - day * 60_000, false],
    [NOW - day * 60_000 - 1, true],
  ])('fetchedAt %s', (fetchedAt, expected) => {
    expect(isStale(fetchedAt, NOW, day)).toBe(expected);
  });
});

describe('stayHomeWindow in Asia/Shanghai', () => {
  const settings = { stayHomeNoticeFrom: '18:00', stayHomeNoticeUntil: '08:00' };
  it.each([
    ['2026-12-06', '17:59', undefined],
    ['2026-12-06', '18:00', { targetDay: '2026-12-07', when: 'tomorrow' }],
    ['2026-12-06', '21:00', { targetDay: '2026-12-07', when: 'tomorrow' }],
    ['2026-12-06', '23:59', { targetDay: '2026-12-07', when: 'tomorrow' }],
    ['2026-12-07', '00:00', { targetDay: '2026-12-07', when: 'today' }],
    ['2026-12-07', '04:30', { targetDay: '2026-12-07', when: 'today' }],
    ['2026-12-07', '07:59', { targetDay: '2026-12-07', when: 'today' }],
    ['2026-12-07', '08:00', undefined],
    ['2026-12-07', '10:15', undefined],
    ['2026-12-31', '21:00', { targetDay: '2027-01-01', when: 'tomorrow' }],
  ])('%s %s', (day, time, expected) => {
    expect(stayHomeWindow(instantOf(day, time), settings)).toEqual(expected);
  });

  it('handles a window that does not cross midnight', () => {
    const morning = { stayHomeNoticeFrom: '05:00', stayHomeNoticeUntil: '08:00' };
    expect(stayHomeWindow(instantOf('2026-12-07', '04:59'), morning)).toBeUndefined();
    expect(stayHomeWindow(instantOf('2026-12-07', '05:00'), morning)).toEqual({ targetDay: '2026-12-07', when: 'today' });
    expect(stayHomeWindow(instantOf('2026-12-07', '21:00'), morning)).toBeUndefined();
  });

  it('uses the Shanghai day, not the UTC day', () => {
    // 2026-12-06T16:30Z is 00:30 on the 7th in Shanghai.
    expect(stayHomeWindow(Date.parse('2026-12-06T16:30:00Z'), settings)).toEqual({ targetDay: '2026-12-07', when: 'today' });
  });
});

function pupil(overrides: Partial<PupilState> = {}): PupilState {
  return {
    personId: 'p1',
    name: '王小明',
    kind: 'student',
    className: '二(3)班',
    color: 'yellow',
    reason: null,
    colorSince: 111,
    headTeacher: { id: 't1', name: '李老师', dingtalkUserId: 'dt-t1' },
    guardians: [
      { id: 'g1', name: '王妈妈', dingtalkUserId: 'dt-g1', relation: '母亲', phoneMasked: '100****0001' },
      { id: 'g2', name: '王爸爸', dingtalkUserId: null, relation: '父亲', phoneMasked: '100****0002' },
    ],
    ...overrides,
  };
}

describe('planGuardianNotices', () => {
  const evening = { targetDay: '2026-12-07', when: 'tomorrow' as const };

  it('sends stay-home to guardians and a phone request for one without DingTalk', () => {
    const plan = planGuardianNotices('s1', pupil(), evening, NOW);
    expect(plan.notices).toHaveLength(2);
    expect(plan.notices[0].recipientDingtalkId).toBe('dt-g1');
    expect(plan.notices[0].channel).toBe('dingtalk_work');
    expect(plan.notices[0].kind).toBe('stay_home');
    expect(plan.notices[0].title).toContain('明天（12月7日）请勿到校');
    expect(plan.notices[0].body).toContain('请联系班主任李老师');
    expect(plan.notices[0].body).toContain('核酸检测');
    expect(plan.notices[0].body).toContain('2026-12-06 21:00');
    expect(plan.notices[0].idempotencyKey).toBe('stay-home:p1:2026-12-07:111:g1');
    const phone = plan.notices[1];
    expect(phone.channel).toBe('inbox');
    expect(phone.kind).toBe('phone_guardian');
    expect(phone.recipientPersonId).toBe('t1');
    expect(phone.title).toContain('请电话联系王小明的家长');
    expect(phone.body).toContain('100****0002');
    expect(phone.idempotencyKey).toBe('phone:stay-home:p1:2026-12-07:111:g2');
  });

  it('keys repeat for the same day and episode', () => {
    const a = planGuardianNotices('s1', pupil(), evening, NOW);
    const b = planGuardianNotices('s1', pupil(), { targetDay: '2026-12-07', when: 'today' }, NOW + 9 * 3600_000);
    expect(b.notices[0].idempotencyKey).toBe(a.notices[0].idempotencyKey);
    expect(b.notices[0].title).toContain('今天');
  });

  it('sends may-return after a change back to green', () => {
    const plan = planGuardianNotices('s1', pupil({ color: 'green', change: { id: 'c9', from: 'yellow', to: 'green' } }), evening, NOW);
    expect(plan.notices[0].kind).toBe('may_return');
    expect(plan.notices[0].title).toContain('可以到校');
    expect(plan.notices[0].idempotencyKey).toBe('may-return:p1:2026-12-07:c9:g1');
  });

  it('sends nothing outside the window, to staff, or for a plain green', () => {
    expect(planGuardianNotices('s1', pupil(), undefined, NOW).notices).toHaveLength(0);
    expect(planGuardianNotices('s1', pupil({ kind: 'staff' }), evening, NOW).notices).toHaveLength(0);
    expect(planGuardianNotices('s1', pupil({ color: 'green' }), evening, NOW).notices).toHaveLength(0);
  });

  it('asks the school admin to phone when the class has no head teacher', () => {
    const plan = planGuardianNotices('s1', pupil({ headTeacher: null }), evening, NOW);
    expect(plan.notices[1].recipientRole).toBe('school_admin');
    expect(plan.notices[1].recipientPersonId).toBeNull();
  });
});

function change(id: string, overrides: Partial<ChangeForNotice> = {}): ChangeForNotice {
  return {
    changeId: id,
    personId: `p-${id}`,
    name: `学生${id}`,
    kind: 'student',
    className: '二(3)班',
    from: 'green',
    to: 'yellow',
    changedAt: NOW,
    bureauUpdatedAt: instantOf('2026-12-06', '20:41'),
    reason: null,
    headTeacher: { id: 't1', name: '李老师', dingtalkUserId: 'dt-t1' },
    ...overrides,
  };
}

describe('planChangeNotices', () => {
  const management = [
    { id: 'm1', name: '张校长', dingtalkUserId: 'dt-m1' },
    { id: 'm2', name: '防疫专员', dingtalkUserId: null },
  ];

  it('merges one teacher’s changes into one digest', () => {
    const plan = planChangeNotices({ schoolId: 's1', schoolName: '实验小学', runId: 'r1', changes: [change('a'), change('b'), change('c', { to: 'red' })], management, now: NOW });
    const teacher = plan.notices.filter((n) => n.recipientPersonId === 't1');
    expect(teacher).toHaveLength(1);
    expect(teacher[0].kind).toBe('code_change_digest');
    expect(teacher[0].idempotencyKey).toBe('digest:r1:t1');
    expect(teacher[0].body).toContain('二(3)班 学生a：绿码 → **黄码**（2026-12-06 20:41）');
    expect(teacher[0].body).toContain('学生c：绿码 → **红码**');
    expect(teacher[0].title).toContain('3 人');
    expect(teacher[0].title).toContain('2026-12-06 21:00');
  });

  it('sends a single change as a code_change notice', () => {
    const plan = planChangeNotices({ schoolId: 's1', schoolName: '实验小学', runId: 'r1', changes: [change('a')], management, now: NOW });
    const teacher = plan.notices.find((n) => n.recipientPersonId === 't1')!;
    expect(teacher.kind).toBe('code_change');
    expect(teacher.idempotencyKey).toBe('code-change:p-a:a:t1');
  });

  it('gives each teacher their own pupils and management all', () => {
    const other = { id: 't2', name: '赵老师', dingtalkUserId: 'dt-t2' };
    const plan = planChangeNotices({
      schoolId: 's1',
      schoolName: '实验小学',
      runId: 'r1',
      changes: [change('a'), change('b', { headTeacher: other, className: '三(1)班' }), change('s', { kind: 'staff', className: null, headTeacher: null })],
      management,
      now: NOW,
    });
    expect(plan.notices.find((n) => n.recipientPersonId === 't1')!.body).not.toContain('学生b');
    expect(plan.notices.find((n) => n.recipientPersonId === 't2')!.body).toContain('三(1)班 学生b');
    const principal = plan.notices.find((n) => n.recipientPersonId === 'm1')!;
    expect(principal.body).toContain('共 3 人');
    expect(principal.body).toContain('教职工 学生s');
  });

  it('puts a no-DingTalk manager’s notice in the app and asks the admin to phone', () => {
    const plan = planChangeNotices({ schoolId: 's1', schoolName: '实验小学', runId: 'r1', changes: [change('a')], management, now: NOW });
    const toOfficer = plan.notices.filter((n) => n.recipientPersonId === 'm2');
    expect(toOfficer.map((n) => n.channel)).toEqual(['inbox']);
    const phone = plan.notices.find((n) => n.recipientRole === 'school_admin')!;
    expect(phone.channel).toBe('inbox');
    expect(phone.title).toContain('请电话联系学校管理人员防疫专员');
  });

  it('caps the lines of a long digest', () => {
    const many = Array.from({ length: 55 }, (_, i) => change(String(i)));
    const plan = planChangeNotices({ schoolId: 's1', schoolName: '实验小学', runId: 'r1', changes: many, management: [], now: NOW });
    expect(plan.notices[0].body).toContain('另有 15 人');
  });

  it('returns nothing without changes', () => {
    expect(planChangeNotices({ schoolId: 's1', schoolName: 'x', runId: 'r1', changes: [], management, now: NOW }).notices).toHaveLength(0);
  });
});

describe('runStatus and failure notices', () => {
  it.each([
    [{ batches: 3, failedBatches: 0, aborted: false, fatal: false }, 'succeeded'],
    [{ batches: 3, failedBatches: 1, aborted: false, fatal: false }, 'partial'],
    [{ batches: 3, failedBatches: 3, aborted: false, fatal: false }, 'failed'],
    [{ batches: 3, failedBatches: 3, aborted: false, fatal: true }, 'failed'],
    [{ batches: 3, failedBatches: 0, aborted: true, fatal: false }, 'interrupted'],
    [{ batches: 0, failedBatches: 0, aborted: false, fatal: false }, 'succeeded'],
  ] as const)('%o is %s', (input, expected) => {
    expect(runStatus(input)).toBe(expected);
  });

  it('tells the admin and DingTalk managers about a partial run', () => {
    const plan = planFailureNotices({
      schoolId: 's1',
      schoolName: '实验小学',
      runId: 'r1',
      status: 'partial',
      failedPersons: 100,
      total: 300,
      failure: '1/3 批查询失败',
      staleAfterMinutes: 1440,
      management: [{ id: 'm1', name: '张校长', dingtalkUserId: 'dt-m1' }],
      now: NOW,
    });
    const [admin, principal] = plan.notices;
    expect(admin).toMatchObject({ channel: 'inbox', recipientRole: 'school_admin', idempotencyKey: 'sync-failed:r1:school_admin' });
    expect(admin.body).toContain('100 人未能获取最新健康码');
    expect(admin.body).toContain('不会因此变为绿码');
    expect(admin.body).toContain('24 小时');
    expect(principal).toMatchObject({ channel: 'dingtalk_work', recipientDingtalkId: 'dt-m1', idempotencyKey: 'sync-failed:r1:m1' });
    expect(principal.title).toContain('2026-12-06 21:00');
  });

  it('says nothing about a successful run', () => {
    const plan = planFailureNotices({ schoolId: 's1', schoolName: 'x', runId: 'r1', status: 'succeeded', failedPersons: 0, total: 3, failure: null, staleAfterMinutes: 60, management: [], now: NOW });
    expect(plan.notices).toHaveLength(0);
  });
});

describe('sync schedule rules', () => {
  it('accepts presets and 5-field crons', () => {
    expect(presetCrons('evening-2100-morning-0630')).toEqual(['0 21 * * *', '30 6 * * *']);
    expect(validateCron(' 30  4 * * * ')).toBe('30 4 * * *');
    expect(matchingPreset(['30 6 * * *', '0 21 * * *'])).toBe('evening-2100-morning-0630');
    expect(matchingPreset(['0 5 * * *'])).toBeNull();
  });

  it.each(['61 4 * * *', '30 4 * *', '* * * * * *', 'abc', ''])('rejects "%s" with a message naming it', (cron) => {
    try {
      validateCron(cron);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('INVALID_CRON');
      expect((error as AppError).userMessage).toContain(`“${cron}”`);
    }
  });

  it.each([
    ['61 4 * * *', '第 1 段（分钟）的 61 超出范围，应在 0 到 59 之间'],
    ['0 25 * * *', '第 2 段（小时）的 25 超出范围，应在 0 到 23 之间'],
    ['0 4 32 * *', '第 3 段（日）的 32 超出范围，应在 1 到 31 之间'],
    ['0 4 * 13 *', '第 4 段（月）的 13 超出范围，应在 1 到 12 之间'],
    ['0 4 * * 8', '第 5 段（星期）的 8 超出范围，应在 0 到 7 之间'],
    ['*/0 4 * * *', '第 1 段（分钟）的步长“*/0”不能为 0'],
    ['0 4 * * 5-1', '第 5 段（星期）的范围“5-1”起点大于终点：请把较小的数写在前面，如 1-5'],
    ['1-x 4 * * *', '第 1 段（分钟）“1-x”写法无效，可写 0–59 的数字、*、范围（如 1-5）、列表（如 1,3,5）或步长（如 */15）'],
    ['0 4 * JANX *', '第 4 段（月）“JANX”写法无效'],
  ])('explains "%s" in Chinese', (cron, reason) => {
    const error = (() => {
      try {
        validateCron(cron);
      } catch (caught) {
        return caught as AppError;
      }
      throw new Error(`validateCron accepted ${cron}`);
    })();
    expect(error.code).toBe('INVALID_CRON');
    expect(error.userMessage).toContain(`同步时间“${cron}”不是有效的 cron 表达式：${reason}`);
    expect(error.userMessage).toContain('例如 “30 4 * * *” 表示每天 04:30');
    // croner's own messages start with "CronPattern:" and are English.
    expect(error.userMessage).not.toMatch(/CronPattern|Invalid|Syntax/);
  });

  it('keeps the forms croner accepts', () => {
    expect(validateCron('0 7 * * MON-FRI')).toBe('0 7 * * MON-FRI');
    expect(validateCron('0 4 L * *')).toBe('0 4 L * *');
    expect(validateCron('*/20 6-8 * * 1,3,5')).toBe('*/20 6-8 * * 1,3,5');
  });

  it('rejects an unknown preset listing the choices', () => {
    expect(() => presetCrons('hourly')).toThrow(/daily-0430/);
  });

  it('computes next runs in Asia/Shanghai', () => {
    const runs = nextRuns(['0 21 * * *', '30 6 * * *'], instantOf('2026-12-06', '20:00'), 3);
    expect(runs).toEqual([instantOf('2026-12-06', '21:00'), instantOf('2026-12-07', '06:30'), instantOf('2026-12-07', '21:00')]);
  });

  it('finds a missed run within the look-back', () => {
    expect(previousRun('30 4 * * *', instantOf('2026-12-07', '04:40'), 15 * 60_000)).toBe(instantOf('2026-12-07', '04:30'));
    expect(previousRun('30 4 * * *', instantOf('2026-12-07', '05:00'), 15 * 60_000)).toBeUndefined();
  });

  it.each([
    ['2026-12-07', '07:00', true],
    ['2026-12-07', '07:30', true],
    ['2026-12-07', '07:15', false],
    ['2026-12-07', '17:00', true],
    ['2026-12-07', '17:30', false],
    ['2026-12-07', '06:30', false],
    // A Sunday's hours are due too, because the school calendar decides the days.
    ['2026-12-06', '10:00', true],
  ])('polls on %s at %s: %s', (day, time, expected) => {
    // 2026-12-07 is a Monday; 2026-12-06 a Sunday.
    expect(isPollDue(DEFAULT_SCHOOL_SETTINGS.polling, instantOf(day, time))).toBe(expected);
  });

  it.each([
    ['2026-12-07', '04:30', '2026-12-07'],
    ['2026-12-07', '06:30', '2026-12-07'],
    ['2026-12-07', '10:00', '2026-12-07'],
    ['2026-12-07', '17:59', '2026-12-07'],
    ['2026-12-07', '18:00', '2026-12-08'],
    ['2026-12-06', '21:00', '2026-12-07'],
    ['2026-12-31', '21:00', '2027-01-01'],
  ])('sync on %s at %s serves %s', (day, time, served) => {
    expect(syncServesDay(instantOf(day, time), DEFAULT_SCHOOL_SETTINGS)).toBe(served);
  });

  it('serves its own day without an evening window', () => {
    const morningOnly = { stayHomeNoticeFrom: '05:00', stayHomeNoticeUntil: '08:00' };
    expect(syncServesDay(instantOf('2026-12-06', '21:00'), morningOnly)).toBe('2026-12-06');
    expect(nextDayFrom(morningOnly)).toBeNull();
    expect(nextDayFrom(DEFAULT_SCHOOL_SETTINGS)).toBe('18:00');
    expect(nextDayFrom({ stayHomeNoticeFrom: '19:30', stayHomeNoticeUntil: '07:00' })).toBe('19:30');
  });
});

describe('bureau answer parsing', () => {
  const requested = new Set(['A', 'B', 'C']);

  it('reads a valid body', () => {
    const body = JSON.stringify({ results: [{ idNumber: 'A', color: 'red', updatedAt: '2026-12-06T12:00:00Z', reason: '密接' }], notFound: ['B'], unauthorized: ['C'] });
    expect(parseQueryBody(body, requested)).toEqual({
      results: [{ idNumber: 'A', color: 'red', updatedAt: Date.parse('2026-12-06T12:00:00Z'), reason: '密接' }],
      notFound: ['B'],
      unauthorized: ['C'],
    });
  });

  it.each([
    ['<html>', 'not JSON'],
    ['{"results":[{"idNumber":"33', 'not JSON'],
    ['{"code":0}', 'results is not an array'],
    ['{"results":[{"idNumber":"Z","color":"green","updatedAt":"2026-12-06T12:00:00Z"}]}', 'was not requested'],
    ['{"results":[{"idNumber":"A","color":"blue","updatedAt":"2026-12-06T12:00:00Z"}]}', 'color'],
    ['{"results":[{"idNumber":"A","color":"green","updatedAt":"yesterday"}]}', 'updatedAt'],
    ['{"results":[],"notFound":["Q"]}', 'notFound'],
  ])('rejects %s', (body, problem) => {
    expect(parseQueryBody(body, requested)).toContain(problem);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
