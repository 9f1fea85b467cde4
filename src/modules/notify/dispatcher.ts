import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { AppContext } from '../../context.js';
import type { Worker } from '../../workers.js';
import { createDingTalkClient, isDingTalkError, type DingTalkClient, type SendResult } from './dingtalk-client.js';
import { describeErrcode, isDuplicateContentCode } from './dingtalk-errors.js';
import { outboxSignals, postInbox, postInboxCopy, SCHOOL_ADMIN_ROLE } from './outbox.js';
import { DEFAULT_BACKOFF, isOutOfAttempts, retryDelayMs, type BackoffPolicy } from './retry-policy.js';
import { planRobotSends } from './robot-digest.js';
import * as store from './store.js';
import { planWorkBatches } from './work-batches.js';

/** Tuning of the dispatcher; every field has a default fit for production. */
export interface DispatcherOptions {
  /** Outbox rows claimed per pass. */
  batchSize?: number;
  /** How long a claim lasts before another dispatcher may take the row over, in ms. */
  leaseMs?: number;
  /** Wait between a work notice's send and the first read of its result, in ms. */
  confirmDelayMs?: number;
  /** Reads of a send result that reports nothing for a user before the notice is sent again. */
  maxConfirmChecks?: number;
  backoff?: BackoffPolicy;
  /** Pause after DingTalk reports "too fast" (130101 and the like), in ms. */
  throttleWaitMs?: number;
  /** Group-robot messages per minute; DingTalk allows 20. */
  robotPerMinute?: number;
  /** Recipients of one asyncsend_v2 call, because getsendresult supports at most 100. */
  maxUsersPerSend?: number;
  /** DingTalk calls in flight at once. */
  concurrency?: number;
  /**
   * Time one DingTalk call may take, in ms (the client's timeout plus a margin). A call
   * starts only while this much of the claim is left (at most half the lease), so a slow
   * pass puts rows back instead of sending them after another dispatcher took them over.
   */
  callBudgetMs?: number;
  /** Jitter source, in [0, 1). */
  random?: () => number;
}

type Settings = Required<DispatcherOptions> & { maxAttempts: number };

/** Counts of one pass, by outcome. */
export interface DispatchReport {
  claimed: number;
  /** Work notices handed to DingTalk, now waiting for their send result. */
  submitted: number;
  sent: number;
  filtered: number;
  failed: number;
  dead: number;
  retrying: number;
  /** Robot notices left for the next free slot. */
  deferred: number;
  /** Send results read. */
  confirmed: number;
  workCalls: number;
  robotCalls: number;
  digests: number;
}

const ROBOT_BUCKET = 'dingtalk_robot';

function resolveSettings(ctx: AppContext, options: DispatcherOptions): Settings {
  return {
    batchSize: options.batchSize ?? 200,
    leaseMs: options.leaseMs ?? 60_000,
    confirmDelayMs: options.confirmDelayMs ?? 3_000,
    maxConfirmChecks: options.maxConfirmChecks ?? 5,
    backoff: options.backoff ?? DEFAULT_BACKOFF,
    throttleWaitMs: options.throttleWaitMs ?? 60_000,
    robotPerMinute: options.robotPerMinute ?? 20,
    maxUsersPerSend: options.maxUsersPerSend ?? 100,
    concurrency: options.concurrency ?? 4,
    callBudgetMs: options.callBudgetMs ?? 15_000,
    random: options.random ?? Math.random,
    maxAttempts: ctx.config.notify.maxAttempts,
  };
}

function emptyReport(): DispatchReport {
  return { claimed: 0, submitted: 0, sent: 0, filtered: 0, failed: 0, dead: 0, retrying: 0, deferred: 0, confirmed: 0, workCalls: 0, robotCalls: 0, digests: 0 };
}

/** One pass over the outbox with everything the steps share. */
interface Pass {
  ctx: AppContext;
  client: DingTalkClient;
  settings: Settings;
  token: string;
  report: DispatchReport;
  /** Rows that became dead in this pass; the school admin hears of them at the end. */
  dead: store.OutboxRow[];
  /** When the claims of this pass run out. */
  leaseEndsAt: number;
}

/**
 * Run one dispatch pass: claim due notices and send them by channel, then read the send
 * results that are due. Safe to run in several processes at once; each row is handled by
 * one of them. Tests and benchmarks call it directly; `serve` runs it in a loop.
 */
export async function dispatchOnce(ctx: AppContext, client: DingTalkClient, options: DispatcherOptions = {}): Promise<DispatchReport> {
  const settings = resolveSettings(ctx, options);
  const pass: Pass = { ctx, client, settings, token: randomUUID(), report: emptyReport(), dead: [], leaseEndsAt: 0 };

  // New notices go first; reading send results can wait a moment longer under load.
  const claimedAt = ctx.now();
  pass.leaseEndsAt = claimedAt + settings.leaseMs;
  const rows = await store.claimDueSends(ctx.db, ctx.dialect, {
    now: claimedAt,
    leaseMs: settings.leaseMs,
    token: pass.token,
    limit: settings.batchSize,
  });
  pass.report.claimed = rows.length;

  await copyToInbox(pass, rows.filter((row) => row.channel === 'inbox'));
  await sendWorkNotices(pass, rows.filter((row) => row.channel === 'dingtalk_work'));
  await sendRobotNotices(pass, rows.filter((row) => row.channel === 'dingtalk_robot'));

  const confirming = await store.claimDueConfirmations(ctx.db, ctx.dialect, {
    now: ctx.now(),
    leaseMs: settings.leaseMs,
    token: pass.token,
    limit: settings.batchSize,
  });
  if (confirming.length > 0) await confirmWorkNotices(pass, confirming);

  await tellAdminsAboutDeadNotices(pass);

  if (rows.length > 0 || confirming.length > 0) ctx.log.info({ ...pass.report }, 'notice dispatch pass done');
  return pass.report;
}

// --- Channels ---------------------------------------------------------------------------

/** 'inbox' notices: the copy was written with the notice; make sure of it and finish. */
async function copyToInbox(pass: Pass, rows: store.OutboxRow[]): Promise<void> {
  for (const row of rows) {
    await postInboxCopy(pass.ctx.db, noticeOf(row), pass.ctx.now());
    await finish(pass, [row], { status: 'sent', sent_at: pass.ctx.now(), delivery_note: '仅站内信' });
    pass.report.sent += 1;
  }
}

async function sendWorkNotices(pass: Pass, rows: store.OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;

  if (!pass.client.isWorkNoticeConfigured()) {
    await fail(pass, rows, '未配置钉钉工作通知（FANGKONG_DINGTALK_APP_KEY、APP_SECRET、AGENT_ID），仅站内信送达');
    return;
  }
  const withoutAccount = rows.filter((row) => !row.recipient_dingtalk_id);
  await fail(pass, withoutAccount, '收件人没有钉钉账号，仅站内信送达，请电话联系');

  const byId = new Map(rows.map((row) => [row.id, row]));
  const items = rows
    .filter((row) => row.recipient_dingtalk_id)
    .map((row) => ({ id: row.id, userId: row.recipient_dingtalk_id!, title: row.title, body: row.body }));
  const batches = planWorkBatches(items, pass.settings.maxUsersPerSend);

  await mapWithConcurrency(batches, pass.settings.concurrency, async (batch) => {
    const batchRows = batch.itemIds.map((id) => byId.get(id)!);
    if (!hasTimeForCall(pass)) {
      await releaseRows(pass, batchRows);
      return;
    }
    pass.report.workCalls += 1;
    try {
      const taskId = await pass.client.sendWorkNotice({ userIds: batch.userIds, title: batch.title, markdown: batch.body });
      await finish(pass, batchRows, {
        status: 'confirming',
        external_id: taskId,
        checks: 0,
        next_attempt_at: pass.ctx.now() + pass.settings.confirmDelayMs,
        lease_until: null,
        last_error: null,
      });
      pass.report.submitted += batchRows.length;
    } catch (error) {
      await handleSendFailure(pass, batchRows, error);
    }
  });
}

/**
 * Read the send results of submitted work notices and settle each recipient: reached,
 * filtered as a same-day duplicate, invalid, rejected, failed (sent again) or not yet
 * reported (read again later).
 */
async function confirmWorkNotices(pass: Pass, rows: store.OutboxRow[]): Promise<void> {
  const byTask = new Map<string, store.OutboxRow[]>();
  for (const row of rows) {
    const list = byTask.get(row.external_id ?? '') ?? [];
    list.push(row);
    byTask.set(row.external_id ?? '', list);
  }

  await mapWithConcurrency([...byTask.entries()], pass.settings.concurrency, async ([taskId, taskRows]) => {
    let result: SendResult;
    try {
      result = await pass.client.getSendResult(taskId);
      pass.report.confirmed += 1;
    } catch (error) {
      const reason = isDingTalkError(error) ? error.details.reason : '读取发送结果时出现内部错误';
      if (!isDingTalkError(error)) pass.ctx.log.error({ err: error, taskId }, 'reading a send result failed');
      const giveUp = isDingTalkError(error) && error.kind === 'permanent';
      for (const row of taskRows) await checkAgainLater(pass, row, reason, giveUp);
      return;
    }

    for (const row of taskRows) await settleRecipient(pass, row, result);
  });
}

async function settleRecipient(pass: Pass, row: store.OutboxRow, result: SendResult): Promise<void> {
  const userId = row.recipient_dingtalk_id ?? '';
  const now = pass.ctx.now();

  if (result.invalid.includes(userId)) {
    await fail(pass, [row], '钉钉报告该用户无效（不在组织内或已离职），仅站内信送达');
    return;
  }

  const forbidden = result.forbidden.find((entry) => entry.userId === userId);
  if (forbidden && isDuplicateContentCode(forbidden.code)) {
    // NOTE: the filter only covers one Asia/Shanghai day. An uncertain attempt just before
    // midnight that is retried after it can reach the user twice.
    if (row.uncertain) {
      // An earlier attempt of this very notice may have been delivered. DingTalk dropping
      // the identical resend shows that the user already got this text today.
      await finish(pass, [row], { status: 'sent', sent_at: now, delivery_note: '重发时钉钉按“同一天相同内容”过滤，此前的发送已送达' });
      pass.report.sent += 1;
    } else {
      await finish(pass, [row], { status: 'filtered', delivery_note: '同一天已向该用户发送过相同内容，钉钉过滤了本条' });
      pass.report.filtered += 1;
    }
    return;
  }
  if (forbidden) {
    await fail(pass, [row], describeErrcode(Number(forbidden.code)));
    return;
  }

  if (result.failed.includes(userId)) {
    await scheduleRetry(pass, [row], '钉钉报告发送失败', false);
    return;
  }

  if (result.read.includes(userId) || result.unread.includes(userId)) {
    await finish(pass, [row], { status: 'sent', sent_at: now, delivery_note: result.read.includes(userId) ? '已读' : null });
    pass.report.sent += 1;
    return;
  }

  await checkAgainLater(pass, row, '钉钉尚未返回该用户的发送结果', false);
}

/**
 * Read the result again later with a growing pause. After the last check (or when the
 * task is unknown to DingTalk) the notice is sent again, marked uncertain: if the first
 * send did arrive, DingTalk filters the identical resend and the notice counts as sent.
 */
async function checkAgainLater(pass: Pass, row: store.OutboxRow, reason: string, giveUp: boolean): Promise<void> {
  const checks = row.checks + 1;
  if (giveUp || checks >= pass.settings.maxConfirmChecks) {
    await finish(pass, [row], {
      status: 'pending',
      uncertain: 1,
      checks: 0,
      next_attempt_at: pass.ctx.now(),
      last_error: `${reason}；将重新发送（若此前已送达，钉钉会过滤重复内容）`,
    });
    pass.report.retrying += 1;
    return;
  }
  await finish(pass, [row], {
    checks,
    next_attempt_at: pass.ctx.now() + pass.settings.confirmDelayMs * 2 ** checks,
    last_error: reason,
  });
}

// NOTE: the group robot has no duplicate check. A robot notice whose dispatcher died after
// DingTalk accepted it, or whose reply timed out, is posted again (at least once, not
// exactly once).
async function sendRobotNotices(pass: Pass, rows: store.OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;

  if (!pass.client.isRobotConfigured()) {
    await fail(pass, rows, '未配置钉钉群机器人（FANGKONG_DINGTALK_ROBOT_WEBHOOK），仅站内信送达');
    return;
  }

  const { db } = pass.ctx;
  await store.ensureRateSlots(db, ROBOT_BUCKET, pass.settings.robotPerMinute);
  const freeSlots = await store.countFreeRateSlots(db, ROBOT_BUCKET, pass.ctx.now());
  const ordered = [...rows].sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  const plan = planRobotSends(
    ordered.map((row) => ({ id: row.id, title: row.title, body: row.body })),
    freeSlots,
  );
  const byId = new Map(rows.map((row) => [row.id, row]));

  await deferRobotRows(pass, plan.deferredIds.map((id) => byId.get(id)!));

  for (let index = 0; index < plan.sends.length; index++) {
    const send = plan.sends[index];
    const sendRows = send.itemIds.map((id) => byId.get(id)!);

    if (!hasTimeForCall(pass)) {
      await releaseRows(pass, plan.sends.slice(index).flatMap((s) => s.itemIds.map((id) => byId.get(id)!)));
      return;
    }
    if (!(await store.reserveRateSlot(db, ROBOT_BUCKET, pass.ctx.now()))) {
      // Another process used the slot in the meantime.
      await deferRobotRows(pass, plan.sends.slice(index).flatMap((s) => s.itemIds.map((id) => byId.get(id)!)));
      return;
    }

    pass.report.robotCalls += 1;
    try {
      await pass.client.sendRobot({ title: send.title, markdown: send.markdown });
      await finish(pass, sendRows, {
        status: 'sent',
        sent_at: pass.ctx.now(),
        external_id: send.isDigest ? `digest:${randomUUID()}` : null,
        delivery_note: send.isDigest ? `群机器人限流，合并为汇总消息发送（共 ${sendRows.length} 条）` : null,
        last_error: null,
      });
      pass.report.sent += sendRows.length;
      if (send.isDigest) pass.report.digests += 1;
    } catch (error) {
      if (isDingTalkError(error) && error.kind === 'throttled') {
        await store.exhaustRateSlots(db, ROBOT_BUCKET, pass.ctx.now() + pass.settings.throttleWaitMs);
        const waiting = plan.sends.slice(index).flatMap((s) => s.itemIds.map((id) => byId.get(id)!));
        await handleSendFailure(pass, waiting, error);
        return;
      }
      await handleSendFailure(pass, sendRows, error);
    }
  }
}

/** Robot notices that found no free slot wait for the next one; the wait costs no attempt. */
async function deferRobotRows(pass: Pass, rows: store.OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  const freeAt = await store.nextRateSlotFreeAt(pass.ctx.db, ROBOT_BUCKET);
  await finish(pass, rows, {
    status: 'pending',
    attempts: sql<number>`attempts - 1`,
    next_attempt_at: Math.max(freeAt, pass.ctx.now()),
    lease_until: null,
  });
  pass.report.deferred += rows.length;
}

// --- Outcomes ---------------------------------------------------------------------------

/** True while enough of the claim is left for one more DingTalk call. */
function hasTimeForCall(pass: Pass): boolean {
  const budget = Math.min(pass.settings.callBudgetMs, pass.settings.leaseMs / 2);
  return pass.ctx.now() + budget <= pass.leaseEndsAt;
}

/** Put claimed rows back for the next pass without spending an attempt. */
async function releaseRows(pass: Pass, rows: store.OutboxRow[]): Promise<void> {
  await finish(pass, rows, { status: 'pending', attempts: sql<number>`attempts - 1`, next_attempt_at: pass.ctx.now(), lease_until: null });
  pass.report.deferred += rows.length;
  pass.ctx.log.warn({ notices: rows.length }, 'claim running out; notices put back for the next pass');
}

async function handleSendFailure(pass: Pass, rows: store.OutboxRow[], error: unknown): Promise<void> {
  if (!isDingTalkError(error)) {
    pass.ctx.log.error({ err: error, notices: rows.map((row) => row.id) }, 'sending notices failed unexpectedly');
    await scheduleRetry(pass, rows, '发送时出现内部错误', false);
    return;
  }

  const { reason, uncertain } = error.details;
  if (error.kind === 'throttled') {
    await finish(pass, rows, {
      status: 'pending',
      attempts: sql<number>`attempts - 1`,
      next_attempt_at: pass.ctx.now() + pass.settings.throttleWaitMs,
      lease_until: null,
      last_error: `${reason}，稍后重试`,
      ...(uncertain ? { uncertain: 1 } : {}),
    });
    pass.report.retrying += rows.length;
    return;
  }
  if (error.kind === 'permanent') {
    await markDead(pass, rows, `${reason}，重试无效，已停止发送`);
    return;
  }
  await scheduleRetry(pass, rows, reason, uncertain);
}

/** Back to pending after the backoff, or dead when the attempts are used up. */
async function scheduleRetry(pass: Pass, rows: store.OutboxRow[], reason: string, uncertain: boolean): Promise<void> {
  for (const row of rows) {
    if (isOutOfAttempts(row.attempts, pass.settings.maxAttempts)) {
      await markDead(pass, [row], `已尝试 ${row.attempts} 次仍未成功，最后一次：${reason}`);
      continue;
    }
    const delay = retryDelayMs(row.attempts, pass.settings.backoff, pass.settings.random);
    await finish(pass, [row], {
      status: 'pending',
      next_attempt_at: pass.ctx.now() + delay,
      lease_until: null,
      last_error: reason,
      ...(uncertain ? { uncertain: 1 } : {}),
    });
    pass.report.retrying += 1;
  }
}

async function markDead(pass: Pass, rows: store.OutboxRow[], reason: string): Promise<void> {
  const updated = await finish(pass, rows, { status: 'dead', last_error: reason, lease_until: null });
  if (updated === 0) return;
  pass.dead.push(...rows.map((row) => ({ ...row, last_error: reason })));
  pass.report.dead += rows.length;
  pass.ctx.log.error({ notices: rows.map((row) => row.id), reason }, 'notices are dead');
}

async function fail(pass: Pass, rows: store.OutboxRow[], reason: string): Promise<void> {
  if (rows.length === 0) return;
  await finish(pass, rows, { status: 'failed', last_error: reason, lease_until: null });
  pass.report.failed += rows.length;
}

/** Update rows this pass still holds; a row whose lease was taken over is left alone. */
async function finish(pass: Pass, rows: store.OutboxRow[], changes: Parameters<typeof store.updateClaimedRows>[3]): Promise<number> {
  const ids = rows.map((row) => row.id);
  const updated = await store.updateClaimedRows(pass.ctx.db, ids, pass.token, changes);
  if (updated < ids.length) pass.ctx.log.warn({ notices: ids, updated }, 'notice claim was taken over; leaving it to the new holder');
  return updated;
}

/** Post one inbox message per school that lists the notices that died in this pass. */
async function tellAdminsAboutDeadNotices(pass: Pass): Promise<void> {
  if (pass.dead.length === 0) return;

  const bySchool = new Map<string | null, store.OutboxRow[]>();
  for (const row of pass.dead) bySchool.set(row.school_id, [...(bySchool.get(row.school_id) ?? []), row]);

  for (const [schoolId, rows] of bySchool) {
    const listed = rows.slice(0, 10).map((row) => `- 「${row.title}」：${row.last_error ?? '原因未知'}`);
    if (rows.length > listed.length) listed.push(`- 另有 ${rows.length - listed.length} 条`);
    await postInbox(
      pass.ctx.db,
      {
        schoolId,
        recipientRole: SCHOOL_ADMIN_ROLE,
        kind: 'notice_dead',
        title: `${rows.length} 条钉钉通知发送失败`,
        body: [
          `以下 ${rows.length} 条通知未能通过钉钉送达，已停止重试：`,
          ...listed,
          '收件人仍可在站内信中看到这些通知。请检查钉钉配置，必要时电话联系收件人；修复后可在“通知记录”中重新发送。',
        ].join('\n'),
      },
      pass.ctx.now(),
    );
  }
}

function noticeOf(row: store.OutboxRow) {
  return {
    outboxId: row.id,
    schoolId: row.school_id,
    channel: row.channel,
    kind: row.kind,
    recipientPersonId: row.recipient_person_id,
    recipientGuardianId: row.recipient_guardian_id,
    recipientDingtalkId: row.recipient_dingtalk_id,
    recipientRole: row.recipient_role,
    title: row.title,
    body: row.body,
    idempotencyKey: row.idempotency_key,
  };
}

async function mapWithConcurrency<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  });
  await Promise.all(runners);
}

// --- The background loop ----------------------------------------------------------------

/** After a wake-up, poll this often for this long, in ms (see startDispatcherLoop). */
const EAGER_POLL_MS = 50;
const EAGER_WINDOW_MS = 2_000;

/**
 * Run `dispatchOnce` until stopped: right away after a pass that found work, otherwise
 * every `config.notify.pollIntervalMs`, and at once when this process queues a notice.
 * A notice queued inside the caller's transaction is not visible until that commits, so
 * for two seconds after a wake-up the loop polls every 50 ms instead.
 * The returned function stops the loop and resolves after the current pass.
 */
export function startDispatcherLoop(ctx: AppContext, client: DingTalkClient, options: DispatcherOptions = {}): () => Promise<void> {
  let stopped = false;
  let running = false;
  let wakeRequested = false;
  let eagerUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const schedule = (delayMs: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      current = tick();
    }, delayMs);
  };

  const tick = async () => {
    running = true;
    wakeRequested = false;
    let foundWork = false;
    try {
      const report = await dispatchOnce(ctx, client, options);
      foundWork = report.claimed > 0 || report.confirmed > 0;
    } catch (error) {
      ctx.log.error({ err: error }, 'notice dispatch pass failed');
    } finally {
      running = false;
    }
    let delay = ctx.config.notify.pollIntervalMs;
    if (foundWork || wakeRequested) delay = 0;
    else if (Date.now() < eagerUntil) delay = Math.min(EAGER_POLL_MS, delay);
    schedule(delay);
  };

  const wake = () => {
    eagerUntil = Date.now() + EAGER_WINDOW_MS;
    if (running) {
      wakeRequested = true;
      return;
    }
    schedule(0);
  };

  outboxSignals.on('enqueued', wake);
  schedule(0);

  return async () => {
    stopped = true;
    outboxSignals.off('enqueued', wake);
    if (timer) clearTimeout(timer);
    await current;
  };
}

/** The notice dispatcher that `serve` starts. */
export const notifyDispatcherWorker: Worker = {
  name: 'notify-dispatcher',
  start(ctx) {
    const log = ctx.log.child({ module: 'notify' });
    const client = createDingTalkClient(ctx.config.dingtalk, log, { now: ctx.now });
    return startDispatcherLoop({ ...ctx, log }, client);
  },
};
