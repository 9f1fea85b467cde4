import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connection.js';

/** Runs the real command line with its own SQLite data directory. */
function fangkong(dataDir: string, args: string[], input = '') {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, FANGKONG_DATA_DIR: dataDir, FANGKONG_DATABASE_URL: '', FANGKONG_LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('fangkong user add', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'fangkong-cli-'));
    expect(fangkong(dataDir, ['school', 'add', '--code', 'XX01', '--name', '实验小学']).status).toBe(0);
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('rejects a class the school lacks without --create-class', () => {
    const result = fangkong(dataDir, ['user', 'add', '--username', 'wang', '--role', 'head_teacher', '--school', 'XX01', '--class', '二(3)班', '--password-stdin'], 'Secret-Pass-1\n');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('实验小学没有班级“二(3)班”，请检查班级名称，或加上 --create-class 重新运行（本校还没有任何班级）');
    expect(result.stdout).toBe('');
  });

  it('creates a head teacher with the password from stdin', async () => {
    const result = fangkong(dataDir, ['user', 'add', '--username', 'wang', '--role', 'head_teacher', '--school', 'XX01', '--class', '二(3)班', '--create-class', '--password-stdin'], 'Secret-Pass-1\n');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('已创建账号 wang（班主任，实验小学 二(3)班）');

    // The class exists now, so the next head teacher of it needs no flag.
    const second = fangkong(dataDir, ['user', 'add', '--username', 'wang2', '--role', 'head_teacher', '--school', 'XX01', '--class', '2(3)班', '--password-stdin'], 'Secret-Pass-1\n');
    expect(second.status).toBe(0);
    expect(second.stderr).toBe('注意：二(3)班已有班主任 wang，现在该班有 2 位班主任；如需更换班主任，请处理原账号\n');
    const typo = fangkong(dataDir, ['user', 'add', '--username', 'wang3', '--role', 'head_teacher', '--school', 'XX01', '--class', '二(13)班', '--password-stdin'], 'Secret-Pass-1\n');
    expect(typo.status).toBe(1);
    expect(typo.stderr).toContain('实验小学没有班级“二(13)班”，请检查班级名称，或加上 --create-class 重新运行（本校现有：二(3)班）');

    const database = openDb({ databaseUrl: '', dataDir });
    try {
      const row = await database.db.selectFrom('users').selectAll().where('username', '=', 'wang').executeTakeFirstOrThrow();
      expect(row.role).toBe('head_teacher');
      expect(row.password_hash).toMatch(/^scrypt\$/);
      expect(row.password_hash).not.toContain('Secret-Pass-1');
      expect(row.class_id).not.toBeNull();
    } finally {
      await database.close();
    }
  });

  it('refuses a password on the command line', () => {
    const result = fangkong(dataDir, ['user', 'add', '--username', 'li', '--role', 'teacher', '--school', 'XX01', '--password', 'x']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--password-stdin');
  });

  it('explains a missing class and a short password', () => {
    const noClass = fangkong(dataDir, ['user', 'add', '--username', 'zhao', '--role', 'head_teacher', '--school', 'XX01', '--password-stdin'], 'Secret-Pass-1\n');
    expect(noClass.status).toBe(1);
    expect(noClass.stderr).toContain('班主任需要指定班级');

    const short = fangkong(dataDir, ['user', 'add', '--username', 'zhao', '--role', 'teacher', '--school', 'XX01', '--password-stdin'], 'short\n');
    expect(short.status).toBe(1);
    expect(short.stderr).toContain('初始密码至少需要 8 个字符');
  });

  it('rejects a username differing only in case', () => {
    const result = fangkong(dataDir, ['user', 'add', '--username', 'WANG', '--role', 'teacher', '--school', 'XX01', '--password-stdin'], 'Secret-Pass-1\n');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('用户名 WANG 与已有账号 wang 只有大小写不同');
  });

  it('rejects an unknown role', () => {
    const result = fangkong(dataDir, ['user', 'add', '--username', 'qian', '--role', 'principal', '--password-stdin'], 'Secret-Pass-1\n');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('未知角色 --role “principal”');
    expect(result.stderr).toContain('可选：district_admin（区级管理员）、school_admin（学校管理员）、head_teacher（班主任）、teacher（教师）、school_doctor（校医）、guard（门卫）、task_force（疫情防控专班）');
  });
});
