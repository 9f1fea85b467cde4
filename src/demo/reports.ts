import type { AppContext } from '../context.js';
import { newId } from '../shared/ids.js';
import { instantOf, schoolDay } from '../shared/time.js';
import { describeSchoolsOnDays } from '../modules/calendar/service.js';
import { getSchoolByCodeOrThrow } from '../modules/people/service.js';
import { isZeroReport, keyFiguresOf, summaryLine, totalOf, type DailyReportContent, type GradeRow } from '../modules/reports/report-model.js';
import { buildReport } from '../modules/reports/service.js';
import { DEMO_SCHOOL } from './seed.js';

/** School days before today that get a submitted report, for the district's 30-day trend. */
const HISTORY_DAYS = 29;

/** A deterministic number in [0, 1) from a day and a salt, so reseeding gives the same history. */
function noise(day: string, salt: number): number {
  let hash = salt * 2654435761;
  for (const char of day) hash = Math.imul(hash ^ char.charCodeAt(0), 2246822519) >>> 0;
  return (hash % 10_000) / 10_000;
}

/** A synthetic submitted report of an earlier day: today's roster by grade with invented absences and findings. */
function historyContent(base: DailyReportContent, day: string): DailyReportContent {
  const grades: GradeRow[] = base.grades.map((grade, index) => {
    const absent = Math.round(noise(day, index + 1) * 8);
    const illnessAbsent = Math.min(absent, Math.round(noise(day, index + 11) * 4));
    return { ...grade, arrived: grade.expected - absent, absent, late: Math.round(noise(day, index + 21) * 5), illnessAbsent };
  });
  const total = totalOf(grades);
  const empty = { available: true, items: [], note: null };
  const sections = { total, fevers: [], codes: [], illnessAbsences: empty, followUps: empty, clusters: empty, visitors: empty };
  const figures = {
    ...keyFiguresOf(sections),
    fevers: Math.round(noise(day, 31) * 3),
    nonGreen: Math.round(noise(day, 32) * 2),
    stale: Math.round(noise(day, 33) * 6),
    unsynced: 0,
    illnessAbsences: total.illnessAbsent ?? 0,
    openFollowUps: Math.round((total.illnessAbsent ?? 0) * 1.5),
    clusters: noise(day, 34) > 0.92 ? 1 : 0,
    visitors: 2 + Math.round(noise(day, 35) * 6),
  };
  // The history keeps counts only: the lists behind them are not invented.
  return { ...base, day, builtAt: instantOf(day, '16:30'), grades, total, fevers: [], codes: [], illnessAbsences: empty, followUps: empty, clusters: empty, visitors: empty, figures, isZero: isZeroReport(figures), summary: summaryLine(figures) };
}

/**
 * Seed the demo school's daily reports. Today's draft is built from the day's records
 * unless today has a report. When no earlier report exists, each school day of the 29
 * days before gets a submitted report with synthetic counts, so the district page has a
 * trend to draw. Returns the reports written.
 */
export async function seedDemoReports(ctx: AppContext): Promise<number> {
  const school = await getSchoolByCodeOrThrow(ctx, DEMO_SCHOOL.code);
  const today = schoolDay(ctx.now());
  const reportsOf = (day: string, compare: '=' | '<') =>
    ctx.db.selectFrom('daily_reports').select('id').where('school_id', '=', school.id).where('day', compare, day).limit(1).executeTakeFirst();
  if (await reportsOf(today, '=')) return 0;

  const built = await buildReport(ctx, school, today, { userId: null, name: '系统定时生成' }, 'schedule');
  let written = 1;
  if (await reportsOf(today, '<')) return written;
  const firstDay = schoolDay(instantOf(today, '12:00') - HISTORY_DAYS * 86_400_000);
  const calendar = (await describeSchoolsOnDays(ctx, [school], firstDay, today)).get(school.id) ?? [];
  const schoolDays = new Set(calendar.filter((status) => status.isSchoolDay).map((status) => status.day));
  for (let back = 1; back <= HISTORY_DAYS; back++) {
    const at = instantOf(today, '12:00') - back * 86_400_000;
    const day = schoolDay(at);
    if (!schoolDays.has(day)) continue;
    const content = historyContent(built.content, day);
    const f = content.figures;
    await ctx.db
      .insertInto('daily_reports')
      .values({
        id: newId(at),
        school_id: school.id,
        district_id: school.districtId,
        day,
        version: 1,
        status: 'submitted',
        trigger: 'schedule',
        built_at: instantOf(day, '16:30'),
        built_by: null,
        built_by_name: '系统定时生成',
        submitted_at: instantOf(day, '17:05'),
        submitted_by: null,
        submitted_by_name: '演示校长',
        change_note: null,
        changes: '[]',
        content: JSON.stringify(content),
        expected_count: f.expected,
        arrived_count: f.arrived,
        absent_count: f.absent,
        late_count: f.late,
        fever_count: f.fevers,
        non_green_count: f.nonGreen,
        stale_count: f.stale,
        unsynced_count: f.unsynced,
        illness_absence_count: f.illnessAbsences,
        open_follow_up_count: f.openFollowUps,
        cluster_count: f.clusters,
        visitor_count: f.visitors,
        is_zero: content.isZero ? 1 : 0,
      })
      .execute();
    written += 1;
  }
  ctx.log.info({ schoolId: school.id, reports: written }, 'demo reports seeded');
  return written;
}
