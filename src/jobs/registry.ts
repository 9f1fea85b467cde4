import type { AppContext } from '../context.js';
import { isAppError } from '../shared/errors.js';
import { decideScheduledSync, hasRecoverableRuns, recoverInterruptedRuns, runSync, type SyncOptions } from '../modules/healthcode/service.js';

/**
 * Every background job, declared in one table: its name, what decides when it runs, how
 * many attempts it gets and its handler. The scheduler checks the table at start-up and
 * records each run in job_runs with the status the handler returns.
 */

export type JobStatus = 'done' | 'skipped' | 'failed';

export interface JobOutcome {
  status: JobStatus;
  /** Counts and ids for job_runs.detail; no personal data. */
  detail: Record<string, unknown>;
}

/** Source of a job's run times. */
export type ScheduleSource =
  /** At every scheduler tick of the leader, when the job's `isDue` says there is work. */
  | 'when-due'
  /** Each school's `syncCrons` (Asia/Shanghai). */
  | 'school-crons'
  /** Each school's `polling` window, checked every minute. */
  | 'school-polling';

export interface JobParams {
  schoolId?: string;
  trigger?: string;
}

export interface JobDeps {
  /** Passed to every sync; tests and the benchmark set the bureau client here. */
  syncOptions?: Pick<SyncOptions, 'client'>;
  signal: AbortSignal;
}

export interface JobDefinition {
  name: string;
  schedule: ScheduleSource;
  /** Handler calls per run; a thrown error or a 'failed' outcome uses the next one. */
  attempts: number;
  /** Wait between attempts, in ms. */
  retryDelayMs: number;
  /** For 'when-due' jobs: a cheap check that there is work, so idle ticks record no run. */
  isDue?(ctx: AppContext, deps: Pick<JobDeps, 'syncOptions'>): Promise<boolean>;
  handler(ctx: AppContext, params: JobParams, deps: JobDeps): Promise<JobOutcome>;
}

function canResume(ctx: AppContext, deps: Pick<JobDeps, 'syncOptions'>): boolean {
  return Boolean(ctx.config.bureau.url || deps.syncOptions?.client);
}

/** Triggers of the scheduler's own syncs, which follow the school calendar unless the school or its district syncs every day. */
const SCHEDULED_TRIGGERS = new Set(['schedule', 'catch-up', 'poll']);

async function syncSchool(ctx: AppContext, params: JobParams, deps: JobDeps): Promise<JobOutcome> {
  if (!params.schoolId) throw new Error('sync job needs a schoolId');
  if (!ctx.config.bureau.url && !deps.syncOptions?.client) {
    return { status: 'skipped', detail: { schoolId: params.schoolId, reason: 'bureau not configured' } };
  }
  const trigger = params.trigger ?? 'schedule';
  if (SCHEDULED_TRIGGERS.has(trigger)) {
    const decision = await decideScheduledSync(ctx, params.schoolId, ctx.now());
    if (!decision.runs) {
      ctx.log.info({ schoolId: params.schoolId, trigger, day: decision.day, calendar: decision.reason }, 'scheduled health-code sync skipped: no school on the day it prepares for');
      return { status: 'skipped', detail: { schoolId: params.schoolId, reason: 'no school on the day it prepares for', day: decision.day, calendar: decision.reason } };
    }
  }
  try {
    const result = await runSync(ctx, params.schoolId, trigger, { ...deps.syncOptions, signal: deps.signal });
    const { counts, runId, status, total, failed, changes } = result;
    return { status: status === 'failed' ? 'failed' : 'done', detail: { schoolId: params.schoolId, runId, syncStatus: status, total, failed, changes, counts } };
  } catch (error) {
    if (isAppError(error) && error.code === 'SYNC_ALREADY_RUNNING') {
      return { status: 'skipped', detail: { schoolId: params.schoolId, reason: 'a sync of this school is running' } };
    }
    throw error;
  }
}

export const JOBS: JobDefinition[] = [
  {
    name: 'healthcode.recover',
    schedule: 'when-due',
    attempts: 3,
    retryDelayMs: 5_000,
    isDue: (ctx, deps) => hasRecoverableRuns(ctx, { resume: canResume(ctx, deps) }),
    handler: async (ctx, _params, deps) => {
      const recovered = await recoverInterruptedRuns(ctx, { resume: canResume(ctx, deps), client: deps.syncOptions?.client });
      return { status: 'done', detail: { interrupted: recovered.map((r) => r.interruptedRunId), resumed: recovered.filter((r) => r.runId).map((r) => r.runId) } };
    },
  },
  { name: 'healthcode.sync', schedule: 'school-crons', attempts: 2, retryDelayMs: 5 * 60_000, handler: syncSchool },
  { name: 'healthcode.poll', schedule: 'school-polling', attempts: 1, retryDelayMs: 0, handler: syncSchool },
];

/** Throw at start-up when the table is inconsistent: a duplicate name, a missing handler or a bad count. */
export function checkJobTable(jobs: JobDefinition[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.name)) problems.push(`job "${job.name}" is declared twice; keep one entry`);
    seen.add(job.name);
    if (typeof job.handler !== 'function') problems.push(`job "${job.name}" has no handler function`);
    if (!Number.isInteger(job.attempts) || job.attempts < 1) problems.push(`job "${job.name}" attempts=${job.attempts}; use a whole number of at least 1`);
    if (job.schedule === 'when-due' && typeof job.isDue !== 'function') problems.push(`job "${job.name}" runs 'when-due' but has no isDue check`);
    if (!['when-due', 'school-crons', 'school-polling'].includes(job.schedule)) problems.push(`job "${job.name}" has unknown schedule source "${job.schedule}"`);
  }
  for (const source of ['school-crons', 'school-polling'] as const) {
    if (jobs.filter((job) => job.schedule === source).length > 1) problems.push(`more than one job uses schedule source "${source}"; each source drives one job`);
  }
  if (problems.length > 0) throw new Error(`invalid job table:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}
