import type { AppContext } from '../context.js';
import { newId } from '../shared/ids.js';
import { instantOf, formatLocalTime } from '../shared/time.js';
import { getSchoolByCodeOrThrow, updateSchoolSettings } from '../modules/people/service.js';
import { saveDescriptor } from '../modules/face/service.js';
import { createDevice, listDevices } from '../modules/gate/devices.js';
import { handleDeviceEvent } from '../modules/gate/device-events.js';
import type { EntryOutcome } from '../modules/gate/service.js';
import { recordRecheck } from '../modules/gate/alerts.js';
import { listRechecks, type DeviceRow } from '../modules/gate/store.js';
import { DEMO_SCHOOL } from './seed.js';
import { listDemoAbsentees } from './checks.js';

/** Grades 1-2 enter 07:10-07:25 at the east gate, 3-4 07:25-07:40, 5-6 07:40-07:55. */
const ENTRY_WINDOWS = [
  { grades: [1, 2], from: '07:10', to: '07:25', lanes: ['东门'] },
  { grades: [3, 4], from: '07:25', to: '07:40', lanes: ['东门', '南门'] },
  { grades: [5, 6], from: '07:40', to: '07:55', lanes: ['南门'] },
];

const LANES = [
  { name: '东门 1 号通道', lane: '东门' },
  { name: '东门 2 号通道', lane: '东门' },
  { name: '东门 3 号通道（平板）', lane: '东门' },
  { name: '南门 1 号通道', lane: '南门' },
  { name: '南门 2 号通道', lane: '南门' },
  { name: '南门 3 号通道（平板）', lane: '南门' },
];

/**
 * A deterministic synthetic face descriptor for a person: a unit vector from a PRNG
 * seeded by the id. The demo has no photos, so its gallery is made of these.
 */
export function syntheticDescriptor(personId: string, noise = 0, noiseSeed = 0): Float32Array {
  let state = hashString(personId) ^ 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 0x100000000) * 2 - 1;
  };
  const vector = new Float32Array(128);
  for (let i = 0; i < 128; i++) vector[i] = next();

  if (noise > 0) {
    let noiseState = (hashString(personId) + noiseSeed * 7919) | 1;
    for (let i = 0; i < 128; i++) {
      noiseState ^= noiseState << 13;
      noiseState ^= noiseState >>> 17;
      noiseState ^= noiseState << 5;
      vector[i] += (((noiseState >>> 0) / 0x100000000) * 2 - 1) * noise;
    }
  }

  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  for (let i = 0; i < 128; i++) vector[i] /= norm;
  return vector;
}

function hashString(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 16777619);
  }
  return hash | 0;
}

/**
 * Give the demo school its gates once: six lanes, the staggered entry windows, a face
 * consent for staff, and a synthetic descriptor for everyone. Returns the devices.
 */
export async function ensureDemoGate(ctx: AppContext): Promise<DeviceRow[]> {
  const school = await getSchoolByCodeOrThrow(ctx, DEMO_SCHOOL.code);
  const existing = await listDevices(ctx, school.code);
  if (existing.length > 0) return existing;

  const settings = school.settings as typeof school.settings & { gate?: Record<string, unknown> };
  await updateSchoolSettings(ctx, school.id, { ...settings, gate: { ...(settings.gate ?? {}), entryWindows: ENTRY_WINDOWS } } as typeof school.settings);

  const staffWithoutConsent = await ctx.db
    .selectFrom('persons')
    .select('id')
    .where('school_id', '=', school.id)
    .where('kind', '=', 'staff')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('consents').select('id').whereRef('consents.person_id', '=', 'persons.id').where('purpose', '=', 'face'))))
    .execute();
  if (staffWithoutConsent.length > 0) {
    await ctx.db
      .insertInto('consents')
      .values(staffWithoutConsent.map((row) => ({ id: newId(), person_id: row.id, purpose: 'face' as const, given_by: 'self' as const, guardian_id: null, given_at: ctx.now(), revoked_at: null, note: '演示数据' })))
      .execute();
  }

  const persons = await ctx.db.selectFrom('persons').select('id').where('school_id', '=', school.id).where('active', '=', 1).execute();
  // One log line per enrolment would bury the start-up output; the summary below is enough.
  const quiet: AppContext = { ...ctx, log: ctx.log.child({}, { level: 'warn' }) };
  for (const person of persons) {
    await saveDescriptor(quiet, { schoolId: school.id, personId: person.id, descriptor: syntheticDescriptor(person.id), score: 0.99, source: 'batch' });
  }

  const devices: DeviceRow[] = [];
  for (const lane of LANES) {
    const kind = lane.name.includes('平板') ? 'kiosk' : 'api';
    devices.push((await createDevice(ctx, { schoolCode: school.code, kind, name: lane.name, lane: lane.lane, direction: 'in' })).device);
  }
  ctx.log.info({ schoolId: school.id, devices: devices.length, descriptors: persons.length }, 'demo gate prepared');
  return devices;
}

export interface GateReplayReport {
  /**
   * Pupils the replay keeps at home: the demo's absentees of 二(3)班 and anyone a morning
   * check of the day lists absent. They make no attempt.
   */
  stayedHome: number;
  attempts: number;
  /**
   * Attempts the gate had already recorded (same device, same event id) from an earlier
   * replay of the day. It records them once and returns the stored decision, which the
   * counts below include.
   */
  duplicates: number;
  passed: number;
  denied: number;
  /** Denials by reason code. */
  reasons: Record<string, number>;
  fevers: number;
  unknownFaces: number;
  late: number;
  flaggedOutsideWindow: number;
  /** The fever re-checks at the observation point and their results. */
  rechecks: ReplayRecheck[];
}

/** A fever re-check at the observation point, as the replay reports it. */
export interface ReplayRecheck {
  /** Beijing time, 'HH:MM'. */
  at: string;
  temperature: number;
  result: string;
  /** True when an earlier replay of the day recorded it, so this one did not again. */
  alreadyRecorded: boolean;
}

/**
 * Let the demo school's people through the gates on `day`: pupils in their grade's
 * window at its lanes, except those who stay at home (see stayAtHome), staff before 07:30, a few pupils with a fever (one re-checked
 * normal at 07:40), two strangers whose faces are not enrolled, and a few late pupils.
 * Each event goes through the device API's handler with the clock set to its time.
 *
 * A replay of the same day plans the same events. The event id is made of the day and
 * the person. Each person's lane is fixed by a hash of their id over the lanes the demo
 * seeded, whatever devices were added since. An event id the gate already
 * stored that day, on any device, is not posted again. The replay takes the stored
 * decision and the report counts it as a duplicate. The re-check is recorded once a day
 * as well.
 */
export async function replayGateMorning(ctx: AppContext, day: string): Promise<GateReplayReport> {
  const devices = demoLaneDevices(await ensureDemoGate(ctx));
  const school = await getSchoolByCodeOrThrow(ctx, DEMO_SCHOOL.code);
  // By name, so each person's device is the same on every replay.
  const lanes = (lane: string) => devices.filter((d) => d.lane === lane).sort((a, b) => a.name.localeCompare(b.name));
  const stored = await findStoredDemoEvents(ctx, school.id, day);
  const home = await stayAtHome(ctx, school.id, day);

  const people = await ctx.db
    .selectFrom('persons')
    .leftJoin('classes', 'classes.id', 'persons.class_id')
    .select(['persons.id', 'persons.kind', 'classes.grade'])
    .where('persons.school_id', '=', school.id)
    .where('persons.active', '=', 1)
    .orderBy('persons.id')
    .execute();

  interface Planned {
    at: number;
    device: DeviceRow;
    body: Record<string, unknown>;
  }
  const plan: Planned[] = [];
  let index = 0;

  for (const person of people) {
    // Counted before the skip, so a pupil kept at home moves nobody else's time, lane or temperature.
    index += 1;
    if (home.has(person.id)) continue;
    const window = person.grade ? ENTRY_WINDOWS.find((w) => w.grades.includes(person.grade!)) : undefined;
    const from = instantOf(day, window?.from ?? '07:00');
    const span = (window ? 15 : 30) * 60_000;
    // One pupil in 400 comes after 08:00 and is late; the rest spread over their window.
    const isLate = person.kind === 'student' && index % 400 === 7;
    const at = isLate ? instantOf(day, '08:05') + (index % 10) * 60_000 : from + ((index * 7919) % span);
    // The lane and device come from the id, not the position in the list, so adding or
    // removing a person since the last replay keeps everyone else on the same device.
    const personHash = hashString(person.id) >>> 0;
    const laneDevices = lanes(window?.lanes[personHash % window.lanes.length] ?? '东门');
    const isFever = person.kind === 'student' && index % 1000 === 11;
    const temperature = isFever ? 37.6 : 36.2 + ((index * 31) % 7) / 10;
    plan.push({
      at,
      device: laneDevices[(personHash >>> 8) % laneDevices.length],
      body: { eventId: `demo-${day}-${person.id}`, occurredAt: at, temperature, descriptor: Array.from(syntheticDescriptor(person.id, 0.02, index)) },
    });
  }

  for (let stranger = 0; stranger < 2; stranger++) {
    const at = instantOf(day, '07:35') + stranger * 90_000;
    plan.push({
      at,
      device: lanes('东门')[0],
      body: { eventId: `demo-${day}-stranger-${stranger}`, occurredAt: at, temperature: 36.5, descriptor: Array.from(syntheticDescriptor(`stranger-${day}-${stranger}`)) },
    });
  }

  plan.sort((a, b) => a.at - b.at);
  const report: GateReplayReport = { stayedHome: home.size, attempts: 0, duplicates: 0, passed: 0, denied: 0, reasons: {}, fevers: 0, unknownFaces: 0, late: 0, flaggedOutsideWindow: 0, rechecks: [] };

  for (const attempt of plan) {
    const eventCtx: AppContext = { ...ctx, now: () => attempt.at + 500 };
    const outcome = stored.get(attempt.body.eventId as string) ?? (await handleDeviceEvent(eventCtx, attempt.device, attempt.body));
    report.attempts += 1;
    if (outcome.duplicate) report.duplicates += 1;
    if (outcome.decision === 'pass') report.passed += 1;
    else {
      report.denied += 1;
      report.reasons[outcome.reason] = (report.reasons[outcome.reason] ?? 0) + 1;
    }
    if (outcome.reason.includes('fever')) report.fevers += 1;
    if (outcome.reason.includes('unknown')) report.unknownFaces += 1;
    if (outcome.flags.includes('late')) report.late += 1;
    if (outcome.flags.some((flag) => flag.includes('window'))) report.flaggedOutsideWindow += 1;
  }

  const recheck = await recheckFirstFever(ctx, school, day);
  if (recheck) report.rechecks.push(recheck);

  ctx.log.info({ day, attempts: report.attempts, duplicates: report.duplicates, passed: report.passed, denied: report.denied }, 'demo gate morning replayed');
  return report;
}

/**
 * List the pupils who do not come to school on `day`: the demo's absentees of 二(3)班
 * and anyone a saved morning check of the day lists absent. The seeded check lists the
 * same absentees, whether it is seeded before or after the replay.
 */
async function stayAtHome(ctx: AppContext, schoolId: string, day: string): Promise<Set<string>> {
  const checked = await ctx.db
    .selectFrom('daily_checks')
    .select('person_id')
    .where('school_id', '=', schoolId)
    .where('day', '=', day)
    .where('session', '=', 'morning')
    .where('status', '=', 'absent')
    .execute();
  return new Set([...(await listDemoAbsentees(ctx, schoolId)), ...checked.map((row) => row.person_id)]);
}

/**
 * Keep the lanes the demo seeded, so a device registered later (a kiosk added from the
 * README, say) neither takes a share of the replayed people nor shifts their lanes.
 */
export function demoLaneDevices(devices: DeviceRow[]): DeviceRow[] {
  const seeded = new Set(LANES.map((lane) => `${lane.lane}/${lane.name}`));
  return devices.filter((device) => seeded.has(`${device.lane}/${device.name}`));
}

/** The outcome of an event the replay posted, as the gate stored it. */
type StoredOutcome = Pick<EntryOutcome, 'duplicate' | 'decision' | 'reason' | 'flags'>;

/**
 * Read the replay's events of `day` that the gate already stored, on any device of the
 * school, by event id. The gate de-duplicates an event id per device only, so the replay
 * skips these itself and never records a person's event twice on different devices.
 */
async function findStoredDemoEvents(ctx: AppContext, schoolId: string, day: string): Promise<Map<string, StoredOutcome>> {
  const rows = await ctx.db
    .selectFrom('gate_events')
    .select(['event_id', 'decision', 'reason', 'flags'])
    .where('school_id', '=', schoolId)
    .where('day', '=', day)
    .where('event_id', 'like', `demo-${day}-%`)
    .orderBy('occurred_at')
    .execute();
  const stored = new Map<string, StoredOutcome>();
  for (const row of rows) {
    if (stored.has(row.event_id)) continue;
    stored.set(row.event_id, { duplicate: true, decision: row.decision, reason: row.reason, flags: JSON.parse(row.flags) as string[] });
  }
  return stored;
}

/**
 * Record the school doctor's re-check of the day's first fever at 07:40: 37.0 °C, so the
 * alert closes as normal. Only a pupil's alert is taken, because a visitor's takes no
 * re-check. When an earlier replay of the day already re-checked it, return that re-check.
 */
async function recheckFirstFever(ctx: AppContext, school: { id: string; code: string }, day: string): Promise<ReplayRecheck | undefined> {
  const alert = await ctx.db
    .selectFrom('alerts')
    .innerJoin('gate_events', 'gate_events.id', 'alerts.gate_event_id')
    .select('alerts.id')
    .where('alerts.school_id', '=', school.id)
    .where('alerts.kind', '=', 'fever')
    .where('alerts.person_id', 'is not', null)
    .where('gate_events.day', '=', day)
    .where('gate_events.event_id', 'like', `demo-${day}-%`)
    .orderBy('gate_events.occurred_at')
    .orderBy('alerts.id')
    .executeTakeFirst();
  if (!alert) return undefined;

  const [earlier] = await listRechecks(ctx.db, alert.id);
  if (earlier) {
    return { at: formatLocalTime(Number(earlier.measured_at)), temperature: Number(earlier.temperature), result: recheckLabel(earlier.result), alreadyRecorded: true };
  }
  const at = instantOf(day, '07:40');
  const outcome = await recordRecheck({ ...ctx, now: () => at }, school.code, alert.id, { temperature: 37.0, measuredBy: '校医' });
  return { at: formatLocalTime(at), temperature: 37.0, result: recheckLabel(outcome.result), alreadyRecorded: false };
}

function recheckLabel(result: 'normal' | 'fever'): string {
  return result === 'normal' ? '复测正常' : '复测仍发热';
}
