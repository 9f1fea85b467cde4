/**
 * The school calendar (校历): whether a day is a school day for a school, and why. Pure:
 * no IO and no clock, so every module that calls it (checks, cluster rule, daily report,
 * district view, gate, visitors) gets the same result from the same data.
 *
 * A day is decided by the first of these that names it:
 * 1. the school's own entry (停课 closure, or a day with school such as a make-up class);
 * 2. the district's entry (a holiday such as 国庆节, or a make-up working day 调休上课);
 * 3. the school's weekdays, Monday to Friday unless the school changed them.
 *
 * Days are 'YYYY-MM-DD' in Asia/Shanghai; the weekday of a calendar day does not depend on
 * the time zone.
 */

export const WEEKDAY_NAMES = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];
export const DEFAULT_SCHOOL_WEEKDAYS = [1, 2, 3, 4, 5];

/** A day the district or a school marked. */
export interface CalendarEntry {
  isSchoolDay: boolean;
  /** Why, as users read it: 国庆节, 流感停课. */
  reason: string;
}

/** The data the rule decides one school's days from. */
export interface SchoolCalendar {
  /** Days of the week with school, 0 Sunday to 6 Saturday. */
  weekdays: number[];
  /** The district's entries by day. */
  district: ReadonlyMap<string, CalendarEntry>;
  /** The school's own entries by day; they win over the district's. */
  school: ReadonlyMap<string, CalendarEntry>;
}

/** The rule that decided a day. */
export type DaySource = 'school' | 'district' | 'weekday';

/** A day of one school's calendar, as every module reads it. */
export interface SchoolDayStatus {
  day: string;
  /** 0 Sunday to 6 Saturday. */
  weekday: number;
  isSchoolDay: boolean;
  source: DaySource;
  /** The entry's reason; empty when the weekday decided. */
  reason: string;
  /** Short Chinese label for screens: 周六, 全区放假：国庆节, 本校停课：流感停课. */
  label: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar day written 'YYYY-MM-DD'. */
export function isCalendarDay(text: string): boolean {
  if (!DAY_PATTERN.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/** Return the calendar day `offset` days after `day` (before, when negative). */
export function addDays(day: string, offset: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + offset * DAY_MS).toISOString().slice(0, 10);
}

/** List the days from `from` to `to`, both included; `to` before `from` gives none. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

/** Count the calendar days from `from` to `to`, both included. */
export function dayCount(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
}

export function weekdayOf(day: string): number {
  return new Date(`${day}T00:00:00Z`).getUTCDay();
}

/** Decide one day of a school. */
export function describeSchoolDay(day: string, calendar: SchoolCalendar): SchoolDayStatus {
  const weekday = weekdayOf(day);
  const own = calendar.school.get(day);
  if (own) {
    const label = own.isSchoolDay ? `本校上课：${own.reason}` : `本校停课：${own.reason}`;
    return { day, weekday, isSchoolDay: own.isSchoolDay, source: 'school', reason: own.reason, label };
  }
  const district = calendar.district.get(day);
  if (district) {
    const label = district.isSchoolDay ? `全区调休上课：${district.reason}` : `全区放假：${district.reason}`;
    return { day, weekday, isSchoolDay: district.isSchoolDay, source: 'district', reason: district.reason, label };
  }
  return { day, weekday, isSchoolDay: calendar.weekdays.includes(weekday), source: 'weekday', reason: '', label: WEEKDAY_NAMES[weekday]! };
}

/**
 * Write the Chinese sentence for a day without school, naming the day and why:
 * "2026-12-05 是周六，不是上学日", "2026-10-01（周四）全区放假：国庆节，不是上学日".
 */
export function notSchoolDayText(status: SchoolDayStatus): string {
  if (status.source === 'weekday') return `${status.day} 是${WEEKDAY_NAMES[status.weekday]}，不是上学日`;
  return `${status.day}（${WEEKDAY_NAMES[status.weekday]}）${status.label}，不是上学日`;
}

/**
 * How far back `schoolDaysEndingOn` looks, in calendar days. A winter holiday fits; a
 * window that would reach back across the summer holiday returns fewer days.
 */
export const SCHOOL_DAY_LOOKBACK_DAYS = 60;

/**
 * List the last `count` school days ending on `day`, oldest first. `day` itself is included
 * only when it is a school day. Looks back at most SCHOOL_DAY_LOOKBACK_DAYS calendar days,
 * so the calendar must hold the entries of that span.
 */
export function schoolDaysEndingOn(day: string, count: number, calendar: SchoolCalendar): string[] {
  const days: string[] = [];
  for (let offset = 0; offset > -SCHOOL_DAY_LOOKBACK_DAYS && days.length < count; offset -= 1) {
    const candidate = addDays(day, offset);
    if (describeSchoolDay(candidate, calendar).isSchoolDay) days.unshift(candidate);
  }
  return days;
}

/** Calendar entries may be set from this many days before today. */
export const MAX_PAST_DAYS = 366;
/** Calendar entries may be set up to this many days after today, so next year's calendar fits. */
export const MAX_FUTURE_DAYS = 731;
/** Maximum span one request may mark, in days, so a summer holiday fits. */
export const MAX_MARK_DAYS = 92;
/** Maximum span one request may read, in days. */
export const MAX_READ_DAYS = 366;
export const MAX_REASON_LENGTH = 30;

/**
 * Check a day typed by a user: a real 'YYYY-MM-DD' day within MAX_PAST_DAYS before and
 * MAX_FUTURE_DAYS after `today`. `label` names the field in the message. Returns the
 * Chinese problem naming the value, or null.
 */
export function dayInputProblem(text: string, today: string, label: string): string | null {
  if (!isCalendarDay(text)) return `${label}“${text}”无效，请写 YYYY-MM-DD，例如 ${today}`;
  const earliest = addDays(today, -MAX_PAST_DAYS);
  const latest = addDays(today, MAX_FUTURE_DAYS);
  if (text < earliest) return `${label}“${text}”太早：校历只能查看或修改 ${earliest} 及以后的日期`;
  if (text > latest) return `${label}“${text}”太晚：校历只能查看或修改 ${latest} 及以前的日期`;
  return null;
}

/**
 * Check a span of days typed by a user: both ends valid, the start not after the end, and
 * at most `maxDays` days. `to` is undefined when the user gave only `from`, which then
 * stands for the one day, so its problem is named once, as 开始日期. Returns the Chinese
 * problems, each naming the value.
 */
export function rangeProblems(from: string, to: string | undefined, today: string, maxDays: number): string[] {
  const checks = [dayInputProblem(from, today, '开始日期')];
  if (to !== undefined) checks.push(dayInputProblem(to, today, '结束日期'));
  const problems = checks.filter((p): p is string => p !== null);
  if (problems.length > 0 || to === undefined) return problems;
  if (from > to) return [`开始日期“${from}”晚于结束日期“${to}”，请交换两个日期`];
  const count = dayCount(from, to);
  if (count > maxDays) return [`日期范围 ${from} 至 ${to} 共 ${count} 天，超过上限 ${maxDays} 天，请分段设置`];
  return [];
}

/** Check the reason of a calendar entry; returns the trimmed reason or the Chinese problem. */
export function checkReason(text: string | undefined | null, isSchoolDay: boolean): { reason: string } | { problem: string } {
  const reason = (text ?? '').trim();
  if (!reason) return { problem: isSchoolDay ? '请填写上课原因，例如“国庆节调休”' : '请填写原因，例如“国庆节”或“流感停课”' };
  if (reason.length > MAX_REASON_LENGTH) return { problem: `原因“${reason}”超过 ${MAX_REASON_LENGTH} 个字，请精简` };
  return { reason };
}

/** Check a school's weekdays: 0 (Sunday) to 6 (Saturday), at least one. Returns them sorted or the problem. */
export function checkWeekdays(input: unknown): { weekdays: number[] } | { problem: string } {
  if (!Array.isArray(input) || input.length === 0) return { problem: '请至少选择一天作为上学日' };
  const bad = input.find((w) => !Number.isInteger(w) || (w as number) < 0 || (w as number) > 6);
  if (bad !== undefined) return { problem: `上学日“${String(bad)}”无效，请用 0（周日）到 6（周六）` };
  return { weekdays: [...new Set(input as number[])].sort((a, b) => a - b) };
}

/** Read the school's weekdays from its parsed settings (`calendar.weekdays`), or Monday to Friday when unset or malformed. */
export function readSchoolWeekdays(schoolSettings: unknown): number[] {
  const stored = (schoolSettings as { calendar?: { weekdays?: unknown } } | null)?.calendar?.weekdays;
  const checked = checkWeekdays(stored);
  return 'weekdays' in checked ? checked.weekdays : [...DEFAULT_SCHOOL_WEEKDAYS];
}
