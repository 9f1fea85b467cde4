import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openRuntime } from '../../src/runtime.js';
import { seedDemo } from '../../src/demo/seed.js';
import { startDemoEnvironment, type DemoEnvironment } from '../../src/demo/environment.js';

const run = promisify(execFile);
const BIN = resolve('bin/fangkong.js');

/**
 * `fangkong sync` in demo mode, run as a user runs it: from a project folder whose
 * data/demo a demo server seeded, with no bureau configured. The demo environment of
 * `serve` (its real simulators on loopback and simulators.json) replaces the server.
 */
describe('sync command in demo mode', () => {
  let folder: string;
  let demo: DemoEnvironment | undefined;
  let pupilsAndStaff: number;

  async function sync(): Promise<{ code: number; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, FANGKONG_LOG_LEVEL: 'silent' };
    for (const name of ['FANGKONG_BUREAU_URL', 'FANGKONG_DATABASE_URL', 'FANGKONG_DATA_DIR', 'FANGKONG_SECRET_KEY', 'FANGKONG_DEMO']) delete env[name];
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, 'sync', '--school', 'demo-primary'], { cwd: folder, env, encoding: 'utf8', timeout: 120_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  function syncRunTriggers(): string[] {
    const db = new Database(join(folder, 'data', 'demo', 'fangkong.db'), { readonly: true });
    try {
      return (db.prepare('select trigger from sync_runs order by started_at').all() as { trigger: string }[]).map((row) => row.trigger);
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'fangkong-demo-sync-'));
    const base = loadConfig({ FANGKONG_DATA_DIR: join(folder, 'data'), FANGKONG_LOG_LEVEL: 'silent' });
    demo = await startDemoEnvironment(base);
    const runtime = await openRuntime({ config: demo.config });
    try {
      const seeded = await seedDemo(runtime.ctx);
      pupilsAndStaff = seeded.pupils + seeded.staff;
    } finally {
      await runtime.close();
    }
  }, 200_000);

  afterAll(async () => {
    await demo?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('syncs through the running simulated bureau', async () => {
    const result = await sync();

    expect(result.stderr).toContain('演示模式：使用演示数据目录');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^示范区实验小学 健康码同步成功（记录 [^）]+）\n/);
    expect(result.stdout).toContain(`共 ${pupilsAndStaff} 人：绿码 ${pupilsAndStaff}，`);
    expect(demo!.bureau.stats().byStatus['200']).toBeGreaterThan(0);
    expect(syncRunTriggers()).toEqual(['cli']);
  });

  it('keeps the simulator credentials owner-only', () => {
    expect(statSync(join(folder, 'data', 'demo', 'simulators.json')).mode & 0o777).toBe(0o600);
  });

  it('explains a stopped demo server in Chinese', async () => {
    await demo!.close();
    demo = undefined;

    const result = await sync();

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('无法同步健康码：演示服务器中的模拟大数据局没有响应，演示服务器可能已停止。');
    expect(result.stderr).toContain('请先在另一个终端运行 npm start（或 npx fangkong serve）启动演示服务器');
    expect(result.stdout).toBe('');
    expect(syncRunTriggers()).toEqual(['cli']);
  });

  it('explains a missing demo server in Chinese', async () => {
    rmSync(join(folder, 'data', 'demo', 'simulators.json'));

    const result = await sync();

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('无法同步健康码：没有找到正在运行的演示服务器');
    expect(result.stderr).toContain('npx fangkong demo morning');
  });
});
