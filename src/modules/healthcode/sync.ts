import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Transaction } from 'kysely';
import type { AppContext } from '../../context.js';
import type { CodeColor, Database } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { getSchoolDayStatus } from '../calendar/service.js';
import { enqueueNotice } from '../notify/outbox.js';
import * as people from '../people/service.js';
import { codeStaleMinutesOf } from '../people/school-settings.js';
import { BureauClient, MAX_BATCH_SIZE, type BatchOutcome } from './bureau-client.js';
import {
  MISSING_FROM_ANSWER,
  applyObservation,
  isStale,
  planChangeNotices,
  planFailureNotices,
  planGuardianNotices,
  runStatus,
  stayHomeWindow,
  type ChangeForNotice,
  type NoticePlan,
  type Observation,
  type Recipient,
  type StoredCode,
  type SyncOutcomeStatus,
} from './code-change.js';
import * as store from './store.js';

/**
 * One health-code sync of one school. Each batch of at most 100 people is fetched from
 * the bureau and then written in one transaction: the new current codes, a change row per
 * colour change, the guardian notices it causes (outbox) and the run's counters. The
 * head teacher and management notices are digests over the whole run, so they are
 * written at the end in one transaction that also marks the run's changes notified. If
 * the process dies first, start-up recovery writes them from the unnotified change rows.
 * Every notice has a deterministic idempotency key, so a re-run never queues one twice.
 */

/** Identifies this process in sync_runs.holder. */
export const HOLDER = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
/** How often a running sync proves it is alive. */
export const RUN_HEARTBEAT_MS = 10_000;
/**
 * A running sync whose heartbeat is older than this belongs to a dead process. Heartbeats
 * and this check use ctx.livenessNow, never the run's own (possibly backdated) clock.
 */
export const RUN_STALE_AFTER_MS = 60_000;

/** Ids of the runs this process is executing. Recovery never interrupts them. */
const runsInThisProcess = new Set<string>();

export interface ColorCounts {
  green: number;
  yellow: number;
  red: number;
  unknown: number;
  /** People whose code is stale after the run (any colour). */
  stale: number;
}

export interface SyncRunResult {
  runId: string;
  schoolId: string;
  status: SyncOutcomeStatus;
  total: number;
  processed: number;
  failed: number;
  changes: number;
  batches: number;
  failedBatches: number;
  counts: ColorCounts;
  /** Chinese summary of what failed; null when nothing did. */
  error: string | null;
}

export interface SyncOptions {
  /** The bureau client; by default the process's shared one built from config.bureau. */
  client?: BureauClient;
  /** Stops taking new batches; the run then ends 'interrupted'. */
  signal?: AbortSignal;
  /** The interrupted run this one continues: people fetched since it started are skipped. */
  resumedFrom?: string;
}

const clients = new WeakMap<object, BureauClient>();

/** Return the process's bureau client for this configuration, creating it on first use. */
export function getBureauClient(ctx: AppContext): BureauClient {
  const { bureau } = ctx.config;
  if (!bureau.url) throw new AppError('BUREAU_NOT_CONFIGURED');
  let client = clients.get(ctx.config);
  if (!client) {
    client = new BureauClient({ ...bureau, log: ctx.log.child({ component: 'bureau' }) });
    clients.set(ctx.config, client);
  }
  return client;
}

/** Close the shared client's connections (the CLI calls this before exiting). */
export async function closeBureauClient(ctx: AppContext): Promise<void> {
  const client = clients.get(ctx.config);
  if (!client) return;
  clients.delete(ctx.config);
  await client.close();
}

/**
 * Every `trigger` the product records on a sync run. They are a school's cron (schedule),
 * polling in school hours (poll), a cron missed while no process ran (catch-up), "sync
 * now" in the console (manual), `fangkong sync` (cli), `demo morning` (demo) and the
 * continuation of an interrupted run (resume). Tests may pass others.
 */
export const SYNC_TRIGGERS = ['schedule', 'poll', 'catch-up', 'manual', 'cli', 'demo', 'resume'] as const;

/**
 * Sync the codes of a school's consenting people now and wait for the result. Throws
 * SYNC_ALREADY_RUNNING when a live run of the school exists.
 */
export async function runSync(ctx: AppContext, schoolId: string, trigger: string, options: SyncOptions = {}): Promise<SyncRunResult> {
  const { done } = await startSync(ctx, schoolId, trigger, options);
  return done;
}

/**
 * Create the run row and start the sync in the background. The returned promise `done`
 * always resolves, with status 'failed' and the error when something unexpected broke.
 */
export async function startSync(
  ctx: AppContext,
  schoolId: string,
  trigger: string,
  options: SyncOptions = {},
): Promise<{ runId: string; done: Promise<SyncRunResult> }> {
  const school = await people.getSchoolByIdOrThrow(ctx, schoolId);
  const client = options.client ?? getBureauClient(ctx);
  const runId = await claimRun(ctx, school, trigger, options.resumedFrom ?? null);
  runsInThisProcess.add(runId);
  ctx.log.info({ runId, schoolId, trigger }, 'health-code sync started');
  const done = executeRun(ctx, { runId, school, client, signal: options.signal, resumedFrom: options.resumedFrom ?? null }).finally(() =>
    runsInThisProcess.delete(runId),
  );
  return { runId, done };
}

async function claimRun(ctx: AppContext, school: people.SchoolSummary, trigger: string, resumedFrom: string | null): Promise<string> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const now = ctx.now();
    const row: store.SyncRunRow = {
      id: newId(now),
      school_id: school.id,
      trigger,
      status: 'running',
      started_at: now,
      finished_at: null,
      heartbeat_at: ctx.livenessNow(),
      holder: HOLDER,
      total: 0,
      processed: 0,
      failed: 0,
      changes: 0,
      failed_batches: 0,
      counts: '{}',
      error: null,
      resumed_from: resumedFrom,
    };
    try {
      await store.insertSyncRun(ctx.db, row);
      return row.id;
    } catch (error) {
      // The partial unique index allows one running run per school.
      const running = await store.findRunningSyncRun(ctx.db, school.id);
      if (!running) throw error;
      const staleBefore = ctx.livenessNow() - RUN_STALE_AFTER_MS;
      if (runsInThisProcess.has(running.id) || running.heartbeat_at >= staleBefore) throw new AppError('SYNC_ALREADY_RUNNING', { school: school.name });
      await interruptRun(ctx, running, staleBefore);
    }
  }
  throw new AppError('SYNC_ALREADY_RUNNING', { school: school.name });
}

interface RunContext {
  runId: string;
  school: people.SchoolSummary;
  client: BureauClient;
  signal?: AbortSignal;
  resumedFrom: string | null;
  /**
   * The school's stored codes, read once when the run starts and updated as batches
   * commit. Only this run writes them while it runs (one running sync per school).
   */
  codes?: Map<string, store.HealthCodeRow>;
}

/** Per-run totals kept in memory; the database counters are updated per batch too. */
class RunTally {
  processed = 0;
  failed = 0;
  changes = 0;
  failedBatches = 0;
  counts: ColorCounts = { green: 0, yellow: 0, red: 0, unknown: 0, stale: 0 };
  failures = new Map<string, number>();
}

async function executeRun(ctx: AppContext, run: RunContext): Promise<SyncRunResult> {
  const log = ctx.log.child({ runId: run.runId, schoolId: run.school.id });
  const heartbeat = setInterval(() => {
    store.touchRun(ctx.db, run.runId, ctx.livenessNow()).catch((error: unknown) => log.warn({ err: error }, 'sync heartbeat failed'));
  }, RUN_HEARTBEAT_MS);
  heartbeat.unref();

  const tally = new RunTally();
  let batches: people.SyncTarget[][] = [];
  try {
    const targets = await listTargets(ctx, run);
    await store.setRunTotal(ctx.db, run.runId, targets.length);
    run.codes = new Map((await store.listCodesOfSchool(ctx.db, run.school.id)).map((row) => [row.person_id, row]));
    for (let i = 0; i < targets.length; i += MAX_BATCH_SIZE) batches.push(targets.slice(i, i + MAX_BATCH_SIZE));
    log.info({ total: targets.length, batches: batches.length }, 'health-code sync fetching');

    const fatal = await processBatches(ctx, run, batches, tally);
    const status = runStatus({ batches: batches.length, failedBatches: tally.failedBatches, aborted: run.signal?.aborted === true, fatal: fatal !== undefined });
    const error = describeFailures(tally, batches.length, fatal);
    await finishRunWithNotices(ctx, run, status, tally, targets.length, error);
    log.info({ status, ...tally.counts, changes: tally.changes, failed: tally.failed, failedBatches: tally.failedBatches }, 'health-code sync finished');
    return result(run, status, targets.length, batches.length, tally, error);
  } catch (error) {
    log.error({ err: error }, 'health-code sync broke');
    const message = `同步中断：${error instanceof AppError ? error.userMessage : '服务器内部错误'}`;
    try {
      await finishRunWithNotices(ctx, run, 'failed', tally, tally.processed, message);
    } catch (finishError) {
      log.error({ err: finishError }, 'could not record the failed sync');
    }
    return result(run, 'failed', tally.processed, batches.length, tally, message);
  } finally {
    clearInterval(heartbeat);
  }
}

function result(run: RunContext, status: SyncOutcomeStatus, total: number, batches: number, tally: RunTally, error: string | null): SyncRunResult {
  return {
    runId: run.runId,
    schoolId: run.school.id,
    status,
    total,
    processed: tally.processed,
    failed: tally.failed,
    changes: tally.changes,
    batches,
    failedBatches: tally.failedBatches,
    counts: { ...tally.counts },
    error,
  };
}

async function listTargets(ctx: AppContext, run: RunContext): Promise<people.SyncTarget[]> {
  const targets = await people.listSyncTargets(ctx, run.school.id);
  if (!run.resumedFrom) return targets;

  const previous = await store.findSyncRun(ctx.db, run.resumedFrom);
  if (!previous) return targets;
  const fetchedSince = new Set(
    (await store.listCodesOfSchool(ctx.db, run.school.id)).filter((row) => row.fetched_at !== null && row.fetched_at >= previous.started_at).map((row) => row.person_id),
  );
  return targets.filter((target) => !fetchedSince.has(target.personId));
}

/**
 * Fetch and commit every batch with as many workers as the bureau concurrency. After a
 * fatal response (a rejected signature) the remaining batches are not sent but recorded as
 * failed; after an abort they are left untouched for the resume. Returns the fatal outcome.
 */
async function processBatches(
  ctx: AppContext,
  run: RunContext,
  batches: people.SyncTarget[][],
  tally: RunTally,
): Promise<Extract<BatchOutcome, { ok: false }> | undefined> {
  let fatal: Extract<BatchOutcome, { ok: false }> | undefined;
  let broken: unknown;
  let next = 0;

  const worker = async () => {
    while (next < batches.length && broken === undefined && !run.signal?.aborted) {
      const batch = batches[next++];
      try {
        const outcome: BatchOutcome = fatal ?? (await run.client.queryBatch(uniqueIds(batch), run.signal));
        if (!outcome.ok && outcome.fatal) fatal = outcome;
        if (!outcome.ok && run.signal?.aborted) return;
        await commitBatch(ctx, run, batch, outcome, tally);
      } catch (error) {
        broken = error;
      }
    }
  };

  const workers = Math.max(1, Math.min(ctx.config.bureau.concurrency, batches.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (broken !== undefined) throw broken;
  return fatal;
}

function uniqueIds(batch: people.SyncTarget[]): string[] {
  return [...new Set(batch.map((target) => target.idNumber))];
}

function observe(batch: people.SyncTarget[], outcome: BatchOutcome): Map<string, Observation> {
  const observations = new Map<string, Observation>();
  if (!outcome.ok) {
    for (const target of batch) observations.set(target.personId, { kind: 'failed', message: outcome.message });
    return observations;
  }

  const codes = new Map(outcome.results.map((code) => [code.idNumber, code]));
  const notFound = new Set(outcome.notFound);
  const unauthorized = new Set(outcome.unauthorized);
  for (const target of batch) {
    const code = codes.get(target.idNumber);
    if (code) observations.set(target.personId, { kind: 'code', color: code.color, updatedAt: code.updatedAt, reason: code.reason });
    else if (unauthorized.has(target.idNumber)) observations.set(target.personId, { kind: 'unauthorized' });
    else if (notFound.has(target.idNumber)) observations.set(target.personId, { kind: 'not_found' });
    else observations.set(target.personId, { kind: 'failed', message: MISSING_FROM_ANSWER });
  }
  return observations;
}

function toStored(row: store.HealthCodeRow | undefined): StoredCode | undefined {
  if (!row) return undefined;
  return { color: row.color, bureauUpdatedAt: row.bureau_updated_at, fetchedAt: row.fetched_at, colorSince: row.color_since, reason: row.reason };
}

async function commitBatch(ctx: AppContext, run: RunContext, batch: people.SyncTarget[], outcome: BatchOutcome, tally: RunTally): Promise<void> {
  const now = ctx.now();
  const staleAfter = codeStaleMinutesOf(run.school.settings, ctx.config.bureau.staleAfterMinutes);
  const previous = run.codes ?? new Map((await store.findCodes(ctx.db, batch.map((t) => t.personId))).map((row) => [row.person_id, row]));
  const observations = observe(batch, outcome);

  const codeRows: store.HealthCodeRow[] = [];
  const changeRows: store.HealthCodeChangeRow[] = [];
  const changeByPerson = new Map<string, store.HealthCodeChangeRow>();
  let failed = 0;
  const colors: CodeColor[] = [];
  for (const target of batch) {
    const observation = observations.get(target.personId)!;
    if (observation.kind === 'failed') {
      failed += 1;
      tally.failures.set(observation.message, (tally.failures.get(observation.message) ?? 0) + 1);
    }
    const { next, change } = applyObservation(toStored(previous.get(target.personId)), observation, now);
    codeRows.push({
      person_id: target.personId,
      school_id: run.school.id,
      color: next.color,
      bureau_updated_at: next.bureauUpdatedAt,
      fetched_at: next.fetchedAt,
      last_attempt_at: next.lastAttemptAt,
      last_failure: next.lastFailure,
      reason: next.reason,
      color_since: next.colorSince,
    });
    colors.push(next.color);
    if (isStale(next.fetchedAt, now, staleAfter)) tally.counts.stale += 1;
    if (change) {
      const row: store.HealthCodeChangeRow = {
        id: newId(now),
        school_id: run.school.id,
        person_id: target.personId,
        from_color: change.from,
        to_color: change.to,
        changed_at: now,
        sync_run_id: run.runId,
        bureau_updated_at: next.bureauUpdatedAt,
        reason: next.reason,
        notified_at: null,
      };
      changeRows.push(row);
      changeByPerson.set(target.personId, row);
    }
  }

  const plan = await planBatchGuardianNotices(ctx, run, codeRows, changeByPerson, now);

  await ctx.db.transaction().execute(async (trx) => {
    await store.upsertCodes(trx, codeRows);
    await store.insertChanges(trx, changeRows);
    await writePlan(trx, plan, now);
    await store.addBatchProgress(trx, run.runId, { processed: batch.length, failed, changes: changeRows.length, failedBatch: !outcome.ok }, ctx.livenessNow());
  });

  for (const row of codeRows) run.codes?.set(row.person_id, row);
  tally.processed += batch.length;
  tally.failed += failed;
  tally.changes += changeRows.length;
  if (!outcome.ok) tally.failedBatches += 1;
  for (const color of colors) tally.counts[color] += 1;
}

/**
 * Guardian notices of a batch: only inside the stay-home window, only for pupils, and
 * only when the day the notice is about is a school day in the school calendar.
 */
async function planBatchGuardianNotices(
  ctx: AppContext,
  run: RunContext,
  codeRows: store.HealthCodeRow[],
  changeByPerson: Map<string, store.HealthCodeChangeRow>,
  now: number,
): Promise<NoticePlan> {
  const plan: NoticePlan = { notices: [] };
  const window = stayHomeWindow(now, run.school.settings);
  if (!window) return plan;
  // "Do not come to school" means nothing on a day without school (a Friday evening's notice would name Saturday).
  if (!(await getSchoolDayStatus(ctx, run.school, window.targetDay)).isSchoolDay) return plan;

  // Only people with a bureau result get notices, because a failed fetch brings no new information.
  const concerned = codeRows.filter((row) => row.last_attempt_at === row.fetched_at && (row.color !== 'green' || changeByPerson.has(row.person_id)));
  if (concerned.length === 0) return plan;

  const contacts = await people.getContacts(ctx, concerned.map((row) => row.person_id));
  for (const row of concerned) {
    const contact = contacts.get(row.person_id);
    if (!contact || contact.person.kind !== 'student') continue;
    const change = changeByPerson.get(row.person_id);
    const part = planGuardianNotices(
      run.school.id,
      {
        personId: row.person_id,
        name: contact.person.name,
        kind: contact.person.kind,
        className: contact.className,
        color: row.color,
        reason: row.reason,
        colorSince: row.color_since,
        change: change ? { id: change.id, from: change.from_color, to: change.to_color } : undefined,
        headTeacher: contact.headTeacher ? toRecipient(contact.headTeacher) : null,
        guardians: contact.guardians.map((g) => ({ id: g.id, name: g.name, dingtalkUserId: g.dingtalk_user_id, relation: g.relation, phoneMasked: g.phone_masked })),
      },
      window,
      now,
    );
    plan.notices.push(...part.notices);
  }
  return plan;
}

function toRecipient(person: { id: string; name: string; dingtalk_user_id: string | null }): Recipient {
  return { id: person.id, name: person.name, dingtalkUserId: person.dingtalk_user_id };
}

/** Queue a plan's notices; a key already in the outbox is skipped by enqueueNotice. */
async function writePlan(trx: Transaction<Database>, plan: NoticePlan, now: number): Promise<void> {
  for (const notice of plan.notices) await enqueueNotice(trx, notice, now);
}

function describeFailures(tally: RunTally, batches: number, fatal: Extract<BatchOutcome, { ok: false }> | undefined): string | null {
  if (fatal) return `${fatal.message}；本次同步已停止，${tally.failed} 人未更新`;
  if (tally.failed === 0) return null;
  const reasons = [...tally.failures.entries()].map(([reason, count]) => `${reason} ${count} 人`).join('；');
  return `${tally.failedBatches}/${batches} 批查询失败，${tally.failed} 人未更新（${reasons}）`;
}

/**
 * Queue the head teacher and management notices for the run's unnotified changes, tell
 * the school admin and management what failed, and close the run, in one transaction.
 */
async function finishRunWithNotices(
  ctx: AppContext,
  run: RunContext,
  status: SyncOutcomeStatus,
  tally: RunTally,
  total: number,
  error: string | null,
): Promise<void> {
  const now = ctx.now();
  const changes = await store.listUnnotifiedChanges(ctx.db, run.runId);
  const management = (await people.listManagement(ctx, run.school.id)).map(toRecipient);
  const changePlan = await planRunChangeNotices(ctx, run.school, run.runId, changes, management, now);
  const failurePlan = planFailureNotices({
    schoolId: run.school.id,
    schoolName: run.school.name,
    runId: run.runId,
    status,
    failedPersons: tally.failed,
    total,
    failure: error,
    staleAfterMinutes: codeStaleMinutesOf(run.school.settings, ctx.config.bureau.staleAfterMinutes),
    management,
    now,
  });

  await ctx.db.transaction().execute(async (trx) => {
    await writePlan(trx, changePlan, now);
    await store.markChangesNotified(trx, changes.map((c) => c.id), now);
    await writePlan(trx, failurePlan, now);
    await store.finishRun(trx, run.runId, { status, counts: JSON.stringify(tally.counts), error }, { finishedAt: now, heartbeatAt: ctx.livenessNow() });
  });
}

async function planRunChangeNotices(
  ctx: AppContext,
  school: people.SchoolSummary,
  runId: string,
  changes: store.HealthCodeChangeRow[],
  management: Recipient[],
  now: number,
): Promise<NoticePlan> {
  if (changes.length === 0) return { notices: [] };
  const contacts = await people.getContacts(ctx, [...new Set(changes.map((c) => c.person_id))]);
  const forNotice: ChangeForNotice[] = [];
  for (const change of changes) {
    const contact = contacts.get(change.person_id);
    if (!contact) continue;
    forNotice.push({
      changeId: change.id,
      personId: change.person_id,
      name: contact.person.name,
      kind: contact.person.kind,
      className: contact.className,
      from: change.from_color,
      to: change.to_color,
      changedAt: change.changed_at,
      bureauUpdatedAt: change.bureau_updated_at,
      reason: change.reason,
      headTeacher: contact.headTeacher ? toRecipient(contact.headTeacher) : null,
    });
  }
  return planChangeNotices({ schoolId: school.id, schoolName: school.name, runId, changes: forNotice, management, now });
}

/**
 * Mark a dead process's run interrupted (only if it is still stale and not executing in
 * this process) and queue the notices of the changes it committed. Returns whether this
 * call interrupted it.
 */
async function interruptRun(ctx: AppContext, running: store.SyncRunRow, staleBefore: number): Promise<boolean> {
  if (runsInThisProcess.has(running.id)) return false;
  const now = ctx.now();
  const won = await store.markRunInterrupted(ctx.db, running.id, staleBefore, now, `运行同步的进程（${running.holder}）已停止，本次同步中断`);
  if (!won) return false;

  ctx.log.warn({ runId: running.id, schoolId: running.school_id, holder: running.holder }, 'health-code sync interrupted: its process is gone');
  const school = await people.getSchoolByIdOrThrow(ctx, running.school_id);
  const changes = await store.listUnnotifiedChanges(ctx.db, running.id);
  if (changes.length === 0) return true;

  const management = (await people.listManagement(ctx, school.id)).map(toRecipient);
  const plan = await planRunChangeNotices(ctx, school, running.id, changes, management, now);
  await ctx.db.transaction().execute(async (trx) => {
    await writePlan(trx, plan, now);
    await store.markChangesNotified(trx, changes.map((c) => c.id), now);
  });
  return true;
}

/** Interrupted runs older than this are not resumed: the next scheduled sync covers them. */
export const RESUME_WITHIN_MS = 6 * 3600_000;

/**
 * Recover runs of dead or stopped processes. A run left 'running' with a stale heartbeat
 * becomes 'interrupted' and the notices of its committed changes are queued. Then, when
 * `resume` is set, each school whose latest run is an interrupted one from the last six
 * hours gets a new run that continues it. Returns what was interrupted and resumed.
 */
export async function recoverInterruptedRuns(
  ctx: AppContext,
  options: { resume: boolean; client?: BureauClient },
): Promise<Array<{ interruptedRunId: string; runId?: string; done?: Promise<SyncRunResult> }>> {
  const staleBefore = ctx.livenessNow() - RUN_STALE_AFTER_MS;
  const recovered: Array<{ interruptedRunId: string; runId?: string; done?: Promise<SyncRunResult> }> = [];
  for (const run of await listStaleRuns(ctx, staleBefore)) {
    if (await interruptRun(ctx, run, staleBefore)) recovered.push({ interruptedRunId: run.id });
  }
  if (!options.resume) return recovered;

  for (const run of await listResumableRuns(ctx, ctx.now())) {
    let entry = recovered.find((r) => r.interruptedRunId === run.id);
    if (!entry) {
      entry = { interruptedRunId: run.id };
      recovered.push(entry);
    }
    try {
      const started = await startSync(ctx, run.school_id, 'resume', { client: options.client, resumedFrom: run.id });
      entry.runId = started.runId;
      entry.done = started.done;
    } catch (error) {
      ctx.log.warn({ err: error, interruptedRunId: run.id }, 'could not resume the interrupted sync');
    }
  }
  return recovered;
}

/** Running runs with a stale heartbeat, except those this process is executing. */
async function listStaleRuns(ctx: AppContext, staleBefore: number): Promise<store.SyncRunRow[]> {
  return (await store.listStaleRunningRuns(ctx.db, staleBefore)).filter((run) => !runsInThisProcess.has(run.id));
}

/** Interrupted runs of the last six hours that are still their school's latest run. */
async function listResumableRuns(ctx: AppContext, now: number): Promise<store.SyncRunRow[]> {
  const resumable: store.SyncRunRow[] = [];
  for (const run of await store.listInterruptedRuns(ctx.db, now - RESUME_WITHIN_MS)) {
    const latest = await store.findLatestSyncRun(ctx.db, run.school_id);
    if (latest?.id === run.id) resumable.push(run);
  }
  return resumable;
}

/** True when recoverInterruptedRuns has work: a stale running run, or one to resume. */
export async function hasRecoverableRuns(ctx: AppContext, options: { resume: boolean }): Promise<boolean> {
  if ((await listStaleRuns(ctx, ctx.livenessNow() - RUN_STALE_AFTER_MS)).length > 0) return true;
  return options.resume && (await listResumableRuns(ctx, ctx.now())).length > 0;
}
