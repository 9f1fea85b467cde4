import type { AppContext } from '../../context.js';
import type { GateMethod } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { schoolDay } from '../../shared/time.js';
import { addDays, describeSchoolDay } from '../calendar/calendar-rules.js';
import { getSchoolDayStatus, loadSchoolCalendar, type SchoolCalendar, type SchoolDayStatus } from '../calendar/service.js';
import { staleMinutesOf } from '../healthcode/service.js';
import { getSchoolByIdOrThrow } from '../people/service.js';
import { planEntryAlerts } from './alerts.js';
import { currentCodeOf, type GateCode } from './codes.js';
import { decideEntry, type EntryDecision, type Identity } from './entry-policy.js';
import { writeEntry } from './entry-writer.js';
import { readGateSettings, type GateSettings } from './gate-settings.js';
import { collectHolds } from './holds.js';
import { publishDecision } from './live.js';
import { snapshotFile, snapshotPathFor, writeSnapshot } from './snapshots.js';
import * as store from './store.js';

/**
 * Recording an entry attempt: identify, decide, and write the event, the attendance and
 * any alerts with their notices in one transaction, then tell the live stream. The
 * device adapters (own API, Hikvision push, kiosk) turn their payloads into an
 * EntryAttempt and call recordEntry.
 */

/** The person the device's input resolved to, before the entry policy. */
export type ResolvedIdentity =
  | { status: 'identified'; personId: string }
  | { status: 'ambiguous'; personId?: string }
  | { status: 'unknown' };

export interface EntryAttempt {
  device: store.DeviceRow;
  /** The device's id for the event; the same id twice is recorded once. */
  eventId: string;
  /** Epoch ms by the device's clock, or null when it sent none. */
  occurredAt: number | null;
  method: GateMethod;
  identity: ResolvedIdentity;
  temperatureC: number | null;
  terminalReportsFever?: boolean;
  /** A terminal that decides by itself (Hikvision) reports whether it let the person through. */
  terminalVerdict?: 'pass' | 'fail';
  face?: { distance: number | null; margin: number | null };
  /** Flags the adapter adds (no_mask, ...). */
  extraFlags?: string[];
  /** JPEG kept only when the decision is a denial. */
  snapshot?: Buffer | null;
}

export interface EntryOutcome {
  gateEventId: string;
  eventId: string;
  /** True when this event id was already recorded; the stored decision is returned. */
  duplicate: boolean;
  decision: 'pass' | 'deny';
  reason: string;
  prompt: string;
  flags: string[];
  personId: string | null;
  personName: string | null;
  occurredAt: number;
}

const EXIT_PROMPT = '请通行';
const TERMINAL_DENIED_PROMPT = '终端验证未通过，请联系门卫';

interface SettingsCacheEntry {
  settings: GateSettings;
  dayStartsAt: string;
  /** Minutes after which a code is stale at this school. */
  codeStaleMinutes: number;
  /** The school calendar of the days from `calendarFrom` to `calendarTo`, around the day it was loaded. */
  calendar: SchoolCalendar;
  calendarFrom: string;
  calendarTo: string;
  loadedAt: number;
}

/** Days before and after today whose calendar the settings cache holds; an older event reads the database. */
const CACHED_CALENDAR_DAYS = { before: 7, after: 1 } as const;

/** School settings are read at most every 10 seconds per school on the hot path. */
const SETTINGS_CACHE_MS = 10_000;
const settingsCaches = new WeakMap<AppContext, Map<string, SettingsCacheEntry>>();

/**
 * Read a school's gate settings, start of the school day and calendar, cached for 10
 * seconds, so a change on the settings or calendar page reaches the lanes within that.
 */
export async function schoolGateSettings(ctx: AppContext, schoolId: string): Promise<SettingsCacheEntry> {
  let cache = settingsCaches.get(ctx);
  if (!cache) {
    cache = new Map();
    settingsCaches.set(ctx, cache);
  }
  const cached = cache.get(schoolId);
  if (cached && ctx.now() - cached.loadedAt < SETTINGS_CACHE_MS && ctx.now() >= cached.loadedAt) return cached;

  const school = await getSchoolByIdOrThrow(ctx, schoolId);
  const today = schoolDay(ctx.now());
  const calendarFrom = addDays(today, -CACHED_CALENDAR_DAYS.before);
  const calendarTo = addDays(today, CACHED_CALENDAR_DAYS.after);
  const entry: SettingsCacheEntry = {
    settings: readGateSettings(school.settings),
    dayStartsAt: school.settings.dayStartsAt,
    codeStaleMinutes: staleMinutesOf(ctx, school.settings),
    calendar: await loadSchoolCalendar(ctx, school, calendarFrom, calendarTo),
    calendarFrom,
    calendarTo,
    loadedAt: ctx.now(),
  };
  cache.set(schoolId, entry);
  return entry;
}

/** Decide a day of the school from the cached calendar, or from the database for a day outside it. */
async function schoolDayStatusOf(ctx: AppContext, cached: SettingsCacheEntry, schoolId: string, day: string): Promise<SchoolDayStatus> {
  if (day >= cached.calendarFrom && day <= cached.calendarTo) return describeSchoolDay(day, cached.calendar);
  return getSchoolDayStatus(ctx, schoolId, day);
}

/** Drop cached settings, after an admin changed them. */
export function forgetSchoolGateSettings(ctx: AppContext, schoolId: string): void {
  settingsCaches.get(ctx)?.delete(schoolId);
}

function toOutcome(row: store.GateEventRow, personName: string | null, duplicate: boolean): EntryOutcome {
  return {
    gateEventId: row.id,
    eventId: row.event_id,
    duplicate,
    decision: row.decision,
    reason: row.reason,
    prompt: row.prompt,
    flags: JSON.parse(row.flags) as string[],
    personId: row.person_id,
    personName,
    occurredAt: row.occurred_at,
  };
}

/** Record one entry attempt and return the decision the lane shows. */
export async function recordEntry(ctx: AppContext, attempt: EntryAttempt): Promise<EntryOutcome> {
  const { device } = attempt;
  const receivedAt = ctx.now();
  const occurredAt = attempt.occurredAt ?? receivedAt;
  const day = schoolDay(occurredAt);
  const cached = await schoolGateSettings(ctx, device.school_id);
  const { settings, dayStartsAt, codeStaleMinutes } = cached;
  const { isSchoolDay } = await schoolDayStatusOf(ctx, cached, device.school_id, day);

  const person = await findPersonOfSchool(ctx, device.school_id, attempt.identity);
  const identity = policyIdentity(attempt.identity, person);
  const code = person && identity.status === 'identified' ? await currentCodeOf(ctx, person.id, codeStaleMinutes) : null;
  const holds = person && identity.status === 'identified' ? await collectHolds(ctx, person, day) : [];

  const decided = decideEntry(
    {
      identity,
      method: attempt.method,
      temperatureC: attempt.temperatureC,
      terminalReportsFever: attempt.terminalReportsFever,
      code,
      occurredAt,
      lane: device.lane,
      holds,
      isSchoolDay,
    },
    { ...settings, dayStartsAt },
  );
  const final = applyDeviceContext(decided, attempt);

  const flags: string[] = [...final.flags, ...(attempt.extraFlags ?? [])];
  const isOld = receivedAt - occurredAt > settings.oldEventMinutes * 60_000;
  if (isOld) flags.push('old_event');
  if (attempt.occurredAt === null) flags.push('no_device_time');

  const gateEventId = newId(receivedAt);
  const keepSnapshot = final.decision === 'deny' && attempt.snapshot ? snapshotPathFor(device.school_id, day, gateEventId) : null;
  const row: store.GateEventRow = {
    id: gateEventId,
    school_id: device.school_id,
    device_id: device.id,
    event_id: attempt.eventId,
    occurred_at: occurredAt,
    received_at: receivedAt,
    day,
    person_id: person?.id ?? null,
    method: attempt.method,
    temperature: attempt.temperatureC,
    code_color: code?.color ?? null,
    code_stale: staleFlagOf(code),
    decision: final.decision,
    reason: final.reason,
    prompt: final.prompt,
    flags: JSON.stringify(flags),
    face_distance: attempt.face?.distance ?? null,
    face_margin: attempt.face?.margin ?? null,
    snapshot_path: keepSnapshot,
  };

  // Old events (a terminal replaying after a reboot) are recorded but raise nothing.
  const alertKinds = isOld || device.direction === 'out' ? [] : final.alerts;
  const plan = alertKinds.length > 0 ? await planEntryAlerts(ctx, alertSubject(row, device, person, code), alertKinds) : undefined;

  const countsAsArrival = row.decision === 'pass' && row.reason !== 'exit' && person !== undefined;
  const inserted = await writeEntry(ctx, { row, plan, arrival: countsAsArrival ? { personId: person.id, dayStartsAt, isSchoolDay } : null });
  if (!inserted) {
    const existing = await store.findGateEvent(ctx.db, device.id, attempt.eventId);
    if (!existing) throw new Error(`gate event ${attempt.eventId} of device ${device.id} conflicted but cannot be read`);
    const existingPerson = existing.person_id ? await store.findGatePerson(ctx.db, existing.person_id) : undefined;
    return toOutcome(existing, existingPerson?.name ?? null, true);
  }

  if (keepSnapshot && attempt.snapshot) await saveSnapshot(ctx, row, attempt.snapshot);
  await publishDecision(ctx, device.school_id, {
    eventId: row.id,
    deviceId: device.id,
    deviceName: device.name,
    lane: device.lane,
    occurredAt,
    personId: row.person_id,
    personName: person?.name ?? null,
    classId: person?.class_id ?? null,
    className: person?.class_name ?? null,
    method: row.method,
    temperature: row.temperature,
    decision: row.decision,
    reason: row.reason,
    prompt: row.prompt,
    flags,
  });
  return toOutcome(row, person?.name ?? null, false);
}

/**
 * Person rows are reused for this long on the hot path. NOTE: a person deactivated or
 * moved to another class is seen by the gate up to this long later.
 */
const PERSON_CACHE_MS = 30_000;
const PERSON_CACHE_MAX = 50_000;
const personCaches = new WeakMap<AppContext, Map<string, { person: store.GatePerson | undefined; loadedAt: number }>>();

async function findGatePersonCached(ctx: AppContext, personId: string): Promise<store.GatePerson | undefined> {
  let cache = personCaches.get(ctx);
  if (!cache) {
    cache = new Map();
    personCaches.set(ctx, cache);
  }
  const now = ctx.now();
  const cached = cache.get(personId);
  if (cached && now - cached.loadedAt < PERSON_CACHE_MS && now >= cached.loadedAt) return cached.person;

  const person = await store.findGatePerson(ctx.db, personId);
  // Map keeps insertion order, so the first key is the oldest entry.
  if (cache.size >= PERSON_CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(personId, { person, loadedAt: now });
  return person;
}

/** Find the person of the identity, only when they belong to the device's school. */
async function findPersonOfSchool(ctx: AppContext, schoolId: string, identity: ResolvedIdentity): Promise<store.GatePerson | undefined> {
  // A weak match names a candidate only; the event is not attributed to them.
  if (identity.status !== 'identified') return undefined;
  const person = await findGatePersonCached(ctx, identity.personId);
  return person && person.school_id === schoolId ? person : undefined;
}

/** Map the resolved identity for the policy: an inactive person or one of another school counts as unknown. */
function policyIdentity(resolved: ResolvedIdentity, person: store.GatePerson | undefined): Identity {
  if (resolved.status === 'ambiguous') return { status: 'ambiguous' };
  if (resolved.status === 'unknown' || !person || person.active !== 1) return { status: 'unknown' };
  return { status: 'identified', personKind: person.kind, grade: person.grade };
}

/** The policy's decision after the device's part: its flags may name what the terminal did. */
type FinalDecision = Omit<EntryDecision, 'flags'> & { flags: string[] };

/**
 * Adjust the policy's decision for the device: exit lanes let everyone out, and a
 * terminal that decides by itself and refused the person is recorded as a denial. When
 * such a terminal let in someone the policy would deny, the record keeps the denial and
 * the flag terminal_opened records that the door opened anyway.
 */
function applyDeviceContext(decided: EntryDecision, attempt: EntryAttempt): FinalDecision {
  if (attempt.device.direction === 'out') {
    return { decision: 'pass', reason: 'exit', prompt: EXIT_PROMPT, flags: [], alerts: [] };
  }
  if (attempt.terminalVerdict === 'fail' && decided.decision === 'pass') {
    return { ...decided, decision: 'deny', reason: 'terminal_denied', prompt: TERMINAL_DENIED_PROMPT, flags: decided.flags.filter((f) => f !== 'late') };
  }
  if (attempt.terminalVerdict === 'pass' && decided.decision === 'deny') {
    return { ...decided, flags: [...decided.flags, 'terminal_opened'] };
  }
  return decided;
}

function staleFlagOf(code: GateCode | null): number | null {
  if (!code) return null;
  return code.isStale ? 1 : 0;
}

function alertSubject(row: store.GateEventRow, device: store.DeviceRow, person: store.GatePerson | undefined, code: GateCode | null) {
  return {
    schoolId: row.school_id,
    person,
    device,
    gateEventId: row.id,
    eventId: row.event_id,
    occurredAt: row.occurred_at,
    temperature: row.temperature,
    codeColor: code?.color ?? null,
  };
}

async function saveSnapshot(ctx: AppContext, row: store.GateEventRow, image: Buffer): Promise<void> {
  try {
    await writeSnapshot(ctx, row.snapshot_path!, image);
  } catch (error) {
    ctx.log.error({ err: error, gateEventId: row.id }, 'snapshot write failed');
    await store.setSnapshotPath(ctx.db, row.id, null);
  }
}

export interface GateEventView {
  id: string;
  deviceId: string;
  deviceName: string;
  lane: string | null;
  eventId: string;
  occurredAt: number;
  receivedAt: number;
  personId: string | null;
  personName: string | null;
  className: string | null;
  method: string;
  temperature: number | null;
  codeColor: string | null;
  codeStale: boolean | null;
  decision: 'pass' | 'deny';
  reason: string;
  prompt: string;
  flags: string[];
  faceDistance: number | null;
  faceMargin: number | null;
  hasSnapshot: boolean;
}

/** Search a school's gate events, newest first (at most 500 a page). */
export async function searchGateEvents(ctx: AppContext, filter: Omit<store.GateEventFilter, 'limit'> & { limit?: number }): Promise<GateEventView[]> {
  const rows = await store.searchGateEvents(ctx.db, { ...filter, limit: Math.min(Math.max(filter.limit ?? 100, 1), 500) });
  return rows.map((row) => ({
    id: row.id,
    deviceId: row.device_id,
    deviceName: row.device_name,
    lane: row.lane,
    eventId: row.event_id,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
    personId: row.person_id,
    personName: row.person_name,
    className: row.class_name,
    method: row.method,
    temperature: row.temperature,
    codeColor: row.code_color,
    codeStale: row.code_stale === null ? null : row.code_stale === 1,
    decision: row.decision,
    reason: row.reason,
    prompt: row.prompt,
    flags: JSON.parse(row.flags) as string[],
    faceDistance: row.face_distance,
    faceMargin: row.face_margin,
    hasSnapshot: row.snapshot_path !== null,
  }));
}

/**
 * Find the snapshot file of a school's gate event; throws NOT_FOUND when the event has
 * none (a pass, or deleted after the retention period).
 */
export async function getSnapshotFileOrThrow(ctx: AppContext, schoolId: string, gateEventId: string): Promise<string> {
  const row = await store.findGateEventById(ctx.db, gateEventId);
  if (!row || row.school_id !== schoolId || !row.snapshot_path) throw new AppError('NOT_FOUND', { what: '抓拍图', value: gateEventId });
  return snapshotFile(ctx, row.snapshot_path);
}
