import type { CodeColor, GateDecision, GateMethod, PersonKind } from '../../db/schema.js';
import { minuteOfDay, parseClock, weekday } from '../../shared/time.js';
import type { GateSettings } from './gate-settings.js';
import { windowOfGrade } from './entry-windows.js';

/**
 * The entry decision at a gate lane. Its input is who it is, the temperature and the
 * health code. Its output is pass or deny, a reason code, the lane's prompt, flags and
 * the alerts to raise. Pure: no IO and no clock, and every threshold is a school setting.
 */

/** The identity the lane read. `ambiguous` is a face that matched weakly or too close to a second person. */
export type Identity =
  | { status: 'identified'; personKind: PersonKind; grade: number | null }
  | { status: 'ambiguous' }
  | { status: 'unknown' };

/**
 * A reason from another module to keep a person out, for example a pupil back from an
 * illness absence without a return-to-school certificate. The gate service asks the
 * registered providers for them, and the policy denies on the first one.
 */
export interface EntryHold {
  reason: string;
  prompt: string;
}

export interface EntryFacts {
  identity: Identity;
  method: GateMethod;
  /** Degrees Celsius, or null when the lane measured nothing. */
  temperatureC: number | null;
  /** A terminal's own abnormal-temperature verdict, used when it sent no reading. */
  terminalReportsFever?: boolean;
  /** The person's current code; null when there is no record at all. */
  code: { color: CodeColor; isStale: boolean } | null;
  occurredAt: number;
  /** The lane name of the device (device.lane). */
  lane: string | null;
  holds: EntryHold[];
  /** False on a day without school in the school calendar: then no pass is late or outside its window. */
  isSchoolDay: boolean;
}

export type EntryReason =
  | 'ok'
  | 'unknown_person'
  | 'weak_match'
  | 'sensor_error'
  | 'fever'
  | 'code_red'
  | 'code_yellow'
  | 'code_unknown'
  | 'code_stale'
  | 'no_temperature';

export type EntryFlag =
  | 'late'
  | 'outside_window'
  | 'wrong_lane'
  | 'stale_code'
  | 'no_temperature'
  | 'terminal_reports_fever';

export type EntryAlert = 'fever' | 'code' | 'unknown_face';

export interface EntryDecision {
  decision: GateDecision;
  /** An EntryReason, or the reason of an EntryHold. */
  reason: EntryReason | (string & {});
  /** Short Chinese text for the lane's screen and voice. */
  prompt: string;
  flags: EntryFlag[];
  /** Alerts to raise; several can apply at once (a fever and a red code). */
  alerts: EntryAlert[];
}

export type EntryPolicySettings = Pick<
  GateSettings,
  'feverThresholdC' | 'sensorMinC' | 'sensorMaxC' | 'staleGreenCode' | 'missingTemperature' | 'entryWindows'
> & {
  /** Start of the school day, 'HH:MM'; passes after it are flagged late. */
  dayStartsAt: string;
};

export const PROMPTS = {
  passWithTemperature: '体温正常，请通行',
  pass: '验证通过，请通行',
  unknownPerson: '未识别身份，请联系门卫',
  weakMatch: '请刷卡核验',
  sensorError: '测温异常，请重新测温',
  fever: '体温异常，请到临时观察点复测',
  codeAbnormal: '健康码异常，禁止通行',
  codeUnknown: '未查到健康码，请联系门卫',
  codeStale: '健康码信息未更新，请联系门卫',
  noTemperature: '未测得体温，请重新测温',
} as const;

function deny(reason: EntryDecision['reason'], prompt: string, flags: EntryFlag[], alerts: EntryAlert[]): EntryDecision {
  return { decision: 'deny', reason, prompt, flags, alerts };
}

/**
 * Decide one entry. Checks run in this order and the first failure gives the reason:
 * identity, sensor error, fever, health code, holds, missing temperature. Alerts are
 * collected from every failing check, so a fever with a red code raises both.
 */
export function decideEntry(facts: EntryFacts, settings: EntryPolicySettings): EntryDecision {
  if (facts.identity.status === 'unknown') {
    const alerts: EntryAlert[] = facts.method === 'face' ? ['unknown_face'] : [];
    return deny('unknown_person', PROMPTS.unknownPerson, [], alerts);
  }
  if (facts.identity.status === 'ambiguous') {
    return deny('weak_match', PROMPTS.weakMatch, [], []);
  }

  const flags: EntryFlag[] = [];
  const alerts: EntryAlert[] = [];
  const reading = facts.temperatureC;
  const isSensorError = reading !== null && (reading < settings.sensorMinC || reading > settings.sensorMaxC);
  const hasFever = reading !== null ? !isSensorError && reading >= settings.feverThresholdC : facts.terminalReportsFever === true;
  if (reading === null && facts.terminalReportsFever) flags.push('terminal_reports_fever');

  const code = facts.code;
  const isCodeAbnormal = code !== null && (code.color === 'red' || code.color === 'yellow');
  if (hasFever) alerts.push('fever');
  if (isCodeAbnormal) alerts.push('code');

  if (isSensorError) return deny('sensor_error', PROMPTS.sensorError, flags, alerts);
  if (hasFever) return deny('fever', PROMPTS.fever, flags, alerts);

  if (code === null || code.color === 'unknown') return deny('code_unknown', PROMPTS.codeUnknown, flags, alerts);
  if (code.color === 'red') return deny('code_red', PROMPTS.codeAbnormal, flags, alerts);
  if (code.color === 'yellow') return deny('code_yellow', PROMPTS.codeAbnormal, flags, alerts);
  if (code.isStale) {
    if (settings.staleGreenCode === 'deny') return deny('code_stale', PROMPTS.codeStale, flags, alerts);
    flags.push('stale_code');
  }

  const hold = facts.holds[0];
  if (hold) return deny(hold.reason, hold.prompt, flags, alerts);

  if (reading === null) {
    if (settings.missingTemperature === 'deny') return deny('no_temperature', PROMPTS.noTemperature, flags, alerts);
    flags.push('no_temperature');
  }

  flags.push(...scheduleFlags(facts, settings));
  return {
    decision: 'pass',
    reason: 'ok',
    prompt: reading === null ? PROMPTS.pass : PROMPTS.passWithTemperature,
    flags,
    alerts,
  };
}

/**
 * Flags about when and where a pass happened on a school day: late after the start of the
 * school day, and, for pupils of a grade with a staggered-entry window that day, outside
 * it or at another lane. A day without school has none.
 */
function scheduleFlags(facts: EntryFacts, settings: EntryPolicySettings): EntryFlag[] {
  const flags: EntryFlag[] = [];
  if (!facts.isSchoolDay) return flags;
  const minute = minuteOfDay(facts.occurredAt);
  const dayStart = parseClock(settings.dayStartsAt);
  if (dayStart !== undefined && minute > dayStart) flags.push('late');

  const identity = facts.identity;
  if (identity.status !== 'identified' || identity.personKind !== 'student' || identity.grade === null) return flags;
  const grade = identity.grade;
  const window = windowOfGrade(settings.entryWindows, grade, weekday(facts.occurredAt));
  if (!window) return flags;

  const from = parseClock(window.from)!;
  const to = parseClock(window.to)!;
  if (minute < from || minute > to) flags.push('outside_window');
  if (window.lanes && window.lanes.length > 0 && (facts.lane === null || !window.lanes.includes(facts.lane))) flags.push('wrong_lane');
  return flags;
}
