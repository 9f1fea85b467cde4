import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cron } from 'croner';
import type { AppContext } from '../context.js';
import { newId } from '../shared/ids.js';
import { TIME_ZONE } from '../shared/time.js';
import type { Worker } from '../workers.js';
import { listSchools, type SchoolSummary } from '../modules/people/service.js';
import { isPollDue, previousRun, validateCron } from '../modules/healthcode/sync-schedule.js';
import { decideScheduledSync, latestSyncStarts } from '../modules/healthcode/service.js';
import { JOBS, checkJobTable, type JobDefinition, type JobDeps, type JobOutcome, type JobParams } from './registry.js';
import * as store from './store.js';

/**
 * The scheduler. One process at a time has the 'scheduler' lease in job_leases and is
 * the leader. Only the leader creates cron timers (croner, Asia/Shanghai), so a job runs
 * once however many processes serve. The others try to take the lease at each tick.
 * When the leader dies its lease expires and a standby takes over, running any full sync
 * whose time passed in the last `catchUpMs` without a run.
 */

export const SCHEDULER_LEASE = 'scheduler';

export interface SchedulerOptions {
  /** Identifies this process in the lease row. */
  holder?: string;
  /** Lease lifetime; the leader renews it every tick. */
  leaseTtlMs?: number;
  tickMs?: number;
  /** How far back a missed full sync is still run on taking over. */
  catchUpMs?: number;
  jobs?: JobDefinition[];
  syncOptions?: JobDeps['syncOptions'];
}

/** One installed cron timer. */
export interface ScheduledEntry {
  key: string;
  job: string;
  schoolId: string | null;
  cron: string;
  timer: Cron;
}

export class Scheduler {
  readonly holder: string;
  private readonly leaseTtlMs: number;
  private readonly tickMs: number;
  private readonly catchUpMs: number;
  private readonly jobs: Map<string, JobDefinition>;
  private readonly entries = new Map<string, ScheduledEntry>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private readonly reportedBadCrons = new Set<string>();
  private readonly runningDueJobs = new Set<string>();
  private ticker: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private leader = false;
  private stopped = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly options: SchedulerOptions = {},
  ) {
    const jobs = options.jobs ?? JOBS;
    checkJobTable(jobs);
    this.jobs = new Map(jobs.map((job) => [job.name, job]));
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leaseTtlMs = options.leaseTtlMs ?? 60_000;
    this.tickMs = options.tickMs ?? 15_000;
    this.catchUpMs = options.catchUpMs ?? 15 * 60_000;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** Return the cron timers this process has installed (none unless it is the leader). */
  scheduled(): ScheduledEntry[] {
    return [...this.entries.values()];
  }

  async start(): Promise<void> {
    await this.tick();
    this.ticker = setInterval(() => {
      if (!this.ticking) this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, this.tickMs);
    this.ticker.unref();
  }

  /** Stop the timers, end running jobs (a sync stops taking batches), and give the lease up. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    await this.ticking;
    this.abort.abort();
    this.clearEntries();
    await Promise.allSettled([...this.inFlight]);
    if (this.leader) await store.releaseLease(this.ctx.db, SCHEDULER_LEASE, this.holder);
    this.leader = false;
  }

  /** Renew or take the lease, then bring the timers in line with the schools' settings. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    let hasLease = false;
    try {
      hasLease = await store.acquireLease(this.ctx.db, SCHEDULER_LEASE, this.holder, this.leaseTtlMs, this.ctx.now());
    } catch (error) {
      this.ctx.log.error({ err: error, holder: this.holder }, 'scheduler lease check failed');
    }

    if (!hasLease) {
      if (this.leader) this.ctx.log.warn({ holder: this.holder }, 'scheduler lease lost; standing by');
      this.leader = false;
      this.clearEntries();
      return;
    }

    if (!this.leader) {
      this.leader = true;
      this.ctx.log.info({ holder: this.holder }, 'scheduler lease taken; this process runs the jobs');
      await this.onLeadership();
    }
    try {
      await this.reconcile();
      await this.launchDueJobs();
    } catch (error) {
      this.ctx.log.error({ err: error }, 'scheduler tick failed');
    }
  }

  /**
   * Run one job now through the same path as a timer: a job_runs row, the attempts, an
   * explicit status. Resolves with the final outcome.
   */
  async runJob(name: string, params: JobParams = {}): Promise<JobOutcome> {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`no job named "${name}"; declared: ${[...this.jobs.keys()].join(', ')}`);
    const run = this.execute(job, params);
    this.inFlight.add(run);
    try {
      return await run;
    } finally {
      this.inFlight.delete(run);
    }
  }

  private async execute(job: JobDefinition, params: JobParams): Promise<JobOutcome> {
    const id = newId(this.ctx.now());
    await store.insertJobRun(this.ctx.db, {
      id,
      job: job.name,
      started_at: this.ctx.now(),
      finished_at: null,
      status: 'running',
      detail: JSON.stringify({ ...params, holder: this.holder }),
    });
    this.ctx.log.info({ job: job.name, jobRunId: id, ...params }, 'job started');

    let outcome: JobOutcome = { status: 'failed', detail: { error: 'not run' } };
    for (let attempt = 1; attempt <= job.attempts; attempt++) {
      try {
        outcome = await job.handler(this.ctx, params, { syncOptions: this.options.syncOptions, signal: this.abort.signal });
      } catch (error) {
        this.ctx.log.error({ err: error, job: job.name, jobRunId: id, attempt }, 'job failed');
        outcome = { status: 'failed', detail: { error: error instanceof Error ? error.message : String(error) } };
      }
      if (outcome.status !== 'failed' || attempt === job.attempts || this.abort.signal.aborted) break;
      this.ctx.log.warn({ job: job.name, jobRunId: id, attempt, retryInMs: job.retryDelayMs }, 'job retrying');
      try {
        await sleep(job.retryDelayMs, undefined, { signal: this.abort.signal });
      } catch {
        break;
      }
    }

    const detail = JSON.stringify({ ...params, ...outcome.detail, holder: this.holder });
    await store.finishJobRun(this.ctx.db, id, outcome.status, detail, this.ctx.now());
    this.ctx.log.info({ job: job.name, jobRunId: id, status: outcome.status }, 'job finished');
    return outcome;
  }

  private launch(name: string, params: JobParams): void {
    if (this.stopped || !this.leader) return;
    this.runJob(name, params).catch((error: unknown) => this.ctx.log.error({ err: error, job: name }, 'job could not be recorded'));
  }

  private async onLeadership(): Promise<void> {
    const before = this.ctx.now() - this.leaseTtlMs;
    const interrupted = await store.interruptJobRuns(this.ctx.db, before, this.ctx.now());
    if (interrupted > 0) this.ctx.log.warn({ interrupted }, 'job runs of a previous leader marked interrupted');

    await this.catchUp();
  }

  /** Start each 'when-due' job that has work and is not already running. */
  private async launchDueJobs(): Promise<void> {
    for (const job of this.jobs.values()) {
      if (job.schedule !== 'when-due' || this.runningDueJobs.has(job.name)) continue;
      if (!(await job.isDue!(this.ctx, { syncOptions: this.options.syncOptions }))) continue;
      this.runningDueJobs.add(job.name);
      this.runJob(job.name, {})
        .catch((error: unknown) => this.ctx.log.error({ err: error, job: job.name }, 'job could not be recorded'))
        .finally(() => this.runningDueJobs.delete(job.name));
    }
  }

  /** Run each school's full sync whose time passed within catchUpMs with no run since. */
  private async catchUp(): Promise<void> {
    const syncJob = this.jobFor('school-crons');
    if (!syncJob) return;
    const now = this.ctx.now();
    const lastStarts = await latestSyncStarts(this.ctx);
    for (const school of await listSchools(this.ctx)) {
      const missed = school.settings.syncCrons
        .map((cron) => this.safePreviousRun(school, cron, now))
        .filter((instant): instant is number => instant !== undefined)
        .sort((a, b) => b - a)[0];
      if (missed !== undefined && (lastStarts.get(school.id) ?? 0) < missed) {
        this.ctx.log.info({ schoolId: school.id, missed }, 'running a full sync missed while no process led');
        this.launch(syncJob.name, { schoolId: school.id, trigger: 'catch-up' });
      }
    }
  }

  private safePreviousRun(school: SchoolSummary, cron: string, now: number): number | undefined {
    try {
      return previousRun(validateCron(cron), now, this.catchUpMs);
    } catch {
      return undefined;
    }
  }

  private jobFor(source: JobDefinition['schedule']): JobDefinition | undefined {
    return [...this.jobs.values()].find((job) => job.schedule === source);
  }

  /** Create and stop timers so they match the schools' settings. */
  private async reconcile(): Promise<void> {
    const desired = new Map<string, Omit<ScheduledEntry, 'timer'> & { run: () => void }>();

    const pollJob = this.jobFor('school-polling');
    if (pollJob) {
      desired.set('poll', { key: 'poll', job: pollJob.name, schoolId: null, cron: '* * * * *', run: () => void this.pollDueSchools(pollJob.name) });
    }

    const syncJob = this.jobFor('school-crons');
    if (syncJob) {
      for (const school of await listSchools(this.ctx)) {
        for (const cron of school.settings.syncCrons) {
          const valid = this.checkCron(school, cron);
          if (!valid) continue;
          const key = `sync|${school.id}|${valid}`;
          desired.set(key, { key, job: syncJob.name, schoolId: school.id, cron: valid, run: () => this.launch(syncJob.name, { schoolId: school.id, trigger: 'schedule' }) });
        }
      }
    }

    for (const [key, entry] of this.entries) {
      if (!desired.has(key)) {
        entry.timer.stop();
        this.entries.delete(key);
      }
    }
    for (const [key, entry] of desired) {
      if (this.entries.has(key)) continue;
      const timer = new Cron(entry.cron, { timezone: TIME_ZONE, mode: '5-part', protect: true, unref: true }, entry.run);
      this.entries.set(key, { key, job: entry.job, schoolId: entry.schoolId, cron: entry.cron, timer });
    }
  }

  private checkCron(school: SchoolSummary, cron: string): string | undefined {
    try {
      return validateCron(cron);
    } catch {
      const key = `${school.id}|${cron}`;
      if (!this.reportedBadCrons.has(key)) {
        this.reportedBadCrons.add(key);
        this.ctx.log.error({ schoolId: school.id, cron }, 'school sync schedule has an invalid cron; it is skipped until fixed');
      }
      return undefined;
    }
  }

  private async pollDueSchools(jobName: string): Promise<void> {
    const now = this.ctx.now();
    try {
      for (const school of await listSchools(this.ctx)) {
        if (!isPollDue(school.settings.polling, now)) continue;
        // The job checks the calendar as well; asking here first keeps a skipped job run per poll out of job_runs.
        if (!(await decideScheduledSync(this.ctx, school, now)).runs) continue;
        this.launch(jobName, { schoolId: school.id, trigger: 'poll' });
      }
    } catch (error) {
      this.ctx.log.error({ err: error }, 'polling check failed');
    }
  }

  private clearEntries(): void {
    for (const entry of this.entries.values()) entry.timer.stop();
    this.entries.clear();
  }
}

/** The scheduler as a `serve` worker. */
export const schedulerWorker: Worker = {
  name: 'scheduler',
  async start(ctx) {
    const scheduler = new Scheduler(ctx);
    await scheduler.start();
    return () => scheduler.stop();
  },
};
