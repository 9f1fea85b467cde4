import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverInterruptedRuns, runSync } from '../../src/modules/healthcode/service.js';
import { RUN_STALE_AFTER_MS } from '../../src/modules/healthcode/sync.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { APP_KEY, APP_SECRET, buildSyncSchool, outboxOf, startBureau } from './harness.js';

const CHILD = fileURLToPath(new URL('./fixtures/sync-child.ts', import.meta.url));
const EVENING = instantOf('2026-12-06', '21:00');

describe.each(DIALECTS)('sync killed with SIGKILL on %s', (dialect) => {
  let t: TestDb;
  let bureau: Awaited<ReturnType<typeof startBureau>>;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(EVENING);
    // Slow answers, so the test can kill the child between two batches.
    bureau = await startBureau({ latencyMs: 400 }, { timeoutMs: 5000 });
  });

  afterAll(async () => {
    await bureau.close();
    await t.close();
  });

  it('resumes without queueing any notice twice', async () => {
    // Three classes of 100: one batch per class, ten yellow pupils in each.
    const s = await buildSyncSchool(t.ctx, { classes: 3, pupilsPerClass: 100 });
    const yellow = s.classes.flatMap((c) => c.pupils.slice(0, 10));
    for (const pupil of yellow) bureau.simulator.setCode(pupil.idNumber, 'yellow');

    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: {
        ...process.env,
        FK_CHILD_DATA_DIR: t.dataDir,
        FK_CHILD_DATABASE_URL: t.ctx.config.databaseUrl,
        FK_CHILD_BUREAU_URL: bureau.simulator.url,
        FK_CHILD_APP_KEY: APP_KEY,
        FK_CHILD_APP_SECRET: APP_SECRET,
        FK_CHILD_SCHOOL_ID: s.school.id,
        FK_CHILD_NOW: String(EVENING),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));

    // Kill it as soon as the first batch has committed.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const run = await t.ctx.db.selectFrom('sync_runs').selectAll().where('school_id', '=', s.school.id).executeTakeFirst();
      if (run && run.processed >= 100) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`child did not commit a batch in time: ${stderr}`);
      await sleep(20);
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const crashed = await t.ctx.db.selectFrom('sync_runs').selectAll().where('school_id', '=', s.school.id).executeTakeFirstOrThrow();
    expect(crashed.status).toBe('running');
    expect(crashed.processed).toBeLessThan(300);
    const committed = crashed.processed;

    t.setNow(EVENING + RUN_STALE_AFTER_MS + 1);
    const recovered = await recoverInterruptedRuns(t.ctx, { resume: true, client: bureau.client });
    const mine = recovered.find((r) => r.interruptedRunId === crashed.id)!;
    const resumed = await mine.done!;
    expect(resumed.status).toBe('succeeded');
    expect(resumed.total).toBe(300 - committed);

    // Each yellow pupil changed once, and its guardian was told to stay home once.
    const changes = await t.ctx.db.selectFrom('health_code_changes').selectAll().where('school_id', '=', s.school.id).execute();
    expect(changes).toHaveLength(30);
    expect(new Set(changes.map((c) => c.person_id)).size).toBe(30);
    expect(changes.every((c) => c.notified_at !== null)).toBe(true);
    const outbox = await outboxOf(t.ctx, s.school.id);
    const stayHome = outbox.filter((n) => n.kind === 'stay_home');
    expect(stayHome.map((n) => n.recipient_guardian_id).sort()).toEqual(yellow.map((p) => p.guardianId).sort());

    // Each head teacher got one digest of their class, from whichever run committed it.
    for (const { teacher } of s.classes) {
      const toTeacher = outbox.filter((n) => n.recipient_person_id === teacher.id && n.channel === 'dingtalk_work');
      expect(toTeacher).toHaveLength(1);
      expect(toTeacher[0].body).toContain('共 10 人');
    }
    // Management heard of all 30 changes, split between the two runs.
    const toPrincipal = outbox.filter((n) => n.recipient_person_id === s.principal.id && n.channel === 'dingtalk_work');
    const counted = toPrincipal.map((n) => Number(/共 (\d+) 人/.exec(n.body)?.[1] ?? 1)).reduce((a, b) => a + b, 0);
    expect(counted).toBe(30);

    // Running everything again queues nothing new.
    const before = outbox.length;
    await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    expect((await outboxOf(t.ctx, s.school.id)).length).toBe(before);
  });
});
