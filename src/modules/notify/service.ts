import { randomBytes } from 'node:crypto';
import type { AppContext } from '../../context.js';
import type { OutboxStatus } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { formatLocalDateTime } from '../../shared/time.js';
import { isDingTalkError, type DingTalkClient } from './dingtalk-client.js';
import { isDuplicateContentCode } from './dingtalk-errors.js';
import { DELIVERY_STATE_LABELS, deliveryStateOf, isDeliveryState, isRetryable, statusesOf, type DeliveryState } from './delivery-state.js';
import { outboxSignals } from './outbox.js';
import * as store from './store.js';

/** A notice as the console lists it. */
export interface NoticeView {
  id: string;
  schoolId: string | null;
  channel: store.OutboxRow['channel'];
  kind: string;
  state: DeliveryState;
  stateLabel: string;
  status: OutboxStatus;
  title: string;
  body: string;
  recipientPersonId: string | null;
  recipientGuardianId: string | null;
  recipientRole: string | null;
  hasDingtalkRecipient: boolean;
  attempts: number;
  lastError: string | null;
  deliveryNote: string | null;
  createdAt: number;
  sentAt: number | null;
  nextAttemptAt: number | null;
}

export function toNoticeView(row: store.OutboxRow): NoticeView {
  const state = deliveryStateOf(row.status);
  return {
    id: row.id,
    schoolId: row.school_id,
    channel: row.channel,
    kind: row.kind,
    state,
    stateLabel: DELIVERY_STATE_LABELS[state],
    status: row.status,
    title: row.title,
    body: row.body,
    recipientPersonId: row.recipient_person_id,
    recipientGuardianId: row.recipient_guardian_id,
    recipientRole: row.recipient_role,
    hasDingtalkRecipient: Boolean(row.recipient_dingtalk_id),
    attempts: row.attempts,
    lastError: row.last_error,
    deliveryNote: row.delivery_note,
    createdAt: row.created_at,
    sentAt: row.sent_at,
    nextAttemptAt: state === 'waiting' ? row.next_attempt_at : null,
  };
}

export interface NoticeQuery {
  state?: DeliveryState;
  /** A delivery state, or one exact outbox status such as 'confirming'. */
  status?: DeliveryState | OutboxStatus;
  kind?: string;
  before?: number;
  limit?: number;
  /** Only notices to these persons; the routes pass a class's pupils and head teacher. */
  personIds?: string[];
}

/** List a school's notices, newest first, with the count of each delivery state. */
export async function listSchoolNotices(
  ctx: AppContext,
  schoolId: string,
  query: NoticeQuery,
): Promise<{ notices: NoticeView[]; counts: Record<DeliveryState, number> }> {
  const rows = await store.listNotices(ctx.db, {
    schoolId,
    statuses: statusFilter(query),
    kind: query.kind,
    before: query.before,
    personIds: query.personIds,
    limit: query.limit ?? 50,
  });

  const byStatus = await store.countNoticesByStatus(ctx.db, schoolId, query.personIds);
  const counts: Record<DeliveryState, number> = { waiting: 0, sent: 0, filtered: 0, failed: 0, dead: 0 };
  for (const [status, count] of byStatus) counts[deliveryStateOf(status)] += count;

  return { notices: rows.map(toNoticeView), counts };
}

/** Return the outbox statuses a query selects. With both `state` and `status`, a row must match both. */
function statusFilter(query: NoticeQuery): OutboxStatus[] | undefined {
  const wanted: OutboxStatus[][] = [];
  if (query.state) wanted.push(statusesOf(query.state));
  if (query.status) wanted.push(isDeliveryState(query.status) ? statusesOf(query.status) : [query.status]);
  if (wanted.length === 0) return undefined;
  return wanted.reduce((a, b) => a.filter((status) => b.includes(status)));
}

export async function getNoticeOrThrow(ctx: AppContext, id: string): Promise<store.OutboxRow> {
  const row = await store.findNoticeById(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', { what: '通知', value: id });
  return row;
}

/**
 * Send a failed, dead or filtered notice again with a fresh set of attempts. A filtered
 * notice will only arrive if its text now differs from what the user got today, or on a
 * later day.
 */
export async function retryNotice(ctx: AppContext, id: string): Promise<NoticeView> {
  const row = await getNoticeOrThrow(ctx, id);
  if (!isRetryable(row.status)) {
    throw new AppError('NOTICE_NOT_RETRYABLE', { state: DELIVERY_STATE_LABELS[deliveryStateOf(row.status)] });
  }

  const requeued = await store.requeueNotice(ctx.db, id, ctx.now());
  if (!requeued) {
    // The state changed between the read and the update (another admin retried it).
    const current = await getNoticeOrThrow(ctx, id);
    throw new AppError('NOTICE_NOT_RETRYABLE', { state: DELIVERY_STATE_LABELS[deliveryStateOf(current.status)] });
  }
  ctx.log.info({ notice: id, previousStatus: row.status }, 'notice queued again');
  outboxSignals.emit('enqueued');
  return toNoticeView(await getNoticeOrThrow(ctx, id));
}

export interface InboxView {
  id: string;
  kind: string;
  title: string;
  body: string;
  recipientPersonId: string | null;
  recipientGuardianId: string | null;
  recipientRole: string | null;
  createdAt: number;
  readAt: number | null;
  /** Delivery state of the DingTalk notice this message copies, when it copies one. */
  noticeId: string | null;
}

function toInboxView(row: store.InboxRow): InboxView {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    body: row.body,
    recipientPersonId: row.recipient_person_id,
    recipientGuardianId: row.recipient_guardian_id,
    recipientRole: row.recipient_role,
    createdAt: row.created_at,
    readAt: row.read_at,
    noticeId: row.outbox_id,
  };
}

/** Inbox messages of the school for a person and/or a role (either matches), newest first. */
export async function listInboxMessages(
  ctx: AppContext,
  schoolId: string,
  filter: { personId?: string; role?: string; unreadOnly?: boolean; limit?: number },
): Promise<InboxView[]> {
  const rows = await store.listInbox(ctx.db, { schoolId, ...filter, limit: filter.limit ?? 50 });
  return rows.map(toInboxView);
}

/** Find an inbox message of the school, or throw NOT_FOUND when the id names no message there. */
export async function getInboxMessageOrThrow(ctx: AppContext, schoolId: string, messageId: string): Promise<store.InboxRow> {
  const row = await store.findInboxMessage(ctx.db, messageId);
  if (!row || row.school_id !== schoolId) throw new AppError('NOT_FOUND', { what: '站内信', value: messageId });
  return row;
}

/** Mark a message read (a second call keeps the first time) and return when it was read. */
export async function markInboxRead(ctx: AppContext, message: store.InboxRow): Promise<number> {
  if (message.read_at !== null) return message.read_at;
  await store.markInboxRead(ctx.db, message.id, ctx.now());
  const updated = await store.findInboxMessage(ctx.db, message.id);
  return updated?.read_at ?? ctx.now();
}

/** Outcome of one channel of a test send. */
export interface ChannelTestResult {
  channel: 'dingtalk_work' | 'dingtalk_robot';
  ok: boolean;
  /** Outcome in Chinese. */
  message: string;
}

/**
 * Send a test message through each configured DingTalk channel right away, outside the
 * outbox, and report the outcome in Chinese. The work notice goes to `dingtalkUserId`. Its
 * text carries the time and a random number, so DingTalk's same-day duplicate filter does
 * not swallow a repeated test.
 */
export async function sendTestMessage(
  ctx: AppContext,
  client: DingTalkClient,
  input: { schoolName: string; dingtalkUserId?: string | null; requestedBy: string },
): Promise<{ results: ChannelTestResult[]; summary: string }> {
  if (!client.isWorkNoticeConfigured() && !client.isRobotConfigured()) throw new AppError('DINGTALK_NOT_CONFIGURED');

  const stamp = formatLocalDateTime(ctx.now());
  const title = '防控平台钉钉测试消息';
  const markdown = `### 钉钉测试消息\n\n${input.schoolName} 的 ${input.requestedBy} 于 ${stamp} 发送了这条测试消息（编号 ${randomBytes(3).toString('hex')}）。收到即表示钉钉通知配置正确，无需回复。`;
  const results: ChannelTestResult[] = [];

  if (client.isWorkNoticeConfigured()) results.push(await testWorkNotice(client, input.dingtalkUserId, title, markdown));
  if (client.isRobotConfigured()) results.push(await testRobot(client, title, markdown));

  const failed = results.filter((r) => !r.ok).length;
  const summary = failed === 0 ? `测试消息已通过 ${results.length} 个钉钉通道发出。` : `${results.length} 个钉钉通道中有 ${failed} 个测试失败，请按提示检查配置。`;
  ctx.log.info({ channels: results.map((r) => ({ channel: r.channel, ok: r.ok })) }, 'dingtalk test message sent');
  return { results, summary };
}

async function testWorkNotice(client: DingTalkClient, userId: string | null | undefined, title: string, markdown: string): Promise<ChannelTestResult> {
  if (!userId) {
    return { channel: 'dingtalk_work', ok: false, message: '工作通知未测试：没有收件人的钉钉账号。请在请求中填写钉钉 userid，或先为当前账号关联有钉钉账号的教职工。' };
  }
  try {
    const taskId = await client.sendWorkNotice({ userIds: [userId], title, markdown });
    const result = await client.getSendResult(taskId);
    if (result.invalid.includes(userId)) return { channel: 'dingtalk_work', ok: false, message: `钉钉报告收件人 ${userId} 无效（不在组织内或已离职）。` };
    const forbidden = result.forbidden.find((entry) => entry.userId === userId);
    if (forbidden) {
      const cause = isDuplicateContentCode(forbidden.code) ? '同一天已收到相同内容' : `被钉钉限流（代码 ${forbidden.code}）`;
      return { channel: 'dingtalk_work', ok: false, message: `钉钉未发送给 ${userId}：${cause}。` };
    }
    if (result.failed.includes(userId)) return { channel: 'dingtalk_work', ok: false, message: `钉钉报告发送给 ${userId} 失败，请稍后再试。` };
    if (result.read.includes(userId) || result.unread.includes(userId)) {
      return { channel: 'dingtalk_work', ok: true, message: `工作通知已送达 ${userId}（任务 ${taskId}）。` };
    }
    return { channel: 'dingtalk_work', ok: true, message: `工作通知已提交钉钉（任务 ${taskId}），发送结果稍后可见。` };
  } catch (error) {
    return { channel: 'dingtalk_work', ok: false, message: `工作通知发送失败：${reasonOf(error)}` };
  }
}

async function testRobot(client: DingTalkClient, title: string, markdown: string): Promise<ChannelTestResult> {
  try {
    await client.sendRobot({ title, markdown });
    return { channel: 'dingtalk_robot', ok: true, message: '群机器人消息已发出，请在钉钉群中查看。' };
  } catch (error) {
    return { channel: 'dingtalk_robot', ok: false, message: `群机器人发送失败：${reasonOf(error)}` };
  }
}

function reasonOf(error: unknown): string {
  if (isDingTalkError(error)) return error.details.reason;
  return '出现内部错误，请查看服务器日志';
}
