import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo, DEMO_SCHOOL } from '../../src/demo/seed.js';
import { replayGateMorning, type GateReplayReport } from '../../src/demo/gate.js';
import { makeDemoSchoolDay } from '../../src/demo/calendar.js';
import { createDevice } from '../../src/modules/gate/devices.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';

const DAY = '2026-11-18';

async function countEvents(t: TestDb): Promise<number> {
  const row = await t.ctx.db.selectFrom('gate_events').select((eb) => eb.fn.countAll<number>().as('count')).where('day', '=', DAY).executeTakeFirstOrThrow();
  return Number(row.count);
}

describe.each(DIALECTS)('%s: demo gate replay with added devices', (dialect) => {
  let t: TestDb;
  let first: GateReplayReport;
  let second: GateReplayReport;
  let eventsAfterFirst: number;
  let eventsAfterSecond: number;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(instantOf(DAY, '06:00'));
    await seedDemo(t.ctx);
    await makeDemoSchoolDay(t.ctx, DAY);

    first = await replayGateMorning(t.ctx, DAY);
    eventsAfterFirst = await countEvents(t);

    // Devices registered after the first replay, named to sort before the seeded lanes.
    await createDevice(t.ctx, { schoolCode: DEMO_SCHOOL.code, kind: 'kiosk', name: '东门 0 号通道（新平板）', lane: '东门', direction: 'in' });
    await createDevice(t.ctx, { schoolCode: DEMO_SCHOOL.code, kind: 'kiosk', name: '南门 0 号通道（新平板）', lane: '南门', direction: 'in' });

    second = await replayGateMorning(t.ctx, DAY);
    eventsAfterSecond = await countEvents(t);
  }, 300_000);

  afterAll(async () => {
    await t?.close();
  });

  it('records no new events on replay', () => {
    expect(first.duplicates).toBe(0);
    expect(eventsAfterFirst).toBe(first.attempts);
    expect(eventsAfterSecond).toBe(eventsAfterFirst);
  });

  it('reports every attempt as duplicate', () => {
    expect(second.attempts).toBe(first.attempts);
    expect(second.duplicates).toBe(second.attempts);
  });

  it('reports the stored decisions', () => {
    expect(second.passed).toBe(first.passed);
    expect(second.denied).toBe(first.denied);
    expect(second.reasons).toEqual(first.reasons);
    expect(second.late).toBe(first.late);
  });

  it('keeps one event per event id', async () => {
    const repeated = await t.ctx.db
      .selectFrom('gate_events')
      .select('event_id')
      .where('day', '=', DAY)
      .groupBy('event_id')
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();
    expect(repeated).toEqual([]);
  });
});
