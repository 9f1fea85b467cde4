import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { AppContext } from '../../src/context.js';
import type { HttpApp } from '../../src/http.js';
import { createDevice, markDeviceSeen } from '../../src/modules/gate/devices.js';
import { checkDeviceSilence } from '../../src/modules/gate/jobs.js';
import { sendNotArrivedLists } from '../../src/modules/gate/attendance.js';
import { assignCard } from '../../src/modules/gate/cards.js';
import { startGateListener, subscribeDecisions, type LiveDecision } from '../../src/modules/gate/live.js';
import { getSchoolByIdOrThrow } from '../../src/modules/people/service.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { bearer, buildGateWorld, signIn } from './helpers.js';

describe.each(DIALECTS)('%s: gate stream, queries and jobs', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let baseUrl: string;
  let world: Awaited<ReturnType<typeof buildGateWorld>>;
  const at = (time: string) => instantOf('2026-12-07', time);

  const swipe = async (personCard: string, eventId: string, temperature = 36.5) => {
    const response = await fetch(`${baseUrl}/api/devices/events`, {
      method: 'POST',
      headers: { ...bearer(world.api), 'content-type': 'application/json' },
      body: JSON.stringify({ eventId, occurredAt: t.ctx.now(), temperature, cardNumber: personCard }),
    });
    return (await response.json()) as { decision: string; reason: string };
  };

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(at('07:15'));
    world = await buildGateWorld(t.ctx);
    await assignCard(t.ctx, { schoolCode: world.school.code, cardNumber: '5001', personId: world.pupil.person.id });
    app = await buildApp(t.ctx);
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await t.close();
  });

  it('streams a decision to a signed-in console', async () => {
    const admin = await signIn(t.ctx, world.school.code);
    const controller = new AbortController();
    const response = await fetch(`${baseUrl}/api/schools/${world.school.code}/gate/stream`, { headers: { cookie: admin.cookie }, signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');

    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const received = (async () => {
      while (!text.includes('event: decision')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
    })();

    const answer = await swipe('5001', 'live-1');
    expect(answer.decision).toBe('pass');
    await received;
    controller.abort();

    const data = JSON.parse(/data: (.*)\n/.exec(text.slice(text.indexOf('event: decision')))![1]) as LiveDecision;
    expect(data).toMatchObject({ decision: 'pass', personId: world.pupil.person.id, prompt: '体温正常，请通行', lane: '东门' });
  });

  it('closes the server with a stream open', async () => {
    const admin = await signIn(t.ctx, world.school.code);
    const second = await buildApp(t.ctx);
    const secondUrl = await second.listen({ port: 0, host: '127.0.0.1' });
    const response = await fetch(`${secondUrl}/api/schools/${world.school.code}/gate/stream`, { headers: { cookie: admin.cookie } });
    expect(response.status).toBe(200);
    const closed = await Promise.race([second.close().then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('hung'), 5000))]);
    expect(closed).toBe('closed');
    await response.body?.cancel().catch(() => {});
  });

  it('refuses the stream without a session', async () => {
    const response = await fetch(`${baseUrl}/api/schools/${world.school.code}/gate/stream`);
    expect(response.status).toBe(401);
  });

  it.runIf(dialect === 'postgres')('fans decisions out to other processes through NOTIFY', async () => {
    // A second context on the same database stands for a second server process.
    const other: AppContext = { ...t.ctx };
    const stop = await startGateListener(other);
    const seen: LiveDecision[] = [];
    const unsubscribe = subscribeDecisions(other, world.school.id, (d) => seen.push(d));
    await swipe('5001', 'live-notify-1');
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    unsubscribe();
    await stop();
    expect(seen).toHaveLength(1);
    expect(seen[0].personId).toBe(world.pupil.person.id);
  });

  it('searches events by decision and person', async () => {
    await swipe('5001', 'search-fever', 38.0);
    const admin = await signIn(t.ctx, world.school.code);
    const reply = await app.inject({ method: 'GET', url: `/api/schools/${world.school.code}/gate/events?day=2026-12-07&decision=deny`, headers: { cookie: admin.cookie } });
    expect(reply.statusCode).toBe(200);
    const events = reply.json().events as Array<{ eventId: string; reason: string; personName: string; className: string }>;
    expect(events.map((e) => e.eventId)).toEqual(['search-fever']);
    expect(events[0]).toMatchObject({ reason: 'fever', personName: world.pupil.person.name, className: '二(3)班' });

    const byPerson = await app.inject({ method: 'GET', url: `/api/schools/${world.school.code}/gate/events?personId=${world.pupil.person.id}&reason=ok`, headers: { cookie: admin.cookie } });
    expect(byPerson.json().events.length).toBeGreaterThanOrEqual(1);
    const audit = await t.ctx.db.selectFrom('audit_log').select('action').where('action', '=', 'gate.events.view').execute();
    expect(audit.length).toBeGreaterThanOrEqual(2);
  });

  it('lists arrived and not-arrived pupils per class', async () => {
    const admin = await signIn(t.ctx, world.school.code);
    const reply = await app.inject({ method: 'GET', url: `/api/schools/${world.school.code}/attendance?day=2026-12-07`, headers: { cookie: admin.cookie } });
    expect(reply.statusCode).toBe(200);
    const day = reply.json();
    expect(day).toMatchObject({ day: '2026-12-07', arrivedCount: 1, notArrivedCount: 1, lateCount: 0 });
    expect(day.classes[0].className).toBe('二(3)班');
    expect(day.classes[0].arrived[0].personId).toBe(world.pupil.person.id);
    expect(day.classes[0].notArrived[0].personId).toBe(world.classmate.person.id);
  });

  it('sends each head teacher the not-arrived list once, at the set time', async () => {
    const school = await getSchoolByIdOrThrow(t.ctx, world.school.id);
    t.setNow(at('08:05'));
    expect(await sendNotArrivedLists(t.ctx, school)).toBe(0);
    t.setNow(at('08:10'));
    expect(await sendNotArrivedLists(t.ctx, school)).toBe(1);
    t.setNow(at('08:11'));
    expect(await sendNotArrivedLists(t.ctx, school)).toBe(0);

    const notices = await t.ctx.db.selectFrom('outbox').selectAll().where('kind', '=', 'not_arrived').execute();
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ recipient_person_id: world.headTeacher.id, channel: 'dingtalk_work', title: '二(3)班 未到校名单' });
    expect(notices[0].body).toContain(world.classmate.person.name);
    expect(notices[0].body).not.toContain(world.pupil.person.name);

    // Past the three-hour window (a server started late): no list.
    const other = await getSchoolByIdOrThrow(t.ctx, (await buildGateWorld(t.ctx)).school.id);
    t.setNow(at('11:30'));
    expect(await sendNotArrivedLists(t.ctx, other)).toBe(0);

    // Saturday: no list.
    t.setNow(instantOf('2026-12-12', '08:30'));
    expect(await sendNotArrivedLists(t.ctx, school)).toBe(0);
  });

  it('raises and closes offline alerts', async () => {
    t.setNow(at('09:00'));
    const lane = await createDevice(t.ctx, { schoolCode: world.school.code, kind: 'kiosk', name: '西门平板' });
    const alertsOf = () => t.ctx.db.selectFrom('alerts').selectAll().where('device_id', '=', lane.device.id).execute();

    t.setNow(at('09:09'));
    await checkDeviceSilence(t.ctx);
    expect(await alertsOf()).toHaveLength(0);

    t.setNow(at('09:11'));
    await checkDeviceSilence(t.ctx);
    t.setNow(at('09:20'));
    await checkDeviceSilence(t.ctx);
    const raised = await alertsOf();
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ kind: 'device_offline', status: 'open' });
    const inbox = await t.ctx.db.selectFrom('outbox').selectAll().where('idempotency_key', '=', raised[0].dedupe_key).execute();
    expect(inbox).toHaveLength(1);

    await markDeviceSeen(t.ctx, lane.device);
    t.setNow(at('09:21'));
    await checkDeviceSilence(t.ctx);
    const closed = await alertsOf();
    expect(closed[0]).toMatchObject({ status: 'closed', closed_note: '设备已恢复在线' });
  });
});
