import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliLogFile, deleteOldCliLogs, openCliLog } from '../../src/cli/cli-log.js';
import { formatLogSummary } from '../../src/cli/log-summary.js';
import { instantOf } from '../../src/shared/time.js';
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
function fangkong(dataDir: string, args: string[], dingtalkUrl: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('FANGKONG_')) env[key] = value;
  Object.assign(env, {
    FANGKONG_DATA_DIR: dataDir,
    FANGKONG_DINGTALK_API_URL: dingtalkUrl,
    FANGKONG_DINGTALK_APP_KEY: DINGTALK.appKey,
    FANGKONG_DINGTALK_APP_SECRET: DINGTALK.appSecret,
    FANGKONG_DINGTALK_AGENT_ID: DINGTALK.agentId,
    ...extraEnv,
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
    expect(result.stdout).toContain('FANGKONG_CLI_LOG_RETENTION_DAYS');
    expect(result.stdout).toContain('命令行日志保留天数 N（默认 30，0 表示全部保留）');
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
      const cliLog = openCliLog({ dataDir, level: 'silent', verbose: false, retentionDays: 30 });
      cliLog.log.warn('not written');
      cliLog.close();
      expect(readdirSync(dataDir)).toEqual([]);
      expect(cliLog.problems()).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('command-line log retention', () => {
  // 10:00 in Beijing on 2026-12-31: with 30 days, files from 2026-12-01 on are kept.
  const NOW = instantOf('2026-12-31', '10:00');
  let dataDir: string;
  let logs: string;

  /** Write a file under the data directory, with an old modification time so only its name can keep it. */
  function writeFile(relative: string): void {
    const path = join(dataDir, relative);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '{}\n');
    utimesSync(path, new Date('2000-01-01T00:00:00Z'), new Date('2000-01-01T00:00:00Z'));
  }

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'fangkong-cli-retention-'));
    logs = join(dataDir, 'logs');
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('deletes only old cli log files', () => {
    const oldFiles = ['cli-2026-11-30.log', 'cli-2025-01-01.log'];
    const recentFiles = ['cli-2026-12-01.log', 'cli-2026-12-31.log'];
    const otherFiles = ['cli-2020-01-01.log.gz', 'cli-2020-01-01.txt', 'server-2020-01-01.log', 'cli-2020-02-30.log', 'cli-20-01-01.log', 'notes.txt', 'CLI-2020-01-01.log'];
    for (const name of [...oldFiles, ...recentFiles, ...otherFiles]) writeFile(join('logs', name));
    writeFile(join('logs', 'archive', 'cli-2020-01-01.log'));
    writeFile('cli-2020-01-01.log');
    mkdirSync(join(logs, 'cli-2020-01-02.log'));
    writeFile('outside-target.log');
    symlinkSync(join(dataDir, 'outside-target.log'), join(logs, 'cli-2020-01-03.log'));

    const result = deleteOldCliLogs(dataDir, 30, NOW);
    expect(result.cutoffDay).toBe('2026-12-01');
    expect(result.deleted.sort()).toEqual([...oldFiles].sort());
    expect(result.failed).toEqual([]);
    expect(readdirSync(logs).sort()).toEqual([...recentFiles, ...otherFiles, 'archive', 'cli-2020-01-02.log', 'cli-2020-01-03.log'].sort());
    expect(readdirSync(join(logs, 'archive'))).toEqual(['cli-2020-01-01.log']);
    expect(readdirSync(dataDir).sort()).toEqual(['cli-2020-01-01.log', 'logs', 'outside-target.log']);
  });

  it('keeps every file at 0 days', () => {
    writeFile(join('logs', 'cli-2019-06-01.log'));
    expect(deleteOldCliLogs(dataDir, 0, NOW)).toEqual({ cutoffDay: null, deleted: [], failed: [] });
    expect(readdirSync(logs)).toContain('cli-2019-06-01.log');
  });

  it('counts the Beijing day for the cutoff', () => {
    // 2026-12-30 16:30 UTC is already 2026-12-31 in Beijing, so one day keeps 2026-12-30 only.
    writeFile(join('logs', 'cli-2026-12-29.log'));
    writeFile(join('logs', 'cli-2026-12-30.log'));
    const result = deleteOldCliLogs(dataDir, 1, Date.parse('2026-12-30T16:30:00Z'));
    expect(result.cutoffDay).toBe('2026-12-30');
    expect(result.deleted).toContain('cli-2026-12-29.log');
    expect(readdirSync(logs)).toContain('cli-2026-12-30.log');
    expect(readdirSync(logs)).toContain('cli-2026-12-31.log');
  });

  it('is quiet without a logs folder', () => {
    const empty = mkdtempSync(join(tmpdir(), 'fangkong-cli-retention-empty-'));
    try {
      expect(deleteOldCliLogs(empty, 30, NOW)).toEqual({ cutoffDay: '2026-12-01', deleted: [], failed: [] });
      const cliLog = openCliLog({ dataDir: empty, level: 'info', verbose: false, retentionDays: 30, now: NOW });
      cliLog.close();
      expect(readdirSync(empty)).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('logs the deletion when the log opens', () => {
    writeFile(join('logs', 'cli-2026-10-01.log'));
    writeFile(join('logs', 'cli-2026-10-02.log'));
    const cliLog = openCliLog({ dataDir, level: 'info', verbose: false, retentionDays: 30, now: NOW });
    cliLog.close();
    expect(readdirSync(logs)).not.toContain('cli-2026-10-01.log');
    expect(readdirSync(logs)).not.toContain('cli-2026-10-02.log');

    const lines = readFileSync(join(logs, 'cli-2026-12-31.log'), 'utf8').trimEnd().split('\n');
    const deletion = JSON.parse(lines.at(-1)!);
    expect(deletion).toMatchObject({ msg: 'old command-line log files deleted', before: '2026-12-01', retentionDays: 30 });
    // The older files left by earlier tests count as well.
    expect(deletion.deleted).toBeGreaterThanOrEqual(2);
    expect(cliLog.problems()).toEqual([]);
  });

  it('deletes at level silent too', () => {
    writeFile(join('logs', 'cli-2026-10-03.log'));
    openCliLog({ dataDir, level: 'silent', verbose: false, retentionDays: 30, now: NOW }).close();
    expect(readdirSync(logs)).not.toContain('cli-2026-10-03.log');
  });
});

describe('command-line log retention setting', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'fangkong-cli-retention-env-'));
    mkdirSync(join(dataDir, 'logs'));
    writeFileSync(join(dataDir, 'logs', 'cli-2020-01-01.log'), '{}\n');
    writeFileSync(join(dataDir, 'logs', 'keep-me.txt'), 'not a log\n');
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('rejects a bad value in Chinese', async () => {
    const result = await fangkong(dataDir, ['school', 'add', '--code', 'RET01', '--name', '保留小学'], 'http://127.0.0.1:9', { FANGKONG_CLI_LOG_RETENTION_DAYS: '-1' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('FANGKONG_CLI_LOG_RETENTION_DAYS="-1" 应为 0 到 3650 的整数');
    expect(readdirSync(join(dataDir, 'logs')).sort()).toEqual(['cli-2020-01-01.log', 'keep-me.txt']);
  }, 60_000);

  it('follows the variable in a real run', async () => {
    const keepAll = await fangkong(dataDir, ['school', 'add', '--code', 'RET01', '--name', '保留小学'], 'http://127.0.0.1:9', { FANGKONG_CLI_LOG_RETENTION_DAYS: '0' });
    expect(keepAll.status, keepAll.stderr).toBe(0);
    expect(readdirSync(join(dataDir, 'logs'))).toContain('cli-2020-01-01.log');

    const byDefault = await fangkong(dataDir, ['school', 'add', '--code', 'RET02', '--name', '保留二小'], 'http://127.0.0.1:9');
    expect(byDefault.status, byDefault.stderr).toBe(0);
    const left = readdirSync(join(dataDir, 'logs'));
    expect(left).not.toContain('cli-2020-01-01.log');
    expect(left).toContain('keep-me.txt');
    expect(left).toContain(basename(cliLogFile(dataDir, Date.now())));
  }, 60_000);
});

describe('command-line log retention docs', () => {
  it('say the same in both READMEs', () => {
    const english = readFileSync('README.md', 'utf8');
    const chinese = readFileSync('README.zh-CN.md', 'utf8');
    expect(english).toContain('| `FANGKONG_CLI_LOG_RETENTION_DAYS` | `30` |');
    expect(chinese).toContain('| `FANGKONG_CLI_LOG_RETENTION_DAYS` | `30` |');
    expect(english).toContain('(30 by default; `0` keeps every file)');
    expect(chinese).toContain('（默认 30 天，设为 `0` 时全部保留）');
    expect(english).not.toContain('Old log files are not deleted');
    expect(chinese).not.toContain('旧的日志文件不会自动删除');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
