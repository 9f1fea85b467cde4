import type { AppContext } from '../../context.js';
import type { CheckSession, CodeColor } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { schoolDay } from '../../shared/time.js';
import { notSchoolDayText } from '../calendar/calendar-rules.js';
import { getSchoolDayStatus, type SchoolDayStatus } from '../calendar/service.js';
import { listClassArrivals } from '../gate/arrivals.js';
import { publishPresenceChange } from '../gate/live.js';
import { collectPresence } from '../gate/presence.js';
import { getCurrentCodes } from '../healthcode/service.js';
import { getClassRoster } from '../people/class-roster.js';
import { getSchoolByIdOrThrow, updateSchoolSettings } from '../people/service.js';
import { changedFields, dayProblem, isLateEntry, validateEntries, type CheckEntryInput, type CheckValues } from './check-input.js';
import { readCheckSettings, validateCheckSettings, type CheckSettings } from './check-settings.js';
import { evaluateClassClusters } from './clusters.js';
import { cancelFollowUpOfCorrectedCheck, openFollowUpForAbsence } from './follow-ups.js';
import './holds.js';
import './presence.js';
import * as store from './store.js';

// The read functions other modules (the daily report) use, in one place.
export { listOpenFollowUps, listFollowUps, getFollowUpOrThrow, type FollowUpView } from './follow-ups.js';
export { listClusterAlerts, type ClusterAlertView } from './clusters.js';

/** The signed-in user behind a change, kept in the history. */
export interface Actor {
  userId: string;
  name: string;
}

/** One pupil's line of a class check: the gate's facts and the stored entry, if any. */
export interface CheckLine {
  personId: string;
  name: string;
  studentNumber: string | null;
  /**
   * In school this day, as the attendance view counts it: passed the gate, was admitted
   * after a re-check, or was marked present in a class check of the day (either session).
   */
  arrived: boolean;
  /** The first pass, or when the class check that marked the pupil present was saved. */
  arrivedAt: number | null;
  /** 'gate' for a gate pass or a re-check, 'check' when only a class check records the pupil; null when not arrived. */
  arrivedBy: 'gate' | 'check' | null;
  /** From the gate: the reading of the first pass, degrees Celsius. */
  gateTemperature: number | null;
  /** The code colour at the first pass, or the current code for a pupil not arrived. */
  codeColor: CodeColor;
  /** The pupil's code now, which may have turned yellow or red after a green first pass. */
  currentCodeColor: CodeColor;
  /** The stored entry, or null while the head teacher has not saved this session. */
  entry: (CheckValues & { id: string; version: number; recordedByName: string; updatedAt: number }) | null;
  /**
   * On the noon list while no noon entry is stored: the morning entry the noon check starts
   * from, so that saving it unchanged records what the morning recorded. Null otherwise,
   * and null when the morning entry is an absence and the pupil passed the gate after it
   * was saved, because the pupil then arrived late and the gate is the newer fact.
   */
  morningEntry: (CheckValues & { recordedByName: string; updatedAt: number }) | null;
  /** True while the pupil has an open illness-absence follow-up. */
  hasOpenFollowUp: boolean;
}

export interface ClassCheck {
  schoolId: string;
  classId: string;
  className: string;
  day: string;
  session: CheckSession;
  symptoms: CheckSettings['symptoms'];
  /** The day in the school calendar; a check of a day without school cannot be saved. */
  schoolDay: SchoolDayStatus & { text: string | null };
  lines: CheckLine[];
  /** Pupils with a stored entry, of `lines.length`. */
  savedCount: number;
}

/** Read the check settings of a school. */
export async function getCheckSettings(ctx: AppContext, schoolId: string): Promise<CheckSettings> {
  const school = await getSchoolByIdOrThrow(ctx, schoolId);
  return readCheckSettings(school.settings);
}

/** Replace a school's check settings after validation; problems give VALIDATION naming each field. */
export async function setCheckSettings(ctx: AppContext, schoolId: string, input: CheckSettings): Promise<CheckSettings> {
  const school = await getSchoolByIdOrThrow(ctx, schoolId);
  const { settings, problems } = validateCheckSettings(input);
  if (problems.length > 0) throw new AppError('VALIDATION', { detail: problems.join('；') }, { problems });
  await updateSchoolSettings(ctx, schoolId, { ...school.settings, checks: settings } as typeof school.settings);
  return settings;
}

/**
 * Build a class's check of a day and session, pre-filled from the gate: every active pupil
 * with whether they arrived, the temperature of their first pass and their code colour,
 * and the stored entry when the head teacher has saved one. A pupil without a gate
 * arrival whom a class check of the day marked present is in school too, as on the
 * attendance view. A noon line without a noon entry also carries the morning entry, so
 * the noon check starts from what the morning check recorded.
 */
export async function getClassCheck(ctx: AppContext, schoolId: string, classId: string, day: string, session: CheckSession): Promise<ClassCheck> {
  const school = await getSchoolByIdOrThrow(ctx, schoolId);
  const settings = readCheckSettings(school.settings);
  const problem = dayProblem(day, schoolDay(ctx.now()));
  if (problem) throw new AppError('VALIDATION', { detail: problem });
  const dayStatus = await getSchoolDayStatus(ctx, school, day);

  const roster = await getClassRoster(ctx, schoolId, classId);
  const arrivals = await listClassArrivals(ctx, schoolId, classId, day);
  const checkedPresent = await collectPresence(ctx, schoolId, day);
  const stored = new Map((await store.listChecks(ctx.db, { schoolId, day, classId, session })).map((row) => [row.person_id, row]));
  const morning = new Map<string, store.DailyCheckRow>();
  if (session === 'noon') {
    for (const row of await store.listChecks(ctx.db, { schoolId, day, classId, session: 'morning' })) morning.set(row.person_id, row);
  }
  const codes = await getCurrentCodes(ctx, roster.pupils.map((p) => p.id));
  const openFollowUps = new Set((await store.listFollowUps(ctx.db, { schoolId, classId, status: 'open' })).map((f) => f.person_id));

  const lines = roster.pupils.map((pupil): CheckLine => {
    const arrival = arrivals.get(pupil.id);
    const checkedAt = checkedPresent.get(pupil.id);
    let arrivedBy: CheckLine['arrivedBy'] = null;
    if (arrival) arrivedBy = 'gate';
    else if (checkedAt !== undefined) arrivedBy = 'check';
    const row = stored.get(pupil.id);
    const morningRow = row ? undefined : morning.get(pupil.id);
    const arrivedAfterMorning = morningRow?.status === 'absent' && arrival !== undefined && arrival.firstPassAt > morningRow.updated_at;
    const currentCodeColor = codes.get(pupil.id)?.color ?? 'unknown';
    return {
      personId: pupil.id,
      name: pupil.name,
      studentNumber: pupil.studentNumber,
      arrived: arrival !== undefined || checkedAt !== undefined,
      arrivedAt: arrival?.firstPassAt ?? checkedAt ?? null,
      arrivedBy,
      gateTemperature: arrival?.temperature ?? null,
      codeColor: arrival ? (arrival.codeColor ?? 'unknown') : currentCodeColor,
      currentCodeColor,
      entry: row ? { ...valuesOf(row), id: row.id, version: row.version, recordedByName: row.recorded_by_name, updatedAt: row.updated_at } : null,
      morningEntry: morningRow && !arrivedAfterMorning ? { ...valuesOf(morningRow), recordedByName: morningRow.recorded_by_name, updatedAt: morningRow.updated_at } : null,
      hasOpenFollowUp: openFollowUps.has(pupil.id),
    };
  });
  return {
    schoolId,
    classId,
    className: roster.klass.name,
    day,
    session,
    symptoms: settings.symptoms,
    schoolDay: { ...dayStatus, text: dayStatus.isSchoolDay ? null : notSchoolDayText(dayStatus) },
    lines,
    savedCount: stored.size,
  };
}

export interface SaveCheckInput {
  day: string;
  session: CheckSession;
  entries: CheckEntryInput[];
}

export interface SaveCheckResult {
  created: number;
  corrected: number;
  unchanged: number;
  late: boolean;
  followUpsOpened: number;
  followUpsCancelled: number;
  clusterAlertsRaised: number;
}

/**
 * Save a class's check. A day without school in the school calendar is rejected, naming
 * the day and why. Every entry is validated first, and one invalid entry rejects the
 * whole request with a Chinese message per problem, so nothing is half-written. A first
 * entry and each correction write a history row with the values before and after and
 * who changed them. An entry equal to the stored one writes nothing. An illness absence
 * opens a follow-up (one per pupil and episode), and correcting it away cancels the
 * follow-up it opened. The cluster rule runs after the commit.
 */
export async function saveClassCheck(ctx: AppContext, actor: Actor, schoolId: string, classId: string, input: SaveCheckInput): Promise<SaveCheckResult> {
  const school = await getSchoolByIdOrThrow(ctx, schoolId);
  const settings = readCheckSettings(school.settings);
  const now = ctx.now();
  const problem = dayProblem(input.day, schoolDay(now));
  if (problem) throw new AppError('VALIDATION', { detail: problem });
  const dayStatus = await getSchoolDayStatus(ctx, school, input.day);
  if (!dayStatus.isSchoolDay) throw new AppError('VALIDATION', { detail: `${notSchoolDayText(dayStatus)}，不能登记晨午检` });
  if (input.entries.length === 0) throw new AppError('VALIDATION', { detail: '没有要保存的学生记录（entries 为空）' });

  const roster = await getClassRoster(ctx, schoolId, classId);
  const { values, problems } = validateEntries(input.entries, new Map(roster.pupils.map((p) => [p.id, p.name])), settings);
  if (problems.length > 0) throw new AppError('VALIDATION', { detail: problems.map((p) => p.message).join('；') }, { problems });

  const arrivals = await listClassArrivals(ctx, schoolId, classId, input.day);
  const late = isLateEntry(input.day, input.session, now, settings);
  const result: SaveCheckResult = { created: 0, corrected: 0, unchanged: 0, late, followUpsOpened: 0, followUpsCancelled: 0, clusterAlertsRaised: 0 };
  let presenceChanged = false;

  await ctx.db.transaction().execute(async (trx) => {
    for (const [personId, next] of values) {
      const existing = await store.findCheck(trx, personId, input.day, input.session);
      let checkId: string;
      let previous: CheckValues | null = null;

      if (!existing) {
        checkId = newId(now);
        const inserted = await store.insertCheck(trx, {
          id: checkId,
          school_id: schoolId,
          class_id: classId,
          person_id: personId,
          day: input.day,
          session: input.session,
          status: next.status,
          temperature: next.temperature,
          symptoms: JSON.stringify(next.symptoms),
          absence_reason: next.absenceReason,
          note: next.note,
          arrived: arrivals.has(personId) ? 1 : 0,
          version: 1,
          recorded_by: actor.userId,
          recorded_by_name: actor.name,
          created_at: now,
          updated_at: now,
        });
        if (!inserted) throw concurrentChange();
        await writeHistory(trx, { schoolId, checkId, personId, action: 'create', before: null, after: next, late, actor, now });
        result.created += 1;
      } else {
        checkId = existing.id;
        previous = valuesOf(existing);
        const diff = changedFields(previous, next);
        if (Object.keys(diff.after).length === 0) {
          result.unchanged += 1;
          continue;
        }
        const updated = await store.updateCheck(trx, existing.id, existing.version, {
          status: next.status,
          temperature: next.temperature,
          symptoms: JSON.stringify(next.symptoms),
          absence_reason: next.absenceReason,
          note: next.note,
          version: existing.version + 1,
          recorded_by: actor.userId,
          recorded_by_name: actor.name,
          updated_at: now,
        });
        if (!updated) throw concurrentChange();
        await writeHistory(trx, { schoolId, checkId, personId, action: 'update', before: diff.before, after: diff.after, late, actor, now });
        result.corrected += 1;
      }

      // The attendance view counts a present row as an arrival at the time it was last saved.
      if (next.status === 'present' || previous?.status === 'present') presenceChanged = true;

      const isIllnessAbsence = next.status === 'absent' && next.absenceReason === 'illness';
      const wasIllnessAbsence = previous?.status === 'absent' && previous.absenceReason === 'illness';
      if (isIllnessAbsence) {
        const opened = await openFollowUpForAbsence(trx, { schoolId, classId, personId, day: input.day, checkId, symptoms: next.symptoms, actor, now });
        if (opened) result.followUpsOpened += 1;
      } else if (wasIllnessAbsence) {
        if (await cancelFollowUpOfCorrectedCheck(trx, { personId, checkId, actor, now })) result.followUpsCancelled += 1;
      }
    }
  });

  ctx.log.info({ schoolId, classId, day: input.day, session: input.session, ...result }, 'class check saved');
  // Open dashboards follow gate arrivals live, and this event moves their figures the same way.
  if (presenceChanged) await publishPresenceChange(ctx, schoolId, { source: 'class_check', classId, day: input.day, changedAt: now });
  result.clusterAlertsRaised = await evaluateAfterSave(ctx, schoolId, classId, input.day);
  return result;
}

/** Run the cluster rule after a save; a failure is logged, because the check itself is stored. */
export async function evaluateAfterSave(ctx: AppContext, schoolId: string, classId: string, day: string): Promise<number> {
  try {
    return await evaluateClassClusters(ctx, schoolId, classId, day);
  } catch (error) {
    ctx.log.error({ err: error, schoolId, classId, day }, 'cluster rule evaluation failed');
    return 0;
  }
}

function concurrentChange(): AppError {
  return new AppError('CONFLICT', { detail: '本班晨午检刚被他人修改，请刷新后重新保存' });
}

function valuesOf(row: store.DailyCheckRow): CheckValues {
  return {
    status: row.status,
    temperature: row.temperature,
    symptoms: JSON.parse(row.symptoms) as string[],
    absenceReason: row.absence_reason,
    note: row.note,
  };
}

async function writeHistory(
  trx: Parameters<typeof store.insertHistory>[0],
  entry: { schoolId: string; checkId: string; personId: string; action: string; before: Partial<CheckValues> | null; after: Partial<CheckValues>; late: boolean; actor: Actor; now: number },
): Promise<void> {
  await store.insertHistory(trx, {
    id: newId(entry.now),
    school_id: entry.schoolId,
    entity: 'check',
    entity_id: entry.checkId,
    person_id: entry.personId,
    action: entry.action,
    before: entry.before === null ? null : JSON.stringify(entry.before),
    after: JSON.stringify(entry.after),
    late: entry.late ? 1 : 0,
    changed_by: entry.actor.userId,
    changed_by_name: entry.actor.name,
    changed_at: entry.now,
  });
}

/** One entry or correction as screens show it. */
export interface HistoryItem {
  id: string;
  entityId: string;
  personId: string;
  action: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
  late: boolean;
  changedBy: string;
  changedByName: string;
  changedAt: number;
}

export function toHistoryItem(row: store.CheckHistoryRow): HistoryItem {
  return {
    id: row.id,
    entityId: row.entity_id,
    personId: row.person_id,
    action: row.action,
    before: row.before === null ? null : (JSON.parse(row.before) as Record<string, unknown>),
    after: JSON.parse(row.after) as Record<string, unknown>,
    late: row.late === 1,
    changedBy: row.changed_by,
    changedByName: row.changed_by_name,
    changedAt: row.changed_at,
  };
}

/** History of a class's checks on a day, oldest first. */
export async function getClassCheckHistory(ctx: AppContext, schoolId: string, classId: string, day: string): Promise<HistoryItem[]> {
  const checks = await store.listChecks(ctx.db, { schoolId, day, classId });
  return (await store.listHistory(ctx.db, checks.map((c) => c.id))).map(toHistoryItem);
}

/** A stored check as other modules read it (the daily report). */
export interface CheckRecord extends CheckValues {
  id: string;
  classId: string;
  personId: string;
  day: string;
  session: CheckSession;
  arrived: boolean;
  version: number;
  updatedAt: number;
}

/** List every stored check of a school on a day, both sessions, for the daily report. */
export async function listChecksForDay(ctx: AppContext, schoolId: string, day: string): Promise<CheckRecord[]> {
  const rows = await store.listChecks(ctx.db, { schoolId, day });
  return rows.map((row) => ({
    ...valuesOf(row),
    id: row.id,
    classId: row.class_id,
    personId: row.person_id,
    day: row.day,
    session: row.session,
    arrived: row.arrived === 1,
    version: row.version,
    updatedAt: row.updated_at,
  }));
}
