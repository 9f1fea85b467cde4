import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { JOBS } from '../../src/jobs/registry.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { getDistrictSyncSettings, setDistrictSyncEveryDay } from '../../src/modules/healthcode/district-sync-service.js';
import { decideScheduledSync, getSyncSchedule, setSyncSchedule } from '../../src/modules/healthcode/service.js';
import { createSchool } from '../../src/modules/people/service.js';
import { instantOf } from '../../src/shared/time.js';
import { createAccount, sessionHeaders } from '../checks/helpers.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSyncSchool, startBureau } from './harness.js';
import { eventually } from '../helpers/wait.js';

/**
 * 全区每天同步: a district admin makes every school of the district sync every day. December
 * 2026: the 7th is a Monday and the 12th a Saturday. Of three schools in one district, the
 * outbreak school also syncs every day by its own setting. A school of a second district
 * must not follow the first district's switch.
 */
const MONDAY = instantOf('2026-12-07', '10:00');
const SATURDAY = instantOf('2026-12-12', '10:00');
/** The 403 message for a role other than district admin, which names the caller's role. */
const forbiddenMessage = (role: string) => `没有权限：您的账号角色是“${role}”，此操作只有区级管理员可以执行。请换用有权限的账号登录，或联系区级管理员`;

describe.each(DIALECTS)('district every-day sync on %s', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let bureau: Awaited<ReturnType<typeof startBureau>>;
  let calendar: Awaited<ReturnType<typeof buildSyncSchool>>;
  let neighbour: Awaited<ReturnType<typeof buildSyncSchool>>;
  let outbreak: Awaited<ReturnType<typeof buildSyncSchool>>;
  let westSchool: Awaited<ReturnType<typeof createSchool>>;
  let accounts: { district: string; principal: string; teacher: string; tracer: string };

  const headers = (username: string) => sessionHeaders(t.ctx, username);
  const getSettings = async (username: string, query = '') => app.inject({ method: 'GET', url: `/api/district/sync-settings${query}`, headers: await headers(username) });
  const putSettings = async (username: string, payload: unknown, query = '') =>
    app.inject({ method: 'PUT', url: `/api/district/sync-settings${query}`, headers: await headers(username), payload: payload as object });
  const scheduleOf = async (code: string) => (await app.inject({ method: 'GET', url: `/api/schools/${code}/sync-schedule`, headers: await headers(accounts.principal) })).json();
  const districtAudit = () =>
    t.ctx.db.selectFrom('audit_log').select(['action', 'target', 'user_id', 'school_id', 'detail']).where('action', 'like', 'healthcode.district_every_day.%').orderBy('at').orderBy('id').execute();

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(MONDAY);
    bureau = await startBureau();
    calendar = await buildSyncSchool(t.ctx, { pupilsPerClass: 1 });
    neighbour = await buildSyncSchool(t.ctx, { pupilsPerClass: 1 });
    outbreak = await buildSyncSchool(t.ctx, { pupilsPerClass: 1 });
    await setSyncSchedule(t.ctx, outbreak.school.code, { everyDay: true });
    westSchool = await createSchool(t.ctx, { code: `WEST${dialect}`, name: '西区测试小学', districtCode: 'west', districtName: '西区' });
    app = await buildApp(t.ctx);
    accounts = {
      district: await createAccount(t.ctx, 'district_admin'),
      principal: await createAccount(t.ctx, 'school_admin', { schoolCode: calendar.school.code }),
      teacher: await createAccount(t.ctx, 'teacher', { schoolCode: calendar.school.code }),
      tracer: await createAccount(t.ctx, 'task_force'),
    };
  });

  afterAll(async () => {
    await app?.close();
    await bureau?.close();
    await t?.close();
  });

  it('starts off for the district', async () => {
    const response = await getSettings(accounts.district);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      districtId: calendar.school.districtId,
      everyDay: false,
      changedAt: null,
      changedByName: null,
      schoolCount: 3,
      ownEveryDaySchools: [{ code: outbreak.school.code, name: outbreak.school.name }],
    });
    expect((await scheduleOf(calendar.school.code)).districtEveryDay).toBeNull();
    expect(await decideScheduledSync(t.ctx, calendar.school.id, SATURDAY)).toEqual({ day: '2026-12-12', runs: false, reason: '周六' });
  });

  it('rejects other roles in Chinese', async () => {
    const others: Array<[string, string]> = [[accounts.principal, '学校管理员'], [accounts.teacher, '教师'], [accounts.tracer, '疫情防控专班']];
    for (const [username, role] of others) {
      const read = await getSettings(username);
      expect(read.statusCode, username).toBe(403);
      expect(read.json().message).toBe(forbiddenMessage(role));
      const write = await putSettings(username, { everyDay: true });
      expect(write.statusCode, username).toBe(403);
      expect(write.json().message).toBe(forbiddenMessage(role));
    }
    const anonymous = await app.inject({ method: 'GET', url: '/api/district/sync-settings' });
    expect(anonymous.statusCode).toBe(401);
    expect((await getDistrictSyncSettings(t.ctx, undefined)).everyDay).toBe(false);
    expect(await districtAudit()).toEqual([]);
  });

  it('rejects a value that is not true or false', async () => {
    const notBoolean = '输入不正确：请求体有误：全区每天同步（everyDay）应为布尔值（true 或 false）';
    const cases: Array<[object, string]> = [
      [{ everyDay: 'yes' }, notBoolean],
      [{ everyDay: null }, notBoolean],
      [{}, '输入不正确：请求体有误：缺少必填字段 全区每天同步（everyDay）'],
    ];
    for (const [payload, message] of cases) {
      const response = await putSettings(accounts.district, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().message).toBe(message);
    }
    await expect(setDistrictSyncEveryDay(t.ctx, { user: null, name: '测试', ip: null }, undefined, 'on')).rejects.toThrow('全区每天同步（everyDay）应为 true 或 false，收到 "on"');
    expect((await getDistrictSyncSettings(t.ctx, undefined)).everyDay).toBe(false);
  });

  it('turns on for every school of the district', async () => {
    t.setNow(instantOf('2026-12-07', '09:30'));
    const response = await putSettings(accounts.district, { everyDay: true });
    t.setNow(MONDAY);
    expect(response.statusCode).toBe(200);
    const reply = response.json();
    expect(reply).toMatchObject({ everyDay: true, changed: true, changedAt: instantOf('2026-12-07', '09:30'), schoolCount: 3 });
    expect(reply.changedByName).toContain('测试district_admin');

    const schedule = await scheduleOf(calendar.school.code);
    expect(schedule.everyDay).toBe(false);
    expect(schedule.districtEveryDay).toEqual({ enabledAt: instantOf('2026-12-07', '09:30'), enabledByName: reply.changedByName });
    // The weekend's runs are listed now.
    expect(schedule.nextRuns).toEqual(['2026-12-08', '2026-12-09', '2026-12-10', '2026-12-11', '2026-12-12'].map((day) => instantOf(day, '04:30')));

    expect(await decideScheduledSync(t.ctx, calendar.school.id, SATURDAY)).toEqual({ day: '2026-12-12', runs: true, reason: '全区每天同步' });
    expect(await decideScheduledSync(t.ctx, neighbour.school.id, SATURDAY)).toEqual({ day: '2026-12-12', runs: true, reason: '全区每天同步' });
    // A school's own setting is named first.
    expect(await decideScheduledSync(t.ctx, outbreak.school.id, SATURDAY)).toEqual({ day: '2026-12-12', runs: true, reason: '每天同步' });

    const audited = await districtAudit();
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ action: 'healthcode.district_every_day.on', target: calendar.school.districtId, school_id: null });
    expect(audited[0]!.user_id).not.toBeNull();
    expect(JSON.parse(audited[0]!.detail)).toEqual({ everyDay: true, schools: 3 });
  });

  it('keeps the first switcher on a repeat', async () => {
    t.setNow(instantOf('2026-12-07', '11:00'));
    const response = await putSettings(accounts.district, { everyDay: true });
    t.setNow(MONDAY);
    expect(response.json()).toMatchObject({ everyDay: true, changed: false, changedAt: instantOf('2026-12-07', '09:30') });
    expect(await districtAudit()).toHaveLength(1);
  });

  it('leaves another district alone', async () => {
    expect(await decideScheduledSync(t.ctx, westSchool.id, SATURDAY)).toEqual({ day: '2026-12-12', runs: false, reason: '周六' });
    expect((await getSyncSchedule(t.ctx, westSchool.code)).districtEveryDay).toBeNull();

    const west = await getSettings(accounts.district, `?district=${westSchool.districtId}`);
    expect(west.json()).toMatchObject({ districtId: westSchool.districtId, everyDay: false, schoolCount: 1, ownEveryDaySchools: [] });
    const unknown = await getSettings(accounts.district, '?district=nowhere');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toBe('未找到区县：nowhere');
  });

  it('turns off, leaving the own setting', async () => {
    const response = await putSettings(accounts.district, { everyDay: false });
    expect(response.json()).toMatchObject({ everyDay: false, changed: true, changedAt: MONDAY });
    expect((await scheduleOf(calendar.school.code)).districtEveryDay).toBeNull();
    expect(await decideScheduledSync(t.ctx, calendar.school.id, SATURDAY)).toEqual({ day: '2026-12-12', runs: false, reason: '周六' });
    expect(await decideScheduledSync(t.ctx, outbreak.school.id, SATURDAY)).toEqual({ day: '2026-12-12', runs: true, reason: '每天同步' });
    expect((await districtAudit()).map((entry) => entry.action)).toEqual(['healthcode.district_every_day.on', 'healthcode.district_every_day.off']);
  });

  it('reaches a running scheduler', async () => {
    const jobs = JOBS.filter((job) => job.name === 'healthcode.poll' || job.name === 'healthcode.sync');
    const scheduler = new Scheduler(t.ctx, { holder: `district-${dialect}`, syncOptions: { client: bureau.client }, jobs });
    const pollRunsOf = async (schoolId: string) =>
      (await t.ctx.db.selectFrom('job_runs').selectAll().where('job', '=', 'healthcode.poll').execute()).filter((run) => JSON.parse(run.detail ?? '{}').schoolId === schoolId);
    try {
      t.setNow(SATURDAY);
      await scheduler.start();
      const poll = scheduler.scheduled().find((entry) => entry.key === 'poll')!;

      await poll.timer.trigger();
      // The outbreak school polls on Saturday; once its job is done, the others have had their turn.
      await eventually(async () => (await pollRunsOf(outbreak.school.id)).some((run) => run.status === 'done'));
      await sleep(200);
      expect(await pollRunsOf(calendar.school.id)).toHaveLength(0);
      const skipped = await scheduler.runJob('healthcode.sync', { schoolId: calendar.school.id, trigger: 'schedule' });
      expect(skipped).toMatchObject({ status: 'skipped', detail: { calendar: '周六' } });

      // Switched on through the API while the same scheduler runs: the next poll and cron follow it.
      expect((await putSettings(accounts.district, { everyDay: true })).statusCode).toBe(200);
      await poll.timer.trigger();
      const run = await eventually(async () => (await pollRunsOf(calendar.school.id)).find((row) => row.status === 'done') ?? false);
      expect(JSON.parse(run.detail!)).toMatchObject({ trigger: 'poll', syncStatus: 'succeeded' });
      await eventually(async () => (await pollRunsOf(neighbour.school.id)).some((row) => row.status === 'done'));
      const scheduled = await scheduler.runJob('healthcode.sync', { schoolId: calendar.school.id, trigger: 'schedule' });
      expect(scheduled.status).toBe('done');
    } finally {
      await scheduler.stop();
      t.setNow(MONDAY);
    }
  });
});
