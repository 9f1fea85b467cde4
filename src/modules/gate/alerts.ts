import type { Kysely, Transaction } from 'kysely';
import type { AppContext } from '../../context.js';
import type { CodeColor, Database, PersonTable } from '../../db/schema.js';
import { MAX_BODY_TEMPERATURE_C, MIN_BODY_TEMPERATURE_C } from '../../shared/body-temperature.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { formatLocalDateTime, formatLocalTime, minuteOfDay, parseClock, schoolDay } from '../../shared/time.js';
import { getSchoolDayStatus } from '../calendar/service.js';
import { enqueueNotice, type NoticeInput } from '../notify/outbox.js';
import { getContacts, getSchoolByCodeOrThrow, listManagement, listStaffByRole } from '../people/service.js';
import type { EntryAlert } from './entry-policy.js';
import { readGateSettings } from './gate-settings.js';
import * as store from './store.js';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Alerts the gate raises and the notices they cause. Recipients are looked up before
 * the event's transaction (people are read through the people service), and the plan
 * is written inside it, so an event, its alert and its notices commit together.
 */

export interface AlertPlan {
  alerts: store.AlertRow[];
  notices: NoticeInput[];
}

export interface AlertSubject {
  schoolId: string;
  person: store.GatePerson | undefined;
  device: store.DeviceRow;
  gateEventId: string;
  /** The device's event id; with the device id it makes every key deterministic. */
  eventId: string;
  occurredAt: number;
  temperature: number | null;
  codeColor: CodeColor | null;
}

const COLOR_NAMES: Record<CodeColor, string> = { green: '绿码', yellow: '黄码', red: '红码', unknown: '未知' };

function laneName(device: store.DeviceRow): string {
  return device.lane ? `${device.lane}（${device.name}）` : device.name;
}

function personLabel(person: store.GatePerson | undefined): string {
  if (!person) return '未识别人员';
  return person.class_name ? `${person.class_name} ${person.name}` : person.name;
}

/** Add a notice to a staff member: DingTalk when they have an account, else only the in-app inbox. */
function addStaffMessage(plan: AlertPlan, schoolId: string, recipient: PersonTable, kind: string, title: string, body: string, key: string): void {
  plan.notices.push({
    schoolId,
    channel: recipient.dingtalk_user_id ? 'dingtalk_work' : 'inbox',
    kind,
    recipientPersonId: recipient.id,
    recipientDingtalkId: recipient.dingtalk_user_id,
    title,
    body,
    idempotencyKey: key,
  });
}

function uniqueById(people: PersonTable[]): PersonTable[] {
  const seen = new Set<string>();
  return people.filter((p) => (seen.has(p.id) ? false : (seen.add(p.id), true)));
}

/**
 * Plan the alerts of one entry. A fever goes to the head teacher and the school doctor
 * (for staff: the doctor and management). A red or yellow code goes to the head teacher
 * and management. An unknown face is an alert for the guard only, with no notice.
 */
export async function planEntryAlerts(ctx: AppContext, subject: AlertSubject, kinds: EntryAlert[]): Promise<AlertPlan> {
  const plan: AlertPlan = { alerts: [], notices: [] };
  if (kinds.length === 0) return plan;

  const { person, device } = subject;
  const baseKey = `gate:${device.id}:${subject.eventId}`;
  const when = formatLocalTime(subject.occurredAt);
  const who = personLabel(person);
  const headTeacher = person ? ((await getContacts(ctx, [person.id])).get(person.id)?.headTeacher ?? null) : null;

  for (const kind of kinds) {
    if (kind === 'unknown_face') {
      plan.alerts.push(alertRow(ctx, subject, 'unknown_face', '未识别人员', `${when} ${laneName(device)} 人脸未识别，请门卫人工核验`, `${baseKey}:unknown_face`));
      continue;
    }

    if (kind === 'fever') {
      const reading = subject.temperature === null ? '终端判定体温异常' : `体温 ${subject.temperature.toFixed(1)} °C`;
      const title = '体温异常提醒';
      const body = `**${who}** ${when} 在${laneName(device)}入校测温异常（${reading}），已引导至临时观察点复测，请关注。`;
      plan.alerts.push(alertRow(ctx, subject, 'fever', `${who} 体温异常`, body, `${baseKey}:fever`));

      const doctors = await listStaffByRole(ctx, subject.schoolId, 'school_doctor');
      const others = person?.kind === 'staff' ? await listManagement(ctx, subject.schoolId) : [];
      const recipients = uniqueById([...(headTeacher ? [headTeacher] : []), ...doctors, ...others]);
      for (const recipient of recipients) addStaffMessage(plan, subject.schoolId, recipient, 'gate_fever', title, body, `${baseKey}:fever:${recipient.id}`);
      continue;
    }

    const color = subject.codeColor ?? 'unknown';
    const title = '健康码异常提醒';
    const body = `**${who}** ${when} 在${laneName(device)}入校，健康码为${COLOR_NAMES[color]}，已禁止通行，请跟进。`;
    plan.alerts.push(alertRow(ctx, subject, 'code', `${who} 健康码${COLOR_NAMES[color]}`, body, `${baseKey}:code`));
    const management = await listManagement(ctx, subject.schoolId);
    const recipients = uniqueById([...(headTeacher ? [headTeacher] : []), ...management]);
    for (const recipient of recipients) addStaffMessage(plan, subject.schoolId, recipient, 'gate_code', title, body, `${baseKey}:code:${recipient.id}`);
  }
  return plan;
}

/** A visitor refused at the gate, for the alert it raises. */
export interface VisitorAlertSubject {
  schoolId: string;
  /** The visitor check's id; it makes the alert's keys deterministic. */
  checkId: string;
  visitorName: string;
  hostName: string;
  occurredAt: number;
  temperature: number;
  codeColor: CodeColor;
}

/**
 * Plan the alerts of a visitor refused at the gate, as for a pupil: a fever goes to the
 * school doctor and management, a red or yellow code to management. The alert names no
 * person of the roster, so it closes with a note rather than a re-check.
 */
export async function planVisitorAlerts(ctx: AppContext, subject: VisitorAlertSubject, kinds: Array<'fever' | 'code'>): Promise<AlertPlan> {
  const plan: AlertPlan = { alerts: [], notices: [] };
  const baseKey = `visitor:${subject.checkId}`;
  const when = formatLocalTime(subject.occurredAt);
  const who = `访客 ${subject.visitorName}（接待人：${subject.hostName}）`;
  const row = (kind: 'fever' | 'code', title: string, detail: string): store.AlertRow => ({
    id: newId(ctx.now()),
    school_id: subject.schoolId,
    person_id: null,
    device_id: null,
    gate_event_id: null,
    kind,
    status: 'open',
    title,
    detail,
    dedupe_key: `${baseKey}:${kind}`,
    created_at: ctx.now(),
    acknowledged_at: null,
    acknowledged_note: null,
    acknowledged_by: null,
    closed_at: null,
    closed_note: null,
  });
  const management = await listManagement(ctx, subject.schoolId);
  for (const kind of kinds) {
    if (kind === 'fever') {
      const body = `**${who}** ${when} 在校门测温异常（体温 ${subject.temperature.toFixed(1)} °C），已禁止入校并引导至临时观察点复测，请关注。`;
      plan.alerts.push(row('fever', `访客 ${subject.visitorName} 体温异常`, body));
      const doctors = await listStaffByRole(ctx, subject.schoolId, 'school_doctor');
      for (const recipient of uniqueById([...doctors, ...management])) {
        addStaffMessage(plan, subject.schoolId, recipient, 'gate_fever', '访客体温异常提醒', body, `${baseKey}:fever:${recipient.id}`);
      }
      continue;
    }
    const color = COLOR_NAMES[subject.codeColor];
    const body = `**${who}** ${when} 在校门核验，健康码为${color}，已禁止入校，请跟进。`;
    plan.alerts.push(row('code', `访客 ${subject.visitorName} 健康码${color}`, body));
    for (const recipient of management) addStaffMessage(plan, subject.schoolId, recipient, 'gate_code', '访客健康码异常提醒', body, `${baseKey}:code:${recipient.id}`);
  }
  return plan;
}

function alertRow(ctx: AppContext, subject: AlertSubject, kind: store.AlertRow['kind'], title: string, detail: string, dedupeKey: string): store.AlertRow {
  return {
    id: newId(ctx.now()),
    school_id: subject.schoolId,
    person_id: subject.person?.id ?? null,
    device_id: subject.device.id,
    gate_event_id: subject.gateEventId,
    kind,
    status: 'open',
    title,
    detail,
    dedupe_key: dedupeKey,
    created_at: ctx.now(),
    acknowledged_at: null,
    acknowledged_note: null,
    acknowledged_by: null,
    closed_at: null,
    closed_note: null,
  };
}

/** Write a plan inside the caller's transaction; returns the alerts that were new. */
export async function writeAlertPlan(trx: Executor, plan: AlertPlan, now: number): Promise<store.AlertRow[]> {
  const inserted: store.AlertRow[] = [];
  for (const alert of plan.alerts) {
    if (await store.insertAlert(trx, alert)) inserted.push(alert);
  }
  if (inserted.length === 0 && plan.alerts.length > 0) return inserted;
  for (const notice of plan.notices) await enqueueNotice(trx, notice, now);
  return inserted;
}

export interface AlertView {
  id: string;
  kind: store.AlertRow['kind'];
  status: store.AlertRow['status'];
  title: string;
  detail: string;
  personId: string | null;
  deviceId: string | null;
  gateEventId: string | null;
  createdAt: number;
  acknowledgedAt: number | null;
  acknowledgedNote: string | null;
  acknowledgedBy: string | null;
  closedAt: number | null;
  closedNote: string | null;
}

export function toAlertView(row: store.AlertRow): AlertView {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    title: row.title,
    detail: row.detail,
    personId: row.person_id,
    deviceId: row.device_id,
    gateEventId: row.gate_event_id,
    createdAt: row.created_at,
    acknowledgedAt: row.acknowledged_at,
    acknowledgedNote: row.acknowledged_note,
    acknowledgedBy: row.acknowledged_by,
    closedAt: row.closed_at,
    closedNote: row.closed_note,
  };
}

export async function listAlerts(ctx: AppContext, schoolId: string, options: { status?: store.AlertRow['status']; kind?: store.AlertRow['kind']; limit?: number }): Promise<AlertView[]> {
  const rows = await store.listAlerts(ctx.db, schoolId, { ...options, limit: Math.min(options.limit ?? 100, 500) });
  return rows.map(toAlertView);
}

export interface RecheckInput {
  temperature: number;
  /** Name of the person who measured: the signed-in user's display name. */
  measuredBy: string;
  note?: string | null;
}

export interface RecheckOutcome {
  recheckId: string;
  result: 'normal' | 'fever';
  alert: AlertView;
  /** True when the pupil now counts as present. */
  countedPresent: boolean;
}

/**
 * Record a re-check at the observation point for a fever alert. Below the threshold the
 * alert closes as 复测正常 and the person counts as present from the time they reached
 * the gate. At or above it the fever is confirmed, the alert stays acknowledged and a
 * notice goes to the head teacher and the doctor to arrange the pick-up.
 */
export async function recordRecheck(ctx: AppContext, schoolCode: string, alertId: string, input: RecheckInput): Promise<RecheckOutcome> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const settings = readGateSettings(school.settings);
  const alert = await store.findAlertById(ctx.db, alertId);
  if (!alert || alert.school_id !== school.id) throw new AppError('NOT_FOUND', { what: '预警', value: alertId });
  if (alert.kind !== 'fever') throw new AppError('CONFLICT', { detail: '只有体温异常预警可以复测' });
  if (!alert.person_id) throw new AppError('CONFLICT', { detail: '访客的体温异常预警不记复测结果，请复测后填写处理说明关闭预警' });
  if (alert.status === 'closed') throw new AppError('CONFLICT', { detail: '该预警已关闭，无需再次复测' });
  // A re-check is a handheld reading typed by the doctor, so it is held to the range of a
  // typed body temperature, not to the gate sensor's plausible range.
  if (!Number.isFinite(input.temperature) || input.temperature < MIN_BODY_TEMPERATURE_C || input.temperature > MAX_BODY_TEMPERATURE_C) {
    throw new AppError('VALIDATION', { detail: `体温 ${input.temperature} ℃ 不在 ${MIN_BODY_TEMPERATURE_C} 到 ${MAX_BODY_TEMPERATURE_C} ℃ 之间，请重新测量后填写` });
  }

  const now = ctx.now();
  const result: RecheckOutcome['result'] = input.temperature >= settings.feverThresholdC ? 'fever' : 'normal';
  const recheckId = newId(now);
  const event = alert.gate_event_id ? await store.findGateEventById(ctx.db, alert.gate_event_id) : undefined;
  const contacts = (await getContacts(ctx, [alert.person_id])).get(alert.person_id);
  const reading = input.temperature.toFixed(1);

  const plan: AlertPlan = { alerts: [], notices: [] };
  if (result === 'fever' && contacts) {
    const who = contacts.className ? `${contacts.className} ${contacts.person.name}` : contacts.person.name;
    const body = `**${who}** ${formatLocalDateTime(now)} 在临时观察点复测体温 ${reading} °C，仍高于 ${settings.feverThresholdC} °C，请联系家长接回并按规定就医。`;
    const recipients = uniqueById([
      ...(contacts.headTeacher ? [contacts.headTeacher] : []),
      ...(await listStaffByRole(ctx, school.id, 'school_doctor')),
    ]);
    for (const recipient of recipients) addStaffMessage(plan, school.id, recipient, 'gate_fever_confirmed', '复测仍发热', body, `gate:recheck:${recheckId}:${recipient.id}`);
  }

  const arrivedAt = event?.occurred_at ?? now;
  const dayStart = parseClock(school.settings.dayStartsAt);
  const { isSchoolDay } = await getSchoolDayStatus(ctx, school, schoolDay(arrivedAt));
  const changes: Partial<store.AlertRow> =
    result === 'normal'
      ? { status: 'closed', closed_at: now, closed_note: `复测正常（${reading} °C）` }
      : { status: 'acknowledged', acknowledged_at: now, closed_note: `复测仍发热（${reading} °C）` };

  await ctx.db.transaction().execute(async (trx) => {
    await store.insertRecheck(trx, {
      id: recheckId,
      alert_id: alert.id,
      school_id: school.id,
      person_id: alert.person_id!,
      temperature: input.temperature,
      measured_at: now,
      measured_by: input.measuredBy,
      result,
      note: input.note ?? null,
      created_at: now,
    });
    await store.updateAlert(trx, alert.id, changes);
    if (result === 'normal') {
      await store.upsertAttendance(trx, {
        person_id: alert.person_id!,
        day: schoolDay(arrivedAt),
        school_id: school.id,
        first_pass_at: arrivedAt,
        late: isSchoolDay && dayStart !== undefined && minuteOfDay(arrivedAt) > dayStart ? 1 : 0,
        gate_event_id: event?.id ?? alert.id,
        source: 'recheck',
      });
    }
    for (const notice of plan.notices) await enqueueNotice(trx, notice, now);
    });

  ctx.log.info({ alertId: alert.id, schoolId: school.id, result }, 'fever re-check recorded');
  const updated = await store.findAlertById(ctx.db, alert.id);
  return { recheckId, result, alert: toAlertView(updated!), countedPresent: result === 'normal' };
}

/** Roles that may close any gate alert; a guard may close unknown-face alerts only. */
const CLOSE_ANY_ROLES = new Set(['district_admin', 'school_admin', 'school_doctor']);

/**
 * Acknowledge an open alert (someone is on it) or close it with a note, for example after
 * a guard checked an unknown person by hand. A fever alert closes by re-check unless the
 * school doctor or an admin closes it with a note (the pupil went home).
 */
export async function updateAlertStatus(
  ctx: AppContext,
  schoolCode: string,
  alertId: string,
  input: { action: 'acknowledge' | 'close'; note: string | null; role: string; actorName?: string },
): Promise<AlertView> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const alert = await store.findAlertById(ctx.db, alertId);
  if (!alert || alert.school_id !== school.id) throw new AppError('NOT_FOUND', { what: '预警', value: alertId });
  if (alert.status === 'closed') throw new AppError('CONFLICT', { detail: '该预警已关闭' });
  if (!CLOSE_ANY_ROLES.has(input.role) && alert.kind !== 'unknown_face') {
    throw new AppError('FORBIDDEN', { detail: '门卫只能处理未识别人员预警' });
  }

  const now = ctx.now();
  if (input.action === 'acknowledge') {
    if (alert.status === 'acknowledged') throw new AppError('CONFLICT', { detail: '该预警已确认' });
    const note = input.note?.trim() || null;
    await store.updateAlert(ctx.db, alert.id, { status: 'acknowledged', acknowledged_at: now, acknowledged_note: note, acknowledged_by: input.actorName ?? null });
  } else {
    const note = input.note?.trim();
    if (!note) throw new AppError('VALIDATION', { detail: '关闭预警需要填写处理说明，例如“已人工核验，为来访家长”' });
    await store.updateAlert(ctx.db, alert.id, { status: 'closed', closed_at: now, closed_note: note });
  }
  ctx.log.info({ alertId: alert.id, schoolId: school.id, action: input.action }, 'gate alert updated');
  return toAlertView((await store.findAlertById(ctx.db, alert.id))!);
}
