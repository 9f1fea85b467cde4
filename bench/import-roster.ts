/**
 * Roster import benchmark: a synthetic 3,000-pupil .xlsx roster, timed in one run. The
 * baseline is ExcelJS alone loading the workbook. The contenders are the full import
 * (read, validate, encrypt, one transaction) into a new school and the same file again,
 * on SQLite and on PostgreSQL. Each figure is the median of 3 runs, and every import must
 * stay within 3x the baseline.
 *
 * Run: npx tsx bench/import-roster.ts   (PostgreSQL at 127.0.0.1:5432, user postgres)
 */
import os from 'node:os';
import ExcelJS from 'exceljs';
import { importRoster } from '../src/modules/people/roster-service.js';
import { makeIdNumber, makeName, makePhone } from '../src/shared/synthetic.js';
import { className } from '../src/modules/people/class-name.js';
import { createTestDb, type TestDb } from '../test/helpers/db.js';
import { buildSchool } from '../test/helpers/factories.js';

const ROWS = 3000;
const RUNS = 3;
const MAX_RATIO = 3;

async function buildRoster(): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('学生名单');
  const headers = ['姓名', '性别', '身份证号', '年级', '班级', '学号', '监护人', '联系电话', '健康码授权'];
  sheet.addRow(['基准小学2026学年学生名单']);
  sheet.mergeCells(1, 1, 1, headers.length);
  sheet.addRow(headers);

  for (let i = 0; i < ROWS; i++) {
    const grade = 1 + (i % 6);
    const number = 1 + (Math.floor(i / 6) % 12);
    const birthDate = `${2019 - grade}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
    const idNumber = makeIdNumber(i, birthDate, `3301${String(10 + (i % 80)).padStart(2, '0')}`);
    const gender = Number(idNumber[16]) % 2 === 1 ? '男' : '女';
    sheet.addRow([makeName(i), gender, idNumber, '', className(grade, number), `B${String(i).padStart(5, '0')}`, `${makeName(i + 9000).slice(0, 1)}家长`, makePhone(i), '是']);
  }
  return Buffer.from((await workbook.xlsx.writeBuffer()) as ArrayBuffer);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface Sample {
  wallMs: number;
  /** CPU time of this process (user + system); PostgreSQL's own work is not in it. */
  cpuMs: number;
}

async function measure(run: () => Promise<void>): Promise<Sample> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await run();
  const cpu = process.cpuUsage(cpuBefore);
  return { wallMs: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Load the workbook and read every cell value, which is what any consumer of the file does. */
async function readWithExcelJs(file: Buffer): Promise<void> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(file as unknown as ExcelJS.Buffer);

  let cells = 0;
  workbook.worksheets[0].eachRow((row) => {
    row.eachCell(() => {
      cells += 1;
    });
  });
  if (cells < ROWS * 8) throw new Error(`baseline read only ${cells} cells`);
}

async function importInto(t: TestDb, file: Buffer, expect: 'created' | 'unchanged', schoolCode: string): Promise<void> {
  // A new school has no classes yet, so the import creates them, as a first import does.
  const result = await importRoster(t.ctx, schoolCode, file, { createClasses: true });
  if (result.counts[expect] !== ROWS) throw new Error(`expected ${ROWS} ${expect}, got ${JSON.stringify(result.counts)}`);
}

const file = await buildRoster();
const sqlite = await createTestDb('sqlite');
const postgres = await createTestDb('postgres');

const names = [
  'ExcelJS load and read cells (baseline)',
  'import into SQLite, new school',
  'import into SQLite, same file again',
  'import into PostgreSQL, new school',
  'import into PostgreSQL, same file again',
] as const;
const samples = new Map<string, Sample[]>(names.map((name) => [name, []]));

try {
  // Round 0 warms up the JIT and module caches for every contender alike and is not counted.
  // The rounds interleave the contenders, so load from other processes spreads over all of them.
  for (let round = 0; round <= RUNS; round++) {
    const record = (name: (typeof names)[number], sample: Sample) => {
      if (round > 0) samples.get(name)!.push(sample);
    };
    record(names[0], await measure(() => readWithExcelJs(file)));

    const sqliteSchool = (await buildSchool(sqlite.ctx)).code;
    record(names[1], await measure(() => importInto(sqlite, file, 'created', sqliteSchool)));
    record(names[2], await measure(() => importInto(sqlite, file, 'unchanged', sqliteSchool)));

    const postgresSchool = (await buildSchool(postgres.ctx)).code;
    record(names[3], await measure(() => importInto(postgres, file, 'created', postgresSchool)));
    record(names[4], await measure(() => importInto(postgres, file, 'unchanged', postgresSchool)));
  }
} finally {
  await sqlite.close();
  await postgres.close();
}

const baseline = median(samples.get(names[0])!.map((s) => s.wallMs));
console.log(`roster: ${ROWS} rows, ${(file.length / 1024).toFixed(0)} KiB; ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}`);
console.log('| run | median wall ms | wall ms of 3 runs | median CPU ms (this process) | x baseline (wall) |');
console.log('| --- | ---: | --- | ---: | ---: |');
let worst = 0;
for (const name of names) {
  const runs = samples.get(name)!;
  const wall = median(runs.map((s) => s.wallMs));
  const cpu = median(runs.map((s) => s.cpuMs));
  if (name !== names[0]) worst = Math.max(worst, wall / baseline);
  console.log(`| ${name} | ${wall.toFixed(0)} | ${runs.map((s) => s.wallMs.toFixed(0)).join(', ')} | ${cpu.toFixed(0)} | ${(wall / baseline).toFixed(2)} |`);
}

if (worst > MAX_RATIO) {
  console.error(`FAIL: the slowest import is ${worst.toFixed(2)}x the ExcelJS read, above the ${MAX_RATIO}x budget`);
  process.exitCode = 1;
}
