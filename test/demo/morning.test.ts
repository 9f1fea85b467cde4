import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/seed.js';
import { replayMorning, type MorningReport } from '../../src/demo/morning.js';
import { createDingTalkClient } from '../../src/modules/notify/dingtalk-client.js';
import { startDispatcherLoop } from '../../src/modules/notify/dispatcher.js';
import { closeBureauClient } from '../../src/modules/healthcode/service.js';
import { startBureauSimulator, type BureauSimulator } from '../../tools/simulators/bureau.js';
import { startDingTalkSimulator, type DingTalkSimulator } from '../../tools/simulators/dingtalk.js';
import { loadConfig, type Config } from '../../src/config.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';

describe.each(DIALECTS)('%s: demo morning', (dialect) => {
  let t: TestDb;
  let bureau: BureauSimulator;
  let dingtalk: DingTalkSimulator;
  let report: MorningReport;

  beforeAll(async () => {
    bureau = await startBureauSimulator({ port: 0, appKey: 'k', appSecret: 's' });
    dingtalk = await startDingTalkSimulator({ port: 0, appKey: 'dk', appSecret: 'ds', agentId: '1' });
    const base = loadConfig({});
    const overrides: Partial<Config> = {
      bureau: { ...base.bureau, url: bureau.url, appKey: 'k', appSecret: 's' },
      dingtalk: { ...base.dingtalk, apiUrl: dingtalk.url, appKey: 'dk', appSecret: 'ds', agentId: '1' },
    };
    t = await createTestDb(dialect, overrides);
    // The test clock must run, because the replay waits for the dispatcher in real time.
    t.ctx.now = Date.now;
    await seedDemo(t.ctx);

    const client = createDingTalkClient(t.ctx.config.dingtalk, t.ctx.log);
    const stop = startDispatcherLoop(t.ctx, client, { confirmDelayMs: 200 });
    try {
      report = await replayMorning(t.ctx, { bureau, dingtalk });
    } finally {
      await stop();
      await closeBureauClient(t.ctx);
    }
  }, 240_000);

  afterAll(async () => {
    await t?.close();
    await bureau?.close();
    await dingtalk?.close();
  });

  it('runs the three syncs with their changes', () => {
    expect(report.steps.map((s) => s.at.slice(11))).toEqual(['21:00', '04:30', '06:30']);
    expect(report.steps.every((s) => s.run.status === 'succeeded')).toBe(true);
    expect(report.steps[0].run.changes).toBe(2);
    expect(report.steps[1].run.changes).toBe(1);
    expect(report.steps[2].run.changes).toBe(1);
    expect(report.steps[2].run.counts.red).toBe(1);
    expect(report.steps[2].run.counts.yellow).toBe(1);
  });

  it('delivers every notice to DingTalk', () => {
    expect(report.notices.queued).toBeGreaterThan(5);
    expect(report.notices.waiting).toBe(0);
    expect(report.notices.failed).toBe(0);
    expect(report.dingtalkDeliveries).toBe(report.notices.sent);
    expect(report.sampleNotice).toContain('二(3)班');
  });

  it('lets about 3,000 people through', () => {
    expect(report.gate.attempts).toBe(3005);
    expect(report.gate.passed).toBe(2999);
    expect(report.gate.reasons).toEqual({ code_yellow: 1, code_red: 1, unknown_person: 2, fever: 2 });
    expect(report.gate.late).toBeGreaterThan(0);
  });

  it('closes a re-checked fever as normal', () => {
    expect(report.gate.rechecks).toEqual([{ at: '07:40', temperature: 37, result: '复测正常' }]);
  });
});
