import type { Config } from '../../src/config.js';
import type { DialectName } from '../../src/db/connection.js';
import { createDingTalkClient, type DingTalkClient } from '../../src/modules/notify/dingtalk-client.js';
import { dispatchOnce, type DispatcherOptions, type DispatchReport } from '../../src/modules/notify/dispatcher.js';
import { startDingTalkSimulator, type DingTalkSimulator, type DingTalkSimulatorOptions } from '../../tools/simulators/dingtalk.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

export const APP_KEY = 'test-app-key';
export const APP_SECRET = 'test-app-secret';
export const AGENT_ID = '10001';
export const ROBOT_SECRET = 'SECtest-robot-secret';

/** 09:00 in Asia/Shanghai on a school day. */
export const MORNING = Date.parse('2026-12-07T01:00:00Z');

/** Dispatcher settings for tests: no jitter, short confirm delay. */
export const TEST_DISPATCH: DispatcherOptions = { confirmDelayMs: 1_000, random: () => 0.5 };

export interface NotifyHarness {
  t: TestDb;
  sim: DingTalkSimulator;
  client: DingTalkClient;
  /** The shared clock of the database context, the client and the simulator. */
  now(): number;
  advance(ms: number): void;
  /** Run passes (moving the clock past the confirm delay) until nothing is due or `maxPasses`. */
  settle(options?: DispatcherOptions, maxPasses?: number): Promise<DispatchReport[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  simulator?: Partial<DingTalkSimulatorOptions>;
  /** Robot secret the app is configured with (a wrong one makes every robot request fail). */
  clientRobotSecret?: string;
  notify?: Partial<Config['notify']>;
  clientTimeoutMs?: number;
}

/** Start a fresh database of the dialect and a fresh simulator on 127.0.0.1 that share one clock. */
export async function startHarness(dialect: DialectName, options: HarnessOptions = {}): Promise<NotifyHarness> {
  let clockSource: () => number = () => MORNING;
  const sim = await startDingTalkSimulator({
    port: 0,
    appKey: APP_KEY,
    appSecret: APP_SECRET,
    agentId: AGENT_ID,
    robotSecret: ROBOT_SECRET,
    robotPenaltyMs: 0,
    now: () => clockSource(),
    ...options.simulator,
  });

  const base = await createTestDb(dialect);
  const config: Config = {
    ...base.ctx.config,
    dingtalk: {
      apiUrl: sim.url,
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      agentId: AGENT_ID,
      robotWebhook: sim.robotWebhook,
      robotSecret: options.clientRobotSecret ?? ROBOT_SECRET,
    },
    notify: { ...base.ctx.config.notify, pollIntervalMs: 50, ...options.notify },
  };
  const t: TestDb = { ...base, ctx: { ...base.ctx, config: Object.freeze(config) } };
  t.setNow(MORNING);
  clockSource = t.ctx.now;

  const client = createDingTalkClient(config.dingtalk, t.ctx.log, { now: t.ctx.now, timeoutMs: options.clientTimeoutMs ?? 2_000 });

  return {
    t,
    sim,
    client,
    now: () => t.ctx.now(),
    advance: (ms) => t.setNow(t.ctx.now() + ms),
    async settle(dispatch = TEST_DISPATCH, maxPasses = 20) {
      const reports: DispatchReport[] = [];
      for (let pass = 0; pass < maxPasses; pass++) {
        const report = await dispatchOnce(t.ctx, client, dispatch);
        reports.push(report);
        const due = await t.ctx.db
          .selectFrom('outbox')
          .select('id')
          .where('status', 'in', ['pending', 'sending', 'confirming'])
          .where('next_attempt_at', '<=', t.ctx.now() + (dispatch.confirmDelayMs ?? 3_000) * 8)
          .execute();
        if (due.length === 0) break;
        t.setNow(t.ctx.now() + (dispatch.confirmDelayMs ?? 3_000) * 8);
      }
      return reports;
    },
    async close() {
      await sim.close();
      // pg's pool reports "ended" while its sockets are still closing. Dropping the
      // database WITH (FORCE) at that moment raises an unhandled error in the client, so
      // the pool is closed first and given a moment. Closing twice is a no-op.
      await t.database.close();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await t.close();
    },
  };
}
