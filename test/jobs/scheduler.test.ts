import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type AppContext } from '../../src/context.js';
import { openDb, type Db } from '../../src/db/connection.js';
import { JOBS, checkJobTable, type JobDefinition } from '../../src/jobs/registry.js';
import { Scheduler, SCHEDULER_LEASE } from '../../src/jobs/scheduler.js';
import { acquireLease, findLease, releaseLease } from '../../src/jobs/store.js';
import { setSyncSchedule } from '../../src/modules/healthcode/service.js';
import { updateSchoolSettings } from '../../src/modules/people/service.js';
import { instantOf } from '../../src/shared/time.js';
import { newId } from '../../src/shared/ids.js';
import { RUN_STALE_AFTER_MS } from '../../src/modules/healthcode/sync.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSyncSchool, startBureau } from '../healthcode/harness.js';
import { eventually } from '../helpers/wait.js';

/** Poll until `check` returns a value other than undefined or false, or fail after `ms`. */
const SUNDAY_NOON = instantOf('2026-12-06', '12:00');

describe.each(DIALECTS)('scheduler on %s', (dialect) => {
  let t: TestDb;
  let second: Db;
  let ctxB: AppContext;
  let bureau: Awaited<ReturnType<typeof startBureau>>;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(SUNDAY_NOON);
    // A second connection pool to the same database, as a second process would have.
    second = openDb({ databaseUrl: t.ctx.config.databaseUrl, dataDir: t.dataDir });
    ctxB = createContext({ config: t.ctx.config, database: second, cipher: t.ctx.cipher, log: t.ctx.log, now: () => t.ctx.now() });
    bureau = await startBureau();
  });

  afterAll(async () => {
    await bureau.close();
    await second.close();
    await t.close();
  });

  it('grants a lease to exactly one of many holders at once', async () => {
    const now = t.ctx.now();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => acquireLease(i % 2 === 0 ? t.ctx.db : ctxB.db, 'race', `holder-${i}`, 1000, now)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = `holder-${results.indexOf(true)}`;
    expect((await findLease(t.ctx.db, 'race'))?.holder).toBe(winner);

    expect(await acquireLease(t.ctx.db, 'race', winner, 1000, now + 500)).toBe(true);
    expect(await acquireLease(t.ctx.db, 'race', 'late', 1000, now + 1400)).toBe(false);
    expect(await acquireLease(t.ctx.db, 'race', 'late', 1000, now + 1501)).toBe(true);
    await releaseLease(t.ctx.db, 'race', winner);
    expect((await findLease(t.ctx.db, 'race'))?.holder).toBe('late');
    await releaseLease(t.ctx.db, 'race', 'late');
    expect(await findLease(t.ctx.db, 'race')).toBeUndefined();
  });

  it('lets one of two schedulers lead and hands over when it stops', async () => {
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 1 });
    await setSyncSchedule(t.ctx, s.school.code, { preset: 'evening-2100-morning-0630' });
    const options = { leaseTtlMs: 2000, tickMs: 50, syncOptions: { client: bureau.client } };
    const a = new Scheduler(t.ctx, { ...options, holder: 'process-a' });
    const b = new Scheduler(ctxB, { ...options, holder: 'process-b' });
    await Promise.all([a.start(), b.start()]);
    try {
      expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
      const [leader, standby] = a.isLeader ? [a, b] : [b, a];
      expect(standby.scheduled()).toHaveLength(0);
      const crons = leader.scheduled().filter((e) => e.schoolId === s.school.id).map((e) => e.cron).sort();
      expect(crons).toEqual(['0 21 * * *', '30 6 * * *']);

      // Several ticks later nothing has moved.
      await sleep(200);
      expect(leader.isLeader).toBe(true);
      expect(standby.isLeader).toBe(false);
      expect((await findLease(t.ctx.db, SCHEDULER_LEASE))?.holder).toBe(leader.holder);

      await leader.stop();
      await eventually(async () => standby.scheduled().some((e) => e.schoolId === s.school.id));
      expect(standby.isLeader).toBe(true);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('waits for a dead leader’s lease to expire', async () => {
    const onlyRecover = JOBS.filter((job) => job.name === 'healthcode.recover');
    expect(onlyRecover).toHaveLength(1);
    expect(await acquireLease(t.ctx.db, SCHEDULER_LEASE, 'dead-process', 400, t.ctx.now())).toBe(true);
    const standby = new Scheduler(ctxB, { holder: 'standby', leaseTtlMs: 400, tickMs: 50, jobs: onlyRecover });
    await standby.start();
    try {
      expect(standby.isLeader).toBe(false);
      t.setNow(SUNDAY_NOON + 401);
      await eventually(async () => standby.isLeader);
    } finally {
      await standby.stop();
      t.setNow(SUNDAY_NOON);
    }
  });

  it('records each job run with its status', async () => {
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 2 });
    const scheduler = new Scheduler(t.ctx, { holder: 'runner', syncOptions: { client: bureau.client }, jobs: JOBS.filter((j) => j.name !== 'healthcode.poll') });
    const done = await scheduler.runJob('healthcode.sync', { schoolId: s.school.id, trigger: 'test' });
    expect(done.status).toBe('done');
    expect(done.detail).toMatchObject({ syncStatus: 'succeeded', total: 2 });

    const slow = await startBureau({ latencyMs: 150 });
    const slowScheduler = new Scheduler(t.ctx, { holder: 'runner-2', syncOptions: { client: slow.client }, jobs: JOBS.filter((j) => j.name !== 'healthcode.poll') });
    try {
      const first = slowScheduler.runJob('healthcode.sync', { schoolId: s.school.id, trigger: 'test' });
      await eventually(async () => (await t.ctx.db.selectFrom('sync_runs').select('id').where('school_id', '=', s.school.id).where('status', '=', 'running').executeTakeFirst()) ?? false);
      const skipped = await scheduler.runJob('healthcode.sync', { schoolId: s.school.id, trigger: 'test' });
      expect(skipped.status).toBe('skipped');
      expect((await first).status).toBe('done');
    } finally {
      await slow.close();
    }

    const runs = await t.ctx.db.selectFrom('job_runs').selectAll().where('job', '=', 'healthcode.sync').orderBy('started_at').orderBy('id').execute();
    const mine = runs.filter((r) => JSON.parse(r.detail ?? '{}').schoolId === s.school.id);
    expect(mine.map((r) => r.status).sort()).toEqual(['done', 'done', 'skipped']);
    expect(mine.every((r) => r.finished_at !== null)).toBe(true);
  });

  it('fires a school’s cron through the job table', async () => {
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 1 });
    await setSyncSchedule(t.ctx, s.school.code, { crons: ['15 5 * * 1-5'] });
    const scheduler = new Scheduler(t.ctx, { holder: 'cron-test', syncOptions: { client: bureau.client }, jobs: JOBS.filter((j) => j.name !== 'healthcode.poll') });
    await scheduler.start();
    // A scheduled sync runs for school days only, and Monday is one.
    t.setNow(instantOf('2026-12-07', '05:15'));
    try {
      const entry = scheduler.scheduled().find((e) => e.schoolId === s.school.id)!;
      expect(entry.cron).toBe('15 5 * * 1-5');
      expect(entry.timer.getPattern()).toBe('15 5 * * 1-5');
      await entry.timer.trigger();
      const run = await eventually(async () =>
        (await t.ctx.db.selectFrom('sync_runs').selectAll().where('school_id', '=', s.school.id).where('status', '=', 'succeeded').executeTakeFirst()) ?? false,
      );
      expect(run.trigger).toBe('schedule');

      // A schedule change reaches the timers at the next tick.
      await setSyncSchedule(t.ctx, s.school.code, { preset: 'daily-0430' });
      await scheduler.tick();
      expect(scheduler.scheduled().filter((e) => e.schoolId === s.school.id).map((e) => e.cron)).toEqual(['30 4 * * *']);
    } finally {
      await scheduler.stop();
      t.setNow(SUNDAY_NOON);
    }
  });

  it('skips an invalid cron stored in a school’s settings', async () => {
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 1 });
    await updateSchoolSettings(t.ctx, s.school.id, { ...s.school.settings, syncCrons: ['not a cron', '0 21 * * *'] });
    const scheduler = new Scheduler(t.ctx, { holder: 'bad-cron', jobs: JOBS.filter((j) => j.name === 'healthcode.sync') });
    await scheduler.start();
    try {
      expect(scheduler.scheduled().filter((e) => e.schoolId === s.school.id).map((e) => e.cron)).toEqual(['0 21 * * *']);
    } finally {
      await scheduler.stop();
    }
  });

  it('runs a full sync missed while no process led', async () => {
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 1 });
    await setSyncSchedule(t.ctx, s.school.code, { crons: ['30 4 * * *'] });
    t.setNow(instantOf('2026-12-07', '04:40'));
    const scheduler = new Scheduler(t.ctx, { holder: 'catch-up', syncOptions: { client: bureau.client }, jobs: JOBS.filter((j) => j.name === 'healthcode.sync') });
    await scheduler.start();
    try {
      const run = await eventually(async () => (await t.ctx.db.selectFrom('sync_runs').selectAll().where('school_id', '=', s.school.id).executeTakeFirst()) ?? false);
      expect(run.trigger).toBe('catch-up');
    } finally {
      await scheduler.stop();
      t.setNow(SUNDAY_NOON);
    }
  });
});

describe.each(DIALECTS)('scheduler recovery on %s', (dialect) => {
  let t: TestDb;
  let bureau: Awaited<ReturnType<typeof startBureau>>;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(SUNDAY_NOON);
    bureau = await startBureau();
  });

  afterAll(async () => {
    await bureau.close();
    await t.close();
  });

  it('interrupts and resumes a dead process’s sync', async () => {
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 2 });
    const deadId = newId(SUNDAY_NOON);
    await t.ctx.db
      .insertInto('sync_runs')
      .values({ id: deadId, school_id: s.school.id, trigger: 'schedule', status: 'running', started_at: SUNDAY_NOON, finished_at: null, heartbeat_at: SUNDAY_NOON, holder: 'dead:1', total: 2, processed: 0, failed: 0, changes: 0, failed_batches: 0, counts: '{}', error: null, resumed_from: null })
      .execute();
    const scheduler = new Scheduler(t.ctx, { holder: 'recovering', tickMs: 50, syncOptions: { client: bureau.client }, jobs: JOBS.filter((j) => j.name === 'healthcode.recover') });
    await scheduler.start();
    try {
      // Not stale yet: nothing to do, and no job run is recorded for the idle ticks.
      await sleep(150);
      expect(await t.ctx.db.selectFrom('job_runs').selectAll().where('job', '=', 'healthcode.recover').execute()).toHaveLength(0);

      t.setNow(SUNDAY_NOON + RUN_STALE_AFTER_MS + 1);
      const resumed = await eventually(async () =>
        (await t.ctx.db.selectFrom('sync_runs').selectAll().where('resumed_from', '=', deadId).where('status', '=', 'succeeded').executeTakeFirst()) ?? false,
      );
      expect(resumed.total).toBe(2);
      const dead = await t.ctx.db.selectFrom('sync_runs').selectAll().where('id', '=', deadId).executeTakeFirstOrThrow();
      expect(dead.status).toBe('interrupted');
      const jobRuns = await eventually(async () => {
        const rows = await t.ctx.db.selectFrom('job_runs').selectAll().where('job', '=', 'healthcode.recover').execute();
        return rows.length > 0 && rows.every((r) => r.status !== 'running') ? rows : false;
      });
      expect(jobRuns).toHaveLength(1);
      expect(jobRuns[0].status).toBe('done');
      expect(JSON.parse(jobRuns[0].detail!).interrupted).toEqual([deadId]);
    } finally {
      await scheduler.stop();
    }
  });
});

describe('job table', () => {
  it('passes for the declared jobs', () => {
    expect(() => checkJobTable(JOBS)).not.toThrow();
  });

  it('rejects duplicates, missing handlers and bad attempts', () => {
    const bad: JobDefinition[] = [
      JOBS[0],
      { ...JOBS[0] },
      { ...JOBS[0], name: 'z', isDue: undefined },
      { ...JOBS[1], name: 'x', attempts: 0 },
      { ...JOBS[1], name: 'y', handler: undefined as unknown as JobDefinition['handler'] },
    ];
    expect(() => checkJobTable(bad)).toThrow(/declared twice[\s\S]*no isDue check[\s\S]*attempts=0[\s\S]*no handler[\s\S]*more than one job uses schedule source "school-crons"/);
  });
});
