import type { CodeColor, GateDecision, VisitorCodeSource } from '../../db/schema.js';
import { parseClock } from '../../shared/time.js';
import { decideEntry } from '../gate/entry-policy.js';
import type { GateSettings } from '../gate/gate-settings.js';
import { parsePhone } from '../people/roster-fields.js';
import { normalizeIdNumber, validateIdNumber } from '../people/id-number.js';
import { MAX_BODY_TEMPERATURE_C, MIN_BODY_TEMPERATURE_C } from '../../shared/body-temperature.js';

/**
 * Rules of visitors (外来人员): what a registration must hold, how ID numbers and phones
 * are masked on screens, and the decision at the gate, which is the pupils' entry policy
 * with the visitor's temperature and code. Pure: no IO and no clock.
 */

/** A body temperature typed by a guard must lie in this range, in °C. */
export const VISITOR_TEMPERATURE_MIN = MIN_BODY_TEMPERATURE_C;
export const VISITOR_TEMPERATURE_MAX = MAX_BODY_TEMPERATURE_C;

export const MAX_NAME_LENGTH = 50;
export const MAX_TEXT_LENGTH = 200;

export interface VisitorDetailsInput {
  name?: string | null;
  idNumber?: string | null;
  phone?: string | null;
  purpose?: string | null;
  hostName?: string | null;
}

export interface VisitorDetails {
  name: string;
  idNumber: string | null;
  phone: string | null;
  purpose: string;
  hostName: string | null;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

function trimmed(value: string | null | undefined): string {
  return (value ?? '').trim();
}

/**
 * Check the visitor's own fields: a name, at least one of ID number (valid check digit)
 * and mainland mobile number, and a purpose. `today` is 'YYYY-MM-DD' in Asia/Shanghai.
 */
export function checkVisitorDetails(input: VisitorDetailsInput, today: string): Checked<VisitorDetails> {
  const problems: string[] = [];
  const name = trimmed(input.name);
  if (!name) problems.push('姓名：请填写访客姓名');
  else if (name.length > MAX_NAME_LENGTH) problems.push(`姓名：不能超过 ${MAX_NAME_LENGTH} 个字`);

  const idText = trimmed(input.idNumber);
  const phoneText = trimmed(input.phone);
  let idNumber: string | null = null;
  let phone: string | null = null;
  if (!idText && !phoneText) problems.push('身份证号 / 手机号：至少填写一项');
  if (idText) {
    const checked = validateIdNumber(idText, { today });
    if (checked.ok) idNumber = checked.idNumber;
    else problems.push(`身份证号 ${maskLast4(normalizeIdNumber(idText))}：${checked.reason}`);
  }
  if (phoneText) {
    const checked = parsePhone(phoneText);
    if (checked.ok) phone = checked.value;
    else problems.push(`手机号 ${maskLast4(phoneText)}：${checked.reason}`);
  }

  const purpose = trimmed(input.purpose);
  if (!purpose) problems.push('来访事由：请填写，例如“维修教室空调”');
  else if (purpose.length > MAX_TEXT_LENGTH) problems.push(`来访事由：不能超过 ${MAX_TEXT_LENGTH} 个字`);

  const hostName = trimmed(input.hostName);
  if (hostName.length > MAX_NAME_LENGTH) problems.push(`接待人：不能超过 ${MAX_NAME_LENGTH} 个字`);

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { name, idNumber, phone, purpose, hostName: hostName || null } };
}

export interface VisitWindowInput {
  /** 'YYYY-MM-DD' */
  day?: string | null;
  /** 'HH:MM' */
  from?: string | null;
  to?: string | null;
}

export interface VisitWindow {
  day: string;
  from: string;
  to: string;
}

/**
 * Check the expected time window: a real day not before today, two clock times, and an
 * end after the start.
 */
export function checkVisitWindow(input: VisitWindowInput, today: string): Checked<VisitWindow> {
  const problems: string[] = [];
  const day = trimmed(input.day);
  const from = trimmed(input.from);
  const to = trimmed(input.to);
  if (!isCalendarDay(day)) problems.push(`到访日期：“${day}”不是有效日期，请写 YYYY-MM-DD，例如 ${today}`);
  else if (day < today) problems.push(`到访日期：${day} 已经过去，请选择今天或以后的日期`);
  const fromMinute = parseClock(from);
  const toMinute = parseClock(to);
  if (fromMinute === undefined) problems.push(`预计到达时间：“${from}”不是有效时间，请使用 HH:MM 格式，例如 09:30`);
  if (toMinute === undefined) problems.push(`预计离开时间：“${to}”不是有效时间，请使用 HH:MM 格式，例如 11:00`);
  if (fromMinute !== undefined && toMinute !== undefined && toMinute <= fromMinute) {
    problems.push(`预计离开时间：${to} 不晚于预计到达时间 ${from}，请把离开时间改到到达时间之后`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { day, from: pad(from), to: pad(to) } };
}

/** Check a body temperature typed at the gate: a number from 34 to 43 °C. */
export function checkTemperature(value: unknown): Checked<number> {
  const reading = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof reading !== 'number' || !Number.isFinite(reading)) {
    return { ok: false, problems: ['体温：请填写测得的体温（℃），例如 36.5'] };
  }
  if (reading < VISITOR_TEMPERATURE_MIN || reading > VISITOR_TEMPERATURE_MAX) {
    return {
      ok: false,
      problems: [`体温：${reading} ℃ 不在 ${VISITOR_TEMPERATURE_MIN}–${VISITOR_TEMPERATURE_MAX} ℃ 之间，请重新测量后填写（例如 36.5）`],
    };
  }
  return { ok: true, value: Math.round(reading * 10) / 10 };
}

/**
 * Check that a visitor without an ID number has the colour of the code they showed. The
 * bureau looks codes up by ID number only, so without both there is nothing to decide on:
 * the guard has not finished the check, and no denial is recorded for it.
 */
export function checkShownCode<T extends string>(hasIdNumber: boolean, shownCode: T | null | undefined): Checked<T | null> {
  if (hasIdNumber) return { ok: true, value: null };
  if (!shownCode) {
    return {
      ok: false,
      problems: ['出示的健康码：访客未登记身份证号，无法查询健康码，请选择访客出示的健康码颜色。访客无法出示健康码时不能入校，请联系学校管理人员人工核验'],
    };
  }
  return { ok: true, value: shownCode };
}

/** Check a guard's reason for a visitor who was not registered in advance. */
export function checkWalkInReason(value: string | null | undefined): Checked<string> {
  const reason = trimmed(value);
  if (!reason) return { ok: false, problems: ['未预约原因：请填写访客未提前登记的原因，例如“临时送修设备”'] };
  if (reason.length > MAX_TEXT_LENGTH) return { ok: false, problems: [`未预约原因：不能超过 ${MAX_TEXT_LENGTH} 个字`] };
  return { ok: true, value: reason };
}

function isCalendarDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

function pad(clock: string): string {
  return clock.length === 4 ? `0${clock}` : clock;
}

/** Mask all but the last 4 characters: ID numbers and phones in visitor lists. */
export function maskLast4(value: string): string {
  if (value.length <= 4) return '*'.repeat(value.length);
  return '*'.repeat(value.length - 4) + value.slice(-4);
}

/** A visitor's code for the decision: its colour and where it came from. */
export interface VisitorCode {
  color: CodeColor;
  source: VisitorCodeSource;
}

export interface VisitorDecision {
  decision: GateDecision;
  /** The gate's reason code: ok, fever, code_red, code_yellow, code_unknown. */
  reason: string;
  /** Chinese text for the guard. */
  prompt: string;
  /** Gate alerts to raise. */
  alerts: Array<'fever' | 'code'>;
}

const UNKNOWN_CODE_PROMPTS: Record<VisitorCodeSource, string> = {
  unavailable: '健康码查询失败（健康码接口暂时不可用），不能确认为绿码，禁止入校，请联系学校管理人员人工核验',
  not_found: '大数据局未查到该身份证号的健康码，禁止入校，请联系学校管理人员人工核验',
  none: '未登记身份证号，无法查询健康码：请查看访客出示的健康码，登记其颜色后再核验',
  shown: '访客出示的健康码无法确认颜色，禁止入校，请联系学校管理人员人工核验',
  bureau: '未查到健康码，禁止入校，请联系学校管理人员人工核验',
};

/**
 * Decide a visitor's entry with the pupils' entry policy: a fever or a red or yellow code
 * denies and raises the gate alert; an unknown code (lookup failed, not found, nothing to
 * look up) denies and sends the guard to staff. A failed lookup is never green.
 */
export function decideVisitorEntry(
  facts: { temperatureC: number; code: VisitorCode; occurredAt: number },
  settings: Pick<GateSettings, 'feverThresholdC' | 'sensorMinC' | 'sensorMaxC'>,
): VisitorDecision {
  const decided = decideEntry(
    {
      identity: { status: 'identified', personKind: 'staff', grade: null },
      method: 'manual',
      temperatureC: facts.temperatureC,
      code: facts.code.color === 'unknown' ? null : { color: facts.code.color, isStale: false },
      occurredAt: facts.occurredAt,
      lane: null,
      holds: [],
      // A visitor keeps no school hours: never late, and no staggered-entry window applies.
      isSchoolDay: false,
    },
    { ...settings, staleGreenCode: 'deny', missingTemperature: 'deny', entryWindows: [], dayStartsAt: '23:59' },
  );
  const alerts = decided.alerts.filter((a): a is 'fever' | 'code' => a === 'fever' || a === 'code');
  const reading = facts.temperatureC.toFixed(1);
  let prompt: string;
  switch (decided.reason) {
    case 'ok':
      prompt = `体温 ${reading} ℃ 正常，健康码绿码，准予入校`;
      break;
    case 'fever':
      prompt = `体温 ${reading} ℃，达到发热标准（${settings.feverThresholdC} ℃），禁止入校，请引导至临时观察点复测`;
      break;
    case 'code_red':
      prompt = '健康码为红码，禁止入校，已通知学校管理人员';
      break;
    case 'code_yellow':
      prompt = '健康码为黄码，禁止入校，已通知学校管理人员';
      break;
    case 'code_unknown':
      prompt = UNKNOWN_CODE_PROMPTS[facts.code.source];
      break;
    case 'sensor_error':
      prompt = `体温 ${reading} ℃ 不像有效读数，请重新测温`;
      break;
    default:
      prompt = decided.prompt;
  }
  return { decision: decided.decision, reason: decided.reason, prompt, alerts };
}
