import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closestCodes, editDistance } from '../../src/cli/school-hint.js';

/** Runs the real command line with its own SQLite data directory. */
function fangkong(dataDir: string, args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, FANGKONG_DATA_DIR: dataDir, FANGKONG_DATABASE_URL: '', FANGKONG_LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('school code suggestions', () => {
  it('editDistance counts single edits', () => {
    expect(editDistance('demo-primry', 'demo-primary')).toBe(1);
    expect(editDistance('demo-primary', 'demo-primary')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('closestCodes ranks typos first', () => {
    const codes = ['demo-middle', 'demo-primary', 'S001'];
    expect(closestCodes('demo-primry', codes)).toEqual(['demo-primary']);
    expect(closestCodes('DEMO-PRIMARY', codes)).toEqual(['demo-primary']);
    expect(closestCodes('s002', codes)).toEqual(['S001']);
    expect(closestCodes('zzz-unrelated', codes)).toEqual([]);
  });
});

// Each test spawns the command line several times, which takes seconds per run on a busy machine.
describe('cli unknown school code', { timeout: 240_000 }, () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'fangkong-school-hint-'));
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('says no school exists yet', () => {
    const result = fangkong(dataDir, ['sync', '--school', 'demo-primary']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('未找到学校代码 demo-primary：还没有任何学校。');
    expect(result.stderr).toContain('npx fangkong school add --code 代码 --name 名称');
  });

  it('asks about the closest code', () => {
    expect(fangkong(dataDir, ['school', 'add', '--code', 'demo-primary', '--name', '示范区实验小学']).status).toBe(0);
    expect(fangkong(dataDir, ['school', 'add', '--code', 'demo-middle', '--name', '示范区第一中学']).status).toBe(0);

    const result = fangkong(dataDir, ['sync', '--school', 'demo-primry']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('未找到学校代码 demo-primry，是不是 demo-primary？');
    expect(result.stderr).not.toContain('demo-middle');
    expect(result.stdout).toBe('');
  });

  it('lists a few codes when none is close', () => {
    for (let n = 1; n <= 4; n++) {
      expect(fangkong(dataDir, ['school', 'add', '--code', `S00${n}`, '--name', `测试小学${n}`]).status).toBe(0);
    }

    const result = fangkong(dataDir, ['sync', '--school', 'no-such-school']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('未找到学校代码 no-such-school。现有学校代码：demo-middle（示范区第一中学）、demo-primary（示范区实验小学）、S001（测试小学1）、S002（测试小学2）、S003（测试小学3）等 6 所。');
    expect(result.stderr).toContain('如需新建学校');
  });
});
