import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { hasRecoverableRuns, recoverInterruptedRuns, runSync, startSync } from '../../src/modules/healthcode/service.js';
import { RUN_STALE_AFTER_MS } from '../../src/modules/healthcode/sync.js';
import { AppError } from '../../src/shared/errors.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { APP_KEY, APP_SECRET, buildSyncSchool, startBureau } from './harness.js';

/**
 * The demo replay runs its syncs with the clock set to 21:00 the evening before, about
 * 14 hours back. The stale-run check must judge such a run by its heartbeat on the real
 * clock, so a live run is never marked interrupted while a dead one still is.
 */

const CHILD = fileURLToPath(new URL('./fixtures/sync-child.ts', import.meta.url));
const NOON = instantOf('2026-12-07', '11:00');
const BACKDATED = NOON - 14 * 3600_000;

async function runOf(ctx: AppContext, runId: string) {
  return ctx.db.selectFrom('sync_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
}

/** Wait until the school's running run has committed its first batch of 100. */
async function waitForFirstBatch(ctx: AppContext, schoolId: string, child?: ChildProcess, stderr?: () => string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const run = await ctx.db.selectFrom('sync_runs').selectAll().where('school_id', '=', schoolId).where('status', '=', 'running').executeTakeFirst();
    if (run && run.processed >= 100) return run;
    if (Date.now() > deadline || (child && child.exitCode !== null)) throw new Error(`no batch committed in time: ${stderr?.() ?? ''}`);
    await sleep(20);
  }
}

describe.each(DIALECTS)('backdated sync run on %s', (dialect) => {
  let t: TestDb;
  let bureau: Awaited<ReturnType<typeof startBureau>>;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    // Slow responses keep a run of three batches going for over a second.
    bureau = await startBureau({ latencyMs: 400 }, { timeoutMs: 5000, concurrency: 1 });
  });

  afterAll(async () => {
    await bureau.close();
    await t.close();
  });

  it('survives recovery in its own process', async () => {
    t.setNow(NOON);
    const s = await buildSyncSchool(t.ctx, { classes: 3, pupilsPerClass: 100 });
    const replayCtx: AppContext = { ...t.ctx, now: () => BACKDATED };

    const started = await startSync(replayCtx, s.school.id, 'demo', { client: bureau.client });
    const running = await waitForFirstBatch(t.ctx, s.school.id);
    expect(running.status).toBe('running');
    expect(running.started_at).toBe(BACKDATED);

    expect(await hasRecoverableRuns(t.ctx, { resume: false })).toBe(false);
    expect(await recoverInterruptedRuns(t.ctx, { resume: false })).toEqual([]);
    await expect(runSync(t.ctx, s.school.id, 'manual', { client: bureau.client })).rejects.toMatchObject({ code: 'SYNC_ALREADY_RUNNING' });

    const result = await started.done;
    expect(result.status).toBe('succeeded');
    const finished = await runOf(t.ctx, started.runId);
    expect(finished.status).toBe('succeeded');
    expect(finished.error).toBeNull();
  });

  it('survives another process until killed', async () => {
    t.setNow(NOON);
    const s = await buildSyncSchool(t.ctx, { classes: 3, pupilsPerClass: 100 });
    // This process plays the server, with the real clock for liveness like the child.
    const server: AppContext = { ...t.ctx, livenessNow: Date.now };

    const spawnChild = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
        env: {
          ...process.env,
          FK_CHILD_DATA_DIR: t.dataDir,
          FK_CHILD_DATABASE_URL: t.ctx.config.databaseUrl,
          FK_CHILD_BUREAU_URL: bureau.simulator.url,
          FK_CHILD_APP_KEY: APP_KEY,
          FK_CHILD_APP_SECRET: APP_SECRET,
          FK_CHILD_SCHOOL_ID: s.school.id,
          FK_CHILD_NOW: String(BACKDATED),
          FK_CHILD_WALL_LIVENESS: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      return { child, exited, stderr: () => stderr };
    };

    // A live child: neither recovery nor a new sync takes its run over.
    const live = spawnChild();
    const running = await waitForFirstBatch(t.ctx, s.school.id, live.child, live.stderr);
    expect(running.started_at).toBe(BACKDATED);
    expect(await hasRecoverableRuns(server, { resume: false })).toBe(false);
    expect(await recoverInterruptedRuns(server, { resume: false })).toEqual([]);
    const competing = runSync(server, s.school.id, 'manual', { client: bureau.client });
    await expect(competing).rejects.toBeInstanceOf(AppError);
    await expect(competing).rejects.toMatchObject({ code: 'SYNC_ALREADY_RUNNING' });
    expect(await live.exited).toEqual({ code: 0, signal: null });
    const finished = await runOf(t.ctx, running.id);
    expect(finished.status).toBe('succeeded');
    expect(finished.error).toBeNull();

    // A child killed mid-run: its heartbeat stops, and a minute later recovery interrupts it.
    const dead = spawnChild();
    const crashed = await waitForFirstBatch(t.ctx, s.school.id, dead.child, dead.stderr);
    expect(crashed.id).not.toBe(running.id);
    dead.child.kill('SIGKILL');
    expect((await dead.exited).signal).toBe('SIGKILL');

    expect(await recoverInterruptedRuns(server, { resume: false })).toEqual([]);
    const later: AppContext = { ...server, livenessNow: () => Date.now() + RUN_STALE_AFTER_MS + 1 };
    expect(await hasRecoverableRuns(later, { resume: false })).toBe(true);
    expect(await recoverInterruptedRuns(later, { resume: false })).toEqual([{ interruptedRunId: crashed.id }]);
    expect((await runOf(t.ctx, crashed.id)).status).toBe('interrupted');
  });
});
