import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Return a loopback port that was free a moment ago, like the address a stopped demo server leaves behind. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * `demo morning` run twice as a user runs it: two processes of the command line on one
 * demo data folder (SQLite, since demo mode uses data/demo), each with its own simulators.
 * A stopped demo server left its simulators.json behind, so both runs replay in their
 * own process.
 */
describe('demo morning command run twice', () => {
  let dataDir: string;
  let endpointsFile: string;
  let endpointsText: string;
  let first: string;
  let firstStderr: string;
  let second: string;

  /** Run the command with the default log level, which logs to data/demo/logs. */
  async function demoMorning(): Promise<{ stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, FANGKONG_DATA_DIR: dataDir };
    delete env.FANGKONG_BUREAU_URL;
    delete env.FANGKONG_DATABASE_URL;
    delete env.FANGKONG_LOG_LEVEL;
    return run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'demo', 'morning'], { env, encoding: 'utf8', timeout: 180_000 });
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
    mkdirSync(join(dataDir, 'demo'));
    const port = await closedPort();
    const endpoints = { bureauUrl: `http://127.0.0.1:${port}`, dingtalkUrl: `http://127.0.0.1:${port}`, robotWebhook: `http://127.0.0.1:${port}/robot/send`, pid: 1, serverUrl: `http://127.0.0.1:${port}` };
    endpointsFile = join(dataDir, 'demo', 'simulators.json');
    endpointsText = JSON.stringify(endpoints, null, 2) + '\n';
    writeFileSync(endpointsFile, endpointsText);
    ({ stdout: first, stderr: firstStderr } = await demoMorning());
  }, 200_000);

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('records the morning the first time', () => {
    expect(first).toMatch(/^学校早晨重放（\d{4}-\d{2}-\d{2}，运行于 本进程）/);
    expect(first).toContain('07:00-08:15 校门通行：3002 人次，放行 2996，拒绝 6');
    expect(first).toContain('07:40 临时观察点复测 37.0 °C：复测正常\n');
    expect(countGateEvents()).toBe(3002);
  });

  it('leaves the server\'s simulators.json alone', () => {
    expect(readFileSync(endpointsFile, 'utf8')).toBe(endpointsText);
  });

  it('labels each sample notice by its recipient', () => {
    expect(first).toMatch(/\n {2}二\(3\)班班主任收到的通知示例：\n.*\n.*\n {4}\n {4}您班上共 2 人健康码变化/);
    expect(first).toMatch(/\n {2}学校管理层收到的通知示例：\n.*\n.*\n {4}\n {4}示范区实验小学本次同步共 2 人健康码变化/);
  });

  it('logs to the demo log file, not the terminal', () => {
    expect(firstStderr).not.toMatch(/^\{"level":/m);
    expect(first).not.toMatch(/^\{"level":/m);
    const logDir = join(dataDir, 'demo', 'logs');
    const [file] = readdirSync(logDir);
    const messages = readFileSync(join(logDir, file), 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line).msg);
    expect(messages).toContain('demo morning replayed');
    expect(messages.at(-1)).toBe('command finished');
  });

  it('says the day was replayed and adds no gate event', async () => {
    ({ stdout: second } = await demoMorning());
    const day = /^学校早晨重放（(\d{4}-\d{2}-\d{2})/.exec(first)![1];
    expect(second, 'the runs straddled 08:30 or midnight in Beijing; run the test again').toContain(`学校早晨重放（${day}，`);

    expect(second).toContain(`07:00-08:15 校门通行：${day} 已重放过，3002 条通行事件已在校门记录中，按事件编号去重，未重复写入`);
    expect(second).toContain('此前记录的结果：放行 2996，拒绝 6');
    expect(second).toContain('07:40 临时观察点复测 37.0 °C：复测正常（此前已记录，未重复登记）');
    expect(countGateEvents()).toBe(3002);
    expect(readFileSync(endpointsFile, 'utf8')).toBe(endpointsText);
  }, 200_000);

  it('counts only the new pupils at 21:00 the second time', () => {
    // The second process starts a new bureau simulator, which must still return the first run's yellow and red codes.
    expect(second).toMatch(/ 21:00 {2}晚间同步：二\(3\)班两名学生转黄码：\d+ 人，跳码 2 人（/);
    const digest = /二\(3\)班班主任收到的通知示例：\n((?: {4}.*\n)+)/.exec(second)![1];
    expect(digest).toContain('您班上共 2 人健康码变化');
  });
});
