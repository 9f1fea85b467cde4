import type { CheckSettings } from './check-settings.js';

/**
 * School days for the checks and the cluster rule. A day is a school day when its weekday
 * is one of the school's weekdays (Monday to Friday by default) and it is not on the
 * school's holiday list, or when it is on the make-up list. Days are 'YYYY-MM-DD' in
 * Asia/Shanghai; the weekday of a calendar day does not depend on the time zone.
 */
export type SchoolCalendar = Pick<CheckSettings, 'schoolWeekdays' | 'holidays' | 'extraSchoolDays'>;

const DAY_MS = 24 * 60 * 60 * 1000;

export function isSchoolDay(day: string, calendar: SchoolCalendar): boolean {
  if (calendar.extraSchoolDays.includes(day)) return true;
  if (calendar.holidays.includes(day)) return false;
  return calendar.schoolWeekdays.includes(new Date(`${day}T00:00:00Z`).getUTCDay());
}

/** The calendar day `offset` days after `day` (before, when negative). */
export function addDays(day: string, offset: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + offset * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The last `count` school days ending on `day`, oldest first. `day` itself is included
 * only when it is a school day. Looks back at most 60 calendar days, so a calendar
 * without school days returns fewer.
 */
export function schoolDaysEndingOn(day: string, count: number, calendar: SchoolCalendar): string[] {
  const days: string[] = [];
  for (let offset = 0; offset > -60 && days.length < count; offset -= 1) {
    const candidate = addDays(day, offset);
    if (isSchoolDay(candidate, calendar)) days.unshift(candidate);
  }
  return days;
}
