import { createRequire } from 'node:module';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { describe, expect, it } from 'vitest';
import { readRosterFile, readXlsxWithExcelJs } from '../../src/modules/people/roster-read.js';
import { isDateFormat, readPlainXlsx } from '../../src/modules/people/roster-xlsx.js';
import { STUDENT_HEADERS, buildXlsx, pupil, studentRow } from './roster-fixtures.js';

/**
 * The fast .xlsx reader must return exactly what the ExcelJS path returns for every file
 * it accepts, and refuse the rest so that ExcelJS reads them.
 */

async function expectSameAsExcelJs(file: Buffer): Promise<void> {
  const fast = readPlainXlsx(file);
  expect(fast).toBeDefined();
  expect(fast).toEqual(await readXlsxWithExcelJs(file));
}

/** Replace parts of a workbook's zip, for XML that ExcelJS itself never writes. */
async function withParts(file: Buffer, edit: (parts: Map<string, string>) => void): Promise<Buffer> {
  const zip = await JSZip.loadAsync(file);
  const parts = new Map<string, string>();
  for (const name of Object.keys(zip.files)) {
    if (name.endsWith('.xml') || name.endsWith('.rels')) parts.set(name, await zip.file(name)!.async('string'));
  }
  edit(parts);
  for (const [name, text] of parts) zip.file(name, text);
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}

/** Build a one-sheet workbook whose sheetData is `rows`, with shared strings `strings`. */
async function sheetXml(rows: string, strings: string[] = [], extra = ''): Promise<Buffer> {
  const base = await buildXlsx({ headers: ['a'], rows: [] });
  return withParts(base, (parts) => {
    const sheet = parts.get('xl/worksheets/sheet1.xml')!;
    parts.set('xl/worksheets/sheet1.xml', sheet.replace(/<sheetData>[\s\S]*<\/sheetData>|<sheetData\/>/, `<sheetData>${rows}</sheetData>${extra}`));
    const items = strings.map((text) => `<si>${text}</si>`).join('');
    parts.set('xl/sharedStrings.xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="${strings.length}" uniqueCount="${strings.length}">${items}</sst>`);
  });
}

describe('fast xlsx reader', () => {
  it('reads a pupil roster like ExcelJS', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => studentRow(pupil(i), i % 3 === 0 ? '一年级' : '', `${1 + (i % 3)}-${1 + (i % 5)}`, `XS${i}`));
    const file = await buildXlsx({ titles: ['测试小学学生名单', '2026 学年'], headers: STUDENT_HEADERS, rows: rows as ExcelJS.CellValue[][] });
    await expectSameAsExcelJs(file);
  });

  it('reads numbers, booleans, errors, rich text and blanks like ExcelJS', async () => {
    const file = await buildXlsx({
      headers: ['文本', '数字', '布尔', '错误', '富文本', '空'],
      rows: [
        ['  前后空格 ', 3.25, true, { error: '#N/A' }, { richText: [{ text: '王' }, { text: '小明', font: { bold: true } }] }, null],
        ['<&>"\'', -0, false, { error: '#DIV/0!' }, { richText: [{ text: '' }] }, ''],
        ['第一行\n第二行', 330106199003071230, 1, null, '   ', null],
        ['_x000D_ literal', 1e-7, null, null, null, 'tail'],
      ],
      sheetName: '名单 & <特殊>',
    });
    await expectSameAsExcelJs(file);
  });

  it('reads styled cells, text and number formats like ExcelJS', async () => {
    const file = await buildXlsx({
      headers: ['身份证号', '学号', '金额'],
      rows: [
        ['330106199003071230', 12, 3.5],
        ['330106199003071231', 13, 4.5],
      ],
      configure: (sheet) => {
        sheet.getColumn(1).numFmt = '@';
        sheet.getColumn(2).numFmt = '0';
        sheet.getColumn(3).numFmt = '#,##0.00';
        sheet.getCell('E9').fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFF0000' } };
        sheet.getCell('A12').border = { top: { style: 'thin' } };
      },
    });
    await expectSameAsExcelJs(file);
  });

  it('reads merged ranges like ExcelJS', async () => {
    const file = await buildXlsx({
      titles: ['标题'],
      headers: ['姓名', '班级', '备注'],
      rows: [
        ['甲', '一(1)班', 'x'],
        ['乙', null, null],
        ['丙', null, 'y'],
      ],
      merges: ['B3:B5', 'D8:F9', 'H1:H1'],
    });
    await expectSameAsExcelJs(file);
  });

  it('reads several sheets in workbook order like ExcelJS', async () => {
    const file = await buildXlsx({
      sheetsBefore: [
        { name: '说明', rows: [['请按模板填写'], [], ['第三行']] },
        { name: '空表', rows: [] },
      ],
      headers: STUDENT_HEADERS,
      rows: [studentRow(pupil(7), '', '1-1', 'XS7') as ExcelJS.CellValue[]],
      sheetName: '学生',
    });
    await expectSameAsExcelJs(file);
  });

  it('reads inline strings, booleans and styled empty cells like ExcelJS', async () => {
    const file = await sheetXml(
      [
        '<row r="1"><c r="A1" t="inlineStr"><is><t>行内</t></is></c><c r="B1" t="b"><v>1</v></c><c r="C1" t="e"><v>#REF!</v></c></row>',
        '<row r="2"><c r="A2" s="1"/><c r="D2"/></row>',
        '<row r="3" spans="1:5"><c r="A3" t="s"><v>0</v></c><c r="E3" s="1"/></row>',
        '<row r="5"/>',
        '<row r="6"><c r="B6" t="inlineStr"><is><r><t>富</t></r><r><rPr><b/></rPr><t xml:space="preserve"> 文本 </t></r></is></c><c r="C6" t="s"><v>1</v></c></row>',
        '<row r="7"><c r="A7" t="inlineStr"><is><t/></is></c><c r="B7" s="0"/><c r="C7"><v></v></c></row>',
        '<row r="8"><c r="A8" t="s"><v>2</v></c><c r="B8" t="b"><v>0</v></c><c r="C8" t="n"><v>1.5E+3</v></c><c r="G8" s="1"/></row>',
      ].join(''),
      ['<t>共享 &amp; &#x4E2D;&#25991;</t><phoneticPr fontId="1" type="noConversion"/>', '<r><rPr><sz val="11"/></rPr><t>多</t></r><r><t>段</t></r><rPh sb="0" eb="1"><t>よみ</t></rPh>', '<t>_x0041__x000a_</t>'],
      '<mergeCells count="1"><mergeCell ref="D5:E5"/></mergeCells>',
    );
    await expectSameAsExcelJs(file);
  });

  it('leaves formulas, dates and hyperlinks to ExcelJS', async () => {
    const formula = await buildXlsx({ headers: ['a'], rows: [[{ formula: '1+1', result: 2 }]] });
    const date = await buildXlsx({ headers: ['a'], rows: [[new Date('2026-09-01T00:00:00Z')]] });
    const link = await buildXlsx({ headers: ['a'], rows: [[{ text: '链接', hyperlink: 'http://127.0.0.1/' }]] });
    const prefixed = await withParts(await buildXlsx({ headers: ['a'], rows: [['x']] }), (parts) => {
      const sheet = parts.get('xl/worksheets/sheet1.xml')!;
      parts.set('xl/worksheets/sheet1.xml', sheet.replace(/<(\/?)(worksheet|sheetData|row|c|v)\b/g, '<$1x:$2'));
    });

    for (const file of [formula, date, link, prefixed]) expect(readPlainXlsx(file)).toBeUndefined();
    expect((await readRosterFile(date, { maxFileMb: 10 })).sheets[0].rows[1].cells[0]).toEqual({ kind: 'date', value: new Date('2026-09-01T00:00:00Z') });
  });

  it('leaves overlapping merges to ExcelJS, which rejects them', async () => {
    const file = await sheetXml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', ['<t>x</t>'], '<mergeCells count="2"><mergeCell ref="A1:B2"/><mergeCell ref="B2:C3"/></mergeCells>');
    expect(readPlainXlsx(file)).toBeUndefined();
    await expect(readRosterFile(file, { maxFileMb: 10 })).rejects.toMatchObject({ code: 'ROSTER_UNREADABLE' });
  });

  it('leaves damaged zips and bad references to ExcelJS', async () => {
    const good = await buildXlsx({ headers: ['a'], rows: [['x']] });
    const truncated = good.subarray(0, good.length - 40);
    const badIndex = await sheetXml('<row r="1"><c r="A1" t="s"><v>5</v></c></row>', ['<t>x</t>']);
    const badEntity = await sheetXml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', ['<t>a &nbsp; b</t>']);

    for (const file of [truncated, badIndex, badEntity]) expect(readPlainXlsx(file)).toBeUndefined();
  });

  it('matches ExcelJS on random sheets', async () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const texts = ['', ' ', '王小明', '一(1)班', '<b>&amp;', 'a"b\'c', ' 空格 ', '多\n行', '330106199003071230', '是', '否', '😀 表情'];

    for (let sheetIndex = 0; sheetIndex < 12; sheetIndex++) {
      const rows: ExcelJS.CellValue[][] = [];
      const rowCount = 1 + Math.floor(random() * 15);
      for (let r = 0; r < rowCount; r++) {
        const row: ExcelJS.CellValue[] = [];
        const width = Math.floor(random() * 8);
        for (let c = 0; c < width; c++) {
          const pick = random();
          if (pick < 0.4) row.push(texts[Math.floor(random() * texts.length)]);
          else if (pick < 0.6) row.push(Math.round(random() * 1e6) / (random() < 0.5 ? 1 : 100));
          else if (pick < 0.7) row.push(random() < 0.5);
          else if (pick < 0.8) row.push({ richText: [{ text: texts[Math.floor(random() * texts.length)] }, { text: 'x' }] });
          else row.push(null);
        }
        rows.push(row);
      }
      const merges = random() < 0.5 ? [`B${rowCount + 3}:C${rowCount + 4}`] : [];
      const file = await buildXlsx({
        headers: ['h1', 'h2'],
        rows,
        merges,
        configure: (sheet) => {
          if (random() < 0.5) sheet.getColumn(2).numFmt = '@';
          if (random() < 0.5) sheet.getCell(`F${rowCount + 6}`).font = { bold: true };
        },
      });
      await expectSameAsExcelJs(file);
    }
  });

  it('agrees with ExcelJS on which number formats are dates', () => {
    const require = createRequire(import.meta.url);
    const { isDateFmt } = require('exceljs/lib/utils/utils.js') as { isDateFmt: (format: string) => boolean };
    const formats = ['General', '0', '@', 'yyyy-mm-dd', '[$-804]yyyy"年"m"月"d"日"', '"元"#,##0', '[Red]0.00', 'h:mm', '0.00%', '[h]:mm:ss', '"年"0'];
    for (const format of formats) expect(isDateFormat(format), format).toBe(isDateFmt(format));
  });
});
