import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up } from '../../src/db/migrations/2026120530-sync-every-day.js';
import { JOBS } from '../../src/jobs/registry.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { markDistrictDays, markSchoolDays, type CalendarActor } from '../../src/modules/calendar/service.js';
import { decideScheduledSync, getSyncSchedule, setSyncSchedule } from '../../src/modules/healthcode/service.js';
import { getSchoolByIdOrThrow, getSchoolByCodeOrThrow } from '../../src/modules/people/service.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { buildSyncSchool, startBureau } from './harness.js';
import { eventually } from '../helpers/wait.js';

/**
 * The scheduled syncs follow the school calendar. December 2026: the district gives
 * Wednesday the 9th off and makes Saturday the 19th a school day, and the first school
 * closes on Thursday the 10th. The third school syncs every day.
 */
const SYSTEM: CalendarActor = { user: null, name: '测试', ip: null };
const MONDAY = instantOf('2026-12-07', '10:00');

describe.each(DIALECTS)('scheduled sync days on %s', (dialect) => {
  let t: TestDb;
  let bureau: Awaited<ReturnType<typeof startBureau>>;
  let closing: Awaited<ReturnType<typeof buildSyncSchool>>;
  let neighbour: Awaited<ReturnType<typeof buildSyncSchool>>;
  let outbreak: Awaited<ReturnType<typeof buildSyncSchool>>;

  const syncRunsOf = (schoolId: string) => t.ctx.db.selectFrom('sync_runs').selectAll().where('school_id', '=', schoolId).orderBy('id').execute();

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(MONDAY);
    bureau = await startBureau();
    closing = await buildSyncSchool(t.ctx, { pupilsPerClass: 1 });
    neighbour = await buildSyncSchool(t.ctx, { pupilsPerClass: 1 });
    outbreak = await buildSyncSchool(t.ctx, { pupilsPerClass: 1 });
    await setSyncSchedule(t.ctx, outbreak.school.code, { everyDay: true });

    const districtId = closing.school.districtId;
    await markDistrictDays(t.ctx, SYSTEM, districtId, { from: '2026-12-09', isSchoolDay: false, reason: '冬季运动会' });
    await markDistrictDays(t.ctx, SYSTEM, districtId, { from: '2026-12-19', isSchoolDay: true, reason: '调休' });
    await markSchoolDays(t.ctx, SYSTEM, await getSchoolByIdOrThrow(t.ctx, closing.school.id), { from: '2026-12-10', isSchoolDay: false, reason: '流感停课' });
  });

  afterAll(async () => {
    await bureau.close();
    await t.close();
  });

  it.each([
    ['2026-12-07', '04:30', { day: '2026-12-07', runs: true, reason: '周一' }],
    ['2026-12-12', '04:30', { day: '2026-12-12', runs: false, reason: '周六' }],
    ['2026-12-12', '10:00', { day: '2026-12-12', runs: false, reason: '周六' }],
    ['2026-12-11', '21:00', { day: '2026-12-12', runs: false, reason: '周六' }],
    ['2026-12-13', '21:00', { day: '2026-12-14', runs: true, reason: '周一' }],
    ['2026-12-08', '21:00', { day: '2026-12-09', runs: false, reason: '全区放假：冬季运动会' }],
    ['2026-12-09', '10:00', { day: '2026-12-09', runs: false, reason: '全区放假：冬季运动会' }],
    ['2026-12-10', '04:30', { day: '2026-12-10', runs: false, reason: '本校停课：流感停课' }],
    ['2026-12-18', '21:00', { day: '2026-12-19', runs: true, reason: '全区调休上课：调休' }],
    ['2026-12-19', '10:00', { day: '2026-12-19', runs: true, reason: '全区调休上课：调休' }],
  ])('calendar school on %s %s', async (day, time, expected) => {
    expect(await decideScheduledSync(t.ctx, closing.school.id, instantOf(day, time))).toEqual(expected);
  });

  it('closure stays with its school', async () => {
    expect(await decideScheduledSync(t.ctx, neighbour.school.id, instantOf('2026-12-10', '04:30'))).toEqual({ day: '2026-12-10', runs: true, reason: '周四' });
  });

  it('every-day school syncs without school', async () => {
    expect(await decideScheduledSync(t.ctx, outbreak.school.id, instantOf('2026-12-12', '04:30'))).toEqual({ day: '2026-12-12', runs: true, reason: '每天同步' });
    expect(await decideScheduledSync(t.ctx, outbreak.school.id, instantOf('2026-12-09', '10:00'))).toEqual({ day: '2026-12-09', runs: true, reason: '每天同步' });
  });

  it('lists only runs that happen', async () => {
    t.setNow(MONDAY);
    const daily = await getSyncSchedule(t.ctx, closing.school.code);
    expect(daily).toMatchObject({ crons: ['30 4 * * *'], everyDay: false, nextDayFrom: '18:00' });
    // Wednesday's holiday, Thursday's closure and the weekend have no run.
    expect(daily.nextRuns).toEqual(['2026-12-08', '2026-12-11', '2026-12-14', '2026-12-15', '2026-12-16'].map((day) => instantOf(day, '04:30')));

    const everyDay = await getSyncSchedule(t.ctx, outbreak.school.code);
    expect(everyDay.everyDay).toBe(true);
    expect(everyDay.nextRuns).toEqual(['2026-12-08', '2026-12-09', '2026-12-10', '2026-12-11', '2026-12-12'].map((day) => instantOf(day, '04:30')));

    const evening = await setSyncSchedule(t.ctx, neighbour.school.code, { preset: 'evening-2100-morning-0630' });
    // Tuesday 21:00 and Wednesday 06:30 are for the holiday, so both are left out.
    expect(evening.nextRuns).toEqual([
      instantOf('2026-12-07', '21:00'),
      instantOf('2026-12-08', '06:30'),
      instantOf('2026-12-09', '21:00'),
      instantOf('2026-12-10', '06:30'),
      instantOf('2026-12-10', '21:00'),
    ]);
  });

  it('rejects polling weekdays', async () => {
    const weekdays = setSyncSchedule(t.ctx, neighbour.school.code, { polling: { weekdays: [1, 2, 3] } as never });
    await expect(weekdays).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(weekdays).rejects.toThrow(/轮询不再单独设置星期/);
    await expect(setSyncSchedule(t.ctx, neighbour.school.code, { everyDay: 'yes' as unknown as boolean })).rejects.toThrow(/everyDay/);

    const settings = (await getSchoolByCodeOrThrow(t.ctx, neighbour.school.code)).settings;
    expect(settings.syncEveryDay).toBe(false);
    expect(settings.polling).toEqual({ enabled: true, everyMinutes: 30, from: '07:00', to: '17:00' });
  });

  it('skips a cron without school', async () => {
    const scheduler = new Scheduler(t.ctx, { holder: 'calendar-cron', syncOptions: { client: bureau.client }, jobs: JOBS.filter((job) => job.name === 'healthcode.sync') });
    try {
      t.setNow(instantOf('2026-12-12', '04:30'));
      for (const trigger of ['schedule', 'catch-up']) {
        const skipped = await scheduler.runJob('healthcode.sync', { schoolId: closing.school.id, trigger });
        expect(skipped.status).toBe('skipped');
        expect(skipped.detail).toMatchObject({ reason: 'no school on the day it prepares for', day: '2026-12-12', calendar: '周六' });
      }
      expect(await syncRunsOf(closing.school.id)).toHaveLength(0);

      // A sync started by hand runs on any day.
      const byHand = await scheduler.runJob('healthcode.sync', { schoolId: closing.school.id, trigger: 'manual' });
      expect(byHand.status).toBe('done');
      const outbreakRun = await scheduler.runJob('healthcode.sync', { schoolId: outbreak.school.id, trigger: 'schedule' });
      expect(outbreakRun.status).toBe('done');

      t.setNow(instantOf('2026-12-13', '21:00'));
      const sundayEvening = await scheduler.runJob('healthcode.sync', { schoolId: closing.school.id, trigger: 'schedule' });
      expect(sundayEvening.status).toBe('done');
      expect((await syncRunsOf(closing.school.id)).map((run) => run.trigger)).toEqual(['manual', 'schedule']);

      const jobRuns = await t.ctx.db.selectFrom('job_runs').selectAll().where('job', '=', 'healthcode.sync').execute();
      const skippedRuns = jobRuns.filter((run) => run.status === 'skipped');
      expect(skippedRuns).toHaveLength(2);
      expect(skippedRuns.every((run) => JSON.parse(run.detail!).calendar === '周六')).toBe(true);
    } finally {
      await scheduler.stop();
      t.setNow(MONDAY);
    }
  });

  it('polls only for school days', async () => {
    const scheduler = new Scheduler(t.ctx, { holder: 'calendar-poll', syncOptions: { client: bureau.client }, jobs: JOBS.filter((job) => job.name === 'healthcode.poll') });
    const pollRunsOf = async (schoolId: string) =>
      (await t.ctx.db.selectFrom('job_runs').selectAll().where('job', '=', 'healthcode.poll').execute()).filter((run) => JSON.parse(run.detail ?? '{}').schoolId === schoolId);
    try {
      t.setNow(instantOf('2026-12-12', '10:00'));
      await scheduler.start();
      const poll = scheduler.scheduled().find((entry) => entry.key === 'poll')!;
      await poll.timer.trigger();
      // The every-day school polls on Saturday. Once its job is done, the others have had their turn.
      await eventually(async () => (await pollRunsOf(outbreak.school.id)).some((run) => run.status === 'done'));
      await sleep(200);
      expect(await pollRunsOf(closing.school.id)).toHaveLength(0);
      expect(await pollRunsOf(neighbour.school.id)).toHaveLength(0);

      t.setNow(instantOf('2026-12-14', '10:00'));
      await poll.timer.trigger();
      const run = await eventually(async () => (await pollRunsOf(closing.school.id)).find((row) => row.status === 'done') ?? false);
      expect(JSON.parse(run.detail!)).toMatchObject({ trigger: 'poll', syncStatus: 'succeeded' });
    } finally {
      await scheduler.stop();
      t.setNow(MONDAY);
    }
  });
});

describe.each(DIALECTS)('sync-every-day migration on %s', (dialect) => {
  let t: TestDb;

  const settingsOf = async (id: string) => JSON.parse((await t.ctx.db.selectFrom('schools').select('settings').where('id', '=', id).executeTakeFirstOrThrow()).settings);
  const writeSettings = (id: string, settings: object) => t.ctx.db.updateTable('schools').set({ settings: JSON.stringify(settings) }).where('id', '=', id).execute();
  const polling = (weekdays: number[]) => ({ enabled: true, everyMinutes: 20, from: '07:30', to: '16:30', weekdays });

  beforeAll(async () => {
    t = await createTestDb(dialect);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('turns polling weekdays into sync days', async () => {
    const schools = [await buildSchool(t.ctx), await buildSchool(t.ctx), await buildSchool(t.ctx), await buildSchool(t.ctx), await buildSchool(t.ctx)];
    const [weekdaysOnly, everyDay, saturdaySchool, saturdayPolling, untouched] = schools.map((school) => school.id) as [string, string, string, string, string];
    await writeSettings(weekdaysOnly, { syncCrons: ['0 5 * * *'], polling: polling([1, 2, 3, 4, 5]) });
    await writeSettings(everyDay, { polling: polling([0, 1, 2, 3, 4, 5, 6]) });
    await writeSettings(saturdaySchool, { polling: polling([1, 2, 3, 4, 5, 6]), calendar: { weekdays: [1, 2, 3, 4, 5, 6] } });
    await writeSettings(saturdayPolling, { polling: polling([1, 2, 3, 4, 5, 6]) });
    await writeSettings(untouched, { dayStartsAt: '08:10' });

    await up(t.ctx.db);

    const pollingAfter = { enabled: true, everyMinutes: 20, from: '07:30', to: '16:30' };
    expect(await settingsOf(weekdaysOnly)).toEqual({ syncCrons: ['0 5 * * *'], polling: pollingAfter });
    expect(await settingsOf(everyDay)).toEqual({ polling: pollingAfter, syncEveryDay: true });
    expect(await settingsOf(saturdaySchool)).toEqual({ polling: pollingAfter, calendar: { weekdays: [1, 2, 3, 4, 5, 6] } });
    expect(await settingsOf(saturdayPolling)).toEqual({ polling: pollingAfter, syncEveryDay: true });
    expect(await settingsOf(untouched)).toEqual({ dayStartsAt: '08:10' });
    expect((await getSchoolByIdOrThrow(t.ctx, everyDay)).settings.syncEveryDay).toBe(true);
    expect((await getSchoolByIdOrThrow(t.ctx, weekdaysOnly)).settings.syncEveryDay).toBe(false);

    await down(t.ctx.db);
    expect((await settingsOf(weekdaysOnly)).polling.weekdays).toEqual([1, 2, 3, 4, 5]);
    expect(await settingsOf(everyDay)).toEqual({ polling: polling([0, 1, 2, 3, 4, 5, 6]) });
    expect((await settingsOf(saturdaySchool)).polling.weekdays).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await settingsOf(untouched)).toEqual({ dayStartsAt: '08:10' });
  });
});
