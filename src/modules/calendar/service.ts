import type { AppContext } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { schoolDay } from '../../shared/time.js';
import { audit, type AuditActor } from '../auth/index.js';
import { getSchoolByIdOrThrow, listSchools, updateSchoolSettings, type SchoolSummary } from '../people/service.js';
import {
  MAX_MARK_DAYS,
  MAX_READ_DAYS,
  SCHOOL_DAY_LOOKBACK_DAYS,
  addDays,
  checkReason,
  checkWeekdays,
  daysBetween,
  isCalendarDay,
  describeSchoolDay,
  rangeProblems,
  readSchoolWeekdays,
  schoolDaysEndingOn,
  type CalendarEntry,
  type SchoolCalendar,
  type SchoolDayStatus,
} from './calendar-rules.js';
import * as store from './store.js';

/**
 * The school calendar's IO: loading the district's and a school's entries for the rule in
 * calendar-rules.ts, and the edits of district and school admins, each audited in the
 * same transaction as the change.
 */

export type { SchoolCalendar, SchoolDayStatus } from './calendar-rules.js';

/** The editor of a calendar change and their address, for the audit log; a null user is the system (demo seeding). */
export interface CalendarActor {
  user: AuditActor;
  /** The name stored beside each entry. */
  name: string;
  ip: string | null;
}

/** One stored entry as screens show it. */
export interface CalendarEntryView {
  day: string;
  isSchoolDay: boolean;
  reason: string;
  updatedAt: number;
  updatedByName: string;
}

function toEntryView(row: store.CalendarDayRow): CalendarEntryView {
  return { day: row.day, isSchoolDay: row.is_school_day === 1, reason: row.reason, updatedAt: row.updated_at, updatedByName: row.updated_by_name };
}

function entryMap(rows: store.CalendarDayRow[]): Map<string, CalendarEntry> {
  return new Map(rows.map((row) => [row.day, { isSchoolDay: row.is_school_day === 1, reason: row.reason }]));
}

function calendarOf(school: SchoolSummary, rows: store.CalendarDayRow[]): SchoolCalendar {
  return {
    weekdays: readSchoolWeekdays(school.settings),
    district: entryMap(rows.filter((row) => row.scope === 'district')),
    school: entryMap(rows.filter((row) => row.scope === 'school' && row.scope_id === school.id)),
  };
}

/** Load the calendar that decides a school's days in [from, to]. */
export async function loadSchoolCalendar(ctx: AppContext, school: SchoolSummary, from: string, to: string): Promise<SchoolCalendar> {
  return calendarOf(school, await store.listSchoolEntries(ctx.db, school.districtId, school.id, from, to));
}

/** Decide one day of a school. */
export async function getSchoolDayStatus(ctx: AppContext, schoolOrId: SchoolSummary | string, day: string): Promise<SchoolDayStatus> {
  const school = typeof schoolOrId === 'string' ? await getSchoolByIdOrThrow(ctx, schoolOrId) : schoolOrId;
  return describeSchoolDay(day, await loadSchoolCalendar(ctx, school, day, day));
}

/** List the last `count` school days of a school ending on `day`, oldest first; `day` counts only when it is one. */
export async function listSchoolDaysEndingOn(ctx: AppContext, schoolOrId: SchoolSummary | string, day: string, count: number): Promise<string[]> {
  const school = typeof schoolOrId === 'string' ? await getSchoolByIdOrThrow(ctx, schoolOrId) : schoolOrId;
  const calendar = await loadSchoolCalendar(ctx, school, addDays(day, -SCHOOL_DAY_LOOKBACK_DAYS), day);
  return schoolDaysEndingOn(day, count, calendar);
}

/**
 * Decide the days in [from, to] of several schools, with one query per district. Returns
 * each school's days in order, by school id.
 */
export async function describeSchoolsOnDays(ctx: AppContext, schools: SchoolSummary[], from: string, to: string): Promise<Map<string, SchoolDayStatus[]>> {
  const days = daysBetween(from, to);
  const result = new Map<string, SchoolDayStatus[]>();
  const districtIds = [...new Set(schools.map((school) => school.districtId))];
  for (const districtId of districtIds) {
    const rows = await store.listDistrictEntries(ctx.db, districtId, from, to);
    for (const school of schools.filter((s) => s.districtId === districtId)) {
      const calendar = calendarOf(school, rows);
      result.set(school.id, days.map((day) => describeSchoolDay(day, calendar)));
    }
  }
  return result;
}

/** Find the district a view covers: the one named, or the district of the first school. */
export async function resolveCalendarDistrict(ctx: AppContext, districtId: string | undefined): Promise<{ districtId: string; schools: SchoolSummary[] }> {
  const all = await listSchools(ctx);
  const id = districtId ?? all[0]?.districtId;
  const schools = all.filter((school) => school.districtId === id);
  if (!id || (districtId && schools.length === 0)) throw new AppError('NOT_FOUND', { what: '区县', value: districtId ?? '（尚未创建学校）' });
  return { districtId: id, schools };
}

/** Build one VALIDATION error that lists every problem once. */
function problemsError(problems: string[]): AppError {
  const unique = [...new Set(problems)];
  return new AppError('VALIDATION', { detail: unique.join('；') }, { problems: unique });
}

/** Check a span. `to` is undefined when only `from` was given. */
function assertRange(ctx: AppContext, from: string, to: string | undefined, maxDays: number): void {
  const problems = rangeProblems(from, to, schoolDay(ctx.now()), maxDays);
  if (problems.length > 0) throw problemsError(problems);
}

/** Return the first day of the month `monthsLater` months after the month of `day`. */
function monthStart(day: string, monthsLater: number): string {
  const index = Number(day.slice(0, 4)) * 12 + Number(day.slice(5, 7)) - 1 + monthsLater;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}-01`;
}

/**
 * Resolve the span a calendar view shows: as requested, and by default from the first day
 * of this month to the end of the second month after `from`'s.
 */
function spanOf(ctx: AppContext, span: { from?: string; to?: string }, maxDays: number): { from: string; to: string } {
  const from = span.from ?? monthStart(schoolDay(ctx.now()), 0);
  // A malformed `from` has no default end, so it is reported once, as 开始日期.
  const to = span.to ?? (isCalendarDay(from) ? addDays(monthStart(from, 3), -1) : undefined);
  assertRange(ctx, from, to, maxDays);
  return { from, to: to ?? from };
}

export interface DistrictCalendarView {
  districtId: string;
  from: string;
  to: string;
  entries: CalendarEntryView[];
}

/** List the district's own entries in [from, to], at most MAX_READ_DAYS days. */
export async function getDistrictCalendar(ctx: AppContext, districtId: string | undefined, span: { from?: string; to?: string }): Promise<DistrictCalendarView> {
  const { districtId: id } = await resolveCalendarDistrict(ctx, districtId);
  const { from, to } = spanOf(ctx, span, MAX_READ_DAYS);
  const rows = await store.listScopeEntries(ctx.db, 'district', id, from, to);
  return { districtId: id, from, to, entries: rows.map(toEntryView) };
}

export interface SchoolCalendarView {
  schoolCode: string;
  schoolName: string;
  districtId: string;
  from: string;
  to: string;
  weekdays: number[];
  /** Every day in [from, to], decided. */
  days: SchoolDayStatus[];
  /** The district's entries and the school's own in [from, to]. */
  districtEntries: CalendarEntryView[];
  schoolEntries: CalendarEntryView[];
}

/** Decide every day of a school in [from, to], at most MAX_READ_DAYS days, and list the entries behind them. */
export async function getSchoolCalendar(ctx: AppContext, school: SchoolSummary, span: { from?: string; to?: string }): Promise<SchoolCalendarView> {
  const { from, to } = spanOf(ctx, span, MAX_READ_DAYS);
  const rows = await store.listSchoolEntries(ctx.db, school.districtId, school.id, from, to);
  const calendar = calendarOf(school, rows);
  return {
    schoolCode: school.code,
    schoolName: school.name,
    districtId: school.districtId,
    from,
    to,
    weekdays: calendar.weekdays,
    days: daysBetween(from, to).map((day) => describeSchoolDay(day, calendar)),
    districtEntries: rows.filter((row) => row.scope === 'district').map(toEntryView),
    schoolEntries: rows.filter((row) => row.scope === 'school').map(toEntryView),
  };
}

export interface MarkDaysInput {
  from: string;
  /** Last day included; `from` alone when absent. */
  to?: string;
  isSchoolDay: boolean;
  reason: string;
}

type Scope = { scope: 'district'; districtId: string } | { scope: 'school'; school: SchoolSummary };

async function markDays(ctx: AppContext, actor: CalendarActor, target: Scope, input: MarkDaysInput): Promise<number> {
  const to = input.to ?? input.from;
  // The span and the reason are checked together, so one reply names every bad field.
  const problems = rangeProblems(input.from, input.to, schoolDay(ctx.now()), MAX_MARK_DAYS);
  const checked = checkReason(input.reason, input.isSchoolDay);
  if ('problem' in checked) problems.push(checked.problem);
  if (problems.length > 0 || 'problem' in checked) throw problemsError(problems);

  const now = ctx.now();
  const days = daysBetween(input.from, to);
  const districtId = target.scope === 'district' ? target.districtId : target.school.districtId;
  const scopeId = target.scope === 'district' ? target.districtId : target.school.id;
  const action = target.scope === 'district' ? 'calendar.district.mark' : 'calendar.school.mark';
  await ctx.db.transaction().execute(async (trx) => {
    for (const day of days) {
      await store.upsertEntry(trx, {
        scope: target.scope,
        scope_id: scopeId,
        district_id: districtId,
        day,
        is_school_day: input.isSchoolDay ? 1 : 0,
        reason: checked.reason,
        updated_at: now,
        updated_by: actor.user?.id ?? null,
        updated_by_name: actor.name,
      });
    }
    await audit(
      ctx,
      actor.user,
      action,
      target.scope === 'district' ? districtId : target.school.code,
      { from: input.from, to, isSchoolDay: input.isSchoolDay, reason: checked.reason, days: days.length },
      { db: trx, ip: actor.ip, schoolId: target.scope === 'school' ? target.school.id : null },
    );
  });
  ctx.log.info({ scope: target.scope, scopeId, from: input.from, to, isSchoolDay: input.isSchoolDay, days: days.length }, 'calendar days marked');
  return days.length;
}

async function clearDays(ctx: AppContext, actor: CalendarActor, target: Scope, from: string, lastDay: string | undefined): Promise<number> {
  assertRange(ctx, from, lastDay, MAX_MARK_DAYS);
  const to = lastDay ?? from;
  const scopeId = target.scope === 'district' ? target.districtId : target.school.id;
  const action = target.scope === 'district' ? 'calendar.district.clear' : 'calendar.school.clear';
  let removed = 0;
  await ctx.db.transaction().execute(async (trx) => {
    removed = await store.deleteEntries(trx, target.scope, scopeId, from, to);
    await audit(ctx, actor.user, action, target.scope === 'district' ? scopeId : target.school.code, { from, to, removed }, { db: trx, ip: actor.ip, schoolId: target.scope === 'school' ? target.school.id : null });
  });
  ctx.log.info({ scope: target.scope, scopeId, from, to, removed }, 'calendar days cleared');
  return removed;
}

/**
 * Mark days of the district as holidays (isSchoolDay false) or make-up working days (true)
 * for every school of the district. A school's own entry of the same day still wins.
 */
export async function markDistrictDays(ctx: AppContext, actor: CalendarActor, districtId: string | undefined, input: MarkDaysInput): Promise<number> {
  const { districtId: id } = await resolveCalendarDistrict(ctx, districtId);
  return markDays(ctx, actor, { scope: 'district', districtId: id }, input);
}

/** Remove the district's entries in [from, to] (`from` alone without `to`), so the weekday rule decides those days again. */
export async function clearDistrictDays(ctx: AppContext, actor: CalendarActor, districtId: string | undefined, from: string, to?: string): Promise<number> {
  const { districtId: id } = await resolveCalendarDistrict(ctx, districtId);
  return clearDays(ctx, actor, { scope: 'district', districtId: id }, from, to);
}

/** Mark days of one school: a closure (停课, isSchoolDay false) or a day with school (true); it wins over the district. */
export async function markSchoolDays(ctx: AppContext, actor: CalendarActor, school: SchoolSummary, input: MarkDaysInput): Promise<number> {
  return markDays(ctx, actor, { scope: 'school', school }, input);
}

/** Remove the school's own entries in [from, to] (`from` alone without `to`), so the district and the weekdays decide those days again. */
export async function clearSchoolDays(ctx: AppContext, actor: CalendarActor, school: SchoolSummary, from: string, to?: string): Promise<number> {
  return clearDays(ctx, actor, { scope: 'school', school }, from, to);
}

/** Set the days of the week a school has school, 0 Sunday to 6 Saturday. */
export async function setSchoolWeekdays(ctx: AppContext, actor: CalendarActor, school: SchoolSummary, input: unknown): Promise<number[]> {
  const checked = checkWeekdays(input);
  if ('problem' in checked) throw new AppError('VALIDATION', { detail: checked.problem }, { problems: [checked.problem] });
  const stored = (school.settings as { calendar?: Record<string, unknown> }).calendar ?? {};
  const settings = { ...school.settings, calendar: { ...stored, weekdays: checked.weekdays } };
  await ctx.db.transaction().execute(async (trx) => {
    await updateSchoolSettings({ ...ctx, db: trx }, school.id, settings);
    await audit(ctx, actor.user, 'calendar.school.weekdays', school.code, { weekdays: checked.weekdays }, { db: trx, ip: actor.ip, schoolId: school.id });
  });
  ctx.log.info({ schoolId: school.id, weekdays: checked.weekdays }, 'school weekdays changed');
  return checked.weekdays;
}
