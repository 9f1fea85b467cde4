import ExcelJS from 'exceljs';
import { formatCsv } from './roster-csv.js';
import { escapeFormula } from './roster-fields.js';

/**
 * Write a roster table as .xlsx or .csv in the layout imports read: a title row, the
 * header row, then one row per person. Every value is written as text. In the .csv, a
 * value that a spreadsheet would run as a formula is prefixed with an apostrophe.
 */

export interface RosterTable {
  /** Title above the header, for example 某某小学学生名单. */
  title: string;
  headers: string[];
  rows: string[][];
  /** Indexes of columns that hold long digit strings (ID numbers, phones). */
  digitColumns: number[];
}

export type RosterFileFormat = 'xlsx' | 'csv';

export const ROSTER_CONTENT_TYPES: Record<RosterFileFormat, string> = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  csv: 'text/csv; charset=utf-8',
};

const TEXT_FORMAT = '@';

/**
 * Build an .xlsx workbook. Values are strings, so ExcelJS writes them as shared strings
 * (text cells), and every column uses the text number format '@', so an ID number typed
 * into the file later also stays text instead of turning into 3.30106E+17. An .xlsx keeps a
 * formula in a cell's <f> element, never in a text cell, so a value starting with
 * = + - @ is written as is, without the apostrophe the .csv needs.
 */
export async function writeRosterXlsx(table: RosterTable): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('名单');
  const width = Math.max(table.headers.length, 1);

  sheet.columns = table.headers.map((header, index) => ({
    key: String(index),
    width: table.digitColumns.includes(index) ? 22 : Math.max(10, header.length * 2 + 4),
    style: { numFmt: TEXT_FORMAT },
  }));

  const titleRow = sheet.addRow([table.title]);
  titleRow.font = { bold: true, size: 14 };
  sheet.mergeCells(1, 1, 1, width);
  sheet.getCell(1, 1).alignment = { horizontal: 'center' };

  const headerRow = sheet.addRow(table.headers);
  headerRow.font = { bold: true };
  for (const values of table.rows) sheet.addRow(values);

  // Force text cells even where ExcelJS might infer another type from a style.
  sheet.eachRow((row) => {
    row.eachCell((cell) => {
      cell.numFmt = TEXT_FORMAT;
    });
  });

  sheet.views = [{ state: 'frozen', ySplit: 2 }];
  const buffer = await workbook.xlsx.writeBuffer();
  return Buffer.from(buffer as ArrayBuffer);
}

/**
 * Build a UTF-8 CSV with a BOM, which Excel needs to read Chinese correctly. A CSV has
 * no cell types, so a value starting with = + - @ gets an apostrophe and Excel does not
 * run it as a formula. A digit
 * column value gets a leading tab so that Excel opens it as text and keeps all 18
 * digits; the import trims the tab.
 *
 * NOTE: the leading tab is the usual way to keep long digit strings as text in Excel. It
 * was checked against our own importer, not against a particular Excel version.
 */
export function writeRosterCsv(table: RosterTable): Buffer {
  const rows = table.rows.map((values) =>
    values.map((value, index) => (table.digitColumns.includes(index) && /^\d+X?$/.test(value) ? `\t${value}` : escapeFormula(value))),
  );
  const text = formatCsv([[escapeFormula(table.title)], table.headers.map(escapeFormula), ...rows]);
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
}
