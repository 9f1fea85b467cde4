import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { WORLD_PASSWORD, buildConsoleWorld, type ConsoleWorld } from './world.js';

/**
 * The head teacher's phone page reads the school APIs; the server, not the page, keeps
 * other classes out. These calls are the ones the page makes, with another class asked for.
 */
describe.each(DIALECTS)('%s: head teacher API scope', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let world: ConsoleWorld;
  let cookie: string;

  async function get(url: string): Promise<LightMyRequestResponse> {
    return app.inject({ method: 'GET', url, headers: { cookie } });
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    app = await buildApp(t.ctx);
    world = await buildConsoleWorld(t.ctx, `scope${dialect}`);
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: world.users.headTeacher, password: WORLD_PASSWORD } });
    expect(login.statusCode, login.body).toBe(200);
    cookie = (login.cookies as Array<{ name: string; value: string }>).map((c) => `${c.name}=${c.value}`).join('; ');

    for (const [index, personId] of [world.classPupils[0].id, world.otherPupil.id].entries()) {
      const event = await app.inject({
        method: 'POST',
        url: '/api/devices/events',
        headers: { authorization: `Bearer ${world.device.device.id}.${world.device.key}` },
        payload: { eventId: `scope-${index}`, occurredAt: t.ctx.now(), temperature: 36.5, personId },
      });
      expect(event.statusCode, event.body).toBe(200);
    }
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('persons of another class: 403, audited', async () => {
    const response = await get(`/api/schools/${world.school.code}/persons?class=${encodeURIComponent('二(4)班')}`);
    expect(response.statusCode).toBe(403);
    expect(response.json().message).toContain('本班');

    const denied = await t.ctx.db.selectFrom('audit_log').select(['action', 'target']).where('action', '=', 'access.denied').execute();
    expect(denied.some((row) => row.target?.includes('/persons'))).toBe(true);
  });

  it('code history of another pupil: 403', async () => {
    const response = await get(`/api/persons/${world.otherPupil.id}/code-history`);
    expect(response.statusCode).toBe(403);
    const own = await get(`/api/persons/${world.classPupils[0].id}/code-history`);
    expect(own.statusCode).toBe(200);
  });

  it('another school: 403', async () => {
    const other = await buildConsoleWorld(t.ctx, `scopeother${dialect}`, '别的小学');
    const response = await get(`/api/schools/${other.school.code}/attendance`);
    expect(response.statusCode).toBe(403);
  });

  it('alerts: 403; notices of another class: 403', async () => {
    expect((await get(`/api/schools/${world.school.code}/alerts`)).statusCode).toBe(403);
    expect((await get(`/api/schools/${world.school.code}/notices`)).statusCode).toBe(200);
    expect((await get(`/api/schools/${world.school.code}/notices?classId=${world.classId}`)).statusCode).toBe(200);
    expect((await get(`/api/schools/${world.school.code}/notices?classId=${world.otherClassId}`)).statusCode).toBe(403);
  });

  it('attendance of another class: 403; own class: only its pupils', async () => {
    expect((await get(`/api/schools/${world.school.code}/attendance?classId=${world.otherClassId}`)).statusCode).toBe(403);
    const response = await get(`/api/schools/${world.school.code}/attendance`);
    expect(response.statusCode).toBe(200);
    const body = response.json() as { classes: Array<{ classId: string; arrived: Array<{ name: string }>; notArrived: Array<{ name: string }> }> };
    expect(body.classes.map((c) => c.classId)).toEqual([world.classId]);
    expect(body.classes[0].arrived.map((p) => p.name)).toEqual([world.classPupils[0].name]);
    expect(body.classes[0].notArrived.map((p) => p.name).sort()).toEqual([world.classPupils[1].name, world.classPupils[2].name].sort());
  });

  it('codes of another class by name: 403', async () => {
    expect((await get(`/api/schools/${world.school.code}/codes?class=${encodeURIComponent('二(4)班')}`)).statusCode).toBe(403);
    const response = await get(`/api/schools/${world.school.code}/codes`);
    expect(response.statusCode).toBe(200);
    const names = (response.json() as { items: Array<{ name: string }> }).items.map((item) => item.name);
    expect(names).not.toContain(world.otherPupil.name);
  });

  it('gate events of another class: 403; own class: only its pupils', async () => {
    expect((await get(`/api/schools/${world.school.code}/gate/events?classId=${world.otherClassId}`)).statusCode).toBe(403);
    const response = await get(`/api/schools/${world.school.code}/gate/events`);
    expect(response.statusCode).toBe(200);
    const names = (response.json() as { events: Array<{ personName: string }> }).events.map((event) => event.personName);
    expect(names).toEqual([world.classPupils[0].name]);
  });

  it('follow-ups of another class: 403', async () => {
    expect((await get(`/api/schools/${world.school.code}/follow-ups?classId=${world.otherClassId}`)).statusCode).toBe(403);
    expect((await get(`/api/schools/${world.school.code}/follow-ups?classId=${world.classId}`)).statusCode).toBe(200);
  });
});
