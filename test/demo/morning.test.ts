import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SCHOOL, seedDemo } from '../../src/demo/seed.js';
import { listDemoAbsentees } from '../../src/demo/checks.js';
import { getSchoolByCodeOrThrow } from '../../src/modules/people/service.js';
import { replayMorning, type MorningReport } from '../../src/demo/morning.js';
import { createDingTalkClient } from '../../src/modules/notify/dingtalk-client.js';
import { startDispatcherLoop } from '../../src/modules/notify/dispatcher.js';
import { closeBureauClient } from '../../src/modules/healthcode/service.js';
import { startBureauSimulator, type BureauSimulator } from '../../tools/simulators/bureau.js';
import { startDingTalkSimulator, type DingTalkSimulator } from '../../tools/simulators/dingtalk.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';

describe.each(DIALECTS)('%s: demo morning', (dialect) => {
  let t: TestDb;
  let bureau: BureauSimulator;
  let dingtalk: DingTalkSimulator;
  let report: MorningReport;
  let again: MorningReport;
  /** A third replay against a new bureau simulator, as after a server restart. */
  let restarted: MorningReport;
  let restartedEveningChanges: Array<{ bureau_updated_at: number | null }>;
  /** Rows of the replayed day after the first replay and after the second. */
  let rowsAfterFirst: DayRows;
  let rowsAfterSecond: DayRows;
  let freshBureau: BureauSimulator | undefined;
  let restartedCtx: AppContext | undefined;

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
      rowsAfterFirst = await countDayRows(t, report.day);
      again = await replayMorning(t.ctx, { bureau, dingtalk });
      rowsAfterSecond = await countDayRows(t, again.day);

      // A new simulator returns every ID number as green since its start, whatever the data contains.
      freshBureau = await startBureauSimulator({ port: 0, appKey: 'k', appSecret: 's' });
      restartedCtx = { ...t.ctx, config: { ...t.ctx.config, bureau: { ...t.ctx.config.bureau, url: freshBureau.url } } };
      restarted = await replayMorning(restartedCtx, { bureau: freshBureau, dingtalk });
      restartedEveningChanges = await t.ctx.db
        .selectFrom('health_code_changes')
        .select('bureau_updated_at')
        .where('sync_run_id', '=', restarted.steps[0].run.runId)
        .execute();
    } finally {
      await stop();
      await closeBureauClient(t.ctx);
      if (restartedCtx) await closeBureauClient(restartedCtx);
    }
  }, 360_000);

  afterAll(async () => {
    await t?.close();
    await bureau?.close();
    await freshBureau?.close();
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

  it('summarises the colours as the notices name them', () => {
    // The first replay on new demo data runs the first sync ever at 21:00, so the two pupils
    // turned yellow then had no code before. The third was fetched green at 21:00.
    expect(report.changed.map((c) => c.colors)).toEqual(['未同步→黄→绿', '未同步→黄', '绿→红']);
    for (const pupil of report.changed.slice(0, 2)) expect(report.sampleNotices.headTeacher).toContain(`${pupil.name}：未同步 → **黄码**`);
    expect(again.changed.map((c) => c.colors)).toEqual(['绿→黄→绿', '绿→黄', '绿→红']);
    for (const pupil of again.changed.slice(0, 2)) expect(again.sampleNotices.headTeacher).toContain(`${pupil.name}：绿码 → **黄码**`);
  });

  it('delivers every notice to DingTalk', () => {
    expect(report.notices.queued).toBeGreaterThan(5);
    expect(report.notices.waiting).toBe(0);
    expect(report.notices.failed).toBe(0);
    expect(report.dingtalkDeliveries).toBe(report.notices.sent);
  });

  it('shows each sample notice of its recipient', () => {
    const { headTeacher, management } = report.sampleNotices;
    expect(headTeacher).toContain('您班上共 2 人健康码变化');
    expect(headTeacher).toContain('请联系本人或家长了解情况');
    expect(management).toContain('示范区实验小学本次同步共 2 人健康码变化');
    expect(management).toContain('请督促班主任跟进');
  });

  it('lets about 3,000 people through', () => {
    // The three absentees of 二(3)班 stay at home; the pupil still yellow is refused.
    expect(report.gate.stayedHome).toBe(3);
    expect(report.gate.attempts).toBe(3002);
    expect(report.gate.passed).toBe(2996);
    expect(report.gate.reasons).toEqual({ code_yellow: 1, code_red: 1, unknown_person: 2, fever: 2 });
    expect(report.gate.late).toBeGreaterThan(0);
  });

  it('turns no absentee yellow without a check', async () => {
    const school = await getSchoolByCodeOrThrow(t.ctx, DEMO_SCHOOL.code);
    const absentees = await listDemoAbsentees(t.ctx, school.id);
    const names = (await t.ctx.db.selectFrom('persons').select('name').where('id', 'in', absentees).execute()).map((row) => row.name);
    for (const replay of [report, again, restarted]) {
      const inClass = replay.changed.filter((pupil) => pupil.className === '二(3)班');
      expect(inClass).toHaveLength(2);
      for (const pupil of inClass) expect(names).not.toContain(pupil.name);
    }
  });

  it('closes a re-checked fever as normal', () => {
    expect(report.gate.rechecks).toEqual([{ at: '07:40', temperature: 37, result: '复测正常', alreadyRecorded: false }]);
  });

  it('records the gate events once when replayed again', () => {
    // The two replays pick the day from the clock; this check needs them on the same day.
    expect(again.day, 'the replays straddled 08:30 or midnight in Beijing; run the test again').toBe(report.day);
    expect(report.gate.duplicates).toBe(0);
    expect(again.gate.attempts).toBe(3002);
    expect(again.gate.duplicates).toBe(3002);
    expect(rowsAfterFirst.gateEvents).toBe(3002);
    expect(rowsAfterSecond).toEqual(rowsAfterFirst);
  });

  it('reports the stored decisions on the second replay', () => {
    expect(again.gate.passed).toBe(report.gate.passed);
    expect(again.gate.denied).toBe(report.gate.denied);
    expect(again.gate.reasons).toEqual(report.gate.reasons);
    expect(again.gate.late).toBe(report.gate.late);
    expect(again.gate.rechecks).toEqual([{ at: '07:40', temperature: 37, result: '复测正常', alreadyRecorded: true }]);
  });

  it('still runs the syncs on the second replay', () => {
    expect(again.steps.map((s) => s.run.changes)).toEqual([2, 1, 1]);
    const firstNames = report.changed.map((c) => c.name);
    expect(again.changed.map((c) => c.name).some((name) => !firstNames.includes(name))).toBe(true);
  });

  it('keeps earlier codes when the bureau restarts', () => {
    expect(restarted.day, 'the replays straddled 08:30 or midnight in Beijing; run the test again').toBe(report.day);
    expect(restarted.steps.map((s) => s.run.changes)).toEqual([2, 1, 1]);
    expect(restarted.sampleNotices.headTeacher).toContain('您班上共 2 人健康码变化');
  });

  it('lists no later bureau time in the 21:00 changes', () => {
    const evening = instantOf(restarted.steps[0].at.slice(0, 10), '21:00');
    expect(restartedEveningChanges).toHaveLength(2);
    for (const change of restartedEveningChanges) {
      expect(change.bureau_updated_at).not.toBeNull();
      expect(Number(change.bureau_updated_at)).toBeLessThanOrEqual(evening);
    }
  });
});

interface DayRows {
  gateEvents: number;
  attendance: number;
  alerts: number;
  rechecks: number;
}

/** Count the rows the gate wrote for the demo school on the day. */
async function countDayRows(t: TestDb, day: string): Promise<DayRows> {
  const school = await t.ctx.db.selectFrom('schools').select('id').where('code', '=', 'demo-primary').executeTakeFirstOrThrow();
  const count = async (query: Promise<{ n: number | string | bigint } | undefined>) => Number((await query)?.n ?? 0);
  const db = t.ctx.db;
  return {
    gateEvents: await count(db.selectFrom('gate_events').select((eb) => eb.fn.countAll<number>().as('n')).where('school_id', '=', school.id).where('day', '=', day).executeTakeFirst()),
    attendance: await count(db.selectFrom('attendance').select((eb) => eb.fn.countAll<number>().as('n')).where('school_id', '=', school.id).where('day', '=', day).executeTakeFirst()),
    alerts: await count(
      db
        .selectFrom('alerts')
        .innerJoin('gate_events', 'gate_events.id', 'alerts.gate_event_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('alerts.school_id', '=', school.id)
        .where('gate_events.day', '=', day)
        .executeTakeFirst(),
    ),
    rechecks: await count(db.selectFrom('rechecks').select((eb) => eb.fn.countAll<number>().as('n')).where('school_id', '=', school.id).executeTakeFirst()),
  };
}
