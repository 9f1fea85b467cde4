import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo, DEMO_SCHOOL } from '../../src/demo/seed.js';
import { replayGateMorning, type GateReplayReport } from '../../src/demo/gate.js';
import { makeDemoSchoolDay } from '../../src/demo/calendar.js';
import { seedDemoChecks } from '../../src/demo/checks.js';
import { createDevice } from '../../src/modules/gate/devices.js';
import { getAttendanceDay } from '../../src/modules/gate/attendance.js';
import { getSchoolByCodeOrThrow } from '../../src/modules/people/service.js';
import { composeReport } from '../../src/modules/reports/service.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';

const DAY = '2026-11-18';

async function countEvents(t: TestDb): Promise<number> {
  const row = await t.ctx.db.selectFrom('gate_events').select((eb) => eb.fn.countAll<number>().as('count')).where('day', '=', DAY).executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * Give everyone of the demo school a green code fetched at 06:00, as the morning's syncs
 * would, except the first pupil of 二(1)班, whose yellow code makes the gate deny them.
 */
async function giveCodes(t: TestDb): Promise<void> {
  const school = await getSchoolByCodeOrThrow(t.ctx, DEMO_SCHOOL.code);
  const people = await t.ctx.db.selectFrom('persons').select('id').where('school_id', '=', school.id).orderBy('id').execute();
  const fetchedAt = instantOf(DAY, '06:00');
  const rows = people.map((person) => ({
    person_id: person.id,
    school_id: school.id,
    color: 'green' as const,
    bureau_updated_at: fetchedAt,
    fetched_at: fetchedAt,
    last_attempt_at: fetchedAt,
    last_failure: null,
    reason: null,
  }));
  for (let start = 0; start < rows.length; start += 500) await t.ctx.db.insertInto('health_codes').values(rows.slice(start, start + 500)).execute();

  const yellow = await t.ctx.db
    .selectFrom('persons')
    .innerJoin('classes', 'classes.id', 'persons.class_id')
    .select('persons.id')
    .where('persons.school_id', '=', school.id)
    .where('classes.name', '=', '二(1)班')
    .orderBy('persons.student_number')
    .executeTakeFirstOrThrow();
  await t.ctx.db.updateTable('health_codes').set({ color: 'yellow' }).where('person_id', '=', yellow.id).execute();
}

describe.each(DIALECTS)('%s: demo gate replay', (dialect) => {
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
    await giveCodes(t);

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
    expect(first.reasons.code_yellow).toBe(1);
    expect(first.passed).toBeGreaterThan(2900);
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

  it('counts arrivals as the report does', async () => {
    // The demo's checks of 二(1)班 and 二(2)班 mark every pupil present, the yellow pupil the gate denied included.
    t.setNow(instantOf(DAY, '09:00'));
    expect(await seedDemoChecks(t.ctx)).toBeGreaterThan(0);
    const school = await getSchoolByCodeOrThrow(t.ctx, DEMO_SCHOOL.code);

    const attendance = await getAttendanceDay(t.ctx, school.id, DAY);
    const report = await composeReport(t.ctx, school, DAY);
    expect(attendance.arrivedCount).toBe(report.total.arrived);
    expect(attendance.notArrivedCount).toBe(report.total.absent);
    expect(attendance.classes.some((klass) => klass.arrived.some((pupil) => pupil.source === 'check'))).toBe(true);
  });
});
