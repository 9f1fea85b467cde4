/**
 * Notice delivery latency: 500 code-change notices to 500 head teachers are queued with
 * enqueueNotice (created_at = the write time) while the dispatcher loop runs against the
 * DingTalk simulator (its own process, `fangkong simulate dingtalk`). The latency of a
 * notice is the simulator's receive time minus its created_at; both clocks are this
 * machine's. Runs on SQLite and PostgreSQL, each in three ways:
 *
 * - burst: 500 notices written back to back (one transaction each), dispatcher woken by
 *   the write, as when a sync run finds many changes at once;
 * - paced: 100 notices a second for 5 s, dispatcher woken by the write;
 * - paced, poll only: the same with the in-process wake-up switched off, as when another
 *   process writes the notices and the dispatcher finds them at its next poll (1 s).
 *
 * The baseline is one asyncsend_v2 call straight from the client, without the outbox.
 *
 *   node --import tsx bench/notify-latency.ts [--dialect sqlite|postgres|both] [--notices N]
 *
 * PostgreSQL runs in a throwaway database on FANGKONG_TEST_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test). Prints one JSON line per measurement and a
 * Markdown table at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { loadConfig, type Config } from '../src/config.js';
import { createContext, type AppContext } from '../src/context.js';
import type { DialectName } from '../src/db/connection.js';
import { createDingTalkClient, type DingTalkClient } from '../src/modules/notify/dingtalk-client.js';
import { startDispatcherLoop } from '../src/modules/notify/dispatcher.js';
import { enqueueNotice, outboxSignals } from '../src/modules/notify/outbox.js';
import { createSchool } from '../src/modules/people/service.js';
import { createFieldCipher } from '../src/shared/crypto.js';
import { createLogger } from '../src/shared/logger.js';
import { formatLocalTime } from '../src/shared/time.js';
import { makeName } from '../src/shared/synthetic.js';
import { createTestDb } from '../test/helpers/db.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const NOTICES = Number(option('notices', '500'));
const DIALECTS: DialectName[] = option('dialect', 'both') === 'both' ? ['sqlite', 'postgres'] : [option('dialect', 'both') as DialectName];
const PACED_PER_SECOND = 100;

interface Simulator {
  url: string;
  appKey: string;
  appSecret: string;
  agentId: string;
  robotWebhook: string;
  robotSecret: string;
  child: ChildProcess;
}

async function startSimulator(): Promise<Simulator> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'simulate', 'dingtalk', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return { ...(JSON.parse(line) as Omit<Simulator, 'child'>), child };
}

interface Delivery {
  userId: string;
  receivedAt: number;
}

async function receivedDeliveries(simulator: Simulator): Promise<Delivery[]> {
  const reply = (await (await fetch(`${simulator.url}/_sim/messages`)).json()) as { users: Record<string, Delivery[]> };
  return Object.values(reply.users).flat();
}

async function resetSimulator(simulator: Simulator): Promise<void> {
  await fetch(`${simulator.url}/_sim/reset`, { method: 'DELETE' });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

interface Measurement {
  dialect: DialectName | 'none';
  scenario: string;
  notices: number;
  received: number;
  /** Notices the simulator received more than once. */
  duplicates: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  /** From the first write to the last notice received. */
  totalMs: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Queue `count` code-change notices, `perSecond` a second (0: back to back); returns created_at by user. */
async function writeNotices(ctx: AppContext, schoolId: string, tag: string, count: number, perSecond: number): Promise<Map<string, number>> {
  const createdAt = new Map<string, number>();
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    if (perSecond > 0) {
      const due = started + (i * 1000) / perSecond;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    const userId = `dt-${tag}-${i}`;
    const now = ctx.now();
    const pupil = makeName(i + 17);
    await enqueueNotice(
      ctx.db,
      {
        schoolId,
        channel: 'dingtalk_work',
        kind: 'code_change',
        recipientDingtalkId: userId,
        title: '健康码变化提醒',
        body: `### 健康码变化提醒\n\n二(${(i % 12) + 1})班 ${pupil} 的健康码于 ${formatLocalTime(now)} 由绿码变为黄码。\n\n请联系家长，明天请勿到校。`,
        idempotencyKey: `bench-${tag}-${i}`,
      },
      now,
    );
    createdAt.set(userId, now);
  }
  return createdAt;
}

/** Wait until every notice of the scenario reached the simulator, or the timeout; returns those received. */
async function waitForDeliveries(simulator: Simulator, createdAt: Map<string, number>, timeoutMs: number): Promise<Delivery[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deliveries = (await receivedDeliveries(simulator)).filter((d) => createdAt.has(d.userId));
    if (deliveries.length >= createdAt.size || Date.now() > deadline) return deliveries;
    await sleep(100);
  }
}

/** Wait until the dispatcher has settled every notice (send results read), so the next scenario starts clean. */
async function waitForSettled(ctx: AppContext, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await ctx.db.selectFrom('outbox').select('id').where('status', 'in', ['pending', 'sending', 'confirming']).limit(1).execute();
    if (open.length === 0) return;
    if (Date.now() > deadline) throw new Error(`notices still open after ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function runScenario(
  ctx: AppContext,
  client: DingTalkClient,
  simulator: Simulator,
  schoolId: string,
  scenario: { name: string; perSecond: number; wake: boolean },
): Promise<Measurement> {
  await resetSimulator(simulator);
  const stop = startDispatcherLoop(ctx, client);
  // With the listeners removed, a write wakes no dispatcher, as when another process writes.
  const saved = outboxSignals.listeners('enqueued') as Array<(...args: unknown[]) => void>;
  if (!scenario.wake) outboxSignals.removeAllListeners('enqueued');

  const tag = `${ctx.dialect}-${scenario.name.replace(/\W+/g, '-')}`;
  const firstWrite = Date.now();
  const createdAt = await writeNotices(ctx, schoolId, tag, NOTICES, scenario.perSecond);
  const deliveries = await waitForDeliveries(simulator, createdAt, 120_000);

  if (!scenario.wake) for (const listener of saved) outboxSignals.on('enqueued', listener);
  await waitForSettled(ctx, 120_000);
  await stop();

  const latencies = deliveries.map((d) => d.receivedAt - createdAt.get(d.userId)!).sort((a, b) => a - b);
  const users = new Set(deliveries.map((d) => d.userId));
  return {
    dialect: ctx.dialect,
    scenario: scenario.name,
    notices: NOTICES,
    received: users.size,
    duplicates: deliveries.length - users.size,
    medianMs: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? NaN,
    totalMs: Math.max(...deliveries.map((d) => d.receivedAt)) - firstWrite,
  };
}

/** Measure one asyncsend_v2 per notice straight from the client, the floor under every scenario. */
async function measureBaseline(client: DingTalkClient, simulator: Simulator): Promise<Measurement> {
  await resetSimulator(simulator);
  await client.getAccessToken();
  const latencies: number[] = [];
  const started = Date.now();
  for (let i = 0; i < NOTICES; i++) {
    const before = Date.now();
    await client.sendWorkNotice({ userIds: [`dt-baseline-${i}`], title: '健康码变化提醒', markdown: `基线 ${i}` });
    latencies.push(Date.now() - before);
  }
  latencies.sort((a, b) => a - b);
  return {
    dialect: 'none',
    scenario: 'baseline: client call round trip',
    notices: NOTICES,
    received: latencies.length,
    duplicates: 0,
    medianMs: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1)!,
    totalMs: Date.now() - started,
  };
}

async function main(): Promise<void> {
  const simulator = await startSimulator();
  const log = createLogger(process.env.FANGKONG_LOG_LEVEL ?? 'warn');
  const results: Measurement[] = [];

  try {
    for (const dialect of DIALECTS) {
      // The test helper's throwaway database; its context (with a fixed clock) is not used.
      const database = await createTestDb(dialect);
      try {
        const base = loadConfig({});
        const config: Config = Object.freeze({
          ...base,
          dingtalk: {
            apiUrl: simulator.url,
            appKey: simulator.appKey,
            appSecret: simulator.appSecret,
            agentId: simulator.agentId,
            robotWebhook: simulator.robotWebhook,
            robotSecret: simulator.robotSecret,
          },
        });
        const ctx = createContext({ config, database: database.database, cipher: createFieldCipher(randomBytes(32)), log });
        const client = createDingTalkClient(config.dingtalk, log);
        const school = await createSchool(ctx, { code: `BENCH${dialect.toUpperCase()}`, name: '基准测试小学' });

        if (results.length === 0) {
          const baseline = await measureBaseline(client, simulator);
          results.push(baseline);
          console.log(JSON.stringify(baseline));
        }
        for (const scenario of [
          { name: 'burst, woken by the write', perSecond: 0, wake: true },
          { name: `paced ${PACED_PER_SECOND}/s, woken by the write`, perSecond: PACED_PER_SECOND, wake: true },
          { name: `paced ${PACED_PER_SECOND}/s, poll only (${config.notify.pollIntervalMs} ms)`, perSecond: PACED_PER_SECOND, wake: false },
        ]) {
          const measurement = await runScenario(ctx, client, simulator, school.id, scenario);
          results.push(measurement);
          console.log(JSON.stringify(measurement));
        }
      } finally {
        // Let pg's sockets finish closing before the helper drops the database WITH (FORCE).
        await database.database.close();
        await sleep(200);
        await database.close();
      }
    }
  } finally {
    simulator.child.kill('SIGTERM');
  }

  console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (${cpus().length} cores)`);
  console.log('\n| database | scenario | received | twice | median ms | p99 ms | max ms | first write to last receipt ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    console.log(`| ${r.dialect} | ${r.scenario} | ${r.received}/${r.notices} | ${r.duplicates} | ${r.medianMs} | ${r.p99Ms} | ${r.maxMs} | ${r.totalMs} |`);
  }
}

await main();
