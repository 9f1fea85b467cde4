import type { Kysely, Transaction } from 'kysely';
import type { AppContext } from '../../context.js';
import type { ContactResult, Database } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { formatLocalDateTime, instantOf, schoolDay } from '../../shared/time.js';
import { getClassesByIds, getPersonNames } from '../people/class-roster.js';
import { getSchoolByIdOrThrow } from '../people/service.js';
import { isCalendarDay, readCheckSettings } from './check-settings.js';
import { evaluateClassClusters } from './clusters.js';
import { findDiagnosis } from './notifiable-diseases.js';
import { addDays } from '../calendar/calendar-rules.js';
import * as store from './store.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** The signed-in user behind a change, kept in the history. */
interface Actor {
  userId: string;
  name: string;
}

export const CONTACT_RESULT_LABELS: Record<ContactResult, string> = {
  reached: '已联系上',
  no_answer: '无人接听',
  unreachable: '无法接通',
  other: '其他',
};

/**
 * Open the follow-up of an illness absence, or join the pupil's open one: one open
 * follow-up per pupil, and a late entry for an earlier day moves the episode's start back.
 * An absence inside an episode that was already closed by a certificate opens nothing.
 * Runs in the caller's transaction. Returns true when a follow-up was created.
 */
export async function openFollowUpForAbsence(
  trx: Executor,
  input: { schoolId: string; classId: string; personId: string; day: string; checkId: string; symptoms: string[]; actor: Actor; now: number },
): Promise<boolean> {
  const open = await store.findOpenFollowUp(trx, input.personId);
  if (open) {
    const symptoms = [...new Set([...(JSON.parse(open.symptoms) as string[]), ...input.symptoms])];
    const changes: Partial<store.FollowUpRow> = { symptoms: JSON.stringify(symptoms), updated_at: input.now };
    if (input.day < open.absence_began_on) changes.absence_began_on = input.day;
    if (changes.absence_began_on || symptoms.length !== (JSON.parse(open.symptoms) as string[]).length) await store.updateFollowUp(trx, open.id, changes);
    return false;
  }

  const covering = await trx
    .selectFrom('absence_follow_ups')
    .select('id')
    .where('person_id', '=', input.personId)
    .where('status', '=', 'closed')
    .where('absence_began_on', '<=', input.day)
    .where('certificate_issued_on', '>=', input.day)
    .executeTakeFirst();
  if (covering) return false;

  const id = newId(input.now);
  const inserted = await store.insertFollowUp(trx, {
    id,
    school_id: input.schoolId,
    class_id: input.classId,
    person_id: input.personId,
    open_key: input.personId,
    status: 'open',
    absence_began_on: input.day,
    source_check_id: input.checkId,
    symptoms: JSON.stringify(input.symptoms),
    saw_doctor: null,
    diagnosis: null,
    diagnosis_note: null,
    expected_return_on: null,
    certificate_issued_on: null,
    certificate_issuer: null,
    certificate_note: null,
    certificate_recorded_by: null,
    certificate_recorded_at: null,
    closed_at: null,
    closed_note: null,
    created_at: input.now,
    updated_at: input.now,
  });
  if (inserted) {
    await history(trx, { schoolId: input.schoolId, followUpId: id, personId: input.personId, action: 'open', before: null, after: { absenceBeganOn: input.day, symptoms: input.symptoms }, actor: input.actor, now: input.now });
  }
  return inserted;
}

/**
 * Cancel the open follow-up that a check opened when that check is corrected to
 * something other than an illness absence, unless a later illness absence of the same
 * episode keeps it open (the follow-up then points at that check). A follow-up with
 * guardian contacts stays open for the doctor to close. Returns true when cancelled.
 */
export async function cancelFollowUpOfCorrectedCheck(trx: Executor, input: { personId: string; checkId: string; actor: Actor; now: number }): Promise<boolean> {
  const open = await store.findOpenFollowUp(trx, input.personId);
  if (!open || open.source_check_id !== input.checkId) return false;

  const other = await trx
    .selectFrom('daily_checks')
    .select(['id', 'day'])
    .where('person_id', '=', input.personId)
    .where('id', '!=', input.checkId)
    .where('day', '>=', open.absence_began_on)
    .where('status', '=', 'absent')
    .where('absence_reason', '=', 'illness')
    .orderBy('day')
    .executeTakeFirst();
  if (other) {
    await store.updateFollowUp(trx, open.id, { source_check_id: other.id, absence_began_on: other.day, updated_at: input.now });
    return false;
  }
  if ((await store.listContacts(trx, [open.id])).length > 0) return false;

  const note = '晨午检已更正为非因病缺勤，追踪自动撤销';
  await store.updateFollowUp(trx, open.id, { status: 'cancelled', open_key: null, closed_at: input.now, closed_note: note, updated_at: input.now });
  await history(trx, { schoolId: open.school_id, followUpId: open.id, personId: open.person_id, action: 'cancel', before: { status: 'open' }, after: { status: 'cancelled', note }, actor: input.actor, now: input.now });
  return true;
}

/** A follow-up as screens and the daily report read it. */
export interface FollowUpView {
  id: string;
  schoolId: string;
  classId: string;
  className: string;
  personId: string;
  name: string;
  status: store.FollowUpRow['status'];
  absenceBeganOn: string;
  /** Calendar days from the start of the absence to today. */
  daysSinceStart: number;
  symptoms: string[];
  sawDoctor: boolean | null;
  diagnosis: string | null;
  diagnosisNote: string | null;
  expectedReturnOn: string | null;
  certificate: { issuedOn: string; issuer: string | null; note: string | null; recordedBy: string | null; recordedAt: number | null } | null;
  closedAt: number | null;
  closedNote: string | null;
  contacts: Array<{ id: string; contactedAt: number; result: ContactResult; note: string | null; recordedByName: string }>;
  createdAt: number;
  updatedAt: number;
}

async function toViews(ctx: AppContext, rows: store.FollowUpRow[]): Promise<FollowUpView[]> {
  const names = await getPersonNames(ctx, rows.map((r) => r.person_id));
  const classes = await getClassesByIds(ctx, rows.map((r) => r.class_id));
  const contacts = await store.listContacts(ctx.db, rows.map((r) => r.id));
  const today = schoolDay(ctx.now());
  return rows.map((row) => ({
    id: row.id,
    schoolId: row.school_id,
    classId: row.class_id,
    className: classes.get(row.class_id)?.name ?? '',
    personId: row.person_id,
    name: names.get(row.person_id) ?? '',
    status: row.status,
    absenceBeganOn: row.absence_began_on,
    daysSinceStart: Math.max(0, Math.round((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${row.absence_began_on}T00:00:00Z`)) / 86_400_000)),
    symptoms: JSON.parse(row.symptoms) as string[],
    sawDoctor: row.saw_doctor === null ? null : row.saw_doctor === 1,
    diagnosis: row.diagnosis,
    diagnosisNote: row.diagnosis_note,
    expectedReturnOn: row.expected_return_on,
    certificate: row.certificate_issued_on
      ? { issuedOn: row.certificate_issued_on, issuer: row.certificate_issuer, note: row.certificate_note, recordedBy: row.certificate_recorded_by, recordedAt: row.certificate_recorded_at }
      : null,
    closedAt: row.closed_at,
    closedNote: row.closed_note,
    contacts: contacts
      .filter((c) => c.follow_up_id === row.id)
      .map((c) => ({ id: c.id, contactedAt: c.contacted_at, result: c.result, note: c.note, recordedByName: c.recorded_by_name })),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }));
}

/** Open follow-ups of a school, oldest absence last. For the doctor's page and the daily report. */
export async function listOpenFollowUps(ctx: AppContext, schoolId: string, classId?: string): Promise<FollowUpView[]> {
  return toViews(ctx, await store.listFollowUps(ctx.db, { schoolId, status: 'open', classId }));
}

/** Follow-ups of a school in any state, newest absence first. */
export async function listFollowUps(ctx: AppContext, schoolId: string, filter: { status?: store.FollowUpRow['status']; classId?: string } = {}): Promise<FollowUpView[]> {
  return toViews(ctx, await store.listFollowUps(ctx.db, { schoolId, ...filter, limit: 300 }));
}

export async function getFollowUpOrThrow(ctx: AppContext, schoolId: string, id: string): Promise<FollowUpView> {
  const row = await store.findFollowUpById(ctx.db, id);
  if (!row || row.school_id !== schoolId) throw new AppError('NOT_FOUND', { what: '缺勤追踪', value: id });
  return (await toViews(ctx, [row]))[0]!;
}

async function findOpenOrThrow(ctx: AppContext, schoolId: string, id: string): Promise<store.FollowUpRow> {
  const row = await store.findFollowUpById(ctx.db, id);
  if (!row || row.school_id !== schoolId) throw new AppError('NOT_FOUND', { what: '缺勤追踪', value: id });
  if (row.status !== 'open') throw new AppError('CONFLICT', { detail: `该缺勤追踪已${row.status === 'closed' ? '结案' : '撤销'}，不能再修改` });
  return row;
}

export interface FollowUpUpdate {
  symptoms?: string[];
  sawDoctor?: boolean | null;
  diagnosis?: string | null;
  diagnosisNote?: string | null;
  expectedReturnOn?: string | null;
}

/**
 * Change a follow-up's symptoms, doctor visit, diagnosis or expected return. Values are
 * checked first (symptoms from the school's list, a diagnosis from the list, an expected
 * return not before the absence began); the change is kept in the history and the
 * cluster rule runs again for the class.
 */
export async function updateFollowUp(ctx: AppContext, actor: Actor, schoolId: string, id: string, update: FollowUpUpdate): Promise<FollowUpView> {
  const row = await findOpenOrThrow(ctx, schoolId, id);
  const school = await getSchoolByIdOrThrow(ctx, schoolId);
  const settings = readCheckSettings(school.settings);
  const problems: string[] = [];
  const changes: Partial<store.FollowUpRow> = {};
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  const note = (field: string, oldValue: unknown, newValue: unknown) => {
    if (JSON.stringify(oldValue) === JSON.stringify(newValue)) return;
    before[field] = oldValue;
    after[field] = newValue;
  };

  if (update.symptoms !== undefined) {
    const known = new Set(settings.symptoms.map((s) => s.code));
    for (const code of update.symptoms) if (!known.has(code)) problems.push(`症状“${code}”不在本校症状列表中`);
    const symptoms = settings.symptoms.map((s) => s.code).filter((code) => update.symptoms!.includes(code));
    changes.symptoms = JSON.stringify(symptoms);
    note('symptoms', JSON.parse(row.symptoms), symptoms);
  }
  if (update.sawDoctor !== undefined) {
    changes.saw_doctor = update.sawDoctor === null ? null : update.sawDoctor ? 1 : 0;
    note('sawDoctor', row.saw_doctor === null ? null : row.saw_doctor === 1, update.sawDoctor);
  }
  if (update.diagnosis !== undefined) {
    if (update.diagnosis !== null && !findDiagnosis(update.diagnosis)) problems.push(`诊断“${update.diagnosis}”不在传染病诊断列表中，请从列表选择，列表外的请选“其他”并填写说明`);
    changes.diagnosis = update.diagnosis;
    note('diagnosis', row.diagnosis, update.diagnosis);
  }
  if (update.diagnosisNote !== undefined) {
    const text = update.diagnosisNote?.trim() || null;
    if (text && text.length > 200) problems.push('诊断说明超过 200 个字，请精简');
    changes.diagnosis_note = text;
    note('diagnosisNote', row.diagnosis_note, text);
  }
  if (update.expectedReturnOn !== undefined) {
    const day = update.expectedReturnOn;
    if (day !== null && !isCalendarDay(day)) problems.push(`预计返校日期“${day}”无效，请写 YYYY-MM-DD`);
    else if (day !== null && day < row.absence_began_on) problems.push(`预计返校日期“${day}”早于缺勤开始日期 ${row.absence_began_on}`);
    changes.expected_return_on = day;
    note('expectedReturnOn', row.expected_return_on, day);
  }
  if (problems.length > 0) throw new AppError('VALIDATION', { detail: problems.join('；') }, { problems });
  if (Object.keys(after).length === 0) return getFollowUpOrThrow(ctx, schoolId, id);

  const now = ctx.now();
  await ctx.db.transaction().execute(async (trx) => {
    await store.updateFollowUp(trx, id, { ...changes, updated_at: now });
    await history(trx, { schoolId, followUpId: id, personId: row.person_id, action: 'update', before, after, actor, now });
  });
  if (update.symptoms !== undefined || update.diagnosis !== undefined) await evaluateEpisode(ctx, row);
  return getFollowUpOrThrow(ctx, schoolId, id);
}

/** Add an attempt to reach the guardian; the time may not be in the future or before the absence began. */
export async function addContact(
  ctx: AppContext,
  actor: Actor,
  schoolId: string,
  id: string,
  input: { contactedAt?: number; result: ContactResult; note?: string | null },
): Promise<FollowUpView> {
  const row = await findOpenOrThrow(ctx, schoolId, id);
  const now = ctx.now();
  const contactedAt = input.contactedAt ?? now;
  if (!Number.isFinite(contactedAt) || contactedAt > now + 5 * 60_000) {
    throw new AppError('VALIDATION', { detail: `联系时间“${Number.isFinite(contactedAt) ? formatLocalDateTime(contactedAt) : contactedAt}”晚于现在，请填写实际联系的时间` });
  }
  if (contactedAt < instantOf(row.absence_began_on)) {
    throw new AppError('VALIDATION', { detail: `联系时间“${formatLocalDateTime(contactedAt)}”早于缺勤开始日期 ${row.absence_began_on}` });
  }
  if (!(input.result in CONTACT_RESULT_LABELS)) throw new AppError('VALIDATION', { detail: `联系结果“${input.result}”无效，可选：${Object.keys(CONTACT_RESULT_LABELS).join('、')}` });
  const text = input.note?.trim() || null;
  if (text && text.length > 500) throw new AppError('VALIDATION', { detail: '联系记录超过 500 个字，请精简' });

  await ctx.db.transaction().execute(async (trx) => {
    const contactId = newId(now);
    await store.insertContact(trx, { id: contactId, follow_up_id: id, contacted_at: contactedAt, result: input.result, note: text, recorded_by: actor.userId, recorded_by_name: actor.name, created_at: now });
    await store.updateFollowUp(trx, id, { updated_at: now });
    await history(trx, { schoolId, followUpId: id, personId: row.person_id, action: 'contact', before: null, after: { contactId, contactedAt, result: input.result, note: text }, actor, now });
  });
  return getFollowUpOrThrow(ctx, schoolId, id);
}

export interface CertificateInput {
  /** Day the certificate was issued, 'YYYY-MM-DD'. */
  issuedOn: string;
  /** Hospital or clinic that issued it. */
  issuer?: string | null;
  note?: string | null;
}

/**
 * Record the return-to-school certificate and close the follow-up, which lifts the gate's
 * hold on the pupil. The certificate may not be dated before the absence began or after
 * today. The caller checks the role (school doctor or school admin).
 */
export async function recordCertificate(ctx: AppContext, actor: Actor, schoolId: string, id: string, input: CertificateInput): Promise<FollowUpView> {
  const row = await findOpenOrThrow(ctx, schoolId, id);
  const now = ctx.now();
  const today = schoolDay(now);
  if (!isCalendarDay(input.issuedOn)) throw new AppError('VALIDATION', { detail: `复课证明开具日期“${input.issuedOn}”无效，请写 YYYY-MM-DD，例如 ${today}` });
  if (input.issuedOn < row.absence_began_on) {
    throw new AppError('VALIDATION', { detail: `复课证明开具日期“${input.issuedOn}”早于缺勤开始日期 ${row.absence_began_on}，请核对证明日期` });
  }
  if (input.issuedOn > today) throw new AppError('VALIDATION', { detail: `复课证明开具日期“${input.issuedOn}”晚于今天（${today}），请核对证明日期` });
  const issuer = input.issuer?.trim() || null;
  const text = input.note?.trim() || null;
  if (issuer && issuer.length > 100) throw new AppError('VALIDATION', { detail: '开具机构超过 100 个字，请精简' });
  if (text && text.length > 500) throw new AppError('VALIDATION', { detail: '备注超过 500 个字，请精简' });

  await ctx.db.transaction().execute(async (trx) => {
    await store.updateFollowUp(trx, id, {
      status: 'closed',
      open_key: null,
      certificate_issued_on: input.issuedOn,
      certificate_issuer: issuer,
      certificate_note: text,
      certificate_recorded_by: actor.name,
      certificate_recorded_at: now,
      closed_at: now,
      closed_note: '已登记复课证明',
      updated_at: now,
    });
    await history(trx, { schoolId, followUpId: id, personId: row.person_id, action: 'certificate', before: { status: 'open' }, after: { status: 'closed', issuedOn: input.issuedOn, issuer, note: text }, actor, now });
  });
  ctx.log.info({ schoolId, followUpId: id }, 'return-to-school certificate recorded');
  return getFollowUpOrThrow(ctx, schoolId, id);
}

/** History of a follow-up, oldest first. */
export async function getFollowUpHistory(ctx: AppContext, schoolId: string, id: string) {
  const row = await store.findFollowUpById(ctx.db, id);
  if (!row || row.school_id !== schoolId) throw new AppError('NOT_FOUND', { what: '缺勤追踪', value: id });
  return store.listHistory(ctx.db, [id]);
}

/** Days of an episode the cluster rule re-evaluates after a change of symptoms or diagnosis. */
const MAX_EPISODE_DAYS_EVALUATED = 14;

/**
 * Run the cluster rule again for each day of the episode up to today, because a
 * diagnosis or symptom joins the cases of every day of the absence. A failure is logged:
 * the follow-up itself is stored.
 */
async function evaluateEpisode(ctx: AppContext, row: store.FollowUpRow): Promise<void> {
  const today = schoolDay(ctx.now());
  const earliest = addDays(today, -(MAX_EPISODE_DAYS_EVALUATED - 1));
  try {
    for (let day = row.absence_began_on < earliest ? earliest : row.absence_began_on; day <= today; day = addDays(day, 1)) {
      await evaluateClassClusters(ctx, row.school_id, row.class_id, day);
    }
  } catch (error) {
    ctx.log.error({ err: error, schoolId: row.school_id, classId: row.class_id, followUpId: row.id }, 'cluster rule evaluation failed');
  }
}

async function history(
  trx: Executor,
  entry: { schoolId: string; followUpId: string; personId: string; action: string; before: Record<string, unknown> | null; after: Record<string, unknown>; actor: Actor; now: number },
): Promise<void> {
  await store.insertHistory(trx, {
    id: newId(entry.now),
    school_id: entry.schoolId,
    entity: 'follow_up',
    entity_id: entry.followUpId,
    person_id: entry.personId,
    action: entry.action,
    before: entry.before === null ? null : JSON.stringify(entry.before),
    after: JSON.stringify(entry.after),
    late: 0,
    changed_by: entry.actor.userId,
    changed_by_name: entry.actor.name,
    changed_at: entry.now,
  });
}
