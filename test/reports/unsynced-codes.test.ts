import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool, buildStudent } from '../helpers/factories.js';
import { setCode, signIn } from '../gate/helpers.js';

const DAY = '2026-12-07';
const HOUR = 60 * 60_000;

/** Rows of a sheet as plain values, without ExcelJS's leading empty slot. */
function rowsOf(sheet: ExcelJS.Worksheet): unknown[][] {
  const rows: unknown[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row) => rows.push(Array.from((row.values as unknown[]).slice(1), (value) => value ?? null)));
  return rows;
}

describe.each(DIALECTS)('%s: never-synced codes in the daily report', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let school: { id: string; code: string };
  let headers: Record<string, string>;

  const build = () => app.inject({ method: 'POST', url: `/api/schools/${school.code}/reports/${DAY}/build`, headers });

  async function exportWorkbook(): Promise<ExcelJS.Workbook> {
    const response = await app.inject({ method: 'GET', url: `/api/schools/${school.code}/reports/${DAY}/export`, headers });
    expect(response.statusCode, response.body).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.rawPayload as unknown as ArrayBuffer);
    return workbook;
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    app = await buildApp(t.ctx);
    school = await buildSchool(t.ctx, { name: '未同步测试小学' });
    const now = t.ctx.now();
    const fresh = await buildStudent(t.ctx, school.id, { grade: 1, classNumber: 1, name: '同步绿' });
    const expired = await buildStudent(t.ctx, school.id, { grade: 1, classNumber: 1, name: '过期绿' });
    const yellow = await buildStudent(t.ctx, school.id, { grade: 1, classNumber: 1, name: '同步黄' });
    // Never synced: consent and an ID number, but no health_codes row.
    await buildStudent(t.ctx, school.id, { grade: 1, classNumber: 1, name: '从未同' });
    await setCode(t.ctx, school.id, fresh.person.id, 'green');
    await setCode(t.ctx, school.id, expired.person.id, 'green', now - 48 * HOUR);
    await setCode(t.ctx, school.id, yellow.person.id, 'yellow');
    headers = (await signIn(t.ctx, school.code)).headers;
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('counts never-synced codes apart', async () => {
    const response = await build();
    expect(response.statusCode, response.body).toBe(200);
    const report = response.json();
    expect(report.figures).toMatchObject({ nonGreen: 1, stale: 1, unsynced: 1 });
    expect(report.content.figures).toMatchObject({ nonGreen: 1, stale: 1, unsynced: 1 });
    expect(report.content.summary).toContain('非绿码 1 人；健康码过期 1 人；健康码未同步 1 人');
    const names = report.content.codes.map((c: { name: string }) => c.name).sort();
    expect(names).toEqual(['从未同', '同步黄', '过期绿'].sort());
  });

  it('writes 未同步 in the export', async () => {
    const workbook = await exportWorkbook();
    const codes = rowsOf(workbook.getWorksheet('健康码异常')!);
    expect(codes[0][0]).toContain('非绿码、过期及未同步健康码');
    expect(codes.slice(2)).toEqual(
      expect.arrayContaining([
        ['从未同', '学生', '一(1)班', '未同步', '—', ''],
        ['过期绿', '学生', '一(1)班', '绿码', '已过期', expect.any(String)],
        ['同步黄', '学生', '一(1)班', '黄码', '否', expect.any(String)],
      ]),
    );
    expect(codes.slice(2)).toHaveLength(3);
    const summary = rowsOf(workbook.getWorksheet('汇总')!);
    expect(summary).toContainEqual(['非绿码人数', 1]);
    expect(summary).toContainEqual(['健康码过期人数', 1]);
    expect(summary).toContainEqual(['健康码未同步人数', 1]);
    expect(summary.flat()).not.toContain('未单独统计');
  });

  it('keeps an earlier build as it was', async () => {
    // A draft built before the figure existed: unsynced_count null, no key in the content,
    // and the never-synced code counted as stale and non-green.
    const row = await t.ctx.db.selectFrom('daily_reports').select(['id', 'content']).where('school_id', '=', school.id).where('day', '=', DAY).executeTakeFirstOrThrow();
    const content = JSON.parse(row.content);
    delete content.figures.unsynced;
    content.figures.stale = 2;
    content.figures.nonGreen = 2;
    await t.ctx.db
      .updateTable('daily_reports')
      .set({ content: JSON.stringify(content), unsynced_count: null, stale_count: 2, non_green_count: 2 })
      .where('id', '=', row.id)
      .execute();

    const stored = (await app.inject({ method: 'GET', url: `/api/schools/${school.code}/reports/${DAY}`, headers })).json();
    expect(stored.figures).toMatchObject({ nonGreen: 2, stale: 2, unsynced: null });

    const workbook = await exportWorkbook();
    const summary = rowsOf(workbook.getWorksheet('汇总')!);
    expect(summary).toContainEqual(['健康码过期人数', 2]);
    expect(summary).toContainEqual(['健康码未同步人数', '未单独统计']);
    expect(summary.flat().some((cell) => typeof cell === 'string' && cell.startsWith('本版生成时未单独统计健康码未同步人数'))).toBe(true);
    // The list of codes is stored per person, so the never-synced row reads 未同步 all the same.
    expect(rowsOf(workbook.getWorksheet('健康码异常')!)).toContainEqual(['从未同', '学生', '一(1)班', '未同步', '—', '']);

    const rebuilt = (await build()).json();
    expect(rebuilt.figures).toMatchObject({ nonGreen: 1, stale: 1, unsynced: 1 });
  });

  it('keeps the dashboard counts apart too', async () => {
    const response = await app.inject({ method: 'GET', url: `/api/schools/${school.code}/code-counts`, headers });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().school).toEqual({ total: 4, green: 2, yellow: 1, red: 0, unknown: 1, stale: 1, attention: 2, unsynced: 1 });
  });
});
