import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { replayGateMorning } from '../../src/demo/gate.js';
import { startDemoLaneTerminals, type DemoLaneTerminals } from '../../src/demo/lane-terminals.js';
import { DEMO_SCHOOL, seedDemo } from '../../src/demo/seed.js';
import { createDevice, markDeviceSeen } from '../../src/modules/gate/devices.js';
import { checkDeviceSilence } from '../../src/modules/gate/jobs.js';
import { getSchoolByCodeOrThrow } from '../../src/modules/people/service.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { eventually } from '../helpers/wait.js';

const DAY = '2026-11-18';
const at = (time: string) => instantOf(DAY, time);

/**
 * A fresh demo start as `npm start` after `demo morning` has run: the demo school seeded,
 * its morning replayed through the six lanes (so each lane was last heard before 08:15),
 * then the server started at 14:00 with its simulated lane terminals. A lane registered
 * by hand at 14:00 has no terminal and never reports.
 */
describe.each(DIALECTS)('%s: demo lane terminals', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let terminals: DemoLaneTerminals | undefined;
  let handLaneId: string;
  /** last_seen_at of each seeded lane after the replay, before the server started. */
  let replayedLastSeen: Array<number | null>;

  const devices = () => t.ctx.db.selectFrom('devices').selectAll().orderBy('name').execute();
  const offlineAlerts = () => t.ctx.db.selectFrom('alerts').selectAll().where('kind', '=', 'device_offline').execute();

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(at('06:00'));
    await seedDemo(t.ctx);
    await replayGateMorning(t.ctx, DAY);
    replayedLastSeen = (await devices()).map((device) => device.last_seen_at);

    t.setNow(at('14:00'));
    const school = await getSchoolByCodeOrThrow(t.ctx, DEMO_SCHOOL.code);
    handLaneId = (await createDevice(t.ctx, { schoolCode: school.code, kind: 'api', name: '西门 1 号通道', lane: '西门' })).device.id;

    app = await buildApp(t.ctx);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    terminals = await startDemoLaneTerminals(t.ctx, url, { heartbeatMs: 100 });
  }, 300_000);

  afterAll(async () => {
    await terminals?.stop();
    await app?.close();
    await t?.close();
  });

  it('last heard the replayed lanes in the morning', () => {
    // Without heartbeats, the silence check would count from these times.
    expect(replayedLastSeen).toHaveLength(6);
    for (const lastSeen of replayedLastSeen) {
      expect(lastSeen).toBeGreaterThanOrEqual(at('07:00'));
      expect(lastSeen).toBeLessThanOrEqual(at('08:15'));
    }
    expect(terminals?.lanes).toBe(6);
  });

  it('heartbeats every seeded lane at start', async () => {
    for (const device of await devices()) {
      if (device.id === handLaneId) expect(device.last_seen_at, device.name).toBeNull();
      else expect(device.last_seen_at, device.name).toBe(at('14:00'));
    }
  });

  it('keeps the lane keys for the owner only', () => {
    const file = join(t.ctx.config.dataDir, 'lane-keys.json');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const keys = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(Object.keys(keys)).toHaveLength(6);
    expect(keys[handLaneId]).toBeUndefined();
  });

  it('keeps last_seen_at on a backdated event', async () => {
    const [lane] = (await devices()).filter((device) => device.id !== handLaneId);
    await markDeviceSeen({ ...t.ctx, now: () => at('07:30') }, lane);
    const after = await t.ctx.db.selectFrom('devices').select('last_seen_at').where('id', '=', lane.id).executeTakeFirstOrThrow();
    expect(after.last_seen_at).toBe(at('14:00'));
  });

  it('raises offline only for the silent lane', async () => {
    t.setNow(at('14:11'));
    // Wait for a heartbeat of every seeded lane at the new time.
    await eventually(async () => (await devices()).filter((device) => device.last_seen_at === at('14:11')).length === 6);

    const result = await checkDeviceSilence(t.ctx);
    expect(result.raised).toBe(1);
    const alerts = await offlineAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0].device_id).toBe(handLaneId);
    expect(alerts[0].title).toBe('设备离线：西门 1 号通道');
    expect(alerts[0].status).toBe('open');
  });

  it('raises offline for lanes whose terminals stopped', async () => {
    await terminals!.stop();
    terminals = undefined;
    t.setNow(at('14:22'));

    const result = await checkDeviceSilence(t.ctx);
    expect(result.raised).toBe(6);
    const titles = (await offlineAlerts()).filter((alert) => alert.device_id !== handLaneId).map((alert) => alert.title).sort();
    expect(titles).toEqual(['南门 1 号通道', '南门 2 号通道', '南门 3 号通道（平板）', '东门 1 号通道', '东门 2 号通道', '东门 3 号通道（平板）'].map((name) => `设备离线：${name}`).sort());
  });
});

/**
 * `serve` in demo mode on a new data folder, as `npm start` runs it. The seeded lanes are
 * heard from once the server listens. The JSON log goes to data/demo/logs/server.log, so the
 * banner ends the terminal output. The server stops cleanly on SIGTERM, lane terminals first.
 */
describe('demo server lane heartbeats', () => {
  let dataDir: string;
  let server: ChildProcess | undefined;
  let stdout = '';
  let stderr = '';
  let exit: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  const logFile = () => join(dataDir, 'demo', 'logs', 'server.log');
  const serverLog = () => (existsSync(logFile()) ? readFileSync(logFile(), 'utf8') : '');

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fangkong-demo-serve-'));
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('FANGKONG_')) env[key] = value;
    server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      env: { ...env, FANGKONG_DATA_DIR: dataDir, FANGKONG_PORT: '0', FANGKONG_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (chunk) => (stdout += chunk));
    server.stderr!.on('data', (chunk) => (stderr += chunk));
    exit = new Promise((resolve) => server!.on('close', (status, signal) => resolve({ status, signal })));
    await eventually(async () => serverLog().includes('"msg":"demo lane terminals started"') && stdout.includes('重放学校早晨'), 180_000);
  }, 200_000);

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await exit;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('hears every seeded lane at start', () => {
    const db = new Database(join(dataDir, 'demo', 'fangkong.db'), { readonly: true });
    try {
      const lanes = db.prepare('select name, last_seen_at from devices').all() as Array<{ name: string; last_seen_at: number | null }>;
      expect(lanes).toHaveLength(6);
      for (const lane of lanes) expect(lane.last_seen_at, lane.name).not.toBeNull();
    } finally {
      db.close();
    }
    expect(serverLog()).toContain('"lanes":6,"online":6');
  });

  it('states the lanes and face data in its banner', () => {
    expect(stdout).toMatch(/\n {2}校门通道：6 个（[东南]门、[东南]门）；全员 \d+ 人已录入演示人脸特征值；模拟终端为 6 个演示通道每 30 秒发送一次心跳，保持在线\n/);
  });

  it('keeps JSON logs off the terminal', () => {
    expect(serverLog()).toContain('"msg":"server listening"');
    expect(stdout).not.toContain('"msg"');
    // Warnings and errors still reach stderr, such as the seeded cluster alert, but info lines do not.
    expect(stderr).not.toContain('"level":30');
    expect(stdout.startsWith('演示模式：正在准备演示数据')).toBe(true);
    expect(stdout).toContain(`  服务日志（JSON）：${logFile()}；`);
    expect(stdout.endsWith('  重放学校早晨：npx fangkong demo morning\n')).toBe(true);
  });

  it('stops its lane terminals before the server', async () => {
    server!.kill('SIGTERM');
    const { status, signal } = await exit;
    expect(signal).toBeNull();
    expect(status).toBe(0);
    expect(serverLog()).toContain('"msg":"server stopped"');
    expect(serverLog()).not.toContain('demo lane heartbeat failed');
    expect(stderr).not.toContain('demo lane heartbeat failed');
  }, 30_000);
});
