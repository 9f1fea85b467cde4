import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createDevice } from '../../src/modules/gate/devices.js';
import { createLogger } from '../../src/shared/logger.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';

describe.each(DIALECTS)('%s: heartbeat logging', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let device: Awaited<ReturnType<typeof createDevice>>;
  const lines: Array<{ level: number; msg: string; url?: string; req?: { url?: string } }> = [];

  beforeAll(async () => {
    t = await createTestDb(dialect);
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    app = await buildApp({ ...t.ctx, log: createLogger('info', sink) });
    const school = await buildSchool(t.ctx);
    device = await createDevice(t.ctx, { schoolCode: school.code, kind: 'kiosk', name: '东门平板', lane: '东门' });
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('keeps accepted heartbeats out of the info log', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/devices/heartbeat', headers: { authorization: `Bearer ${device.device.id}.${device.key}` } });
    expect(response.statusCode).toBe(200);
    expect(lines.filter((line) => JSON.stringify(line).includes('/api/devices/heartbeat'))).toEqual([]);

    // Other routes still log their requests at info, so the sink does receive lines.
    await app.inject({ method: 'GET', url: '/api/health' });
    expect(lines.some((line) => line.msg === 'request completed')).toBe(true);
  });

  it('logs a rejected heartbeat key at warn', async () => {
    lines.length = 0;
    const response = await app.inject({ method: 'POST', url: '/api/devices/heartbeat', headers: { authorization: `Bearer ${device.device.id}.wrong-key` } });
    expect(response.statusCode).toBe(401);
    const rejected = lines.filter((line) => line.msg === 'device authentication failed');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.level).toBe(40);
    expect(JSON.stringify(lines)).not.toContain('wrong-key');
  });
});
