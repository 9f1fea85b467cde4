import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/main.js';
import { searchAuditLog } from '../../src/modules/auth/audit.js';
import type { AuthUser } from '../../src/modules/auth/scope.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { STUDENT_HEADERS, buildXlsx, pupil, studentRow } from './roster-fixtures.js';

/** The key createTestDb gives the field cipher, so the command line reads the same data. */
const TEST_KEY_HEX = '07'.repeat(32);

describe.each(DIALECTS)('%s: roster commands', (dialect) => {
  let t: TestDb;
  let schoolCode: string;
  let rosterFile: string;
  const pupils = Array.from({ length: 4 }, (_, i) => pupil(7000 + i));

  /**
   * Runs the command line in this process against the test database: the same parsing,
   * settings, commands and error reporting as `fangkong`, without starting a process.
   */
  async function fangkong(args: string[]) {
    return runInProcess(args, {
      FANGKONG_DATA_DIR: t.dataDir,
      FANGKONG_DATABASE_URL: t.ctx.config.databaseUrl,
      FANGKONG_SECRET_KEY: TEST_KEY_HEX,
      FANGKONG_LOG_LEVEL: 'silent',
    });
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    schoolCode = (await buildSchool(t.ctx, { name: '命令行小学' })).code;
    const rows = [...pupils.map((p, i) => studentRow(p, '三年级', `${1 + (i % 2)}班`, `C${i}`)), ['坏行', '', '3.30106E+17', '三年级', '1班', '', '', '', '是']];
    rosterFile = join(t.dataDir, '学生名单.xlsx');
    writeFileSync(rosterFile, await buildXlsx({ titles: ['命令行小学学生名单'], headers: STUDENT_HEADERS, rows }));
  });

  afterAll(async () => {
    await t.close();
  });

  it('rejects rows of classes the school lacks without --create-classes', async () => {
    const result = await fangkong(['import-roster', '--school', schoolCode, rosterFile]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('新增 0 人，更新 0 人，未变 0 人，拒绝 5 行；新建班级 0 个');
    expect(result.stdout).toContain('第 3 行 班级 “1班”：班级“1班”（即三(1)班）不存在，请检查拼写，或加上 --create-classes 重新导入（本校还没有任何班级）');
    expect(result.stdout).toContain('注意：4 行因班级不存在未导入（三(1)班、三(2)班）；请核对班级名称，如确需新建这些班级，请加上 --create-classes 重新导入');
  });

  it('imports a roster, prints counts and rejected rows, exits 0', async () => {
    const result = await fangkong(['import-roster', '--school', schoolCode, '--create-classes', rosterFile]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('共 5 行');
    expect(result.stdout).toContain('新增 4 人，更新 0 人，未变 0 人，拒绝 1 行；新建班级 2 个');
    expect(result.stdout).toContain('新建的班级：三(1)班、三(2)班');
    expect(result.stdout).toContain('第 7 行 身份证号 “3.30106E+17”：身份证号在 Excel 中丢失了位数');
    expect(result.stdout).toMatch(/^已读取学生名单（xlsx，工作表“Sheet1”，表头在第 2 行），共 5 行\n/);
  });

  it('prints JSON and changes nothing the second time', async () => {
    const result = await fangkong(['import-roster', '--school', schoolCode, rosterFile, '--json']);
    expect(result.status).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(body.counts).toEqual({ rows: 5, created: 0, updated: 0, unchanged: 4, rejected: 1, classesCreated: 0 });
    expect(body.rejected[0]).toMatchObject({ row: 7, problems: [{ column: '身份证号' }] });
  });

  it('exports the roster and imports it back unchanged', async () => {
    const exported = join(t.dataDir, 'export.xlsx');
    const result = await fangkong(['export-roster', '--school', schoolCode, exported, '--json']);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ kind: 'student', rows: 4 });
    expect(existsSync(exported)).toBe(true);

    const again = JSON.parse((await fangkong(['import-roster', '--school', schoolCode, exported, '--json'])).stdout);
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 4, rejected: 0 });
  });

  it('audits imports and exports under the school code', async () => {
    const school = await t.ctx.db.selectFrom('schools').select(['id', 'code']).where('code', '=', schoolCode).executeTakeFirstOrThrow();
    const reader: AuthUser = { id: 'cli-test-reader', username: 'reader', displayName: '区管理员', role: 'district_admin', schoolId: null, classId: null, personId: null, sessionId: 'none' };
    const { entries } = await searchAuditLog(t.ctx, reader, { action: 'roster.', limit: 500 });

    expect(new Set(entries.map((entry) => entry.action))).toEqual(new Set(['roster.import', 'roster.export']));
    for (const entry of entries) {
      expect(entry.schoolId, entry.action).toBe(school.id);
      expect(entry.target, entry.action).toBe(schoolCode);
      expect(entry.targetLabel, entry.action).toBe(`命令行小学（${schoolCode}）`);
    }
  });

  it('lists the classes of a school', async () => {
    const result = await fangkong(['classes', '--school', schoolCode]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('命令行小学共 2 个班\n班级\t班主任\t学生人数\n三(1)班\t-\t2\n三(2)班\t-\t2\n');

    const json = await fangkong(['classes', '--school', schoolCode, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      school: schoolCode,
      items: [
        { name: '三(1)班', grade: 3, number: 1, headTeacher: null, pupils: 2 },
        { name: '三(2)班', grade: 3, number: 2, headTeacher: null, pupils: 2 },
      ],
    });
    expect((await fangkong(['classes', '--school', 'NOPE'])).stderr).toContain('未找到学校代码 NOPE');
  });

  it('exits 1 with the reason for an unreadable file', async () => {
    const garbage = join(t.dataDir, 'garbage.xlsx');
    writeFileSync(garbage, Buffer.from('%PDF-1.4\n\u0000\u0001binary'));
    const result = await fangkong(['import-roster', '--school', schoolCode, garbage]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('无法读取花名册文件：文件不是 Excel（.xlsx）或 CSV 表格');

    const json = await fangkong(['import-roster', '--school', schoolCode, garbage, '--json']);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: 'ROSTER_UNREADABLE' });
  });

  it('describes a CSV import without a worksheet', async () => {
    const csvFile = join(t.dataDir, '学生名单.csv');
    const rows = [pupil(7100), pupil(7101)].map((p, i) => studentRow(p, '三年级', '1班', `V${i}`));
    rows.push(['坏行', '', '12345', '三年级', '1班', '', '', '', '是']);
    writeFileSync(csvFile, [STUDENT_HEADERS, ...rows].map((row) => row.join(',')).join('\n') + '\n');

    const result = await fangkong(['import-roster', '--school', schoolCode, csvFile]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^已读取学生名单（CSV 文件，表头在第 1 行），共 3 行\n/);
    expect(result.stdout).not.toContain('工作表');
    expect(result.stdout).toMatch(/\n {2}第 4 行 身份证号 /);
  });

  it('prints what changed per updated pupil', async () => {
    const otherCode = (await buildSchool(t.ctx, { name: '更新小学' })).code;
    const [kept, moved] = [pupil(7200), pupil(7201)];
    const renamed = { ...moved, name: pupil(7202).name };
    const before = join(t.dataDir, '更新前.xlsx');
    const after = join(t.dataDir, '更新后.xlsx');
    writeFileSync(before, await buildXlsx({ headers: STUDENT_HEADERS, rows: [studentRow(kept, '二年级', '1班', 'U1'), studentRow(moved, '二年级', '1班', 'U2')] }));
    writeFileSync(after, await buildXlsx({ headers: STUDENT_HEADERS, rows: [studentRow(kept, '二年级', '1班', 'U1'), studentRow(renamed, '二年级', '3班', 'U9')] }));
    expect((await fangkong(['import-roster', '--school', otherCode, '--create-classes', before])).status).toBe(0);

    const result = await fangkong(['import-roster', '--school', otherCode, '--create-classes', after]);

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('新增 0 人，更新 1 人，未变 1 人，拒绝 0 行；新建班级 1 个');
    expect(result.stdout).toContain(`\n更新的人员：\n  第 3 行 ${moved.name} → ${renamed.name}：姓名、班级 二(1)班 → 二(3)班、学号 U2 → U9\n`);
    expect(result.stdout).toContain(`注意：1 人的姓名与已登记的不同（第 3 行 ${moved.name} → ${renamed.name}）：`);
    expect(result.stdout).not.toContain(moved.idNumber);
  });
});

describe('roster commands on large and missing files', () => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb('sqlite');
  });
  afterAll(async () => {
    await t.close();
  });

  const env = () => ({ FANGKONG_DATA_DIR: t.dataDir, FANGKONG_DATABASE_URL: '', FANGKONG_SECRET_KEY: TEST_KEY_HEX, FANGKONG_LOG_LEVEL: 'silent' });

  it('rejects a 50 MB file by its size in a real process', async () => {
    const school = await buildSchool(t.ctx);
    const huge = join(t.dataDir, 'huge.xlsx');
    writeFileSync(huge, Buffer.alloc(50 * 1024 * 1024));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'import-roster', '--school', school.code, huge], {
      encoding: 'utf8',
      env: { ...process.env, ...env() },
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('花名册文件过大（50.0 MB），上限为 20 MB，请拆分后分批导入');
  });

  it('names a missing file and a missing school', async () => {
    const school = await buildSchool(t.ctx);
    expect((await runInProcess(['import-roster', '--school', school.code, join(t.dataDir, 'nope.xlsx')], env())).stderr).toContain('找不到文件');
    const file = join(t.dataDir, 'small.csv');
    writeFileSync(file, '姓名,身份证号,班级\n');
    expect((await runInProcess(['import-roster', '--school', 'NOPE', file], env())).stderr).toContain('未找到学校代码 NOPE');
    expect((await runInProcess(['export-roster', '--school', school.code, join(t.dataDir, 'x.txt')], env())).status).toBe(2);
  });
});

/** Run `fangkong ARGS` in this process with the environment, capturing output and exit code. */
async function runInProcess(args: string[], env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  const saved = { ...process.env };
  const output = { stdout: '', stderr: '' };
  const writeStdout = process.stdout.write;
  const writeStderr = process.stderr.write;
  Object.assign(process.env, env);
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string) => {
    output.stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    output.stderr += chunk;
    return true;
  }) as typeof process.stderr.write;

  try {
    await runCli(args);
    return { status: Number(process.exitCode ?? 0), ...output };
  } finally {
    process.stdout.write = writeStdout;
    process.stderr.write = writeStderr;
    process.exitCode = undefined;
    process.env = saved;
  }
}
