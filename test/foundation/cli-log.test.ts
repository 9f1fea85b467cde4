import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliLogFile, openCliLog } from '../../src/cli/cli-log.js';
import { formatLogSummary } from '../../src/cli/log-summary.js';
import { startDingTalkSimulator, type DingTalkSimulator } from '../../tools/simulators/dingtalk.js';
import { STUDENT_HEADERS, pupil, studentRow } from '../people/roster-fixtures.js';

const DINGTALK = { appKey: 'cli-log-key', appSecret: 'cli-log-secret', agentId: '30003' };
/** A JSON log line as pino writes it. */
const JSON_LINE = /^\{"level":\d+/m;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `fangkong` as a user runs it: the real command line in its own process, with the
 * default log level. Asynchronous, so the DingTalk simulator in this process can reply.
 */
function fangkong(dataDir: string, args: string[], dingtalkUrl: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('FANGKONG_')) env[key] = value;
  Object.assign(env, {
    FANGKONG_DATA_DIR: dataDir,
    FANGKONG_DINGTALK_API_URL: dingtalkUrl,
    FANGKONG_DINGTALK_APP_KEY: DINGTALK.appKey,
    FANGKONG_DINGTALK_APP_SECRET: DINGTALK.appSecret,
    FANGKONG_DINGTALK_AGENT_ID: DINGTALK.agentId,
  });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { env, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('command-line log file', () => {
  let dataDir: string;
  let dingtalk: DingTalkSimulator;
  let rosterFile: string;
  const pupils = Array.from({ length: 6 }, (_, i) => pupil(8100 + i));

  /** Read the one log file of the data directory as parsed JSON lines. */
  function logLines(): Array<Record<string, unknown>> {
    const files = readdirSync(join(dataDir, 'logs'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^cli-\d{4}-\d{2}-\d{2}\.log$/);
    const text = readFileSync(join(dataDir, 'logs', files[0]), 'utf8');
    return text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fangkong-cli-log-'));
    // No user directory: every mobile is unknown to this DingTalk (errcode 60121).
    dingtalk = await startDingTalkSimulator({ port: 0, ...DINGTALK });
    rosterFile = join(dataDir, '学生名单.csv');
    const rows = pupils.map((p, i) => studentRow(p, '三年级', '1班', `L${i}`).join(','));
    writeFileSync(rosterFile, [STUDENT_HEADERS.join(','), ...rows].join('\n') + '\n');

    const created = await fangkong(dataDir, ['school', 'add', '--code', 'LOG01', '--name', '日志小学'], dingtalk.url);
    expect(created.status, created.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await dingtalk?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await dingtalk.clearFaults();
  });

  it('keeps JSON lines off the terminal', async () => {
    const result = await fangkong(dataDir, ['import-roster', '--school', 'LOG01', '--create-classes', rosterFile], dingtalk.url);
    expect(result.status).toBe(0);
    expect(result.stderr).not.toMatch(JSON_LINE);
    expect(result.stdout).not.toMatch(JSON_LINE);
    expect(result.stdout).toContain('新增 6 人');
    // Unknown mobiles are an expected result, reported in the summary and not as log warnings.
    expect(result.stdout).toContain('钉钉账号查询 6 个：找到 0，未找到 6，失败 0');
    expect(result.stderr).toBe('');
  }, 60_000);

  it('writes the run to the log file', () => {
    const lines = logLines();
    const messages = lines.map((line) => line.msg);
    expect(messages).toContain('command started');
    expect(messages).toContain('roster imported');
    expect(messages).toContain('command finished');
    expect(lines.filter((line) => Number(line.level) >= 40)).toEqual([]);
    for (const line of lines) expect(line.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('keeps ID numbers and phones out of the log file', () => {
    const text = JSON.stringify(logLines());
    for (const p of pupils) {
      expect(text).not.toContain(p.idNumber);
      expect(text).not.toContain(p.phone);
    }
  });

  it('summarises warnings in Chinese on stderr', async () => {
    await dingtalk.setFaults({ busy: { errcode: -1, errmsg: '系统繁忙', path: '/topapi/v2/user/getbymobile' } });
    const result = await fangkong(dataDir, ['import-roster', '--school', 'LOG01', rosterFile], dingtalk.url);
    expect(result.status).toBe(0);
    expect(result.stderr).not.toMatch(JSON_LINE);

    const file = join(dataDir, 'logs', readdirSync(join(dataDir, 'logs'))[0]);
    expect(result.stderr).toMatch(new RegExp(`^本次运行记录了 \\d+ 条警告，详情见日志文件 ${escapeRegExp(file)}：\n`));
    expect(result.stderr).toMatch(/\n {2}钉钉接口返回错误 \d+ 条\n/);
    expect(result.stderr).toMatch(/\n {2}按手机号查询钉钉用户失败 \d+ 条\n/);

    const warnings = logLines().filter((line) => line.level === 40);
    expect(warnings.map((line) => line.msg)).toContain('dingtalk user lookup failed');
  }, 60_000);

  it('prints JSON lines on stderr with --verbose', async () => {
    const result = await fangkong(dataDir, ['codes', '--school', 'LOG01', '--verbose'], dingtalk.url);
    expect(result.status).toBe(0);
    const jsonLines = result.stderr.split('\n').filter((line) => JSON_LINE.test(line));
    const messages = jsonLines.map((line) => JSON.parse(line).msg);
    expect(messages).toContain('command started');
    expect(messages).toContain('command finished');
    expect(result.stdout).not.toMatch(JSON_LINE);
  }, 60_000);

  it('documents the log file and --verbose in --help', async () => {
    const result = await fangkong(dataDir, ['--help'], dingtalk.url);
    expect(result.stdout).toContain('logs/cli-YYYY-MM-DD.log');
    expect(result.stdout).toContain('--verbose');
    expect(result.stdout).toContain('FANGKONG_LOG_LEVEL');
  }, 60_000);
});

describe('command-line log summary', () => {
  const file = '/data/logs/cli-2026-12-05.log';

  it('is empty without warnings or errors', () => {
    expect(formatLogSummary([], file)).toBeUndefined();
  });

  it('counts by Chinese label, most first', () => {
    const summary = formatLogSummary(
      [
        { level: 'warn', message: 'dingtalk returned an error', count: 115 },
        { level: 'error', message: 'bureau batch failed', count: 2 },
        { level: 'warn', message: 'a message without a label', count: 1 },
      ],
      file,
    );
    expect(summary).toBe(`本次运行记录了 2 条错误、116 条警告，详情见日志文件 ${file}：\n  钉钉接口返回错误 115 条\n  大数据局批量查询失败 2 条\n  其他警告 1 条\n`);
  });

  it('names the file by the day in Beijing', () => {
    // 2026-12-05 16:30 UTC is already 2026-12-06 in Beijing.
    expect(cliLogFile('/data', Date.parse('2026-12-05T16:30:00Z'))).toBe(join('/data', 'logs', 'cli-2026-12-06.log'));
  });

  it('writes no file at level silent', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fangkong-cli-silent-'));
    try {
      const cliLog = openCliLog({ dataDir, level: 'silent', verbose: false });
      cliLog.log.warn('not written');
      cliLog.close();
      expect(readdirSync(dataDir)).toEqual([]);
      expect(cliLog.problems()).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
