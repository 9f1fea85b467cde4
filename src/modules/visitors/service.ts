import type { AppContext } from '../../context.js';
import type { CodeColor, VisitorCodeSource, VisitorStatus } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { formatLocalTime, instantOf, parseClock, schoolDay } from '../../shared/time.js';
import type { AuthUser } from '../auth/index.js';
import { notSchoolDayText } from '../calendar/calendar-rules.js';
import { getSchoolDayStatus } from '../calendar/service.js';
import { planVisitorAlerts, writeAlertPlan, type AlertPlan } from '../gate/alerts.js';
import { readGateSettings } from '../gate/gate-settings.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { normalizeIdNumber } from '../people/id-number.js';
import { lookupVisitorCode } from './code-lookup.js';
import * as store from './store.js';
import {
  checkShownCode,
  checkTemperature,
  checkVisitWindow,
  checkVisitorDetails,
  checkWalkInReason,
  decideVisitorEntry,
  maskLast4,
  type Checked,
  type VisitWindowInput,
  type VisitorCode,
  type VisitorDetails,
  type VisitorDetailsInput,
} from './visitor-rules.js';

/**
 * Visitors (外来人员): a host registers a visit in advance; at the gate a guard checks
 * the visitor's temperature and health code like a pupil's, records the entry and later
 * the exit; a visitor who was not registered is recorded by the guard with the reason.
 * ID numbers and phones are stored encrypted with a keyed hash, and lists show only
 * their last 4 characters.
 */

/** A visitor as screens and the daily report read it: no raw ID number or phone. */
export interface VisitorView {
  id: string;
  day: string;
  name: string;
  idNumberMasked: string | null;
  phoneMasked: string | null;
  purpose: string;
  expectedFrom: number | null;
  expectedTo: number | null;
  hostName: string;
  hostUserId: string | null;
  walkIn: boolean;
  walkInReason: string | null;
  status: VisitorStatus;
  enteredAt: number | null;
  exitedAt: number | null;
  temperature: number | null;
  codeColor: CodeColor | null;
  codeSource: VisitorCodeSource | null;
  /** The gate reason of the latest check (ok, fever, code_red, ...), or null before any. */
  reason: string | null;
  checkedAt: number | null;
}

export interface VisitorCheckOutcome {
  visitor: VisitorView;
  decision: 'pass' | 'deny';
  reason: string;
  /** Chinese text for the guard. */
  prompt: string;
  code: VisitorCode;
  temperature: number;
  /** Gate alerts raised by this check (fever, code). */
  alerts: string[];
}

export interface VisitorDayCounts {
  /** Visits registered in advance, not cancelled. */
  registered: number;
  walkIns: number;
  /** Visitors who passed the gate. */
  entered: number;
  /** Entered and not yet recorded as left. */
  inside: number;
  left: number;
  /** Visitors whose latest check refused them. */
  denied: number;
  /** Registered and not yet at the gate. */
  expected: number;
  /** Visitors with a fever at any check of the day. */
  fevers: number;
  /** Visitors with a red or yellow code at any check of the day. */
  abnormalCodes: number;
}

export interface VisitorDay {
  day: string;
  counts: VisitorDayCounts;
  visitors: VisitorView[];
}

function toView(row: store.VisitorRow): VisitorView {
  return {
    id: row.id,
    day: row.day,
    name: row.name,
    idNumberMasked: row.id_number_masked,
    phoneMasked: row.phone_masked,
    purpose: row.purpose,
    expectedFrom: row.expected_from,
    expectedTo: row.expected_to,
    hostName: row.host_name,
    hostUserId: row.host_user_id,
    walkIn: row.walk_in === 1,
    walkInReason: row.walk_in_reason,
    status: row.status,
    enteredAt: row.entered_at,
    exitedAt: row.exited_at,
    temperature: row.temperature,
    codeColor: row.code_color,
    codeSource: row.code_source,
    reason: row.reason,
    checkedAt: row.checked_at,
  };
}

/** Take the value of each check, or throw one VALIDATION error listing every problem. */
function unwrapAll<A, B>(a: Checked<A>, b: Checked<B>): [A, B] {
  const problems = [...(a.ok ? [] : a.problems), ...(b.ok ? [] : b.problems)];
  if (problems.length > 0) throw new AppError('VALIDATION', { detail: problems.join('；') });
  return [(a as { value: A }).value, (b as { value: B }).value];
}

/** The encrypted, hashed and masked columns of the visitor's ID number and phone. */
function identityColumns(ctx: AppContext, details: VisitorDetails) {
  return {
    id_number_enc: details.idNumber ? ctx.cipher.encrypt(details.idNumber) : null,
    id_number_hash: details.idNumber ? ctx.cipher.hash(details.idNumber) : null,
    id_number_masked: details.idNumber ? maskLast4(details.idNumber) : null,
    phone_enc: details.phone ? ctx.cipher.encrypt(details.phone) : null,
    phone_hash: details.phone ? ctx.cipher.hash(details.phone) : null,
    phone_masked: details.phone ? maskLast4(details.phone) : null,
  };
}

function emptyCheck() {
  return { status: 'expected' as const, entered_at: null, exited_at: null, temperature: null, code_color: null, code_source: null, reason: null, checked_at: null };
}

export type RegisterVisitorInput = VisitorDetailsInput & VisitWindowInput;

/** A registered visit, with a warning when its day has no school. */
export interface RegisteredVisitor extends VisitorView {
  /** Why the visit's day has no school in the school calendar ("2027-01-01（周五）全区放假：元旦，不是上学日"); null on a school day. */
  notSchoolDayText: string | null;
}

/**
 * Register a visit in advance. The host is the signed-in user unless a host name is given.
 * A day without school is allowed (repairs are often done then), and the reply says so.
 */
export async function registerVisitor(ctx: AppContext, actor: AuthUser, schoolCode: string, input: RegisterVisitorInput): Promise<RegisteredVisitor> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const now = ctx.now();
  const today = schoolDay(now);
  const [details, window] = unwrapAll(checkVisitorDetails(input, today), checkVisitWindow(input, today));

  const row: store.VisitorRow = {
    id: newId(now),
    school_id: school.id,
    day: window.day,
    name: details.name,
    ...identityColumns(ctx, details),
    purpose: details.purpose,
    expected_from: instantOf(window.day, window.from),
    expected_to: instantOf(window.day, window.to),
    host_user_id: details.hostName ? null : actor.id,
    host_name: details.hostName ?? actor.displayName,
    registered_by: actor.id,
    walk_in: 0,
    walk_in_reason: null,
    ...emptyCheck(),
    created_at: now,
    updated_at: now,
  };
  await store.insertVisitor(ctx.db, row);
  ctx.log.info({ schoolId: school.id, visitorId: row.id, day: row.day }, 'visitor registered');
  const dayStatus = await getSchoolDayStatus(ctx, school, row.day);
  return { ...toView(row), notSchoolDayText: dayStatus.isSchoolDay ? null : notSchoolDayText(dayStatus) };
}

export interface ArrivalInput {
  /** Body temperature in °C measured at the gate. */
  temperature: unknown;
  /** The colour of the code the visitor showed: required when no ID number is on record, ignored otherwise. */
  shownCode?: 'green' | 'yellow' | 'red' | null;
}

/**
 * Check a registered visitor at the gate: look the code up by ID number (or take the
 * code the visitor showed when only a phone is on record), decide like a pupil's entry,
 * and record the check; a pass records the entry, a fever or a red or yellow code raises
 * the gate alert.
 */
export async function recordArrival(ctx: AppContext, actor: AuthUser, schoolCode: string, visitorId: string, input: ArrivalInput): Promise<VisitorCheckOutcome> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const visitor = await findVisitorOfSchool(ctx, school.id, visitorId);
  const [temperature, shownCode] = unwrapAll(checkTemperature(input.temperature), checkShownCode(visitor.id_number_enc !== null, input.shownCode));
  const today = schoolDay(ctx.now());
  if (visitor.status === 'inside') throw new AppError('CONFLICT', { detail: `访客 ${visitor.name} 已于 ${formatLocalTime(visitor.entered_at!)} 入校，无需重复登记` });
  if (visitor.status === 'left') throw new AppError('CONFLICT', { detail: `访客 ${visitor.name} 已于 ${formatLocalTime(visitor.exited_at!)} 离校；再次来访请重新登记` });
  if (visitor.status === 'cancelled') throw new AppError('CONFLICT', { detail: `访客 ${visitor.name} 的预约已取消，请重新登记` });
  if (visitor.day !== today) {
    throw new AppError('CONFLICT', { detail: `访客 ${visitor.name} 预约的到访日期是 ${visitor.day}，不是今天；请重新登记或按未预约访客登记` });
  }
  return checkAtGate(ctx, actor, school, visitor, temperature, shownCode);
}

export interface WalkInInput extends VisitorDetailsInput, ArrivalInput {
  /** Why the visitor was not registered in advance. */
  reason?: string | null;
}

/** Record a visitor who was not registered in advance, with the guard's reason, and check them at once. */
export async function recordWalkIn(ctx: AppContext, actor: AuthUser, schoolCode: string, input: WalkInInput): Promise<VisitorCheckOutcome> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const now = ctx.now();
  const today = schoolDay(now);
  const details = checkVisitorDetails(input, today);
  const reason = checkWalkInReason(input.reason);
  const temperature = checkTemperature(input.temperature);
  // An invalid ID number is reported by the details check, so it does not also ask for a colour.
  const shownCode = checkShownCode(!details.ok || details.value.idNumber !== null, input.shownCode);
  const problems = [details, reason, temperature, shownCode].flatMap((c) => (c.ok ? [] : c.problems));
  if (problems.length > 0) throw new AppError('VALIDATION', { detail: problems.join('；') });
  const value = (details as { value: VisitorDetails }).value;

  const row: store.VisitorRow = {
    id: newId(now),
    school_id: school.id,
    day: today,
    name: value.name,
    ...identityColumns(ctx, value),
    purpose: value.purpose,
    expected_from: null,
    expected_to: null,
    host_user_id: null,
    host_name: value.hostName ?? '未指定',
    registered_by: actor.id,
    walk_in: 1,
    walk_in_reason: (reason as { value: string }).value,
    ...emptyCheck(),
    created_at: now,
    updated_at: now,
  };
  await store.insertVisitor(ctx.db, row);
  ctx.log.info({ schoolId: school.id, visitorId: row.id }, 'walk-in visitor recorded');
  return checkAtGate(ctx, actor, school, row, (temperature as { value: number }).value, (shownCode as { value: 'green' | 'yellow' | 'red' | null }).value);
}

async function checkAtGate(
  ctx: AppContext,
  actor: AuthUser,
  school: { id: string; settings: unknown },
  visitor: store.VisitorRow,
  temperature: number,
  shownCode: 'green' | 'yellow' | 'red' | null,
): Promise<VisitorCheckOutcome> {
  const settings = readGateSettings(school.settings);
  let code: VisitorCode;
  if (visitor.id_number_enc) code = await lookupVisitorCode(ctx, ctx.cipher.decrypt(visitor.id_number_enc));
  else if (shownCode) code = { color: shownCode, source: 'shown' };
  // Unreached, because recordArrival and recordWalkIn reject a missing colour first. It still never passes.
  else code = { color: 'unknown', source: 'none' };

  const now = ctx.now();
  const decided = decideVisitorEntry({ temperatureC: temperature, code, occurredAt: now }, settings);
  const checkId = newId(now);
  const plan: AlertPlan | undefined =
    decided.alerts.length > 0
      ? await planVisitorAlerts(
          ctx,
          { schoolId: school.id, checkId, visitorName: visitor.name, hostName: visitor.host_name, occurredAt: now, temperature, codeColor: code.color },
          decided.alerts,
        )
      : undefined;

  const changes: Partial<store.VisitorRow> = {
    status: decided.decision === 'pass' ? 'inside' : 'denied',
    entered_at: decided.decision === 'pass' ? now : null,
    temperature,
    code_color: code.color,
    code_source: code.source,
    reason: decided.reason,
    checked_at: now,
    updated_at: now,
  };
  await ctx.db.transaction().execute(async (trx) => {
    const updated = await store.updateVisitorIfStatus(trx, visitor.id, ['expected', 'denied'], changes);
    if (!updated) throw new AppError('CONFLICT', { detail: `访客 ${visitor.name} 刚刚已被其他门卫登记，请刷新后查看` });
    await store.insertCheck(trx, {
      id: checkId,
      visitor_id: visitor.id,
      school_id: school.id,
      checked_at: now,
      temperature,
      code_color: code.color,
      code_source: code.source,
      decision: decided.decision,
      reason: decided.reason,
      prompt: decided.prompt,
      checked_by: actor.id,
      checked_by_name: actor.displayName,
    });
    if (plan) await writeAlertPlan(trx, plan, now);
  });
  ctx.log.info({ schoolId: school.id, visitorId: visitor.id, decision: decided.decision, reason: decided.reason, codeSource: code.source }, 'visitor checked at the gate');
  return {
    visitor: toView({ ...visitor, ...changes } as store.VisitorRow),
    decision: decided.decision,
    reason: decided.reason,
    prompt: decided.prompt,
    code,
    temperature,
    alerts: decided.alerts,
  };
}

/**
 * Record a visitor's exit, now or at an earlier clock time ('HH:MM', today) the guard
 * gives. A visitor who never entered, or an exit before the entry, is refused.
 */
export async function recordExit(ctx: AppContext, actor: AuthUser, schoolCode: string, visitorId: string, input: { at?: string | null }): Promise<VisitorView> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const visitor = await findVisitorOfSchool(ctx, school.id, visitorId);
  if (visitor.status === 'left') throw new AppError('CONFLICT', { detail: `访客 ${visitor.name} 已于 ${formatLocalTime(visitor.exited_at!)} 登记离校` });
  if (visitor.status !== 'inside' || visitor.entered_at === null) {
    throw new AppError('CONFLICT', { detail: `访客 ${visitor.name} 尚未登记入校，不能登记离校；请先测温核验并登记入校` });
  }

  const now = ctx.now();
  let exitedAt = now;
  const atText = input.at?.trim();
  if (atText) {
    const minute = parseClock(atText);
    if (minute === undefined) throw new AppError('VALIDATION', { detail: `离校时间：“${atText}”不是有效时间，请使用 HH:MM 格式` });
    exitedAt = instantOf(schoolDay(visitor.entered_at), atText.padStart(5, '0'));
    if (exitedAt > now) throw new AppError('VALIDATION', { detail: `离校时间：${atText} 还没到，请填写已经发生的时间` });
    if (exitedAt < visitor.entered_at) {
      throw new AppError('VALIDATION', { detail: `离校时间：${atText} 早于入校时间 ${formatLocalTime(visitor.entered_at)}，请核对后重新填写` });
    }
  }
  const updated = await store.updateVisitorIfStatus(ctx.db, visitor.id, ['inside'], { status: 'left', exited_at: exitedAt, updated_at: now });
  if (!updated) throw new AppError('CONFLICT', { detail: `访客 ${visitor.name} 刚刚已被其他门卫登记离校，请刷新后查看` });
  ctx.log.info({ schoolId: school.id, visitorId: visitor.id, by: actor.id }, 'visitor exit recorded');
  return toView({ ...visitor, status: 'left', exited_at: exitedAt, updated_at: now });
}

/** Cancel a visit that has not reached the gate; the host, the registrant or a school admin may. */
export async function cancelVisitor(ctx: AppContext, actor: AuthUser, schoolCode: string, visitorId: string): Promise<VisitorView> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const visitor = await findVisitorOfSchool(ctx, school.id, visitorId);
  const isOwn = visitor.host_user_id === actor.id || visitor.registered_by === actor.id;
  if (!isOwn && actor.role !== 'school_admin' && actor.role !== 'district_admin') {
    throw new AppError('FORBIDDEN', { detail: '只能取消自己登记或接待的访客' });
  }
  if (visitor.status !== 'expected') throw new AppError('CONFLICT', { detail: `访客 ${visitor.name} 已到校核验，不能取消预约` });
  const now = ctx.now();
  const updated = await store.updateVisitorIfStatus(ctx.db, visitor.id, ['expected'], { status: 'cancelled', updated_at: now });
  if (!updated) throw new AppError('CONFLICT', { detail: `访客 ${visitor.name} 的状态刚刚已变化，请刷新后查看` });
  return toView({ ...visitor, status: 'cancelled', updated_at: now });
}

async function findVisitorOfSchool(ctx: AppContext, schoolId: string, visitorId: string): Promise<store.VisitorRow> {
  const visitor = await store.findVisitor(ctx.db, visitorId);
  if (!visitor || visitor.school_id !== schoolId) throw new AppError('NOT_FOUND', { what: '访客', value: visitorId });
  return visitor;
}

/** Roles that see every visitor of their school; other staff see the visitors they host or registered. */
const SEE_ALL_ROLES = new Set(['district_admin', 'school_admin', 'school_doctor', 'guard']);

export interface VisitorListQuery {
  day?: string;
  /** An ID number typed by the guard: only that visitor's visits. */
  idNumber?: string;
}

/** The day's visitors of a school as the user may see them, with counts; ID numbers masked. */
export async function listVisitorsForUser(ctx: AppContext, actor: AuthUser, schoolCode: string, query: VisitorListQuery): Promise<VisitorDay> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const day = query.day ?? schoolDay(ctx.now());
  const idText = query.idNumber?.trim();
  const rows = await store.listVisitors(ctx.db, {
    schoolId: school.id,
    day,
    hostUserId: SEE_ALL_ROLES.has(actor.role) ? undefined : actor.id,
    idNumberHash: idText ? ctx.cipher.hash(normalizeIdNumber(idText)) : undefined,
  });
  return { day, counts: await countVisitors(ctx, school.id, day, rows), visitors: rows.map(toView) };
}

/**
 * The visitors of a school on a day ('YYYY-MM-DD', Asia/Shanghai) with their counts, for
 * the daily report. Rows carry masked ID numbers and phones only.
 */
export async function listVisitorsForDay(ctx: AppContext, schoolId: string, day: string): Promise<VisitorDay> {
  const rows = await store.listVisitors(ctx.db, { schoolId, day });
  return { day, counts: await countVisitors(ctx, schoolId, day, rows), visitors: rows.map(toView) };
}

async function countVisitors(ctx: AppContext, schoolId: string, day: string, rows: store.VisitorRow[]): Promise<VisitorDayCounts> {
  const ids = new Set(rows.map((r) => r.id));
  const checks = (await store.listChecksOfDay(ctx.db, schoolId, day)).filter((c) => ids.has(c.visitor_id));
  const visitorsWith = (test: (check: store.VisitorCheckRow) => boolean) => new Set(checks.filter(test).map((c) => c.visitor_id)).size;
  const live = rows.filter((r) => r.status !== 'cancelled');
  return {
    registered: live.filter((r) => r.walk_in === 0).length,
    walkIns: live.filter((r) => r.walk_in === 1).length,
    entered: live.filter((r) => r.entered_at !== null).length,
    inside: live.filter((r) => r.status === 'inside').length,
    left: live.filter((r) => r.status === 'left').length,
    denied: live.filter((r) => r.status === 'denied').length,
    expected: live.filter((r) => r.status === 'expected').length,
    fevers: visitorsWith((c) => c.reason === 'fever'),
    abnormalCodes: visitorsWith((c) => c.code_color === 'red' || c.code_color === 'yellow'),
  };
}
