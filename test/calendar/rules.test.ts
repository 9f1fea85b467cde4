import { describe, expect, it } from 'vitest';
import {
  MAX_MARK_DAYS,
  checkReason,
  checkWeekdays,
  dayInputProblem,
  describeSchoolDay,
  notSchoolDayText,
  rangeProblems,
  readSchoolWeekdays,
  schoolDaysEndingOn,
  type CalendarEntry,
  type SchoolCalendar,
} from '../../src/modules/calendar/calendar-rules.js';

// 2026-12-05 is a Saturday, 2026-12-07 a Monday.
const TODAY = '2026-12-07';

function calendar(options: { weekdays?: number[]; district?: Record<string, CalendarEntry>; school?: Record<string, CalendarEntry> } = {}): SchoolCalendar {
  return {
    weekdays: options.weekdays ?? [1, 2, 3, 4, 5],
    district: new Map(Object.entries(options.district ?? {})),
    school: new Map(Object.entries(options.school ?? {})),
  };
}

const holiday = (reason: string): CalendarEntry => ({ isSchoolDay: false, reason });
const workday = (reason: string): CalendarEntry => ({ isSchoolDay: true, reason });

describe('school day rule', () => {
  it('uses the weekdays when nothing is marked', () => {
    expect(describeSchoolDay('2026-12-07', calendar())).toMatchObject({ isSchoolDay: true, source: 'weekday', weekday: 1, label: '周一' });
    expect(describeSchoolDay('2026-12-05', calendar())).toMatchObject({ isSchoolDay: false, source: 'weekday', weekday: 6, label: '周六' });
    expect(describeSchoolDay('2026-12-05', calendar({ weekdays: [1, 2, 3, 4, 5, 6] })).isSchoolDay).toBe(true);
  });

  it('lets the district override the weekdays', () => {
    const cal = calendar({ district: { '2026-10-01': holiday('国庆节'), '2026-10-10': workday('国庆节调休') } });
    expect(describeSchoolDay('2026-10-01', cal)).toMatchObject({ isSchoolDay: false, source: 'district', reason: '国庆节', label: '全区放假：国庆节' });
    expect(describeSchoolDay('2026-10-10', cal)).toMatchObject({ isSchoolDay: true, source: 'district', label: '全区调休上课：国庆节调休' });
  });

  it('lets the school override the district', () => {
    const cal = calendar({
      district: { '2026-12-08': workday('调休'), '2026-12-09': holiday('冬至') },
      school: { '2026-12-08': holiday('流感停课'), '2026-12-09': workday('补课') },
    });
    expect(describeSchoolDay('2026-12-08', cal)).toMatchObject({ isSchoolDay: false, source: 'school', label: '本校停课：流感停课' });
    expect(describeSchoolDay('2026-12-09', cal)).toMatchObject({ isSchoolDay: true, source: 'school', label: '本校上课：补课' });
  });

  it('names the day and why in the message', () => {
    const cal = calendar({ district: { '2026-10-01': holiday('国庆节') }, school: { '2026-12-08': holiday('流感停课') } });
    expect(notSchoolDayText(describeSchoolDay('2026-12-05', cal))).toBe('2026-12-05 是周六，不是上学日');
    expect(notSchoolDayText(describeSchoolDay('2026-10-01', cal))).toBe('2026-10-01（周四）全区放假：国庆节，不是上学日');
    expect(notSchoolDayText(describeSchoolDay('2026-12-08', cal))).toBe('2026-12-08（周二）本校停课：流感停课，不是上学日');
  });
});

describe('previous school days', () => {
  it('counts back across a weekend', () => {
    expect(schoolDaysEndingOn('2026-12-07', 3, calendar())).toEqual(['2026-12-03', '2026-12-04', '2026-12-07']);
  });

  it('skips holidays and closures, keeps make-up days', () => {
    const cal = calendar({ district: { '2026-12-04': holiday('冬季假日'), '2026-12-05': workday('调休') }, school: { '2026-12-03': holiday('流感停课') } });
    expect(schoolDaysEndingOn('2026-12-07', 3, cal)).toEqual(['2026-12-02', '2026-12-05', '2026-12-07']);
  });

  it('leaves out the day itself when it has no school', () => {
    expect(schoolDaysEndingOn('2026-12-06', 2, calendar())).toEqual(['2026-12-03', '2026-12-04']);
  });

  it('returns fewer days than asked after a long holiday', () => {
    // 1 October to 8 December are holidays, longer than the 60 days the rule looks back.
    const days = Object.fromEntries(Array.from({ length: 69 }, (_, i) => [new Date(Date.UTC(2026, 9, 1 + i)).toISOString().slice(0, 10), holiday('长假')]));
    expect(schoolDaysEndingOn('2026-12-09', 3, calendar({ district: days }))).toEqual(['2026-12-09']);
  });
});

describe('calendar input', () => {
  it.each([
    ['2026-13-01', '日期“2026-13-01”无效，请写 YYYY-MM-DD，例如 2026-12-07'],
    ['2026-2-30', '日期“2026-2-30”无效，请写 YYYY-MM-DD'],
    ['2026-02-30', '日期“2026-02-30”无效'],
    ['下周一', '日期“下周一”无效'],
    ['2020-01-01', '日期“2020-01-01”太早：校历只能查看或修改 2025-12-06 及以后的日期'],
    ['2030-01-01', '日期“2030-01-01”太晚：校历只能查看或修改 2028-12-07 及以前的日期'],
  ])('rejects the day %s', (day, message) => {
    expect(dayInputProblem(day, TODAY, '日期')).toContain(message);
  });

  it('accepts days from a year back to two years ahead', () => {
    expect(dayInputProblem('2025-12-06', TODAY, '日期')).toBeNull();
    expect(dayInputProblem('2028-12-07', TODAY, '日期')).toBeNull();
  });

  it('rejects a reversed or too long range', () => {
    expect(rangeProblems('2026-12-10', '2026-12-01', TODAY, MAX_MARK_DAYS)).toEqual(['开始日期“2026-12-10”晚于结束日期“2026-12-01”，请交换两个日期']);
    expect(rangeProblems('2027-01-01', '2027-06-30', TODAY, MAX_MARK_DAYS)).toEqual(['日期范围 2027-01-01 至 2027-06-30 共 181 天，超过上限 92 天，请分段设置']);
    expect(rangeProblems('2027-07-01', '2027-08-31', TODAY, MAX_MARK_DAYS)).toEqual([]);
    expect(rangeProblems('2026/12/01', '2026-12-02', TODAY, MAX_MARK_DAYS)).toEqual(['开始日期“2026/12/01”无效，请写 YYYY-MM-DD，例如 2026-12-07']);
  });

  it('requires a short reason', () => {
    expect(checkReason(' 国庆节 ', false)).toEqual({ reason: '国庆节' });
    expect(checkReason('', false)).toEqual({ problem: '请填写原因，例如“国庆节”或“流感停课”' });
    expect(checkReason('  ', true)).toEqual({ problem: '请填写上课原因，例如“国庆节调休”' });
    expect(checkReason('很'.repeat(31), false)).toEqual({ problem: `原因“${'很'.repeat(31)}”超过 30 个字，请精简` });
  });

  it('checks and reads the weekdays', () => {
    expect(checkWeekdays([5, 1, 1, 3])).toEqual({ weekdays: [1, 3, 5] });
    expect(checkWeekdays([])).toEqual({ problem: '请至少选择一天作为上学日' });
    expect(checkWeekdays([1, 7])).toEqual({ problem: '上学日“7”无效，请用 0（周日）到 6（周六）' });
    expect(readSchoolWeekdays({ calendar: { weekdays: [1, 2, 3, 4, 5, 6] } })).toEqual([1, 2, 3, 4, 5, 6]);
    expect(readSchoolWeekdays({ calendar: { weekdays: 'weekdays' } })).toEqual([1, 2, 3, 4, 5]);
    expect(readSchoolWeekdays({})).toEqual([1, 2, 3, 4, 5]);
  });
});
