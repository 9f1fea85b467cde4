import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createUser } from '../../src/modules/auth/service.js';
import { createDevice } from '../../src/modules/gate/devices.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';

const PASSWORD = 'Devices-List-2026';

describe.each(DIALECTS)('%s: GET /api/schools/:code/devices', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let school: { id: string; code: string };
  let kiosk: Awaited<ReturnType<typeof createDevice>>;
  let terminal: Awaited<ReturnType<typeof createDevice>>;

  async function get(username: string, code = school.code) {
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: PASSWORD } });
    expect(login.statusCode, login.body).toBe(200);
    const cookie = (login.cookies as Array<{ name: string; value: string }>).map((c) => `${c.name}=${c.value}`).join('; ');
    return app.inject({ method: 'GET', url: `/api/schools/${code}/devices`, headers: { cookie } });
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    app = await buildApp(t.ctx);
    school = await buildSchool(t.ctx);
    const other = await buildSchool(t.ctx);
    kiosk = await createDevice(t.ctx, { schoolCode: school.code, kind: 'kiosk', name: '东门平板', lane: '东门' });
    terminal = await createDevice(t.ctx, { schoolCode: school.code, kind: 'hikvision', name: '西门测温终端', lane: '西门' });
    await createDevice(t.ctx, { schoolCode: other.code, kind: 'api', name: '别校通道' });
    await createUser(t.ctx, { username: 'devadmin', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'devguard', role: 'guard', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'devdoctor', role: 'school_doctor', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'devother', role: 'school_admin', schoolCode: other.code, password: PASSWORD }, null);

    // The kiosk sends a heartbeat now; the terminal has never sent anything.
    const heartbeat = await app.inject({ method: 'POST', url: '/api/devices/heartbeat', headers: { authorization: `Bearer ${kiosk.device.id}.${kiosk.key}` } });
    expect(heartbeat.statusCode).toBe(200);
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('lists the school devices with online state', async () => {
    const response = await get('devadmin');
    expect(response.statusCode).toBe(200);
    const devices = (response.json() as { devices: Array<{ id: string; name: string; kind: string; lane: string | null; online: boolean; lastSeenAt: number | null }> }).devices;
    expect(devices.map((d) => d.name).sort()).toEqual(['东门平板', '西门测温终端']);
    const seen = devices.find((d) => d.id === kiosk.device.id)!;
    expect(seen).toMatchObject({ kind: 'kiosk', lane: '东门', online: true, lastSeenAt: t.ctx.now() });
    const silent = devices.find((d) => d.id === terminal.device.id)!;
    expect(silent).toMatchObject({ kind: 'hikvision', online: false, lastSeenAt: null });
  });

  it('goes offline after the silence limit', async () => {
    t.setNow(t.ctx.now() + 11 * 60_000);
    const devices = (await get('devguard')).json().devices as Array<{ id: string; online: boolean }>;
    expect(devices.find((d) => d.id === kiosk.device.id)?.online).toBe(false);
  });

  it('never returns keys', async () => {
    const body = (await get('devadmin')).body;
    expect(body).not.toContain(kiosk.key);
    expect(body).not.toContain('key_hash');
  });

  it('rejects other roles and schools', async () => {
    expect((await get('devdoctor')).statusCode).toBe(403);
    expect((await get('devother')).statusCode).toBe(403);
  });
});
