import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotice } from '../../src/modules/notify/outbox.js';
import { startDingTalkSimulator, type DingTalkSimulator } from '../../tools/simulators/dingtalk.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';

const APP = { appKey: 'crash-key', appSecret: 'crash-secret', agentId: '30003' };
/** The simulator's clock stays on one Shanghai day, so its same-day rule always applies. */
const SIM_DAY = Date.parse('2026-12-07T01:00:00Z');
const LEASE_MS = 1_500;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Start a dispatcher process against the test database and the simulator; resolves once it runs. */
async function startDispatcherProcess(t: TestDb, sim: DingTalkSimulator): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/notify/dispatch-process.ts'], {
    env: {
      ...process.env,
      FANGKONG_DATA_DIR: t.dataDir,
      FANGKONG_DATABASE_URL: t.ctx.config.databaseUrl,
      FANGKONG_DINGTALK_API_URL: sim.url,
      FANGKONG_DINGTALK_APP_KEY: APP.appKey,
      FANGKONG_DINGTALK_APP_SECRET: APP.appSecret,
      FANGKONG_DINGTALK_AGENT_ID: APP.agentId,
      FANGKONG_NOTIFY_POLL_MS: '50',
      DISPATCH_LEASE_MS: String(LEASE_MS),
      DISPATCH_CONFIRM_DELAY_MS: '300',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dispatcher process exited early with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
  });
  child.removeAllListeners('exit');
  return child;
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

describe.each(DIALECTS)('%s: dispatcher crash', (dialect) => {
  let t: TestDb;
  let sim: DingTalkSimulator;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    t = await createTestDb(dialect);
    sim = await startDingTalkSimulator({ port: 0, ...APP, now: () => SIM_DAY });
  });
  afterAll(async () => {
    for (const child of children) await stopProcess(child, 'SIGKILL');
    await sim.close();
    await t.database.close();
    await sleep(200);
    await t.close();
  });

  it('loses no notice and delivers none twice after kill -9', async () => {
    const school = await buildSchool(t.ctx);
    const users: string[] = [];
    const now = Date.now();
    for (let i = 0; i < 24; i++) {
      const userId = `dt-crash-${dialect}-${i}`;
      users.push(userId);
      // Every third notice shares its text with others, so some sends carry several users.
      const body = i % 3 === 0 ? '### 明天请勿到校\n\n请留意孩子健康状况。' : `### 健康码变化\n\n学生 ${i} 的健康码变为黄码。`;
      await enqueueNotice(t.ctx.db, { schoolId: school.id, channel: 'dingtalk_work', kind: 'code_change', recipientDingtalkId: userId, title: '防控通知', body, idempotencyKey: `crash-${dialect}-${i}` }, now);
    }

    // DingTalk takes each send at once but replies only after 5 s, so the process dies with
    // sends delivered and not yet recorded, and with rows it claimed but never sent.
    await sim.setFaults({ replyDelayMs: 5_000, slowPath: '/topapi/message/corpconversation/asyncsend_v2' });
    const first = await startDispatcherProcess(t, sim);
    children.push(first);
    await waitFor(() => sim.stats().workSends >= 2, 10_000, 'the first sends to arrive');
    await stopProcess(first, 'SIGKILL');

    const afterCrash = await t.ctx.db.selectFrom('outbox').select('status').where('school_id', '=', school.id).execute();
    expect(afterCrash.filter((row) => row.status === 'sending').length).toBeGreaterThan(0);
    const deliveredBeforeCrash = sim.stats().delivered;
    expect(deliveredBeforeCrash).toBeGreaterThan(0);
    expect(deliveredBeforeCrash).toBeLessThan(users.length);

    await sim.clearFaults();
    const second = await startDispatcherProcess(t, sim);
    children.push(second);
    await waitFor(
      async () => {
        const open = await t.ctx.db
          .selectFrom('outbox')
          .select('id')
          .where('school_id', '=', school.id)
          .where('status', 'in', ['pending', 'sending', 'confirming'])
          .execute();
        return open.length === 0;
      },
      30_000,
      'every notice to settle after the restart',
    );
    await stopProcess(second, 'SIGTERM');

    const rows = await t.ctx.db.selectFrom('outbox').selectAll().where('school_id', '=', school.id).execute();
    expect(rows.map((row) => row.status)).toEqual(rows.map(() => 'sent'));
    const messages = sim.messages();
    for (const userId of users) expect(messages[userId], userId).toHaveLength(1);
    expect(sim.stats().duplicateDeliveries).toBe(0);

    // The sends that were in flight at the crash came back filtered and count as sent.
    const recovered = rows.filter((row) => row.delivery_note?.includes('此前的发送已送达'));
    expect(recovered.length).toBe(deliveredBeforeCrash);
    expect(sim.stats().filtered).toBe(deliveredBeforeCrash);
  });
});
