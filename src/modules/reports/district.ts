import type { AppContext } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { instantOf, parseClock, schoolDay } from '../../shared/time.js';
import { describeSchoolsOnDays } from '../calendar/service.js';
import { listSchools, type SchoolSummary } from '../people/service.js';
import type { KeyFigures } from './report-model.js';
import { DEFAULT_DEADLINE } from './report-settings.js';
import { assertReportDay, figuresOf } from './service.js';
import * as store from './store.js';

/**
 * The district's view of the daily reports: every school's current submitted version of
 * a day, who has not reported by the deadline, totals and the trend. It reads only the
 * key-figure columns of daily_reports, never gate events.
 */

/** 'no_school': the day has no school in the school's calendar, so no report is expected. */
export type SchoolReportState = 'submitted' | 'draft' | 'missing' | 'no_school';

export interface DistrictSchoolRow {
  code: string;
  name: string;
  state: SchoolReportState;
  /** Current submitted version, null when nothing was submitted. */
  version: number | null;
  /** When the first version was submitted; lateness is judged on it. */
  firstSubmittedAt: number | null;
  submittedAt: number | null;
  submittedBy: string | null;
  /** True when the first submission of a school day came after the deadline. */
  late: boolean;
  /** True when the deadline of a school day has passed and no version was submitted by then. */
  missedDeadline: boolean;
  /** Whether the day is a school day in the school's calendar; no report is expected on other days. */
  isSchoolDay: boolean;
  /** Why the day has no school: 周六, 全区放假：国庆节, 本校停课：流感停课; null on a school day. */
  noSchoolLabel: string | null;
  figures: KeyFigures | null;
  isZero: boolean | null;
}

/** Counts of schools by report state and the sums of the submitted reports' key figures. */
export interface DistrictTotals {
  schools: number;
  submitted: number;
  /** Schools with school that day and no submitted version. */
  missing: number;
  /** Schools without school that day, which owe no report. */
  noSchool: number;
  zero: number;
  /** Schools whose first submission came after the deadline. */
  lateSubmissions: number;
  /** Sums over submitted reports; a section some schools could not report sums the others. */
  figures: KeyFigures;
}

export interface DistrictDayView {
  districtId: string;
  day: string;
  deadline: string;
  deadlinePassed: boolean;
  schools: DistrictSchoolRow[];
  totals: DistrictTotals;
}

export interface TrendPoint {
  day: string;
  /** Schools with school that day, which owe a report. */
  expectedSchools: number;
  submitted: number;
  expected: number;
  arrived: number;
  absent: number;
  fevers: number;
  nonGreen: number;
  stale: number;
  /** Never-synced codes; reports built before this figure add nothing. */
  unsynced: number;
  illnessAbsences: number;
  clusters: number;
  /** Arrived over expected in percent with one decimal, null when nothing was expected. */
  attendanceRate: number | null;
}

/** The district a view covers: the one named, or the district of the first school. */
export async function resolveDistrict(ctx: AppContext, districtId: string | undefined): Promise<{ districtId: string; schools: SchoolSummary[] }> {
  const all = await listSchools(ctx);
  const id = districtId ?? all[0]?.districtId;
  const schools = all.filter((school) => school.districtId === id);
  if (!id || (districtId && schools.length === 0)) throw new AppError('NOT_FOUND', { what: '区县', value: districtId ?? '（尚未创建学校）' });
  return { districtId: id, schools: schools.sort((a, b) => a.code.localeCompare(b.code)) };
}

export async function getDeadline(ctx: AppContext, districtId: string): Promise<string> {
  return (await store.findDistrictSettings(ctx.db, districtId))?.deadline ?? DEFAULT_DEADLINE;
}

export async function setDeadline(ctx: AppContext, districtId: string, deadline: string, userId: string | null): Promise<string> {
  const trimmed = deadline.trim();
  if (trimmed === '') throw new AppError('VALIDATION', { detail: '请填写上报截止时间（HH:MM，北京时间），例如 17:30' });
  if (parseClock(trimmed) === undefined) throw new AppError('VALIDATION', { detail: `上报截止时间“${deadline}”无效，请按 HH:MM 填写（北京时间），例如 17:30` });
  const normalised = trimmed.padStart(5, '0');
  await store.upsertDistrictSettings(ctx.db, { district_id: districtId, deadline: normalised, updated_at: ctx.now(), updated_by: userId });
  return normalised;
}

function emptyFigures(): KeyFigures {
  return { expected: 0, arrived: 0, absent: 0, late: 0, fevers: 0, nonGreen: 0, stale: 0, unsynced: 0, illnessAbsences: 0, openFollowUps: 0, clusters: 0, visitors: 0 };
}

/** Add a school's figures to a sum; a figure the school could not report adds nothing. */
export function addFigures(sum: KeyFigures, figures: KeyFigures): void {
  for (const key of Object.keys(sum) as Array<keyof KeyFigures>) sum[key] = (sum[key] ?? 0) + (figures[key] ?? 0);
}

/** The state of a school's report of a day: submitted, else no school, else a draft, else missing. */
function reportStateOf(isSubmitted: boolean, isSchoolDay: boolean, hasDraft: boolean): SchoolReportState {
  if (isSubmitted) return 'submitted';
  if (!isSchoolDay) return 'no_school';
  return hasDraft ? 'draft' : 'missing';
}

/**
 * Every school of the district with its report state and figures of a day, and the
 * totals. A school without school that day owes no report: it is neither missing nor
 * late, and a report it submitted anyway still adds to the totals.
 */
export async function getDistrictDay(ctx: AppContext, districtId: string | undefined, day: string): Promise<DistrictDayView> {
  assertReportDay(ctx, day);
  const district = await resolveDistrict(ctx, districtId);
  const deadline = await getDeadline(ctx, district.districtId);
  const deadlineAt = instantOf(day, deadline);
  const deadlinePassed = ctx.now() >= deadlineAt;

  const [submitted, firstSubmissions, withRows, calendars] = await Promise.all([
    store.listSubmittedInRange(ctx.db, district.districtId, day, day),
    store.listFirstSubmissions(ctx.db, district.districtId, day),
    store.listDraftSchoolIds(ctx.db, district.districtId, day),
    describeSchoolsOnDays(ctx, district.schools, day, day),
  ]);
  const bySchool = new Map(submitted.map((row) => [row.school_id, row]));

  const totals: DistrictTotals = { schools: 0, submitted: 0, missing: 0, noSchool: 0, zero: 0, lateSubmissions: 0, figures: emptyFigures() };
  const schools = district.schools.map((school): DistrictSchoolRow => {
    const row = bySchool.get(school.id);
    const status = calendars.get(school.id)?.[0];
    const isSchoolDay = status?.isSchoolDay ?? true;
    const firstAt = firstSubmissions.get(school.id) ?? null;
    const late = isSchoolDay && firstAt !== null && firstAt > deadlineAt;
    const state = reportStateOf(row !== undefined, isSchoolDay, withRows.has(school.id));
    totals.schools += 1;
    if (row) {
      totals.submitted += 1;
      if (row.is_zero === 1) totals.zero += 1;
      addFigures(totals.figures, figuresOf(row));
    } else if (isSchoolDay) {
      totals.missing += 1;
    }
    if (!isSchoolDay) totals.noSchool += 1;
    if (late) totals.lateSubmissions += 1;
    return {
      code: school.code,
      name: school.name,
      state,
      version: row?.version ?? null,
      firstSubmittedAt: firstAt,
      submittedAt: row?.submitted_at ?? null,
      submittedBy: row?.submitted_by_name ?? null,
      late,
      missedDeadline: isSchoolDay && deadlinePassed && (firstAt === null || firstAt > deadlineAt),
      isSchoolDay,
      noSchoolLabel: isSchoolDay ? null : (status?.label ?? null),
      figures: row ? figuresOf(row) : null,
      isZero: row ? row.is_zero === 1 : null,
    };
  });
  return { districtId: district.districtId, day, deadline, deadlinePassed, schools, totals };
}

/**
 * Daily sums of the district's submitted reports over the `days` calendar days ending
 * with `to`. A day on which no school of the district had school and none reported is
 * left out, so weekends and holidays are no dips in the trend.
 */
export async function getDistrictTrend(ctx: AppContext, districtId: string | undefined, to: string, days: number): Promise<TrendPoint[]> {
  assertReportDay(ctx, to);
  const district = await resolveDistrict(ctx, districtId);
  const endAt = instantOf(to, '12:00');
  const dayList = Array.from({ length: days }, (_, i) => schoolDay(endAt - (days - 1 - i) * 86_400_000));
  const rows = await store.listSubmittedInRange(ctx.db, district.districtId, dayList[0], to);
  const calendars = await describeSchoolsOnDays(ctx, district.schools, dayList[0], to);
  const expectedSchools = dayList.map((_, i) => [...calendars.values()].filter((statuses) => statuses[i]?.isSchoolDay).length);

  const points = new Map(
    dayList.map((day, i) => [
      day,
      { day, expectedSchools: expectedSchools[i]!, submitted: 0, expected: 0, arrived: 0, absent: 0, fevers: 0, nonGreen: 0, stale: 0, unsynced: 0, illnessAbsences: 0, clusters: 0, attendanceRate: null as number | null },
    ]),
  );
  for (const row of rows) {
    const point = points.get(row.day);
    if (!point) continue;
    point.submitted += 1;
    point.expected += row.expected_count;
    point.arrived += row.arrived_count;
    point.absent += row.absent_count;
    point.fevers += row.fever_count;
    point.nonGreen += row.non_green_count;
    point.stale += row.stale_count;
    point.unsynced += row.unsynced_count ?? 0;
    point.illnessAbsences += row.illness_absence_count ?? 0;
    point.clusters += row.cluster_count ?? 0;
  }
  for (const point of points.values()) point.attendanceRate = point.expected === 0 ? null : Math.round((point.arrived / point.expected) * 1000) / 10;
  return [...points.values()].filter((point) => point.expectedSchools > 0 || point.submitted > 0);
}
