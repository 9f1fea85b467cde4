import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo, DEMO_SCHOOL } from '../../src/demo/seed.js';
import { replayGateMorning, type GateReplayReport } from '../../src/demo/gate.js';
import { pickPupils } from '../../src/demo/morning.js';
import { makeDemoSchoolDay } from '../../src/demo/calendar.js';
import { DEMO_ABSENCE_CLASS, listDemoAbsentees, seedDemoChecks } from '../../src/demo/checks.js';
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

/**
 * Read the morning check of 二(3)班 on DAY and the gate's decisions for its pupils: who is
 * listed absent, who is listed present, and who passed or was denied at the gate.
 */
async function readCheckAndGate(t: TestDb) {
  const school = await getSchoolByCodeOrThrow(t.ctx, DEMO_SCHOOL.code);
  const klass = await t.ctx.db.selectFrom('classes').select('id').where('school_id', '=', school.id).where('name', '=', DEMO_ABSENCE_CLASS).executeTakeFirstOrThrow();
  const checks = await t.ctx.db.selectFrom('daily_checks').select(['person_id', 'status']).where('class_id', '=', klass.id).where('day', '=', DAY).where('session', '=', 'morning').execute();
  const events = await t.ctx.db.selectFrom('gate_events').select(['person_id', 'decision']).where('school_id', '=', school.id).where('day', '=', DAY).execute();
  const decisions = new Map(events.map((event) => [event.person_id, event.decision]));
  return {
    absent: checks.filter((c) => c.status === 'absent').map((c) => c.person_id),
    present: checks.filter((c) => c.status === 'present').map((c) => c.person_id),
    decisions,
    demoAbsentees: await listDemoAbsentees(t.ctx, school.id),
  };
}

/** Turn the morning's picks of 二(3)班 yellow in the database, as the replay's syncs would; returns their ids. */
async function turnPicksYellow(t: TestDb): Promise<string[]> {
  const school = await getSchoolByCodeOrThrow(t.ctx, DEMO_SCHOOL.code);
  const picks = (await pickPupils(t.ctx, school.id, DAY)).filter((pick) => pick.className === DEMO_ABSENCE_CLASS);
  expect(picks).toHaveLength(2);
  await t.ctx.db.updateTable('health_codes').set({ color: 'yellow' }).where('person_id', 'in', picks.map((pick) => pick.personId)).execute();
  return picks.map((pick) => pick.personId);
}

describe.each(DIALECTS)('%s: demo gate replay', (dialect) => {
  let t: TestDb;
  let first: GateReplayReport;
  let second: GateReplayReport;
  let eventsAfterFirst: number;
  let eventsAfterSecond: number;
  let yellowPicks: string[];

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(instantOf(DAY, '06:00'));
    await seedDemo(t.ctx);
    await makeDemoSchoolDay(t.ctx, DAY);
    await giveCodes(t);
    yellowPicks = await turnPicksYellow(t);

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
    expect(first.stayedHome).toBe(3);
    // 二(1)班's yellow pupil and the two yellow picks of 二(3)班, who are not absentees.
    expect(first.reasons.code_yellow).toBe(3);
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

  it('checks after the replay agree with it', async () => {
    // Runs after the test above, which seeds the checks once the gate morning is over.
    const { absent, present, decisions, demoAbsentees } = await readCheckAndGate(t);
    expect(absent.sort()).toEqual([...demoAbsentees, ...yellowPicks].sort());
    for (const personId of absent) expect(decisions.get(personId)).not.toBe('pass');
    for (const personId of present) expect(decisions.get(personId)).not.toBe('deny');
    const alerts = await t.ctx.db.selectFrom('cluster_alerts').select('id').where('window_end', '=', DAY).execute();
    expect(alerts).toHaveLength(1);
  });
});

describe.each(DIALECTS)('%s: demo checks before the replay', (dialect) => {
  let t: TestDb;
  let report: GateReplayReport;
  let yellowPicks: string[];

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(instantOf(DAY, '06:00'));
    await seedDemo(t.ctx);
    await makeDemoSchoolDay(t.ctx, DAY);
    await giveCodes(t);
    // As under npm start: the server seeds the checks, and `demo morning` replays later.
    expect(await seedDemoChecks(t.ctx)).toBeGreaterThan(0);
    yellowPicks = await turnPicksYellow(t);
    report = await replayGateMorning(t.ctx, DAY);
  }, 300_000);

  afterAll(async () => {
    await t?.close();
  });

  it('lets no check absentee in', async () => {
    const { absent, decisions, demoAbsentees } = await readCheckAndGate(t);
    expect(report.stayedHome).toBe(3);
    expect(absent.sort()).toEqual([...demoAbsentees].sort());
    for (const personId of absent) expect(decisions.has(personId), personId).toBe(false);
    for (const personId of yellowPicks) expect(demoAbsentees).toContain(personId);
  });

  it('refuses no pupil marked present', async () => {
    const { present, decisions } = await readCheckAndGate(t);
    expect(present.length).toBeGreaterThan(30);
    for (const personId of present) expect(decisions.get(personId), personId).toBe('pass');
  });

  it('still raises the cluster alert', async () => {
    const alerts = await t.ctx.db.selectFrom('cluster_alerts').select('id').where('window_end', '=', DAY).execute();
    expect(alerts).toHaveLength(1);
  });
});
