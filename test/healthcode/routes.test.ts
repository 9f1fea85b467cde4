import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import type { Config } from '../../src/config.js';
import { createUser } from '../../src/modules/auth/service.js';
import { closeBureauClient, runSync } from '../../src/modules/healthcode/service.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { APP_KEY, APP_SECRET, buildSyncSchool, startBureau } from './harness.js';

const PASSWORD = 'Fangkong-2026';
const LESSONS = instantOf('2026-12-07', '10:15');

interface Session {
  cookie: string;
  csrf: string;
}

function sessionOf(response: LightMyRequestResponse): Session {
  const cookies = response.cookies as Array<{ name: string; value: string }>;
  const session = cookies.find((c) => c.name === 'fk_session')!;
  const csrf = cookies.find((c) => c.name === 'fk_csrf')!;
  return { cookie: `fk_session=${session.value}; fk_csrf=${csrf.value}`, csrf: csrf.value };
}

describe.each(DIALECTS)('health-code HTTP API on %s', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let bureau: Awaited<ReturnType<typeof startBureau>>;
  let s: Awaited<ReturnType<typeof buildSyncSchool>>;
  let admin: Session;
  let teacher: Session;
  let otherAdmin: Session;

  async function signIn(username: string): Promise<Session> {
    const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: PASSWORD } });
    expect(response.statusCode, response.body).toBe(200);
    return sessionOf(response);
  }

  const get = (url: string, session?: Session) => app.inject({ method: 'GET', url, headers: session ? { cookie: session.cookie } : {} });
  const send = (method: 'POST' | 'PUT', url: string, session: Session, payload: object = {}) =>
    app.inject({ method, url, payload, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } });

  beforeAll(async () => {
    bureau = await startBureau();
    const overrides: Partial<Config> = {
      bureau: { url: bureau.simulator.url, appKey: APP_KEY, appSecret: APP_SECRET, concurrency: 2, requestsPerSecond: 200, timeoutMs: 2000, maxAttempts: 2, staleAfterMinutes: 60 },
    };
    t = await createTestDb(dialect, overrides);
    t.setNow(LESSONS);
    app = await buildApp(t.ctx);

    s = await buildSyncSchool(t.ctx, { classes: 2, pupilsPerClass: 2 });
    const other = await buildSchool(t.ctx);
    await createUser(t.ctx, { username: `admin-${dialect}`, role: 'school_admin', schoolCode: s.school.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: `teacher-${dialect}`, role: 'head_teacher', schoolCode: s.school.code, className: '二(1)班', password: PASSWORD }, null);
    await createUser(t.ctx, { username: `other-${dialect}`, role: 'school_admin', schoolCode: other.code, password: PASSWORD }, null);
    admin = await signIn(`admin-${dialect}`);
    teacher = await signIn(`teacher-${dialect}`);
    otherAdmin = await signIn(`other-${dialect}`);

    bureau.simulator.setCode(s.classes[0].pupils[0].idNumber, 'red');
    await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
  });

  afterAll(async () => {
    await app.close();
    await closeBureauClient(t.ctx);
    await bureau.close();
    await t.close();
  });

  it('lists codes with masked ID numbers and filters', async () => {
    const all = await get(`/api/schools/${s.school.code}/codes`, admin);
    expect(all.statusCode, all.body).toBe(200);
    const body = all.json();
    expect(body.total).toBe(4);
    expect(body.items[0].idNumberMasked).toMatch(/^\d{3}\*+\d{3}[\dX]$/);
    expect(all.body).not.toContain(s.pupils[0].idNumber);

    const red = (await get(`/api/schools/${s.school.code}/codes?color=red`, admin)).json();
    expect(red.items.map((i: { personId: string }) => i.personId)).toEqual([s.classes[0].pupils[0].person.id]);
    const secondClass = (await get(`/api/schools/${s.school.code}/codes?class=${encodeURIComponent('二(2)班')}`, admin)).json();
    expect(secondClass.total).toBe(2);
    expect((await get(`/api/schools/${s.school.code}/codes?stale=true`, admin)).json().total).toBe(0);
  });

  it('marks codes stale by age', async () => {
    // Moving the clock would end the test sessions, so age the codes instead.
    const ids = s.pupils.map((p) => p.person.id);
    await t.ctx.db.updateTable('health_codes').set({ fetched_at: LESSONS - 61 * 60_000 }).where('person_id', 'in', ids).execute();
    try {
      const stale = (await get(`/api/schools/${s.school.code}/codes?stale=true`, admin)).json();
      expect(stale.total).toBe(4);
      expect(stale.items.every((i: { isStale: boolean }) => i.isStale)).toBe(true);
    } finally {
      await t.ctx.db.updateTable('health_codes').set({ fetched_at: LESSONS }).where('person_id', 'in', ids).execute();
    }
  });

  it('limits a head teacher to their class and rejects other schools', async () => {
    const own = (await get(`/api/schools/${s.school.code}/codes`, teacher)).json();
    expect(own.total).toBe(2);
    expect(own.items.every((i: { className: string }) => i.className === '二(1)班')).toBe(true);
    expect((await get(`/api/schools/${s.school.code}/codes`)).statusCode).toBe(401);
    expect((await get(`/api/schools/${s.school.code}/codes`, otherAdmin)).statusCode).toBe(403);
    expect((await get(`/api/persons/${s.classes[1].pupils[0].person.id}/code-history`, teacher)).statusCode).toBe(403);
  });

  it('shows a person’s code history', async () => {
    const response = await get(`/api/persons/${s.classes[0].pupils[0].person.id}/code-history`, admin);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.current.color).toBe('red');
    expect(body.changes).toHaveLength(1);
    expect(body.changes[0]).toMatchObject({ from: null, to: 'red' });
    expect((await get('/api/persons/nobody/code-history', admin)).statusCode).toBe(404);
  });

  it('starts a sync in the background and lists runs', async () => {
    bureau.simulator.setCode(s.classes[1].pupils[1].idNumber, 'yellow');
    const started = await send('POST', `/api/schools/${s.school.code}/sync`, admin);
    expect(started.statusCode, started.body).toBe(202);
    const { runId } = started.json();
    expect(runId).toMatch(/^[0-9A-Z]{26}$/);

    let runs: Array<{ id: string; status: string; changes: number }> = [];
    for (let i = 0; i < 100; i++) {
      runs = (await get(`/api/schools/${s.school.code}/sync-runs`, admin)).json().items;
      if (runs.find((r) => r.id === runId)?.status === 'succeeded') break;
      await sleep(20);
    }
    expect(runs[0]).toMatchObject({ id: runId, status: 'succeeded', changes: 1 });
    expect(runs).toHaveLength(2);

    expect((await send('POST', `/api/schools/${s.school.code}/sync`, teacher)).statusCode).toBe(403);
  });

  it('reads and sets the sync schedule', async () => {
    const initial = (await get(`/api/schools/${s.school.code}/sync-schedule`, admin)).json();
    expect(initial).toMatchObject({ crons: ['30 4 * * *'], preset: 'daily-0430' });
    expect(initial.nextRuns[0]).toBe(instantOf('2026-12-08', '04:30'));

    const preset = await send('PUT', `/api/schools/${s.school.code}/sync-schedule`, admin, { preset: 'evening-2100-morning-0630' });
    expect(preset.statusCode, preset.body).toBe(200);
    expect(preset.json().nextRuns.slice(0, 2)).toEqual([instantOf('2026-12-07', '21:00'), instantOf('2026-12-08', '06:30')]);

    const bad = await send('PUT', `/api/schools/${s.school.code}/sync-schedule`, admin, { crons: ['0 21 * * *', '99 6 * * *'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('INVALID_CRON');
    expect(bad.json().message).toContain('同步时间“99 6 * * *”不是有效的 cron 表达式：第 1 段（分钟）的 99 超出范围，应在 0 到 59 之间');

    const custom = await send('PUT', `/api/schools/${s.school.code}/sync-schedule`, admin, { crons: ['0 5 * * 1-5'], polling: { everyMinutes: 15 } });
    expect(custom.json()).toMatchObject({ crons: ['0 5 * * 1-5'], preset: null, polling: { everyMinutes: 15, from: '07:00' }, everyDay: false });

    // Scheduled syncs follow the school calendar, so the weekend's 04:30 runs are not listed until every day is chosen.
    const daily = await send('PUT', `/api/schools/${s.school.code}/sync-schedule`, admin, { preset: 'daily-0430' });
    expect(daily.json().nextRuns).toEqual(['2026-12-08', '2026-12-09', '2026-12-10', '2026-12-11', '2026-12-14'].map((day) => instantOf(day, '04:30')));
    const everyDay = await send('PUT', `/api/schools/${s.school.code}/sync-schedule`, admin, { everyDay: true });
    expect(everyDay.statusCode, everyDay.body).toBe(200);
    expect(everyDay.json()).toMatchObject({ everyDay: true, nextDayFrom: '18:00' });
    expect(everyDay.json().nextRuns).toEqual(['2026-12-08', '2026-12-09', '2026-12-10', '2026-12-11', '2026-12-12'].map((day) => instantOf(day, '04:30')));

    const weekdays = await send('PUT', `/api/schools/${s.school.code}/sync-schedule`, admin, { polling: { weekdays: [1, 2, 3, 4, 5] } });
    expect(weekdays.statusCode).toBe(400);
    expect(weekdays.json().message).toContain('轮询不再单独设置星期');
    expect((await get(`/api/schools/${s.school.code}/sync-schedule`, admin)).json().everyDay).toBe(true);
    expect((await send('PUT', `/api/schools/${s.school.code}/sync-schedule`, teacher, { preset: 'daily-0430' })).statusCode).toBe(403);
  });
});
