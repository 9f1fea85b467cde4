import { seedDemoVenues } from '../../src/demo/venues.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppContext } from '../../src/context.js';
import { loadConfig, type Config } from '../../src/config.js';
import { DEMO_PASSWORD, seedDemoAccounts } from '../../src/demo/accounts.js';
import { startDemoEnvironment, type DemoEnvironment } from '../../src/demo/environment.js';
import { replayMorning, type MorningReport } from '../../src/demo/morning.js';
import { DEMO_SCHOOL, seedDemo } from '../../src/demo/seed.js';
import { seedDemoVisitors } from '../../src/demo/visitors.js';
import { seedDemoCalendar } from '../../src/demo/calendar.js';
import { seedDemoChecks } from '../../src/demo/checks.js';
import { seedDemoReports } from '../../src/demo/reports.js';
import { closeBureauClient } from '../../src/modules/healthcode/service.js';
import { createDingTalkClient } from '../../src/modules/notify/dingtalk-client.js';
import { startDispatcherLoop } from '../../src/modules/notify/dispatcher.js';
import { instantOf, schoolDay } from '../../src/shared/time.js';

export { DEMO_PASSWORD, DEMO_SCHOOL };

/**
 * Start the simulators of a demo server (health-code bureau and DingTalk) in a data
 * folder of their own, and return the config overrides that point a server at them.
 */
export async function startDemoSimulators(): Promise<{ demo: DemoEnvironment; overrides: Partial<Config> }> {
  const base = loadConfig({ FANGKONG_DATA_DIR: mkdtempSync(join(tmpdir(), 'fangkong-demo-day-')) });
  const demo = await startDemoEnvironment(base);
  return { demo, overrides: { bureau: demo.config.bureau, dingtalk: demo.config.dingtalk } };
}

/**
 * Seed the demo school (72 classes, 2,880 pupils, staff, the demo accounts) and replay
 * its morning as `npm start` does (src/demo/morning.ts): the three health-code syncs
 * with their notices delivered to the DingTalk simulator, then 07:00-08:15 at six gate
 * lanes. The replay runs on today's date: before 08:30 in Asia/Shanghai the seeding
 * clock is set to 08:30 today, so the console, which shows today, has the morning.
 */
export async function seedDemoDay(ctx: AppContext, demo: DemoEnvironment): Promise<MorningReport> {
  const startedAt = Date.now();
  const morningDone = instantOf(schoolDay(startedAt), '08:30');
  const seedCtx: AppContext = { ...ctx, now: () => Math.max(morningDone, startedAt) + (Date.now() - startedAt) };

  await seedDemo(seedCtx);
  await seedDemoAccounts(seedCtx);
  await seedDemoCalendar(seedCtx);

  const client = createDingTalkClient(seedCtx.config.dingtalk, seedCtx.log);
  const stopDispatcher = startDispatcherLoop(seedCtx, client, { confirmDelayMs: 100 });
  try {
    await seedDemoVisitors(seedCtx);
    const morning = await replayMorning(seedCtx, demo, { waitMs: 20_000 });
    await seedDemoChecks(seedCtx);
    await seedDemoReports(seedCtx);
    await seedDemoVenues(seedCtx);
    return morning;
  } finally {
    await stopDispatcher();
    await closeBureauClient(seedCtx);
  }
}
