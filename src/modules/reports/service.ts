import type { AppContext } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { formatLocalDateTime, schoolDay } from '../../shared/time.js';
import { notSchoolDayText } from '../calendar/calendar-rules.js';
import { getSchoolDayStatus } from '../calendar/service.js';
import { enqueueNotice } from '../notify/outbox.js';
import type { SchoolSummary } from '../people/service.js';
import {
  calendarNoteOf,
  describeChanges,
  diffFigures,
  hasDayRecords,
  isZeroReport,
  keyFiguresOf,
  summaryLine,
  totalOf,
  withoutExpected,
  type DailyReportContent,
  type FigureChange,
  type KeyFigures,
} from './report-model.js';
import { readReportSources } from './sources.js';
import * as store from './store.js';

/**
 * Building, submitting and reading a school's daily report. A report of a day has
 * versions: the newest may be a draft, rebuilt in place until it is submitted; a
 * submitted version never changes, and building again after it starts the next version.
 */

/** Who builds or submits; null user id for the schedule. */
export interface ReportActor {
  userId: string | null;
  name: string;
}

export interface ReportVersionView {
  version: number;
  status: 'draft' | 'submitted';
  trigger: string;
  builtAt: number;
  builtBy: string;
  submittedAt: number | null;
  submittedBy: string | null;
  changeNote: string | null;
  changes: FigureChange[];
  /** The changes in one Chinese line, for version lists. */
  changeSummary: string | null;
  figures: KeyFigures;
  isZero: boolean;
}

export interface ReportView extends ReportVersionView {
  content: DailyReportContent;
  /** Every version of the day, newest first. */
  versions: ReportVersionView[];
  /**
   * For the newest draft read by the school: the key figures that the day's current
   * records give differently from the draft. Absent on other reads.
   */
  sinceBuild?: DraftFreshness;
}

/** A draft's key figures compared with the figures the school's records give now. */
export interface DraftFreshness {
  checkedAt: number;
  /** Empty when the draft still matches; each change reads from the draft's value to the current one. */
  changes: FigureChange[];
  /** The changes in one Chinese line, such as '实到人数 117 → 1153'. */
  changeSummary: string;
}

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** Throw VALIDATION unless `day` is a real calendar day not after today in Asia/Shanghai. */
export function assertReportDay(ctx: AppContext, day: string): void {
  const valid = DAY_PATTERN.test(day) && !Number.isNaN(Date.parse(`${day}T00:00:00Z`)) && new Date(`${day}T00:00:00Z`).toISOString().startsWith(day);
  if (!valid) throw new AppError('VALIDATION', { detail: `日期“${day}”无效，请按 YYYY-MM-DD 填写，例如 2026-12-07` });
  const today = schoolDay(ctx.now());
  if (day > today) throw new AppError('VALIDATION', { detail: `日期 ${day} 晚于今天（${today}），不能生成或上报未来的日报` });
}

export function figuresOf(row: store.ReportSummaryRow): KeyFigures {
  return {
    expected: row.expected_count,
    arrived: row.arrived_count,
    absent: row.absent_count,
    late: row.late_count,
    fevers: row.fever_count,
    nonGreen: row.non_green_count,
    stale: row.stale_count,
    unsynced: row.unsynced_count,
    illnessAbsences: row.illness_absence_count,
    openFollowUps: row.open_follow_up_count,
    clusters: row.cluster_count,
    visitors: row.visitor_count,
  };
}

function figureColumns(figures: KeyFigures) {
  return {
    expected_count: figures.expected,
    arrived_count: figures.arrived,
    absent_count: figures.absent,
    late_count: figures.late,
    fever_count: figures.fevers,
    non_green_count: figures.nonGreen,
    stale_count: figures.stale,
    unsynced_count: figures.unsynced,
    illness_absence_count: figures.illnessAbsences,
    open_follow_up_count: figures.openFollowUps,
    cluster_count: figures.clusters,
    visitor_count: figures.visitors,
    is_zero: isZeroReport(figures) ? 1 : 0,
  };
}

export function toVersionView(row: store.ReportSummaryRow): ReportVersionView {
  const changes = JSON.parse(row.changes) as FigureChange[];
  return {
    version: row.version,
    status: row.status,
    trigger: row.trigger,
    builtAt: row.built_at,
    builtBy: row.built_by_name,
    submittedAt: row.submitted_at,
    submittedBy: row.submitted_by_name,
    changeNote: row.change_note,
    changes,
    changeSummary: row.version > 1 && row.status === 'submitted' ? describeChanges(changes) : null,
    figures: figuresOf(row),
    isZero: row.is_zero === 1,
  };
}

/** A day without school that had records, so its report goes ahead with a note. */
interface NotSchoolDay {
  /** The calendar's sentence, such as "2026-12-12 是周六，不是上学日". */
  text: string;
  /** The note stored in the report (see calendarNoteOf). */
  note: string;
}

/**
 * Check the school calendar before a report of `day` is built or submitted. A day
 * without school is rejected, naming the day and why, unless it had gate arrivals or
 * check records. Returns such a day with its note, or null on a school day.
 */
async function checkReportDay(ctx: AppContext, school: SchoolSummary, day: string, action: '生成' | '上报'): Promise<NotSchoolDay | null> {
  const status = await getSchoolDayStatus(ctx, school, day);
  if (status.isSchoolDay) return null;

  const text = notSchoolDayText(status);
  const records = await store.countDayRecords(ctx.db, school.id, day);
  if (hasDayRecords(records)) return { text, note: calendarNoteOf(text, records) };
  throw new AppError('VALIDATION', {
    detail: `${text}，当天没有校门入校记录和晨午检记录，不需要${action}日报。如果这一天实际上课，请先在 设置 › 校历 中把它设为上学日`,
  });
}

/**
 * Reject rebuilding a day whose newest submitted version counted arrivals when the day
 * now has no gate arrivals and no class checks. The records behind that version are gone
 * (the demo's seeded history never had any), so a new version would report every pupil
 * absent and read as a correction.
 */
async function assertRecordsBehindSubmitted(ctx: AppContext, school: SchoolSummary, day: string): Promise<void> {
  const submitted = (await store.listVersions(ctx.db, school.id, day)).find((version) => version.status === 'submitted');
  if (!submitted || submitted.arrived_count === 0) return;
  if (hasDayRecords(await store.countDayRecords(ctx.db, school.id, day))) return;
  throw new AppError('CONFLICT', {
    detail: `${school.name} ${day} 的日报第 ${submitted.version} 版已上报（实到 ${submitted.arrived_count} 人），但系统中已没有当天的校门入校记录和晨午检记录，重新生成会把全部学生算作缺勤，因此不能重新生成。已上报的第 ${submitted.version} 版保持不变；如需更正，请联系区教育局`,
  });
}

/**
 * Read every section and assemble the report content of a school's day. `calendarNote`,
 * given for a day without school, explains the report, and nobody counts as expected or
 * absent on such a day.
 */
export async function composeReport(ctx: AppContext, school: SchoolSummary, day: string, calendarNote: string | null = null): Promise<DailyReportContent> {
  const sources = await readReportSources(ctx, school, day);
  const noSchoolDay = calendarNote !== null;
  const grades = noSchoolDay ? withoutExpected(sources.grades) : sources.grades;
  const total = totalOf(grades);
  const sections = { ...sources, grades, total };
  const figures = keyFiguresOf(sections);
  return {
    schoolCode: school.code,
    schoolName: school.name,
    day,
    builtAt: ctx.now(),
    grades,
    total,
    fevers: sources.fevers,
    codes: sources.codes,
    illnessAbsences: sources.illnessAbsences,
    followUps: sources.followUps,
    clusters: sources.clusters,
    visitors: sources.visitors,
    figures,
    isZero: isZeroReport(figures),
    summary: summaryLine(figures, noSchoolDay),
    calendarNote,
    noSchoolDay,
  };
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Build the report of a school's day. The newest draft is rebuilt in place; when there
 * is none (no report yet, or the newest version is submitted) a new version is started.
 */
export async function buildReport(ctx: AppContext, school: SchoolSummary, day: string, actor: ReportActor, trigger: 'manual' | 'schedule' = 'manual'): Promise<ReportView> {
  assertReportDay(ctx, day);
  const notSchoolDay = await checkReportDay(ctx, school, day, '生成');
  await assertRecordsBehindSubmitted(ctx, school, day);
  const content = await composeReport(ctx, school, day, notSchoolDay?.note ?? null);
  const now = ctx.now();
  const fields = {
    trigger,
    built_at: now,
    built_by: actor.userId,
    built_by_name: actor.name,
    content: JSON.stringify(content),
    ...figureColumns(content.figures),
  };

  try {
    await ctx.db.transaction().execute(async (trx) => {
      const latest = (await store.listVersions(trx, school.id, day))[0];
      if (latest?.status === 'draft' && (await store.updateDraft(trx, latest.id, fields))) return;
      await store.insertReport(trx, {
        id: newId(now),
        school_id: school.id,
        district_id: school.districtId,
        day,
        version: (latest?.version ?? 0) + 1,
        status: 'draft',
        submitted_at: null,
        submitted_by: null,
        submitted_by_name: null,
        change_note: null,
        changes: '[]',
        ...fields,
      });
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('CONFLICT', { detail: `${school.name} ${day} 的日报正由他人同时生成，请刷新后重试` });
    throw error;
  }
  ctx.log.info({ schoolId: school.id, day, trigger, isZero: content.isZero, notSchoolDay: notSchoolDay !== null }, 'daily report built');
  return getReportOrThrow(ctx, school, day);
}

/**
 * Submit the newest draft of a day to the district. A draft that follows a submitted
 * version is a correction: it needs a note saying what was corrected, and the changed
 * key figures are stored beside it.
 */
export async function submitReport(ctx: AppContext, school: SchoolSummary, day: string, actor: ReportActor, note: string | undefined): Promise<ReportView> {
  assertReportDay(ctx, day);
  const notSchoolDay = await checkReportDay(ctx, school, day, '上报');
  const versions = await store.listVersions(ctx.db, school.id, day);
  const latest = versions[0];
  if (!latest) throw new AppError('NOT_FOUND', { what: '日报', value: `${school.name} ${day}（请先生成日报）` });
  if (latest.status === 'submitted') {
    throw new AppError('CONFLICT', {
      detail: `${day} 的日报第 ${latest.version} 版已上报。如需更正，请先重新生成日报（将生成第 ${latest.version + 1} 版），核对后再上报`,
    });
  }

  // The calendar may have changed since the draft was built, and the district must read why a day without school has a report.
  if (notSchoolDay && !(await draftHasCalendarNote(ctx, school, day, latest.version))) {
    throw new AppError('CONFLICT', { detail: `${notSchoolDay.text}，而第 ${latest.version} 版草稿生成时这一天还是上学日。请重新生成日报，核对后再上报` });
  }

  const previous = versions.find((row) => row.status === 'submitted');
  const trimmedNote = note?.trim() ?? '';
  if (previous && trimmedNote.length < 2) {
    throw new AppError('VALIDATION', {
      detail: `更正说明不能为空：第 ${latest.version} 版是对已上报的第 ${previous.version} 版的更正，请写明更正了什么（至少 2 个字）`,
    });
  }
  const changes = previous ? diffFigures(figuresOf(previous), figuresOf(latest)) : [];
  const submitted = await store.markSubmitted(ctx.db, latest.id, {
    submitted_at: ctx.now(),
    submitted_by: actor.userId,
    submitted_by_name: actor.name,
    change_note: trimmedNote || null,
    changes: JSON.stringify(changes),
  });
  if (!submitted) throw new AppError('CONFLICT', { detail: `${day} 的日报刚被他人上报或重新生成，请刷新后重试` });
  ctx.log.info({ schoolId: school.id, day, version: latest.version }, 'daily report submitted');
  return getReportOrThrow(ctx, school, day);
}

async function draftHasCalendarNote(ctx: AppContext, school: SchoolSummary, day: string, version: number): Promise<boolean> {
  const row = await store.findVersion(ctx.db, school.id, day, version);
  return Boolean(row && (JSON.parse(row.content) as DailyReportContent).calendarNote);
}

/** Read one version of a school's day (the newest when `version` is absent) with the version list. */
export async function getReportOrThrow(ctx: AppContext, school: SchoolSummary, day: string, version?: number, options: { submittedOnly?: boolean } = {}): Promise<ReportView> {
  assertReportDay(ctx, day);
  const all = await store.listVersions(ctx.db, school.id, day);
  // The district reads what schools submitted; a draft stays the school's own.
  const versions = options.submittedOnly ? all.filter((v) => v.status === 'submitted') : all;
  const wanted = version ?? versions[0]?.version;
  const row = wanted === undefined || !versions.some((v) => v.version === wanted) ? undefined : await store.findVersion(ctx.db, school.id, day, wanted);
  if (!row) {
    const pending = options.submittedOnly ? '尚未上报' : '尚未生成';
    const what = version === undefined ? `${school.name} ${day} 的日报（${pending}）` : `${school.name} ${day} 日报的第 ${version} 版${options.submittedOnly ? '（尚未上报）' : ''}`;
    throw new AppError('NOT_FOUND', { what: '日报', value: what });
  }
  return { ...toVersionView(row), content: JSON.parse(row.content) as DailyReportContent, versions: versions.map(toVersionView) };
}

/**
 * Compare the newest draft with the figures the day's records give now, so the page can
 * ask for a rebuild after gate passes, checks or code syncs that came in later. The draft's
 * own calendar note is reused, so only data changes count. A failed read is logged and
 * returns null, because the check must not stop the report from being read.
 */
export async function checkDraftFreshness(ctx: AppContext, school: SchoolSummary, report: ReportView): Promise<DraftFreshness | null> {
  if (report.status !== 'draft' || report.version !== report.versions[0]?.version) return null;
  try {
    const current = await composeReport(ctx, school, report.content.day, report.content.calendarNote);
    const changes = diffFigures(report.figures, current.figures);
    return { checkedAt: current.builtAt, changes, changeSummary: describeChanges(changes) };
  } catch (error) {
    ctx.log.error({ err: error, schoolId: school.id, day: report.content.day }, 'daily report freshness check failed');
    return null;
  }
}

export interface ReportDayItem extends ReportVersionView {
  day: string;
  /** The newest submitted version, when the newest version is a draft after a submission. */
  submittedVersion: number | null;
}

/** The newest version of each reported day of a school in [from, to], newest day first. */
export async function listReportDays(ctx: AppContext, school: SchoolSummary, from: string, to: string): Promise<ReportDayItem[]> {
  const rows = await store.listLatestPerDay(ctx.db, school.id, from, to);
  return rows.map((row) => ({ ...toVersionView(row), day: row.day, submittedVersion: submittedVersionOf(row) }));
}

/** Returns the newest submitted version of a day whose newest version is `row`; a draft follows a submitted one. */
function submittedVersionOf(row: store.ReportSummaryRow): number | null {
  if (row.status === 'submitted') return row.version;
  return row.version > 1 ? row.version - 1 : null;
}

/** Build today's draft for the school's set time and tell the school admins; false when a report exists. */
export async function buildScheduledReport(ctx: AppContext, school: SchoolSummary, day: string): Promise<boolean> {
  if (await store.hasReport(ctx.db, school.id, day)) return false;
  const report = await buildReport(ctx, school, day, { userId: null, name: '系统定时生成' }, 'schedule');
  await enqueueNotice(
    ctx.db,
    {
      schoolId: school.id,
      channel: 'inbox',
      kind: 'daily_report_built',
      recipientRole: 'school_admin',
      title: `${day} 日报已生成，请核对后上报`,
      body: `${school.name} ${day} 的日报已于 ${formatLocalDateTime(report.builtAt)} 自动生成：${report.content.summary}请在“日报”页核对后上报区教育局。`,
      idempotencyKey: `reports:built:${school.id}:${day}`,
    },
    ctx.now(),
  );
  return true;
}
