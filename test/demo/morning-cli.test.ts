import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * `demo morning` run twice as a user runs it: two processes of the command line on one
 * demo data folder (SQLite, since demo mode uses data/demo), each with its own simulators.
 */
describe('demo morning command run twice', () => {
  let dataDir: string;
  let first: string;
  let second: string;

  async function demoMorning(): Promise<string> {
    const env: NodeJS.ProcessEnv = { ...process.env, FANGKONG_DATA_DIR: dataDir, FANGKONG_LOG_LEVEL: 'silent' };
    delete env.FANGKONG_BUREAU_URL;
    delete env.FANGKONG_DATABASE_URL;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'demo', 'morning'], { env, encoding: 'utf8', timeout: 180_000 });
    return stdout;
  }

  function countGateEvents(): number {
    const db = new Database(join(dataDir, 'demo', 'fangkong.db'), { readonly: true });
    try {
      return (db.prepare('select count(*) as n from gate_events').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fangkong-demo-cli-'));
    first = await demoMorning();
  }, 200_000);

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('records the morning the first time', () => {
    expect(first).toMatch(/^学校早晨重放（\d{4}-\d{2}-\d{2}，运行于 本进程）/);
    expect(first).toContain('07:00-08:15 校门通行：3005 人次，放行 2999，拒绝 6');
    expect(first).toContain('07:40 临时观察点复测 37.0 °C：复测正常\n');
    expect(countGateEvents()).toBe(3005);
  });

  it('says the day was replayed and adds no gate event', async () => {
    second = await demoMorning();
    const day = /^学校早晨重放（(\d{4}-\d{2}-\d{2})/.exec(first)![1];
    expect(second, 'the runs straddled 08:30 or midnight in Beijing; run the test again').toContain(`学校早晨重放（${day}，`);

    expect(second).toContain(`07:00-08:15 校门通行：${day} 已重放过，3005 条通行事件已在校门记录中，按事件编号去重，未重复写入`);
    expect(second).toContain('此前记录的结果：放行 2999，拒绝 6');
    expect(second).toContain('07:40 临时观察点复测 37.0 °C：复测正常（此前已记录，未重复登记）');
    expect(countGateEvents()).toBe(3005);
  }, 200_000);
});
