import type { AppContext } from '../../context.js';
import type { CodeColor } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { schoolDay } from '../../shared/time.js';
import { describeSchoolsOnDays, getSchoolDayStatus } from '../calendar/service.js';
import * as people from '../people/service.js';
import { codeStaleMinutesOf, type SchoolSettings } from '../people/school-settings.js';
import { isStale } from './code-change.js';
import { districtEveryDayNotice, districtSyncsEveryDay, type DistrictEveryDayNotice } from './district-sync-service.js';
import * as store from './store.js';
import { matchingPreset, nextDayFrom, nextRuns, presetCrons, syncServesDay, validateCron } from './sync-schedule.js';
import type { ColorCounts } from './sync.js';

export { runSync, startSync, recoverInterruptedRuns, hasRecoverableRuns, getBureauClient, closeBureauClient } from './sync.js';
export type { SyncRunResult, SyncOptions, ColorCounts } from './sync.js';

/** A person's current health code as the gate and the screens read it. */
export interface CurrentCode {
  color: CodeColor;
  /** True when never fetched or fetched longer ago than the school's stale age (see staleMinutesOf). */
  isStale: boolean;
  fetchedAt: number | null;
  bureauUpdatedAt: number | null;
  reason: string | null;
  /** Reason of the last failed fetch, if the last fetch failed (the colour is then the last known one). */
  lastFailure: string | null;
  lastAttemptAt: number | null;
}

const NEVER_SYNCED = '尚未同步健康码';

/** Minutes after which a code of this school is stale: its own setting, else the installation's. */
export function staleMinutesOf(ctx: AppContext, settings: Pick<SchoolSettings, 'codeStaleHours'>): number {
  return codeStaleMinutesOf(settings, ctx.config.bureau.staleAfterMinutes);
}

function toCurrentCode(row: store.HealthCodeRow | undefined, now: number, staleAfterMinutes: number): CurrentCode {
  if (!row) {
    return { color: 'unknown', isStale: true, fetchedAt: null, bureauUpdatedAt: null, reason: NEVER_SYNCED, lastFailure: null, lastAttemptAt: null };
  }
  return {
    color: row.color,
    isStale: isStale(row.fetched_at, now, staleAfterMinutes),
    fetchedAt: row.fetched_at,
    bureauUpdatedAt: row.bureau_updated_at,
    reason: row.reason,
    lastFailure: row.last_failure,
    lastAttemptAt: row.last_attempt_at,
  };
}

/**
 * Current codes of people, staleness computed now against `staleAfterMinutes` (the
 * installation's setting unless the caller passes the school's). Every requested id gets
 * an entry: a person never synced reads as unknown and stale.
 */
export async function getCurrentCodes(ctx: AppContext, personIds: string[], staleAfterMinutes = ctx.config.bureau.staleAfterMinutes): Promise<Map<string, CurrentCode>> {
  const now = ctx.now();
  const rows = new Map((await store.findCodes(ctx.db, [...new Set(personIds)])).map((row) => [row.person_id, row]));
  const result = new Map<string, CurrentCode>();
  for (const id of personIds) result.set(id, toCurrentCode(rows.get(id), now, staleAfterMinutes));
  return result;
}

/** A person's current code; pass the school's stale age (staleMinutesOf) where the school is known. */
export async function getCurrentCode(ctx: AppContext, personId: string, staleAfterMinutes = ctx.config.bureau.staleAfterMinutes): Promise<CurrentCode> {
  return toCurrentCode(await store.findCode(ctx.db, personId), ctx.now(), staleAfterMinutes);
}

export interface SchoolCodeEntry extends CurrentCode {
  personId: string;
  name: string;
  kind: 'student' | 'staff';
  classId: string | null;
  className: string | null;
  idNumberMasked: string | null;
}

export interface SchoolCodeFilter {
  color?: CodeColor;
  /**
   * true lists fetched codes older than the school's stale age, false fetched codes within it.
   * Never-synced codes match neither value, as in the code counts' `stale`.
   */
  stale?: boolean;
  /** true lists the codes the bureau never returned (未同步), false fetched codes only. */
  unsynced?: boolean;
  /** A class id or a class name such as 二(3)班. */
  className?: string;
}

/**
 * List the current code of every consenting person of a school (and anyone with a stored
 * code), with the ID number masked, sorted by class and name.
 */
export async function listSchoolCodes(ctx: AppContext, schoolCode: string, filter: SchoolCodeFilter = {}): Promise<SchoolCodeEntry[]> {
  const school = await people.getSchoolByCodeOrThrow(ctx, schoolCode);
  const now = ctx.now();
  const staleAfterMinutes = staleMinutesOf(ctx, school.settings);
  const rows = new Map((await store.listCodesOfSchool(ctx.db, school.id)).map((row) => [row.person_id, row]));
  const targets = await people.listSyncTargets(ctx, school.id);
  const personIds = [...new Set([...targets.map((t) => t.personId), ...rows.keys()])];
  const contacts = await people.getContacts(ctx, personIds);

  const entries: SchoolCodeEntry[] = [];
  for (const personId of personIds) {
    const contact = contacts.get(personId);
    if (!contact) continue;
    entries.push({
      personId,
      name: contact.person.name,
      kind: contact.person.kind,
      classId: contact.person.class_id,
      className: contact.className,
      idNumberMasked: contact.person.id_number_masked,
      ...toCurrentCode(rows.get(personId), now, staleAfterMinutes),
    });
  }

  return entries
    .filter((e) => filter.color === undefined || e.color === filter.color)
    .filter((e) => filter.stale === undefined || (e.fetchedAt !== null && e.isStale === filter.stale))
    .filter((e) => filter.unsynced === undefined || (e.fetchedAt === null) === filter.unsynced)
    .filter((e) => filter.className === undefined || e.classId === filter.className || e.className === filter.className)
    .sort((a, b) => (a.className ?? '~').localeCompare(b.className ?? '~', 'zh-CN') || a.name.localeCompare(b.name, 'zh-CN'));
}

export interface CodeHistoryEntry {
  id: string;
  from: CodeColor | null;
  to: CodeColor;
  changedAt: number;
  bureauUpdatedAt: number | null;
  reason: string | null;
  syncRunId: string | null;
}

/** Return a person's current code and colour changes, newest first. */
export async function getCodeHistory(ctx: AppContext, personId: string, limit = 100): Promise<{ current: CurrentCode; changes: CodeHistoryEntry[] }> {
  const contacts = await people.getContacts(ctx, [personId]);
  if (!contacts.has(personId)) throw new AppError('NOT_FOUND', { what: '人员', value: personId });
  const current = await getCurrentCode(ctx, personId);
  const changes = (await store.listChangesOfPerson(ctx.db, personId, limit)).map((row) => ({
    id: row.id,
    from: row.from_color,
    to: row.to_color,
    changedAt: row.changed_at,
    bureauUpdatedAt: row.bureau_updated_at,
    reason: row.reason,
    syncRunId: row.sync_run_id,
  }));
  return { current, changes };
}

export interface SyncRunView {
  id: string;
  trigger: string;
  status: store.SyncRunRow['status'];
  startedAt: number;
  finishedAt: number | null;
  heartbeatAt: number;
  total: number;
  processed: number;
  failed: number;
  changes: number;
  failedBatches: number;
  counts: Partial<ColorCounts>;
  error: string | null;
  resumedFrom: string | null;
}

export function toSyncRunView(row: store.SyncRunRow): SyncRunView {
  let counts: Partial<ColorCounts> = {};
  try {
    counts = JSON.parse(row.counts) as Partial<ColorCounts>;
  } catch {
    counts = {};
  }
  return {
    id: row.id,
    trigger: row.trigger,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    heartbeatAt: row.heartbeat_at,
    total: row.total,
    processed: row.processed,
    failed: row.failed,
    changes: row.changes,
    failedBatches: row.failed_batches,
    counts,
    error: row.error,
    resumedFrom: row.resumed_from,
  };
}

export async function listSyncRuns(ctx: AppContext, schoolCode: string, limit = 20): Promise<SyncRunView[]> {
  const school = await people.getSchoolByCodeOrThrow(ctx, schoolCode);
  return (await store.listSyncRuns(ctx.db, school.id, limit)).map(toSyncRunView);
}

/** Start time of each school's latest sync run, by school id. */
export async function latestSyncStarts(ctx: AppContext): Promise<Map<string, number>> {
  return store.latestRunStarts(ctx.db);
}

export async function getSyncRunOrThrow(ctx: AppContext, runId: string): Promise<SyncRunView> {
  const row = await store.findSyncRun(ctx.db, runId);
  if (!row) throw new AppError('NOT_FOUND', { what: '同步记录', value: runId });
  return toSyncRunView(row);
}

export interface SyncScheduleView {
  crons: string[];
  /** The preset these crons equal, if any. */
  preset: string | null;
  polling: SchoolSettings['polling'];
  /** The school's own 每天同步: true when its scheduled syncs run every day, false when only for school days of the school calendar. */
  everyDay: boolean;
  /** 全区每天同步 while the district has it on, which makes the school sync every day whatever `everyDay` is; else null. */
  districtEveryDay: DistrictEveryDayNotice | null;
  /** Time ('HH:MM') from which a scheduled run prepares the next day's school, or null when no run does. */
  nextDayFrom: string | null;
  /** The next full syncs that will run, epoch ms. Runs for a day without school are left out unless the school or its district syncs every day. */
  nextRuns: number[];
}

/** How many upcoming full syncs the schedule lists, and how many days ahead it looks for them. */
const LISTED_RUNS = 5;
const LOOKAHEAD_DAYS = 62;

/**
 * List the next full syncs that will run: the crons' instants, without those for a day
 * without school unless the school syncs every day (`everyDay`, its own or the district's).
 */
async function upcomingRuns(ctx: AppContext, school: people.SchoolSummary, now: number, everyDay: boolean): Promise<number[]> {
  const { settings } = school;
  const horizon = now + LOOKAHEAD_DAYS * 86_400_000;
  const runsOn = everyDay ? undefined : await schoolDaysBetween(ctx, school, schoolDay(now), schoolDay(horizon + 86_400_000));

  const listed: number[] = [];
  let from = now;
  // Ten scans of 100 instants reach the horizon for any cron that runs a few times a day.
  for (let scan = 0; scan < 10 && listed.length < LISTED_RUNS && from <= horizon; scan++) {
    let instants: number[];
    try {
      instants = nextRuns(settings.syncCrons, from, 100);
    } catch {
      return [];
    }
    if (instants.length === 0) break;
    for (const at of instants) {
      if (at > horizon || listed.length >= LISTED_RUNS) break;
      if (!runsOn || runsOn.has(syncServesDay(at, settings))) listed.push(at);
    }
    from = instants[instants.length - 1]!;
  }
  return listed;
}

/** Return the school days of a school in [from, to]. */
async function schoolDaysBetween(ctx: AppContext, school: people.SchoolSummary, from: string, to: string): Promise<Set<string>> {
  const days = (await describeSchoolsOnDays(ctx, [school], from, to)).get(school.id) ?? [];
  return new Set(days.filter((status) => status.isSchoolDay).map((status) => status.day));
}

async function scheduleView(ctx: AppContext, school: people.SchoolSummary): Promise<SyncScheduleView> {
  const { settings } = school;
  const districtEveryDay = await districtEveryDayNotice(ctx, school.districtId);
  return {
    crons: settings.syncCrons,
    preset: matchingPreset(settings.syncCrons),
    polling: settings.polling,
    everyDay: settings.syncEveryDay,
    districtEveryDay,
    nextDayFrom: nextDayFrom(settings),
    nextRuns: await upcomingRuns(ctx, school, ctx.now(), settings.syncEveryDay || districtEveryDay !== null),
  };
}

export async function getSyncSchedule(ctx: AppContext, schoolCode: string): Promise<SyncScheduleView> {
  return scheduleView(ctx, await people.getSchoolByCodeOrThrow(ctx, schoolCode));
}

/** Message for a request that sets `polling.weekdays`, which the school calendar replaced. */
const POLLING_WEEKDAYS_REMOVED =
  '轮询不再单独设置星期：定时同步按校历只在上学日进行（周末、放假和停课的日子不同步，调休上课日照常同步）。如需每天同步，请把 everyDay 设为 true';

/**
 * Set a school's full-sync times from a preset or cron expressions, and optionally its
 * polling and whether the scheduled syncs run every day. Every cron is checked first; a
 * bad one is rejected with a message naming it.
 */
export async function setSyncSchedule(
  ctx: AppContext,
  schoolCode: string,
  input: { preset?: string; crons?: string[]; polling?: Partial<SchoolSettings['polling']>; everyDay?: boolean },
): Promise<SyncScheduleView> {
  const school = await people.getSchoolByCodeOrThrow(ctx, schoolCode);
  if (input.preset !== undefined && input.crons !== undefined) {
    throw new AppError('VALIDATION', { detail: '同步方案（preset）和 cron 表达式只能二选一' });
  }
  if (input.polling && 'weekdays' in input.polling) throw new AppError('VALIDATION', { detail: POLLING_WEEKDAYS_REMOVED });
  if (input.everyDay !== undefined && typeof input.everyDay !== 'boolean') {
    throw new AppError('VALIDATION', { detail: `每天同步（everyDay）应为 true 或 false，收到 ${JSON.stringify(input.everyDay)}` });
  }

  let crons = school.settings.syncCrons;
  if (input.preset !== undefined) crons = presetCrons(input.preset);
  if (input.crons !== undefined) {
    if (input.crons.length === 0) throw new AppError('VALIDATION', { detail: '至少需要一个同步时间' });
    crons = input.crons.map(validateCron);
  }

  const merged = { ...school.settings.polling, ...(input.polling ?? {}) };
  const polling: SchoolSettings['polling'] = { enabled: merged.enabled, everyMinutes: merged.everyMinutes, from: merged.from, to: merged.to };
  if (!Number.isInteger(polling.everyMinutes) || polling.everyMinutes < 5 || polling.everyMinutes > 240) {
    throw new AppError('VALIDATION', { detail: `轮询间隔 ${polling.everyMinutes} 分钟无效，应为 5 到 240 之间的整数` });
  }
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(polling.from) || !/^([01]\d|2[0-3]):[0-5]\d$/.test(polling.to) || polling.from > polling.to) {
    throw new AppError('VALIDATION', { detail: `轮询时段 ${polling.from}-${polling.to} 无效，应为 HH:MM-HH:MM 且开始不晚于结束` });
  }

  const syncEveryDay = input.everyDay ?? school.settings.syncEveryDay;
  const settings: SchoolSettings = { ...school.settings, syncCrons: crons, polling, syncEveryDay };
  await people.updateSchoolSettings(ctx, school.id, settings);
  ctx.log.info({ schoolId: school.id, crons, polling, syncEveryDay }, 'sync schedule changed');
  return scheduleView(ctx, { ...school, settings });
}

/** Whether a scheduled sync runs, and the day it would prepare for. */
export interface ScheduledSyncDecision {
  /** The day whose school the run prepares for (see syncServesDay). */
  day: string;
  runs: boolean;
  /**
   * 每天同步 when the school syncs every day by its own setting, 全区每天同步 when its
   * district does, else the calendar's label of the day (周一, 全区放假：国庆节).
   */
  reason: string;
}

/**
 * Decide whether a scheduled sync of the school (a cron, its catch-up or a poll) runs at
 * `instant`: always when the school or its district (全区每天同步) syncs every day, else
 * only when the day it prepares for is a school day of the school calendar. Both
 * switches are read from the database at each call, so a change applies to the next
 * decision. Manual, command-line and resumed syncs do not ask.
 */
export async function decideScheduledSync(ctx: AppContext, schoolOrId: people.SchoolSummary | string, instant: number): Promise<ScheduledSyncDecision> {
  const school = typeof schoolOrId === 'string' ? await people.getSchoolByIdOrThrow(ctx, schoolOrId) : schoolOrId;
  const day = syncServesDay(instant, school.settings);
  if (school.settings.syncEveryDay) return { day, runs: true, reason: '每天同步' };
  if (await districtSyncsEveryDay(ctx, school.districtId)) return { day, runs: true, reason: '全区每天同步' };
  const status = await getSchoolDayStatus(ctx, school, day);
  return { day, runs: status.isSchoolDay, reason: status.label };
}

/**
 * How many people have each code colour, how many fetched codes need attention, and how
 * many codes were never synced. A never-synced code reads as unknown and stale (as in the
 * codes list), so it counts in `unknown`, but not in `stale` or `attention`: it has its
 * own figure, as in the daily report.
 */
export interface CodeColorCounts {
  total: number;
  green: number;
  yellow: number;
  red: number;
  unknown: number;
  /** Fetched codes not refreshed within the school's stale age, of any colour. */
  stale: number;
  /** Fetched codes not green, or green but stale (非绿码或过期). */
  attention: number;
  /** Codes the bureau never returned (未同步); the gate treats them as unknown. */
  unsynced: number;
}

export interface SchoolCodeCounts {
  school: CodeColorCounts;
  grades: Array<{ grade: number; counts: CodeColorCounts }>;
  classes: Array<{ classId: string; className: string; grade: number; counts: CodeColorCounts }>;
  /** Staff and anyone without a class. */
  unplaced: CodeColorCounts;
}

function emptyCounts(): CodeColorCounts {
  return { total: 0, green: 0, yellow: 0, red: 0, unknown: 0, stale: 0, attention: 0, unsynced: 0 };
}

function addToCounts(counts: CodeColorCounts, code: { color: CodeColor; isStale: boolean; fetchedAt: number | null }): void {
  counts.total += 1;
  counts[code.color] += 1;
  if (code.fetchedAt === null) {
    counts.unsynced += 1;
    return;
  }
  if (code.isStale) counts.stale += 1;
  if (code.color !== 'green' || code.isStale) counts.attention += 1;
}

/**
 * Count the current codes of a school by colour, per class, per grade and in total, for
 * the same people listSchoolCodes lists (consenting people with an ID number, and anyone
 * with a stored code). It reads no names and decrypts nothing, so it is much cheaper
 * than the list. With `classId` only that class is counted (a head teacher's view).
 */
export async function countSchoolCodes(ctx: AppContext, schoolCode: string, classId?: string): Promise<SchoolCodeCounts> {
  const school = await people.getSchoolByCodeOrThrow(ctx, schoolCode);
  const now = ctx.now();
  const staleAfterMinutes = staleMinutesOf(ctx, school.settings);
  const [codeRows, placements, consented, classes] = await Promise.all([
    store.listCodesOfSchool(ctx.db, school.id),
    people.listPersonPlacements(ctx, school.id),
    people.listConsentedPersonIdsOfSchool(ctx, school.id, 'health_code'),
    people.listClasses(ctx, school.id),
  ]);
  const codes = new Map(codeRows.map((row) => [row.person_id, row]));
  const placementById = new Map(placements.map((p) => [p.id, p]));
  const subjects = new Set([...consented.filter((id) => placementById.get(id)?.hasIdNumber), ...codes.keys()]);

  const byClass = new Map<string, CodeColorCounts>();
  const schoolCounts = emptyCounts();
  const unplaced = emptyCounts();
  for (const personId of subjects) {
    const placement = placementById.get(personId);
    if (!placement) continue;
    if (classId !== undefined && placement.classId !== classId) continue;
    const code = toCurrentCode(codes.get(personId), now, staleAfterMinutes);
    addToCounts(schoolCounts, code);
    if (!placement.classId) {
      addToCounts(unplaced, code);
      continue;
    }
    let counts = byClass.get(placement.classId);
    if (!counts) byClass.set(placement.classId, (counts = emptyCounts()));
    addToCounts(counts, code);
  }

  const classList: SchoolCodeCounts['classes'] = [];
  const gradeCounts = new Map<number, CodeColorCounts>();
  for (const klass of [...classes].sort((a, b) => a.grade - b.grade || a.number - b.number)) {
    if (classId !== undefined && klass.id !== classId) continue;
    const counts = byClass.get(klass.id) ?? emptyCounts();
    classList.push({ classId: klass.id, className: klass.name, grade: klass.grade, counts });
    let grade = gradeCounts.get(klass.grade);
    if (!grade) gradeCounts.set(klass.grade, (grade = emptyCounts()));
    for (const key of Object.keys(grade) as Array<keyof CodeColorCounts>) grade[key] += counts[key];
  }
  const grades = [...gradeCounts.entries()].map(([grade, counts]) => ({ grade, counts }));
  return { school: schoolCounts, grades, classes: classList, unplaced };
}
