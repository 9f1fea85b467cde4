import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { bearer, buildGateWorld, setCode, signIn } from './helpers.js';

type Session = Awaited<ReturnType<typeof signIn>>;

describe.each(DIALECTS)('%s: gate settings and device admin over HTTP', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let world: Awaited<ReturnType<typeof buildGateWorld>>;
  let admin: Session;
  let guard: Session;
  let doctor: Session;
  let otherAdmin: Session;

  const put = (url: string, session: Session, payload: unknown) => app.inject({ method: 'PUT', url, payload: payload as object, headers: session.headers });
  const post = (url: string, session: Session, payload: object = {}) => app.inject({ method: 'POST', url, payload, headers: session.headers });
  const get = (url: string, session: Session) => app.inject({ method: 'GET', url, headers: session.headers });
  const settingsUrl = () => `/api/schools/${world.school.code}/gate-settings`;
  const devicesUrl = () => `/api/schools/${world.school.code}/devices`;

  async function postEvent(device: { device: { id: string }; key: string }, personId: string, temperature: number) {
    return app.inject({
      method: 'POST',
      url: '/api/devices/events',
      headers: bearer(device),
      payload: { eventId: randomUUID(), occurredAt: t.ctx.now(), personId, temperature },
    });
  }

  async function auditActions(action: string) {
    return t.ctx.db.selectFrom('audit_log').select(['action', 'target', 'detail']).where('action', '=', action).execute();
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    app = await buildApp(t.ctx);
    world = await buildGateWorld(t.ctx);
    admin = await signIn(t.ctx, world.school.code, 'school_admin');
    guard = await signIn(t.ctx, world.school.code, 'guard');
    doctor = await signIn(t.ctx, world.school.code, 'school_doctor');
    const other = await buildSchool(t.ctx);
    otherAdmin = await signIn(t.ctx, other.code, 'school_admin');
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('gate settings start at the defaults', async () => {
    const response = await get(settingsUrl(), admin);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.thresholds).toEqual({
      feverThresholdC: 37.3,
      sensorMinC: 30,
      sensorMaxC: 45,
      staleGreenCode: 'allow_and_flag',
      missingTemperature: 'allow_and_flag',
      codeStaleHours: null,
      snapshotRetentionDays: 7,
      deviceOfflineMinutes: 10,
    });
    expect(body.installation.codeStaleHours).toBe(t.ctx.config.bureau.staleAfterMinutes / 60);
    expect(body.installation.venueCheckinRetentionDays).toBe(t.ctx.config.venues.retentionDays);
  });

  it('gate settings are for admins of the school only', async () => {
    expect((await get(settingsUrl(), doctor)).statusCode).toBe(403);
    expect((await get(settingsUrl(), guard)).statusCode).toBe(403);
    expect((await put(settingsUrl(), guard, { feverThresholdC: 37.5 })).statusCode).toBe(403);
    expect((await put(settingsUrl(), otherAdmin, { feverThresholdC: 37.5 })).statusCode).toBe(403);
  });

  it('rejects bad values naming each field in Chinese', async () => {
    const response = await put(settingsUrl(), admin, { feverThresholdC: 50, codeStaleHours: 2.5, staleGreenCode: 'maybe', colour: 'red' });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.message).toContain('发热阈值 50 ℃ 超出范围，应为 37 到 38.5 ℃');
    expect(body.message).toContain('健康码过期时长 2.5 应为整数');
    expect(body.message).toContain('过期绿码处理“maybe”无效');
    expect(body.message).toContain('不能修改字段“colour”');
    expect(body.details.problems.map((p: { field: string }) => p.field)).toEqual(['feverThresholdC', 'codeStaleHours', 'staleGreenCode', 'colour']);

    const outsideRange = await put(settingsUrl(), admin, { sensorMaxC: 38, feverThresholdC: 38.5 });
    expect(outsideRange.statusCode).toBe(400);
    expect(outsideRange.json().message).toContain('发热阈值 38.5 ℃ 应高于测温下限 30 ℃ 且低于测温上限 38 ℃');

    const implausible = await put(settingsUrl(), admin, { feverThresholdC: 42 });
    expect(implausible.statusCode).toBe(400);
    expect(implausible.json().message).toContain('发热阈值 42 ℃ 超出范围，应为 37 到 38.5 ℃（低于 37.0 ℃ 会把体温正常的人判为发热，高于 38.5 ℃ 会放行发热的人）');

    const twoDecimals = await put(settingsUrl(), admin, { feverThresholdC: 37.25 });
    expect(twoDecimals.json().message).toContain('发热阈值 37.25 最多保留 1 位小数');
    expect((await get(settingsUrl(), admin)).json().thresholds.feverThresholdC).toBe(37.3);
  });

  it('a lower fever threshold stops the next entry', async () => {
    expect((await postEvent(world.api, world.pupil.person.id, 37.1)).json().decision).toBe('pass');

    const response = await put(settingsUrl(), admin, { feverThresholdC: 37, missingTemperature: 'deny' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().thresholds.feverThresholdC).toBe(37);

    const denied = (await postEvent(world.api, world.classmate.person.id, 37.1)).json();
    expect(denied.decision).toBe('deny');
    expect(denied.reason).toBe('fever');

    const entries = await auditActions('gate.settings.update');
    expect(entries).toHaveLength(1);
    expect(entries[0].target).toBe(world.school.code);
    expect(JSON.parse(entries[0].detail)).toEqual({
      changes: { feverThresholdC: { from: 37.3, to: 37 }, missingTemperature: { from: 'allow_and_flag', to: 'deny' } },
    });
  });

  it('keeps entry windows when thresholds change', async () => {
    const school = await t.ctx.db.selectFrom('schools').select('settings').where('id', '=', world.school.id).executeTakeFirstOrThrow();
    const stored = JSON.parse(school.settings);
    stored.gate.entryWindows = [{ grades: [2], from: '07:30', to: '07:50' }];
    await t.ctx.db.updateTable('schools').set({ settings: JSON.stringify(stored) }).where('id', '=', world.school.id).execute();

    expect((await put(settingsUrl(), admin, { snapshotRetentionDays: 30 })).statusCode).toBe(200);
    const after = JSON.parse((await t.ctx.db.selectFrom('schools').select('settings').where('id', '=', world.school.id).executeTakeFirstOrThrow()).settings);
    expect(after.gate.entryWindows).toEqual([{ grades: [2], from: '07:30', to: '07:50' }]);
    expect(after.gate.snapshotRetentionDays).toBe(30);
  });

  it('the school stale age decides which codes are stale', async () => {
    await setCode(t.ctx, world.school.id, world.classmate.person.id, 'green', t.ctx.now() - 3 * 60 * 60_000);
    const codesUrl = `/api/schools/${world.school.code}/codes`;
    const staleOf = async () => (await get(codesUrl, admin)).json().items.find((i: { personId: string }) => i.personId === world.classmate.person.id).isStale;
    expect(await staleOf()).toBe(false);

    expect((await put(settingsUrl(), admin, { codeStaleHours: 2 })).statusCode).toBe(200);
    expect(await staleOf()).toBe(true);
    const counts = (await get(`/api/schools/${world.school.code}/code-counts`, admin)).json();
    expect(counts.school.stale).toBe(1);

    expect((await put(settingsUrl(), admin, { codeStaleHours: null })).statusCode).toBe(200);
    expect(await staleOf()).toBe(false);
  });

  it('registers a device and shows its key once', async () => {
    const response = await post(devicesUrl(), admin, { name: '南门 2 号通道', kind: 'api', lane: '南门' });
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json();
    expect(created.device).toMatchObject({ name: '南门 2 号通道', kind: 'api', lane: '南门', direction: 'in', active: true, online: false, lastEvent: null });
    expect(created.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.setup).toContain(`Bearer ${created.device.id}.<设备密钥>`);

    const heartbeat = await app.inject({ method: 'POST', url: '/api/devices/heartbeat', headers: { authorization: `Bearer ${created.device.id}.${created.key}` } });
    expect(heartbeat.statusCode).toBe(200);

    const list = await get(devicesUrl(), admin);
    expect(list.body).not.toContain(created.key);
    const listed = list.json().devices.find((d: { id: string }) => d.id === created.device.id);
    expect(listed.online).toBe(true);

    const audits = await auditActions('device.create');
    expect(audits.map((a) => a.target)).toContain(created.device.id);
    expect(audits.map((a) => a.detail).join('')).not.toContain(created.key);
  });

  it('rejects a device without name or with a bad kind', async () => {
    const noName = await post(devicesUrl(), admin, { name: '  ', kind: 'api' });
    expect(noName.statusCode).toBe(400);
    expect(noName.json().message).toContain('设备名称不能为空');
    const badKind = await post(devicesUrl(), admin, { name: '西门', kind: 'camera' });
    expect(badKind.statusCode).toBe(400);
    expect(badKind.json().message).toContain('设备类型“camera”无效');
    const longLane = await post(devicesUrl(), admin, { name: '西门', kind: 'api', lane: '很'.repeat(41) });
    expect(longLane.json().message).toContain('通道');
  });

  it('guards list devices but cannot change them', async () => {
    expect((await get(devicesUrl(), guard)).statusCode).toBe(200);
    expect((await post(devicesUrl(), guard, { name: '门卫登记', kind: 'api' })).statusCode).toBe(403);
    expect((await post(`${devicesUrl()}/${world.api.device.id}/rotate-key`, guard)).statusCode).toBe(403);
    expect((await post(`${devicesUrl()}/${world.api.device.id}/disable`, guard)).statusCode).toBe(403);
    expect((await post(`/api/schools/${world.school.code}/devices/${world.api.device.id}/disable`, otherAdmin)).statusCode).toBe(403);
  });

  it('shows the last event of each device', async () => {
    await postEvent(world.terminal, world.pupil.person.id, 36.6);
    const listed = (await get(devicesUrl(), admin)).json().devices.find((d: { id: string }) => d.id === world.terminal.device.id);
    expect(listed.lastEvent).toMatchObject({ decision: 'pass', reason: 'ok' });
    expect(listed.lastEvent.occurredAt).toBeGreaterThan(0);
  });

  it('rotating a key retires the old key', async () => {
    const device = (await post(devicesUrl(), admin, { name: '北门平板', kind: 'kiosk', lane: '北门' })).json();
    const oldKey = { device: { id: device.device.id }, key: device.key };
    expect((await postEvent(oldKey, world.pupil.person.id, 36.5)).statusCode).toBe(200);

    const rotated = await post(`${devicesUrl()}/${device.device.id}/rotate-key`, admin);
    expect(rotated.statusCode, rotated.body).toBe(200);
    const newKey = rotated.json().key as string;
    expect(newKey).not.toBe(device.key);
    expect(rotated.json().setup).toContain('/kiosk');

    expect((await postEvent(oldKey, world.pupil.person.id, 36.5)).statusCode).toBe(401);
    expect((await postEvent({ device: { id: device.device.id }, key: newKey }, world.pupil.person.id, 36.5)).statusCode).toBe(200);
    expect((await auditActions('device.rotate_key')).map((a) => a.target)).toEqual([device.device.id]);
  });

  it('a disabled device is refused until enabled', async () => {
    const disabled = await post(`${devicesUrl()}/${world.api.device.id}/disable`, admin);
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect(disabled.json()).toMatchObject({ active: false, online: false });
    expect((await postEvent(world.api, world.pupil.person.id, 36.5)).statusCode).toBe(401);

    expect((await post(`${devicesUrl()}/${world.api.device.id}/enable`, admin)).json().active).toBe(true);
    expect((await postEvent(world.api, world.pupil.person.id, 36.5)).statusCode).toBe(200);
    expect((await auditActions('device.disable')).map((a) => a.target)).toEqual([world.api.device.id]);
    expect((await auditActions('device.enable')).map((a) => a.target)).toEqual([world.api.device.id]);
  });

  it('another school cannot reach a device by id', async () => {
    const other = await buildSchool(t.ctx);
    const response = await post(`/api/schools/${other.code}/devices/${world.api.device.id}/disable`, await signIn(t.ctx, other.code));
    expect(response.statusCode).toBe(404);
    expect(response.json().message).toContain('未找到设备');
  });
});
