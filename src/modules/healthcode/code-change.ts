import type { CodeColor } from '../../db/schema.js';
import type { NoticeInput } from '../notify/outbox.js';
import { instantOf, minuteOfDay, parseClock, schoolDay } from '../../shared/time.js';
import type { BureauColor } from './bureau-client.js';
import * as text from './notice-text.js';

/**
 * The rules of a code change (跳码), without IO: how a bureau result moves a person's
 * stored code, when guardians receive a stay-home or may-return notice, and who receives
 * a notice of each change. The sync service feeds them rows and writes what they
 * return.
 */

export const UNKNOWN_REASON_NOT_FOUND = '健康码平台无此人记录';
export const UNKNOWN_REASON_UNAUTHORIZED = '本应用无权查询此人健康码（大数据局未授权）';
export const MISSING_FROM_ANSWER = '健康码接口未返回此人的结果';

/** A person's stored code, as the rules need it. */
export interface StoredCode {
  color: CodeColor;
  bureauUpdatedAt: number | null;
  /** Last successful fetch; null when the bureau never returned a result for this person. */
  fetchedAt: number | null;
  colorSince: number | null;
  reason: string | null;
}

/** The result of one sync for one person. */
export type Observation =
  | { kind: 'code'; color: BureauColor; updatedAt: number; reason?: string }
  | { kind: 'not_found' }
  | { kind: 'unauthorized' }
  | { kind: 'failed'; message: string };

export interface NextCode {
  color: CodeColor;
  bureauUpdatedAt: number | null;
  fetchedAt: number | null;
  lastAttemptAt: number;
  lastFailure: string | null;
  reason: string | null;
  colorSince: number | null;
}

export interface Transition {
  next: NextCode;
  /** Set when the colour changed; `from` is null for a first code that is not green. */
  change?: { from: CodeColor | null; to: CodeColor };
}

/**
 * Apply one observation to a stored code. A failed fetch never changes the colour, so a
 * failed sync never turns anyone green. A person without an earlier bureau result has
 * no colour to change from: a first green is no change, a first yellow or red is.
 */
export function applyObservation(previous: StoredCode | undefined, observation: Observation, now: number): Transition {
  if (observation.kind === 'failed') {
    return {
      next: {
        color: previous?.color ?? 'unknown',
        bureauUpdatedAt: previous?.bureauUpdatedAt ?? null,
        fetchedAt: previous?.fetchedAt ?? null,
        lastAttemptAt: now,
        lastFailure: observation.message,
        reason: previous?.reason ?? null,
        colorSince: previous?.colorSince ?? null,
      },
    };
  }

  const known = previous && previous.fetchedAt !== null ? previous : undefined;
  const color: CodeColor = observation.kind === 'code' ? observation.color : 'unknown';
  const bureauUpdatedAt = observation.kind === 'code' ? observation.updatedAt : null;
  const reason =
    observation.kind === 'code'
      ? (observation.reason ?? null)
      : observation.kind === 'not_found'
        ? UNKNOWN_REASON_NOT_FOUND
        : UNKNOWN_REASON_UNAUTHORIZED;

  const changed = known ? known.color !== color : color === 'yellow' || color === 'red';
  const keepsColor = known !== undefined && known.color === color;
  return {
    next: {
      color,
      bureauUpdatedAt,
      fetchedAt: now,
      lastAttemptAt: now,
      lastFailure: null,
      reason,
      colorSince: keepsColor ? (known.colorSince ?? bureauUpdatedAt ?? now) : (bureauUpdatedAt ?? now),
    },
    change: changed ? { from: known?.color ?? null, to: color } : undefined,
  };
}

/** True when a code counts as stale: never fetched, or fetched longer ago than the age. */
export function isStale(fetchedAt: number | null, now: number, staleAfterMinutes: number): boolean {
  return fetchedAt === null || now - fetchedAt > staleAfterMinutes * 60_000;
}

export interface StayHomeWindow {
  /** The school day ('YYYY-MM-DD', Asia/Shanghai) the notice is about. */
  targetDay: string;
  when: 'today' | 'tomorrow';
}

/**
 * Return the stay-home window that contains an instant: from `stayHomeNoticeFrom` in the evening to `stayHomeNoticeUntil`
 * the next morning (Asia/Shanghai), start included, end excluded. Returns undefined
 * outside it. A window that does not cross midnight (05:00 to 08:00) is about today.
 * The target day may have no school (Saturday after a Friday evening); the sync checks
 * the school calendar before it sends anything.
 */
export function stayHomeWindow(instant: number, settings: { stayHomeNoticeFrom: string; stayHomeNoticeUntil: string }): StayHomeWindow | undefined {
  const from = parseClock(settings.stayHomeNoticeFrom) ?? 18 * 60;
  const until = parseClock(settings.stayHomeNoticeUntil) ?? 8 * 60;
  const minute = minuteOfDay(instant);
  const today = schoolDay(instant);

  if (from <= until) {
    return minute >= from && minute < until ? { targetDay: today, when: 'today' } : undefined;
  }
  if (minute >= from) return { targetDay: schoolDay(instantOf(today, '12:00') + 24 * 3600_000), when: 'tomorrow' };
  if (minute < until) return { targetDay: today, when: 'today' };
  return undefined;
}

/** A person whose guardians may need a notice, with what the sync found. */
export interface PupilState {
  personId: string;
  name: string;
  kind: 'student' | 'staff';
  className: string | null;
  color: CodeColor;
  reason: string | null;
  colorSince: number | null;
  /** Set when this sync changed the colour. */
  change?: { id: string; from: CodeColor | null; to: CodeColor };
  headTeacher: Recipient | null;
  guardians: GuardianContact[];
}

export interface Recipient {
  id: string;
  name: string;
  dingtalkUserId: string | null;
}

export interface GuardianContact extends Recipient {
  relation: string | null;
  phoneMasked: string | null;
}

/**
 * Notices to queue. DingTalk work notices go to people with a DingTalk id; everyone else
 * gets an 'inbox' channel notice (an in-app message). Every one has an idempotency key.
 */
export interface NoticePlan {
  notices: NoticeInput[];
}

/**
 * Guardian notices for one pupil inside the stay-home window. Non-green: "请勿到校" to
 * each guardian, once per school day and colour episode (the keys repeat, so the
 * evening and morning runs send it once). Back to green by a change: "可以到校". A
 * guardian without DingTalk becomes an in-app message to the head teacher to phone.
 */
export function planGuardianNotices(schoolId: string, pupil: PupilState, window: StayHomeWindow | undefined, now: number): NoticePlan {
  const plan: NoticePlan = { notices: [] };
  if (!window || pupil.kind !== 'student') return plan;

  const nonGreen = pupil.color !== 'green';
  const backToGreen = pupil.color === 'green' && pupil.change !== undefined && pupil.change.from !== null && pupil.change.from !== 'green';
  if (!nonGreen && !backToGreen) return plan;

  const episode = nonGreen ? String(pupil.colorSince ?? 'none') : pupil.change!.id;
  const kind = nonGreen ? 'stay_home' : 'may_return';
  for (const guardian of pupil.guardians) {
    const key = `${kind === 'stay_home' ? 'stay-home' : 'may-return'}:${pupil.personId}:${window.targetDay}:${episode}:${guardian.id}`;
    const message = nonGreen ? text.stayHomeNotice(pupil, window, now) : text.mayReturnNotice(pupil, window, now);

    if (guardian.dingtalkUserId) {
      plan.notices.push({
        schoolId,
        channel: 'dingtalk_work',
        kind,
        recipientPersonId: pupil.personId,
        recipientGuardianId: guardian.id,
        recipientDingtalkId: guardian.dingtalkUserId,
        title: message.title,
        body: message.body,
        idempotencyKey: key,
      });
      continue;
    }

    const phoneRequest = text.phoneGuardianRequest(pupil, guardian, nonGreen ? 'stay_home' : 'may_return', window, now);
    plan.notices.push({
      schoolId,
      channel: 'inbox',
      kind: 'phone_guardian',
      recipientPersonId: pupil.headTeacher?.id ?? null,
      recipientRole: pupil.headTeacher ? null : 'school_admin',
      title: phoneRequest.title,
      body: phoneRequest.body,
      idempotencyKey: `phone:${key}`,
    });
  }
  return plan;
}

/** One committed change, with who is responsible for the person. */
export interface ChangeForNotice {
  changeId: string;
  personId: string;
  name: string;
  kind: 'student' | 'staff';
  className: string | null;
  from: CodeColor | null;
  to: CodeColor;
  /** When the sync saw the change (epoch ms). */
  changedAt: number;
  /** The bureau's updatedAt, when it sent one. */
  bureauUpdatedAt: number | null;
  reason: string | null;
  headTeacher: Recipient | null;
}

/** Lines per DingTalk notice; a longer list ends with a count and a pointer to the platform. */
export const MAX_LINES_PER_NOTICE = 40;

/**
 * Head teacher and management notices for the changes of one run. Each recipient gets
 * one notice: the single change, or a digest when there are several. A recipient without
 * DingTalk gets the text in the app, and the school admin is asked to phone them.
 */
export function planChangeNotices(input: {
  schoolId: string;
  schoolName: string;
  runId: string;
  changes: ChangeForNotice[];
  management: Recipient[];
  now: number;
}): NoticePlan {
  const plan: NoticePlan = { notices: [] };
  if (input.changes.length === 0) return plan;

  const byTeacher = new Map<string, { teacher: Recipient; changes: ChangeForNotice[] }>();
  for (const change of input.changes) {
    if (!change.headTeacher) continue;
    const entry = byTeacher.get(change.headTeacher.id) ?? { teacher: change.headTeacher, changes: [] };
    entry.changes.push(change);
    byTeacher.set(change.headTeacher.id, entry);
  }

  for (const { teacher, changes } of byTeacher.values()) {
    addRecipientNotice(plan, input, teacher, changes, 'head_teacher');
  }
  for (const manager of input.management) {
    addRecipientNotice(plan, input, manager, input.changes, 'management');
  }
  return plan;
}

function addRecipientNotice(
  plan: NoticePlan,
  input: { schoolId: string; schoolName: string; runId: string; now: number },
  recipient: Recipient,
  changes: ChangeForNotice[],
  role: 'head_teacher' | 'management',
): void {
  const single = changes.length === 1 ? changes[0] : undefined;
  const message = single ? text.singleChangeNotice(single, role, input.now) : text.changeDigest(changes, role, input.schoolName, input.now);
  const kind = single ? 'code_change' : 'code_change_digest';
  const key = single ? `code-change:${single.personId}:${single.changeId}:${recipient.id}` : `digest:${input.runId}:${recipient.id}`;

  if (recipient.dingtalkUserId) {
    plan.notices.push({
      schoolId: input.schoolId,
      channel: 'dingtalk_work',
      kind,
      recipientPersonId: recipient.id,
      recipientDingtalkId: recipient.dingtalkUserId,
      title: message.title,
      body: message.body,
      idempotencyKey: key,
    });
    return;
  }

  plan.notices.push({
    schoolId: input.schoolId,
    channel: 'inbox',
    kind,
    recipientPersonId: recipient.id,
    title: message.title,
    body: message.body,
    idempotencyKey: `inbox:${key}`,
  });
  const phoneRequest = text.phoneStaffRequest(recipient, role, changes.length, input.now);
  plan.notices.push({
    schoolId: input.schoolId,
    channel: 'inbox',
    kind: 'phone_staff',
    recipientRole: 'school_admin',
    title: phoneRequest.title,
    body: phoneRequest.body,
    idempotencyKey: `phone:${key}`,
  });
}

export type SyncOutcomeStatus = 'succeeded' | 'partial' | 'failed' | 'interrupted';

/** Derive a run's status: any failed batch makes it partial, and only failed batches make it failed. */
export function runStatus(input: { batches: number; failedBatches: number; aborted: boolean; fatal: boolean }): SyncOutcomeStatus {
  if (input.aborted) return 'interrupted';
  if (input.fatal) return 'failed';
  if (input.failedBatches === 0) return 'succeeded';
  return input.failedBatches < input.batches ? 'partial' : 'failed';
}

/**
 * Plan the notices about a run that did not fully succeed: an
 * in-app message to the 'school_admin' role and a DingTalk notice to each manager with
 * a DingTalk id (the others see it through the school admin's message).
 */
export function planFailureNotices(input: {
  schoolId: string;
  schoolName: string;
  runId: string;
  status: SyncOutcomeStatus;
  failedPersons: number;
  total: number;
  failure: string | null;
  staleAfterMinutes: number;
  management: Recipient[];
  now: number;
}): NoticePlan {
  const plan: NoticePlan = { notices: [] };
  if (input.status === 'succeeded' || input.status === 'interrupted') return plan;

  const message = text.syncFailedNotice(input);
  plan.notices.push({
    schoolId: input.schoolId,
    channel: 'inbox',
    kind: 'sync_failed',
    recipientRole: 'school_admin',
    title: message.title,
    body: message.body,
    idempotencyKey: `sync-failed:${input.runId}:school_admin`,
  });
  for (const manager of input.management) {
    if (!manager.dingtalkUserId) continue;
    plan.notices.push({
      schoolId: input.schoolId,
      channel: 'dingtalk_work',
      kind: 'sync_failed',
      recipientPersonId: manager.id,
      recipientDingtalkId: manager.dingtalkUserId,
      title: message.title,
      body: message.body,
      idempotencyKey: `sync-failed:${input.runId}:${manager.id}`,
    });
  }
  return plan;
}
