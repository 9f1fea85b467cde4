import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/main.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { buildSyncSchool } from './harness.js';

// The key of test/helpers/db.ts, so the command line reads the ID numbers the test wrote.
const TEST_KEY_HEX = '07'.repeat(32);

describe('health-code command line', () => {
  let t: TestDb;
  let simulator: ChildProcess;
  let bureau: { url: string; appKey: string; appSecret: string };
  let s: Awaited<ReturnType<typeof buildSyncSchool>>;

  function cliEnv(): Record<string, string> {
    return {
      FANGKONG_DATA_DIR: t.dataDir,
      FANGKONG_DATABASE_URL: '',
      FANGKONG_SECRET_KEY: TEST_KEY_HEX,
      FANGKONG_LOG_LEVEL: 'silent',
      FANGKONG_BUREAU_URL: bureau.url,
      FANGKONG_BUREAU_APP_KEY: bureau.appKey,
      FANGKONG_BUREAU_APP_SECRET: bureau.appSecret,
    };
  }

  /** The real command line in a child process (slow to start, so used once). */
  function fangkong(args: string[]) {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...cliEnv() },
      timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** The same command line run in this process, capturing its output and exit code. */
  async function fangkongHere(args: string[]) {
    const saved = { ...process.env };
    const write = { out: process.stdout.write, err: process.stderr.write };
    let stdout = '';
    let stderr = '';
    Object.assign(process.env, cliEnv());
    process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
    process.exitCode = 0;
    try {
      await runCli(args);
      return { status: process.exitCode, stdout, stderr };
    } finally {
      process.stdout.write = write.out;
      process.stderr.write = write.err;
      process.env = saved;
      process.exitCode = 0;
    }
  }

  beforeAll(async () => {
    t = await createTestDb('sqlite');
    s = await buildSyncSchool(t.ctx, { pupilsPerClass: 3 });
    await t.database.close();

    simulator = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'simulate', 'bureau', '--port', '0', '--app-key', 'cli-key', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: simulator.stdout! }).once('line', resolve);
      simulator.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
    });
    bureau = JSON.parse(line);
  });

  afterAll(async () => {
    simulator.kill('SIGTERM');
    await t.close().catch(() => undefined);
  });

  it('simulate bureau prints its URL and credentials', () => {
    expect(bureau.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(bureau.appKey).toBe('cli-key');
    expect(bureau.appSecret).toMatch(/^[0-9a-f]{32}$/);
  });

  it('codes shows never-synced codes as 未同步', async () => {
    const text = await fangkongHere(['codes', '--school', s.school.code]);
    expect(text.status).toBe(0);
    const rows = text.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.split('\t').slice(3)).toEqual(['未同步', '-', '从未']);
    expect(text.stdout).not.toContain('已过期');
  });

  it('sync runs now and prints counts', async () => {
    await fetch(`${bureau.url}/_sim/codes`, { method: 'POST', body: JSON.stringify({ idNumber: s.pupils[0].idNumber, color: 'yellow' }) });
    const text = fangkong(['sync', '--school', s.school.code]);
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('健康码同步成功');
    expect(text.stdout).toContain('共 3 人：绿码 2，黄码 1，红码 0');
    expect(text.stdout).toContain('变化 1 人');

    const json = await fangkongHere(['sync', '--school', s.school.code, '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'succeeded', total: 3, changes: 0, counts: { green: 2, yellow: 1 } });
  });

  it('codes lists masked ID numbers and the stale flag', async () => {
    const json = await fangkongHere(['codes', '--school', s.school.code, '--json']);
    expect(json.status).toBe(0);
    const { items } = JSON.parse(json.stdout);
    expect(items).toHaveLength(3);
    expect(json.stdout).not.toContain(s.pupils[0].idNumber);
    expect(items.find((i: { personId: string }) => i.personId === s.pupils[0].person.id)).toMatchObject({ color: 'yellow', isStale: false });

    const text = await fangkongHere(['codes', '--school', s.school.code]);
    expect(text.stdout).toContain('黄码');
    expect(text.stdout).toContain('有效');
  });

  it('schedule sets a preset or crons and rejects a bad cron', async () => {
    const preset = await fangkongHere(['schedule', '--school', s.school.code, '--preset', 'evening-2100-morning-0630', '--json']);
    expect(preset.status).toBe(0);
    expect(JSON.parse(preset.stdout).crons).toEqual(['0 21 * * *', '30 6 * * *']);

    const crons = await fangkongHere(['schedule', '--school', s.school.code, '--cron', '0 5 * * 1-5; 0 20 * * 0-4']);
    expect(crons.status).toBe(0);
    expect(crons.stdout).toContain('已设置同步时间：0 5 * * 1-5；0 20 * * 0-4');

    const bad = await fangkongHere(['schedule', '--school', s.school.code, '--cron', '0 25 * * *']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('同步时间“0 25 * * *”不是有效的 cron 表达式');

    const both = await fangkongHere(['schedule', '--school', s.school.code]);
    expect(both.status).toBe(2);
  });
});
