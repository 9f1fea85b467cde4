import ExcelJS from 'exceljs';
import { AppError } from '../../shared/errors.js';
import { decodeText, parseCsv, type TextEncodingName } from './roster-csv.js';
import { readPlainXlsx } from './roster-xlsx.js';

/**
 * Read a roster file (.xlsx or .csv) from its bytes into sheets of typed cells. The
 * format comes from the content, never from the file name: a zip is tried as xlsx, an
 * OLE2 file is the old .xls format, and anything else must decode as text.
 */

/** One cell as the roster rules see it; merged cells carry the merged (top-left) value. */
export type RosterCell =
  | { kind: 'empty' }
  | { kind: 'text'; text: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'date'; value: Date }
  /** A formula whose cached result is not text; `result` is that result shown as text. */
  | { kind: 'formula'; result: string }
  | { kind: 'error'; text: string };

export interface RosterRow {
  /** Row number as Excel shows it (1-based). */
  number: number;
  /** Cells by 0-based column index; missing entries are empty. */
  cells: RosterCell[];
}

export interface RosterSheet {
  name: string;
  rows: RosterRow[];
}

export interface RosterWorkbook {
  format: 'xlsx' | 'csv';
  /** Text encoding of a CSV file. */
  encoding?: TextEncodingName;
  sheets: RosterSheet[];
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const OLE2_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const EMPTY: RosterCell = { kind: 'empty' };

/** Bytes in one MB, for the size limit and its message. */
export const MEGABYTE = 1024 * 1024;

/** Reject a file above the limit, with the size in the message; call before reading it. */
export function checkRosterSize(sizeBytes: number, maxFileMb: number): void {
  if (sizeBytes <= maxFileMb * MEGABYTE) return;
  throw new AppError('ROSTER_TOO_LARGE', { sizeMb: (sizeBytes / MEGABYTE).toFixed(1), limitMb: maxFileMb });
}

/**
 * Read the sheets of a roster file. Throws ROSTER_TOO_LARGE above the size limit and
 * ROSTER_UNREADABLE for an empty file, an old .xls file, a damaged workbook or bytes
 * that are not a spreadsheet.
 */
export async function readRosterFile(bytes: Uint8Array, options: { maxFileMb: number }): Promise<RosterWorkbook> {
  checkRosterSize(bytes.length, options.maxFileMb);
  if (bytes.length === 0) throw unreadable('文件为空');

  if (startsWith(bytes, ZIP_MAGIC)) return { format: 'xlsx', sheets: await readXlsx(bytes) };
  if (startsWith(bytes, OLE2_MAGIC)) {
    throw unreadable('这是旧版 Excel 97-2003（.xls）文件，请在 Excel 中“另存为” .xlsx 格式后再导入');
  }

  const decoded = decodeText(bytes);
  if (!decoded.ok) throw unreadable('文件不是 Excel（.xlsx）或 CSV 表格，请上传花名册表格文件');
  if (decoded.text.trim() === '') throw unreadable('文件为空');

  const rows = parseCsv(decoded.text).map((fields, index) => ({
    number: index + 1,
    cells: fields.map((text): RosterCell => (text.trim() === '' ? EMPTY : { kind: 'text', text })),
  }));
  return { format: 'csv', encoding: decoded.encoding, sheets: [{ name: 'CSV', rows }] };
}

/**
 * Read the sheets of an .xlsx file: with the fast reader when the file is plain enough
 * for it, otherwise with ExcelJS. Both give the same sheets for a file the fast reader
 * accepts.
 */
async function readXlsx(bytes: Uint8Array): Promise<RosterSheet[]> {
  const sheets = readPlainXlsx(bytes) ?? (await readXlsxWithExcelJs(bytes));
  if (sheets.length === 0) throw unreadable('文件不是 Excel（.xlsx）表格，请上传花名册表格文件');
  if (sheets.every((sheet) => sheet.rows.every((row) => row.cells.every((cell) => cell.kind === 'empty')))) {
    throw unreadable('表格中没有任何数据');
  }
  return sheets;
}

/** Read every worksheet with ExcelJS; exported for tests that compare the two readers. */
export async function readXlsxWithExcelJs(bytes: Uint8Array): Promise<RosterSheet[]> {
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as ExcelJS.Buffer);
  } catch {
    throw unreadable('文件不是有效的 Excel（.xlsx）表格，可能已损坏；请在 Excel 中打开并重新保存后再导入');
  }
  const sheets: RosterSheet[] = [];
  for (const worksheet of workbook.worksheets) {
    const rows: RosterRow[] = [];
    const columnCount = worksheet.columnCount;
    worksheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
      const cells: RosterCell[] = [];
      for (let column = 1; column <= columnCount; column++) cells.push(toRosterCell(row.getCell(column).value));
      rows.push({ number: rowNumber, cells });
    });
    sheets.push({ name: worksheet.name, rows });
  }
  return sheets;
}

/** Map an ExcelJS cell value (a merged cell's value is its master's) to a roster cell. */
export function toRosterCell(value: ExcelJS.CellValue): RosterCell {
  if (value === null || value === undefined) return EMPTY;
  if (typeof value === 'string') return value.trim() === '' ? EMPTY : { kind: 'text', text: value };
  if (typeof value === 'number') return { kind: 'number', value };
  if (typeof value === 'boolean') return { kind: 'boolean', value };
  if (value instanceof Date) return { kind: 'date', value };

  if ('richText' in value) return textCell(value.richText.map((part) => part.text).join(''));
  if ('hyperlink' in value) {
    const text = value.text as unknown;
    if (typeof text === 'string') return textCell(text);
    if (text && typeof text === 'object' && 'richText' in text) {
      return textCell((text as ExcelJS.CellRichTextValue).richText.map((part) => part.text).join(''));
    }
    return EMPTY;
  }
  if ('formula' in value || 'sharedFormula' in value) {
    const result = value.result;
    if (typeof result === 'string') return textCell(result);
    return { kind: 'formula', result: describeResult(result) };
  }
  if ('error' in value) return { kind: 'error', text: value.error };
  return EMPTY;
}

function describeResult(result: ExcelJS.CellFormulaValue['result']): string {
  if (result === undefined || result === null) return '';
  if (result instanceof Date) return result.toISOString().slice(0, 10);
  if (typeof result === 'object' && 'error' in result) return result.error;
  return String(result);
}

function textCell(text: string): RosterCell {
  return text.trim() === '' ? EMPTY : { kind: 'text', text };
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

function unreadable(detail: string): AppError {
  return new AppError('ROSTER_UNREADABLE', { detail });
}

/** Column letters as Excel shows them: 0 is A, 25 is Z, 26 is AA. */
export function columnLetter(index: number): string {
  let letters = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  }
  return letters;
}
