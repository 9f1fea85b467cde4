import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { assignCard } from '../../src/modules/gate/cards.js';
import { drainTerminalQueues } from '../../src/modules/gate/terminal-events.js';
import { assertLoopbackUrl, runTerminalSimulator } from '../../tools/simulators/terminal.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildGateWorld } from './helpers.js';

const runAsync = promisify(execFile);

describe.each(DIALECTS)('%s: terminal simulator', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let url: string;
  let world: Awaited<ReturnType<typeof buildGateWorld>>;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    world = await buildGateWorld(t.ctx);
    await assignCard(t.ctx, { schoolCode: world.school.code, cardNumber: '6001', personId: world.pupil.person.id });
    app = await buildApp(t.ctx);
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await t.close();
  });

  it('pushes messy Hikvision events that are all recorded', async () => {
    const report = await runTerminalSimulator({
      url,
      deviceId: world.terminal.device.id,
      key: world.terminal.key,
      mode: 'hikvision',
      count: 20,
      rate: 0,
      concurrency: 4,
      employeeNos: [world.pupil.person.student_number!, world.classmate.person.student_number!],
      feverEvery: 5,
      messy: true,
      picture: true,
      firstSerial: 500,
      now: t.ctx.now,
    });
    expect(report).toMatchObject({ sent: 20, ok: 20, failed: 0 });
    await drainTerminalQueues(t.ctx);
    const rows = await t.ctx.db.selectFrom('gate_events').select(['reason', 'snapshot_path']).where('device_id', '=', world.terminal.device.id).execute();
    expect(rows).toHaveLength(20);
    expect(rows.filter((r) => r.reason === 'fever')).toHaveLength(4);
    expect(rows.filter((r) => r.snapshot_path !== null)).toHaveLength(4);
  });

  it('drives the device API and counts the decisions', async () => {
    const report = await runTerminalSimulator({
      url,
      deviceId: world.api.device.id,
      key: world.api.key,
      mode: 'api',
      count: 10,
      rate: 0,
      cardNumbers: ['6001', '0000'],
      firstSerial: 1,
      now: t.ctx.now,
    });
    expect(report).toMatchObject({ sent: 10, ok: 10, reasons: { ok: 5, unknown_person: 5 } });
  });

  it('prints the API decisions in Chinese', async () => {
    const args = ['simulate', 'terminal', '--url', url, '--device', world.api.device.id, '--key', world.api.key, '--mode', 'api', '--count', '4', '--rate', '0', '--card', '6001,0000'];
    const { stdout } = await runAsync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, FANGKONG_LOG_LEVEL: 'silent' }, timeout: 60_000 });

    expect(stdout).toMatch(/^已发送 4 条，成功 4 条，失败 0 条，/);
    expect(stdout).toContain('\n  正常通行：2 条\n');
    expect(stdout).toContain('\n  未识别身份：2 条\n');
    expect(stdout).not.toMatch(/unknown_person|\bok\b/);
  });

  it('reports a wrong key as failures', async () => {
    const report = await runTerminalSimulator({ url, deviceId: world.api.device.id, key: 'wrong', mode: 'api', count: 2, rate: 0, cardNumbers: ['6001'], now: t.ctx.now });
    expect(report).toMatchObject({ sent: 2, ok: 0, failed: 2 });
    expect(report.errors[0]).toContain('HTTP 401');
  });
});

describe('simulator safety', () => {
  it('sends only to loopback addresses', () => {
    expect(assertLoopbackUrl('http://127.0.0.1:3000').port).toBe('3000');
    expect(assertLoopbackUrl('http://localhost:8080').hostname).toBe('localhost');
    expect(() => assertLoopbackUrl('http://192.0.2.1:3000')).toThrow(/not a loopback address/);
    expect(() => assertLoopbackUrl('nonsense')).toThrow(/invalid --url/);
  });
});

describe('gate commands', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fangkong-gate-cli-'));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, FANGKONG_DATA_DIR: dataDir, FANGKONG_DATABASE_URL: '', FANGKONG_LOG_LEVEL: 'silent' },
      timeout: 60_000,
    });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('adds a device and prints its id and key once', () => {
    expect(run('school', 'add', '--code', 'CLI1', '--name', '命令行小学').status).toBe(0);
    const added = run('device', 'add', '--school', 'CLI1', '--kind', 'hikvision', '--name', '东门终端', '--lane', '东门', '--json');
    expect(added.status, added.stderr).toBe(0);
    const device = JSON.parse(added.stdout) as { id: string; key: string; kind: string; direction: string };
    expect(device).toMatchObject({ kind: 'hikvision', direction: 'in' });
    expect(device.key.length).toBeGreaterThanOrEqual(40);

    const listed = run('device', 'list', '--school', 'CLI1', '--json');
    expect(listed.stdout).toContain(device.id);
    expect(listed.stdout).not.toContain(device.key);
  });

  it('rejects identity options the mode cannot send', () => {
    const target = ['--url', 'http://127.0.0.1:9', '--device', 'd1', '--key', 'k1'];
    const api = run('simulate', 'terminal', ...target, '--mode', 'api', '--employee-no', 'XS001');
    expect(api.status).toBe(2);
    expect(api.stderr).toContain('--employee-no（学号或工号）只用于 --mode hikvision');
    expect(api.stderr).toContain('请改用 --card');
    expect(api.stdout).toBe('');

    const hikvision = run('simulate', 'terminal', ...target, '--card', '6001');
    expect(hikvision.status).toBe(2);
    expect(hikvision.stderr).toContain('--card 只用于 --mode api');

  });
});
