import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STUDENT_HEADERS, pupil, studentRow } from '../people/roster-fixtures.js';

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Environment of a command run on its own SQLite data directory, without the caller's
 * FANGKONG_* settings. The log level is silent unless `logLevel` is given.
 */
function commandEnv(dataDir: string, logLevel = 'silent'): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('FANGKONG_')) env[key] = value;
  return { ...env, FANGKONG_DATA_DIR: dataDir, FANGKONG_LOG_LEVEL: logLevel };
}

/** Run `bin/fangkong.js` to completion and return its status and stderr. */
function fangkong(dataDir: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/fangkong.js', ...args], { env: commandEnv(dataDir), stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stderr }));
  });
}

/**
 * Run `bin/fangkong.js` with its stdout piped to a reader that closes the pipe before the
 * command writes, as `| head -1` does once it has its line. The command starts through
 * tsx, which takes far longer than closing the pipe, so its first write meets EPIPE.
 */
function fangkongIntoClosedPipe(dataDir: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/fangkong.js', ...args], { env: commandEnv(dataDir), stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stderr }));
  });
}

interface RunWithOutput {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

/**
 * Run `bin/fangkong.js --verbose` at log level info with its stderr piped to a reader that
 * closes the pipe at once, so every JSON log line the log writer copies to stderr meets
 * EPIPE. stdout is read to the end. A stack trace would go to the closed stderr, so a
 * crash shows as a changed status and a cut stdout.
 */
function fangkongWithClosedStderr(dataDir: string, args: string[]): Promise<RunWithOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/fangkong.js', ...args, '--verbose'], { env: commandEnv(dataDir, 'info'), stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    child.stderr.destroy();
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout }));
  });
}

/**
 * Run `fangkong <args> --verbose 2>&1 | head -1` in bash at log level info, and return
 * head's line and the command's exit status (PIPESTATUS[0]), written to stderr of bash.
 */
function fangkongVerboseIntoHead(dataDir: string, args: string[]): Promise<{ firstLine: string; status: number }> {
  const script = `"${process.execPath}" bin/fangkong.js "$@" --verbose 2>&1 | head -1; echo "status=\${PIPESTATUS[0]}" >&2`;
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['-c', script, 'fangkong', ...args], { env: commandEnv(dataDir, 'info'), stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', () => {
      const status = /^status=(\d+)$/m.exec(stderr);
      if (!status) reject(new Error(`bash printed no status; stderr: ${stderr}`));
      else resolve({ firstLine: stdout, status: Number(status[1]) });
    });
  });
}

describe('command output into a closed pipe', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fangkong-closed-pipe-'));
    const rosterFile = join(dataDir, '学生名单.csv');
    const rows = Array.from({ length: 40 }, (_, i) => studentRow(pupil(8300 + i), '三年级', '1班', `P${i}`).join(','));
    writeFileSync(rosterFile, [STUDENT_HEADERS.join(','), ...rows].join('\n') + '\n');
    const created = await fangkong(dataDir, ['school', 'add', '--code', 'PIPE01', '--name', '管道小学']);
    expect(created.status, created.stderr).toBe(0);
    const imported = await fangkong(dataDir, ['import-roster', '--school', 'PIPE01', '--create-classes', rosterFile]);
    expect(imported.status, imported.stderr).toBe(0);
  }, 120_000);

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('ends --help quietly', async () => {
    const run = await fangkongIntoClosedPipe(dataDir, ['--help']);
    expect(run.stderr).not.toContain('EPIPE');
    expect(run.stderr).toBe('');
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
  }, 60_000);

  it('ends codes quietly after its work', async () => {
    const run = await fangkongIntoClosedPipe(dataDir, ['codes', '--school', 'PIPE01']);
    expect(run.stderr).not.toContain('EPIPE');
    expect(run.stderr).not.toContain('Unhandled');
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
  }, 60_000);

  it('ends the --verbose log on a closed stderr quietly', async () => {
    const run = await fangkongWithClosedStderr(dataDir, ['codes', '--school', 'PIPE01']);
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
    // The header and one row per pupil: the command finished its output after stderr closed.
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(41);
    expect(run.stdout).not.toContain('EPIPE');
  }, 60_000);

  it('keeps a usage error\'s status on a closed stderr', async () => {
    // A crash exits with 1, so 2 shows that the usage error ended the command.
    const run = await fangkongWithClosedStderr(dataDir, ['codes']);
    expect(run.signal).toBeNull();
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
  }, 60_000);

  it('ends --verbose 2>&1 | head -1 quietly', async () => {
    const run = await fangkongVerboseIntoHead(dataDir, ['codes', '--school', 'PIPE01']);
    expect(JSON.parse(run.firstLine)).toMatchObject({ level: 30, msg: 'command started', command: 'codes' });
    expect(run.status).toBe(0);
  }, 60_000);

  it('keeps the status of a failed command', async () => {
    const run = await fangkongIntoClosedPipe(dataDir, ['codes', '--school', 'NONE99']);
    expect(run.stderr).toContain('未找到学校代码 NONE99');
    expect(run.stderr).not.toContain('EPIPE');
    expect(run.status).toBe(1);
  }, 60_000);
});
