import type { AppContext } from '../context.js';
import { getDistrictCalendar, getSchoolDayStatus, markDistrictDays, markSchoolDays, type CalendarActor } from '../modules/calendar/service.js';
import { forgetSchoolGateSettings } from '../modules/gate/service.js';
import { getSchoolByCodeOrThrow } from '../modules/people/service.js';
import { schoolDay } from '../shared/time.js';
import { DEMO_SCHOOL } from './seed.js';

const DEMO_ACTOR: CalendarActor = { user: null, name: '演示数据', ip: null };
/** The reason of the entry that makes a demo day without school a school day. */
export const DEMO_SCHOOL_DAY_REASON = '演示：按上学日展示';

/**
 * Make `day` a school day of the demo school when its calendar has no school then (a
 * weekend, say), so the demo's gate morning, checks and report show a working day on any
 * day. The school calendar shows the entry with its reason. Returns whether the day was
 * changed.
 */
export async function makeDemoSchoolDay(ctx: AppContext, day: string): Promise<boolean> {
  const school = await getSchoolByCodeOrThrow(ctx, DEMO_SCHOOL.code);
  if ((await getSchoolDayStatus(ctx, school, day)).isSchoolDay) return false;
  await markSchoolDays(ctx, DEMO_ACTOR, school, { from: day, isSchoolDay: true, reason: DEMO_SCHOOL_DAY_REASON });
  // The gate caches the calendar for 10 seconds, and the replay must see the change at once.
  forgetSchoolGateSettings(ctx, school.id);
  ctx.log.info({ schoolId: school.id, day }, 'demo day marked as a school day');
  return true;
}

/**
 * Seed the demo calendar: New Year's Day (元旦) of the coming year as a district holiday,
 * once, and today as a school day of the demo school (see makeDemoSchoolDay). Returns
 * whether today was made a school day.
 */
export async function seedDemoCalendar(ctx: AppContext): Promise<boolean> {
  const school = await getSchoolByCodeOrThrow(ctx, DEMO_SCHOOL.code);
  const today = schoolDay(ctx.now());
  const newYear = `${Number(today.slice(0, 4)) + 1}-01-01`;
  const district = await getDistrictCalendar(ctx, school.districtId, { from: newYear, to: newYear });
  if (district.entries.length === 0) await markDistrictDays(ctx, DEMO_ACTOR, school.districtId, { from: newYear, isSchoolDay: false, reason: '元旦' });
  return makeDemoSchoolDay(ctx, today);
}
