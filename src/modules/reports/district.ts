import type { AppContext } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { instantOf, parseClock, schoolDay } from '../../shared/time.js';
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

export type SchoolReportState = 'submitted' | 'draft' | 'missing';

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
  /** True when the first submission came after the deadline. */
  late: boolean;
  /** True when the deadline has passed and no version was submitted by then. */
  missedDeadline: boolean;
  figures: KeyFigures | null;
  isZero: boolean | null;
}

/** Counts of schools by report state and the sums of the submitted reports' key figures. */
export interface DistrictTotals {
  schools: number;
  submitted: number;
  /** Schools with no submitted version of the day. */
  missing: number;
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
  submitted: number;
  expected: number;
  arrived: number;
  absent: number;
  fevers: number;
  nonGreen: number;
  stale: number;
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
  if (parseClock(trimmed) === undefined) throw new AppError('VALIDATION', { detail: `上报截止时间“${deadline}”无效，请按 HH:MM 填写（北京时间），例如 17:30` });
  const normalised = trimmed.padStart(5, '0');
  await store.upsertDistrictSettings(ctx.db, { district_id: districtId, deadline: normalised, updated_at: ctx.now(), updated_by: userId });
  return normalised;
}

function emptyFigures(): KeyFigures {
  return { expected: 0, arrived: 0, absent: 0, late: 0, fevers: 0, nonGreen: 0, stale: 0, illnessAbsences: 0, openFollowUps: 0, clusters: 0, visitors: 0 };
}

/** Add a school's figures to a sum; a figure the school could not report adds nothing. */
export function addFigures(sum: KeyFigures, figures: KeyFigures): void {
  for (const key of Object.keys(sum) as Array<keyof KeyFigures>) sum[key] = (sum[key] ?? 0) + (figures[key] ?? 0);
}

/** Every school of the district with its report state and figures of a day, and the totals. */
export async function getDistrictDay(ctx: AppContext, districtId: string | undefined, day: string): Promise<DistrictDayView> {
  assertReportDay(ctx, day);
  const district = await resolveDistrict(ctx, districtId);
  const deadline = await getDeadline(ctx, district.districtId);
  const deadlineAt = instantOf(day, deadline);
  const deadlinePassed = ctx.now() >= deadlineAt;

  const [submitted, firstSubmissions, withRows] = await Promise.all([
    store.listSubmittedInRange(ctx.db, district.districtId, day, day),
    store.listFirstSubmissions(ctx.db, district.districtId, day),
    store.listDraftSchoolIds(ctx.db, district.districtId, day),
  ]);
  const bySchool = new Map(submitted.map((row) => [row.school_id, row]));

  const totals: DistrictTotals = { schools: 0, submitted: 0, missing: 0, zero: 0, lateSubmissions: 0, figures: emptyFigures() };
  const schools = district.schools.map((school): DistrictSchoolRow => {
    const row = bySchool.get(school.id);
    const firstAt = firstSubmissions.get(school.id) ?? null;
    const late = firstAt !== null && firstAt > deadlineAt;
    const state: SchoolReportState = row ? 'submitted' : withRows.has(school.id) ? 'draft' : 'missing';
    totals.schools += 1;
    if (row) {
      totals.submitted += 1;
      if (row.is_zero === 1) totals.zero += 1;
      addFigures(totals.figures, figuresOf(row));
    } else {
      totals.missing += 1;
    }
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
      missedDeadline: deadlinePassed && (firstAt === null || firstAt > deadlineAt),
      figures: row ? figuresOf(row) : null,
      isZero: row ? row.is_zero === 1 : null,
    };
  });
  return { districtId: district.districtId, day, deadline, deadlinePassed, schools, totals };
}

/** Daily sums of the district's submitted reports over the `days` days ending with `to`. */
export async function getDistrictTrend(ctx: AppContext, districtId: string | undefined, to: string, days: number): Promise<TrendPoint[]> {
  assertReportDay(ctx, to);
  const district = await resolveDistrict(ctx, districtId);
  const endAt = instantOf(to, '12:00');
  const dayList = Array.from({ length: days }, (_, i) => schoolDay(endAt - (days - 1 - i) * 86_400_000));
  const rows = await store.listSubmittedInRange(ctx.db, district.districtId, dayList[0], to);

  const points = new Map(dayList.map((day) => [day, { day, submitted: 0, expected: 0, arrived: 0, absent: 0, fevers: 0, nonGreen: 0, stale: 0, illnessAbsences: 0, clusters: 0, attendanceRate: null as number | null }]));
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
    point.illnessAbsences += row.illness_absence_count ?? 0;
    point.clusters += row.cluster_count ?? 0;
  }
  for (const point of points.values()) point.attendanceRate = point.expected === 0 ? null : Math.round((point.arrived / point.expected) * 1000) / 10;
  return [...points.values()];
}
