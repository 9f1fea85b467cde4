import ExcelJS from 'exceljs';
import { makeIdNumber, makeName, makePhone } from '../../src/shared/synthetic.js';

/** Roster files written by the tests themselves, with synthetic people only. */

export type FixtureValue = ExcelJS.CellValue;

export interface XlsxSpec {
  /** Title rows above the header, each merged across the header's width. */
  titles?: string[];
  headers: string[];
  rows: FixtureValue[][];
  /** Extra merges in A1 notation, for example 'E3:E5'. */
  merges?: string[];
  sheetName?: string;
  /** Sheets added before the roster sheet, for example an instructions sheet. */
  sheetsBefore?: Array<{ name: string; rows: FixtureValue[][] }>;
  /** Last changes to the roster sheet before writing. */
  configure?: (sheet: ExcelJS.Worksheet) => void;
}

/** Write an .xlsx file the way a school's Excel would save it. */
export async function buildXlsx(spec: XlsxSpec): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  for (const extra of spec.sheetsBefore ?? []) {
    const sheet = workbook.addWorksheet(extra.name);
    for (const row of extra.rows) sheet.addRow(row);
  }

  const sheet = workbook.addWorksheet(spec.sheetName ?? 'Sheet1');
  for (const title of spec.titles ?? []) {
    const row = sheet.addRow([title]);
    sheet.mergeCells(row.number, 1, row.number, spec.headers.length);
  }
  sheet.addRow(spec.headers);
  for (const values of spec.rows) sheet.addRow(values);
  for (const range of spec.merges ?? []) sheet.mergeCells(range);
  spec.configure?.(sheet);

  return Buffer.from((await workbook.xlsx.writeBuffer()) as ArrayBuffer);
}

/** A synthetic pupil for roster rows. */
export interface Pupil {
  name: string;
  idNumber: string;
  gender: '男' | '女';
  guardian: string;
  phone: string;
}

/** Synthetic pupil number `seed`, born in 2018 (a first or second grader in 2026). */
export function pupil(seed: number): Pupil {
  const birthDate = `2018-${String(1 + (seed % 12)).padStart(2, '0')}-${String(1 + (seed % 28)).padStart(2, '0')}`;
  const idNumber = makeIdNumber(seed, birthDate);
  return {
    name: makeName(seed),
    idNumber,
    gender: Number(idNumber[16]) % 2 === 1 ? '男' : '女',
    guardian: `${makeName(seed + 7000).slice(0, 1)}家长${seed}`,
    phone: makePhone(seed),
  };
}

export const STUDENT_HEADERS = ['姓名', '性别', '身份证号', '年级', '班级', '学号', '监护人', '联系电话', '健康码授权'];

/** Build a standard pupil row for STUDENT_HEADERS. */
export function studentRow(p: Pupil, grade: string, klass: string, studentNumber: string, consent = '是'): FixtureValue[] {
  return [p.name, p.gender, p.idNumber, grade, klass, studentNumber, p.guardian, p.phone, consent];
}

let gb18030Table: Map<string, number[]> | undefined;

/**
 * Encode text as GB18030 for the two-byte range (all of GBK, which covers the Chinese
 * of these tests). Node only decodes GB18030, so the table is built by decoding every
 * two-byte sequence once.
 */
export function encodeGb18030(text: string): Buffer {
  if (!gb18030Table) {
    gb18030Table = new Map();
    const decoder = new TextDecoder('gb18030');
    for (let lead = 0x81; lead <= 0xfe; lead++) {
      for (let trail = 0x40; trail <= 0xfe; trail++) {
        if (trail === 0x7f) continue;
        const char = decoder.decode(new Uint8Array([lead, trail]));
        if (char.length === 1 && char !== '\ufffd' && !gb18030Table.has(char)) gb18030Table.set(char, [lead, trail]);
      }
    }
  }

  const bytes: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x80) {
      bytes.push(code);
      continue;
    }
    const encoded = gb18030Table.get(char);
    if (!encoded) throw new Error(`character ${char} is outside the two-byte GB18030 range`);
    bytes.push(...encoded);
  }
  return Buffer.from(bytes);
}

/** Join rows into CSV text, quoting fields with commas or quotes. */
export function csvText(rows: string[][]): string {
  return rows.map((row) => row.map((v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(',')).join('\r\n') + '\r\n';
}
