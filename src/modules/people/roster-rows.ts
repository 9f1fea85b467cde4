import type { StaffRole } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { maskIdNumber, maskPhone } from '../../shared/crypto.js';
import { normalizeIdNumber, validateIdNumber } from './id-number.js';
import { className } from './class-name.js';
import { parseClass, type ClassRef } from './roster-class.js';
import {
  HEADER_VARIANTS,
  REQUIRED_FIELDS,
  checkPersonType,
  detectRosterKind,
  fieldOfHeader,
  normalizePhone,
  parseConsent,
  parseGender,
  parsePhone,
  staffRoleOf,
  looksLikeFormula,
  unescapeFormula,
  type GenderLabel,
  type RosterField,
  type RosterKind,
} from './roster-fields.js';
import { columnLetter, type RosterCell, type RosterRow, type RosterSheet } from './roster-read.js';

/**
 * Turn the rows of a roster sheet into validated pupil or staff records for loading.
 * Every bad row comes back with its Excel row number, the column header, the value (ID
 * numbers and phones masked) and the reason in Chinese.
 *
 * An empty cell means "not stated": the import leaves the stored value as it is.
 */

export interface RosterProblem {
  /** The header of the column as the file writes it, or the cell address. */
  column: string;
  /** The value as read; ID numbers and phone numbers are masked. */
  value: string;
  reason: string;
}

export interface RejectedRow {
  row: number;
  problems: RosterProblem[];
}

export interface GuardianInput {
  name: string;
  phone: string | null;
  dingtalkUserId: string | null;
}

export interface StudentRecord {
  row: number;
  name: string;
  gender: GenderLabel;
  idNumber: string;
  birthDate: string;
  class: ClassRef;
  /** The class cell as written, for messages. */
  classText: string;
  studentNumber: string | null;
  /** Null when the row names neither a guardian nor a phone. */
  guardian: GuardianInput | null;
  /** Health-code consent given by the guardian; null when not stated. */
  consent: boolean | null;
}

export interface StaffRecord {
  row: number;
  name: string;
  staffNumber: string;
  gender: GenderLabel | null;
  idNumber: string | null;
  birthDate: string | null;
  phone: string | null;
  dingtalkUserId: string | null;
  /** Null when the file has no 职务 column and the row heads no class. */
  role: StaffRole | null;
  /** Classes this person heads; null when the cell is empty or the column absent. */
  headTeacherClasses: ClassRef[] | null;
  /** The 班主任班级 cell as written, for messages. */
  headTeacherClassesText: string;
  /** Health-code consent given by the person; null when not stated. */
  consent: boolean | null;
}

interface ParsedRosterBase {
  sheetName: string;
  /** Excel row number of the header row. */
  headerRow: number;
  /** Rows below the header that were not empty. */
  dataRows: number;
  rejected: RejectedRow[];
  /** Notes for the user in Chinese, for example a missing consent column. */
  warnings: string[];
  hasConsentColumn: boolean;
  /** The header of each recognised column as the file writes it. */
  columnHeaders: Partial<Record<RosterField, string>>;
}

export type ParsedRoster =
  | (ParsedRosterBase & { kind: 'student'; records: StudentRecord[] })
  | (ParsedRosterBase & { kind: 'staff'; records: StaffRecord[] });

/** The header must be among the first rows; title rows above it are skipped. */
const HEADER_SEARCH_ROWS = 30;

/** A school has a few thousand people; more rows means a wrong file or a district export. */
export const MAX_ROSTER_ROWS = 50_000;

const MAX_NAME_LENGTH = 50;
const MAX_NUMBER_LENGTH = 32;
const MAX_DINGTALK_ID_LENGTH = 64;

/** Separators between several classes in one 班主任班级 cell. */
const CLASS_LIST_SEPARATOR = /[、,，;；/]/;

interface HeaderMap {
  row: RosterRow;
  /** Column index of each field (the first column when a header repeats). */
  columns: Map<RosterField, number>;
  /** Header text of each column index, as written in the file. */
  headers: Map<number, string>;
  ignored: string[];
  repeated: string[];
}

/**
 * Parse the first sheet that has a header row. `today` ('YYYY-MM-DD', Asia/Shanghai) is
 * the latest birth date an ID number may carry. Throws ROSTER_UNREADABLE when no sheet
 * has a header row or a required column is missing.
 */
export function parseRosterSheets(sheets: RosterSheet[], options: { today: string }): ParsedRoster {
  for (const sheet of sheets) {
    const header = findHeader(sheet.rows);
    if (header) return parseSheet(sheet, header, options.today);
  }
  throw new AppError('ROSTER_UNREADABLE', {
    detail: `未找到表头行：前 ${HEADER_SEARCH_ROWS} 行中没有包含“姓名”以及“身份证号”或“工号”等列名的行`,
  });
}

function findHeader(rows: RosterRow[]): HeaderMap | undefined {
  for (const row of rows.slice(0, HEADER_SEARCH_ROWS)) {
    const columns = new Map<RosterField, number>();
    const headers = new Map<number, string>();
    const ignored: string[] = [];
    const repeated: string[] = [];

    row.cells.forEach((cell, index) => {
      if (cell.kind !== 'text') return;
      const text = cell.text.trim();
      headers.set(index, text);
      const field = fieldOfHeader(text);
      if (!field) ignored.push(text);
      else if (columns.has(field)) repeated.push(text);
      else columns.set(field, index);
    });

    if (columns.has('name') && columns.size >= 2) return { row, columns, headers, ignored, repeated };
  }
  return undefined;
}

function parseSheet(sheet: RosterSheet, header: HeaderMap, today: string): ParsedRoster {
  const fields = new Set(header.columns.keys());
  const kind = detectRosterKind(fields);

  const missing = REQUIRED_FIELDS[kind].filter((field) => !fields.has(field));
  if (missing.length > 0) {
    const names = missing.map((field) => `“${HEADER_VARIANTS[field][0]}”`).join('、');
    throw new AppError('ROSTER_UNREADABLE', {
      detail: `第 ${header.row.number} 行的表头缺少必填列 ${names}（${kind === 'staff' ? '教职工' : '学生'}名单）`,
    });
  }

  const dataRows = sheet.rows.filter((row) => row.number > header.row.number && !isBlankRow(row));
  if (dataRows.length > MAX_ROSTER_ROWS) {
    throw new AppError('ROSTER_UNREADABLE', { detail: `数据行过多（${dataRows.length} 行），一次最多导入 ${MAX_ROSTER_ROWS} 行，请按年级拆分` });
  }

  const warnings = headerWarnings(header, kind);
  const base = {
    sheetName: sheet.name,
    headerRow: header.row.number,
    dataRows: dataRows.length,
    warnings,
    hasConsentColumn: fields.has('consent'),
    columnHeaders: Object.fromEntries([...header.columns].map(([field, index]) => [field, header.headers.get(index) ?? HEADER_VARIANTS[field][0]])),
  };

  if (kind === 'student') {
    const outcome = collect(dataRows, header, (reader) => readStudent(reader, today));
    rejectDuplicates(outcome, header, [{ field: 'idNumber', label: '身份证号', keysOf: (record) => [idNumberKey(record.idNumber)] }]);
    warnFormulaLikeNames(outcome.records, warnings);
    return { ...base, kind, records: outcome.records, rejected: sortRejected(outcome.rejected) };
  }

  const outcome = collect(dataRows, header, (reader) => readStaff(reader, today));
  rejectDuplicates(outcome, header, [
    { field: 'staffNumber', label: '工号', keysOf: (record) => [{ key: record.staffNumber, display: record.staffNumber }] },
    { field: 'idNumber', label: '身份证号', keysOf: (record) => (record.idNumber ? [idNumberKey(record.idNumber)] : []) },
    {
      field: 'headTeacherClasses',
      label: '班主任班级',
      keysOf: (record) =>
        (record.headTeacherClasses ?? []).map((ref) => ({ key: `${ref.grade}-${ref.number}`, display: className(ref.grade, ref.number) })),
    },
  ]);
  warnFormulaLikeNames(outcome.records, warnings);
  return { ...base, kind, records: outcome.records, rejected: sortRejected(outcome.rejected) };
}

/** Maximum number of rows a formula-like name warning lists. */
const MAX_FORMULA_ROWS_LISTED = 5;

/**
 * Warn about names that start like a spreadsheet formula, such as =1+1 or +SUM(A1). They load as
 * text, and exports keep them text, but they are almost always a copying mistake.
 */
function warnFormulaLikeNames(records: Array<{ row: number; name: string }>, warnings: string[]): void {
  const suspect = records.filter((record) => looksLikeFormula(record.name));
  if (suspect.length === 0) return;
  const listed = suspect.slice(0, MAX_FORMULA_ROWS_LISTED).map((record) => `第 ${record.row} 行“${record.name}”`).join('、');
  const more = suspect.length > MAX_FORMULA_ROWS_LISTED ? ` 等 ${suspect.length} 人` : '';
  warnings.push(`${listed}${more}的姓名以 =、+、-、@ 开头，像是表格公式而不是姓名。已按文字导入（导出时不会被当作公式执行），请核对后在名单中更正`);
}

function idNumberKey(idNumber: string): UniqueKey {
  return { key: idNumber, display: maskIdNumber(idNumber) };
}

function headerWarnings(header: HeaderMap, kind: RosterKind): string[] {
  const warnings: string[] = [];
  if (!header.columns.has('consent')) {
    const giver = kind === 'student' ? '监护人' : '本人';
    warnings.push(`文件中没有“健康码授权”列，本次导入未记录任何健康码授权；需要同步健康码的人员，请补充该列（${giver}授权填“是”）后重新导入`);
  }
  const ignored = header.ignored.filter((text) => text !== '');
  if (ignored.length > 0) warnings.push(`以下列未识别，已忽略：${ignored.join('、')}`);
  if (header.repeated.length > 0) warnings.push(`以下列重复出现，只读取了第一列：${header.repeated.join('、')}`);
  return warnings;
}

function isBlankRow(row: RosterRow): boolean {
  return row.cells.every((cell) => cell.kind === 'empty');
}

/** Reads the cells of one row by field, collecting the row's problems. */
class RowReader {
  readonly problems: RosterProblem[] = [];

  constructor(
    readonly row: RosterRow,
    private readonly header: HeaderMap,
  ) {}

  has(field: RosterField): boolean {
    return this.header.columns.has(field);
  }

  headerOf(field: RosterField): string {
    const index = this.header.columns.get(field);
    return index === undefined ? HEADER_VARIANTS[field][0] : (this.header.headers.get(index) ?? HEADER_VARIANTS[field][0]);
  }

  cell(field: RosterField): RosterCell {
    const index = this.header.columns.get(field);
    if (index === undefined) return { kind: 'empty' };
    return this.row.cells[index] ?? { kind: 'empty' };
  }

  address(field: RosterField): string {
    return `${columnLetter(this.header.columns.get(field) ?? 0)}${this.row.number}`;
  }

  /**
   * Read the text of a cell, or record a problem and return undefined. Numbers become
   * their digits, and TRUE/FALSE become 是/否. Dates, errors and formulas without a text
   * result are problems, because their meaning cannot be read back safely.
   */
  text(field: RosterField): string | undefined {
    const cell = this.cell(field);
    switch (cell.kind) {
      case 'empty':
        return '';
      case 'text':
        return unescapeFormula(cell.text.trim()).trim();
      case 'number':
        return Number.isInteger(cell.value) ? cell.value.toFixed(0) : String(cell.value);
      case 'boolean':
        return cell.value ? '是' : '否';
      case 'date': {
        const day = cell.value.toISOString().slice(0, 10);
        const hint = field === 'class' || field === 'headTeacherClasses' ? '（例如 2-3 被识别成了 2月3日）' : '';
        this.fail(field, day, `单元格 ${this.address(field)} 被 Excel 识别成了日期${hint}，请将该列设置为文本格式后重新填写`);
        return undefined;
      }
      case 'formula':
        this.fail(field, cell.result, `单元格 ${this.address(field)} 是公式，且结果不是文本；请复制该列并“选择性粘贴为数值”，设置为文本格式后重新导入`);
        return undefined;
      case 'error':
        this.fail(field, cell.text, `单元格 ${this.address(field)} 的值是错误 ${cell.text}，请改正后重新导入`);
        return undefined;
    }
  }

  fail(field: RosterField, rawValue: string, reason: string): void {
    this.problems.push({ column: this.headerOf(field), value: displayValue(field, rawValue), reason });
  }
}

const SCIENTIFIC_TEXT = /^\d(\.\d+)?E[+-]\d+$/i;

/**
 * Format a number as Excel's General format shows it: integers of more than 11 digits in
 * scientific notation with 6 significant digits (3.30106E+17). The problem then shows the
 * value the user sees in the cell.
 */
function excelGeneralFormat(value: number): string {
  if (!Number.isInteger(value) || Math.abs(value) < 1e11) return String(value);
  const [mantissa, exponent] = value.toExponential(5).split('e');
  return `${mantissa.replace(/\.?0+$/, '')}E${exponent}`;
}

/** Format the value shown beside a problem: ID numbers and phones masked, long text cut. */
function displayValue(field: RosterField, rawValue: string): string {
  const value = rawValue.trim();
  if (value === '') return '';
  // Scientific notation keeps 6 significant digits at most, fewer than a masked ID shows.
  if (field === 'idNumber') return SCIENTIFIC_TEXT.test(value) ? value : maskIdNumber(normalizeIdNumber(value));
  if (field === 'phone') return maskPhone(normalizePhone(value));
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

interface Outcome<T> {
  records: T[];
  rejected: RejectedRow[];
}

function collect<T extends { row: number }>(rows: RosterRow[], header: HeaderMap, read: (reader: RowReader) => T | undefined): Outcome<T> {
  const outcome: Outcome<T> = { records: [], rejected: [] };
  for (const row of rows) {
    const reader = new RowReader(row, header);
    const record = read(reader);
    if (record && reader.problems.length === 0) outcome.records.push(record);
    else outcome.rejected.push({ row: row.number, problems: reader.problems });
  }
  return outcome;
}

function readName(reader: RowReader): string | undefined {
  const name = reader.text('name');
  if (name === undefined) return undefined;
  if (name === '') {
    reader.fail('name', '', '姓名为空');
    return undefined;
  }
  if (name.length > MAX_NAME_LENGTH) {
    reader.fail('name', name, `姓名超过 ${MAX_NAME_LENGTH} 个字`);
    return undefined;
  }
  return name;
}

function readShortText(reader: RowReader, field: RosterField, label: string, required: boolean): string | null | undefined {
  const text = reader.text(field);
  if (text === undefined) return undefined;
  if (text === '') {
    if (!required) return null;
    reader.fail(field, '', `${label}为空`);
    return undefined;
  }
  if (text.length > MAX_NUMBER_LENGTH) {
    reader.fail(field, text, `${label}超过 ${MAX_NUMBER_LENGTH} 个字符`);
    return undefined;
  }
  return text;
}

/** ID number fields: null when the cell is empty and the field is optional. */
function readIdNumber(reader: RowReader, today: string, required: boolean): { idNumber: string; birthDate: string; gender: GenderLabel } | null | undefined {
  const cell = reader.cell('idNumber');
  let input: string | number;
  if (cell.kind === 'number') {
    input = cell.value;
  } else {
    const text = reader.text('idNumber');
    if (text === undefined) return undefined;
    if (text === '' && !required) return null;
    input = text;
  }

  const result = validateIdNumber(input, { today });
  if (!result.ok) {
    const raw = typeof input === 'number' ? excelGeneralFormat(input) : input;
    reader.fail('idNumber', raw, result.reason);
    return undefined;
  }
  return { idNumber: result.idNumber, birthDate: result.birthDate, gender: result.gender === 'male' ? '男' : '女' };
}

function readGender(reader: RowReader, fromIdNumber: GenderLabel | null): GenderLabel | null | undefined {
  const text = reader.text('gender');
  if (text === undefined) return undefined;

  const parsed = parseGender(text);
  if (!parsed.ok) {
    reader.fail('gender', text, parsed.reason);
    return undefined;
  }
  if (parsed.value && fromIdNumber && parsed.value !== fromIdNumber) {
    reader.fail('gender', text, `性别“${parsed.value}”与身份证号中的性别（${fromIdNumber}）不符，请核对`);
    return undefined;
  }
  return parsed.value ?? fromIdNumber;
}

function readPhone(reader: RowReader): string | null | undefined {
  const text = reader.text('phone');
  if (text === undefined) return undefined;
  if (text === '') return null;
  const parsed = parsePhone(text);
  if (!parsed.ok) {
    reader.fail('phone', text, parsed.reason);
    return undefined;
  }
  return parsed.value;
}

function readDingtalkUserId(reader: RowReader): string | null | undefined {
  const text = reader.text('dingtalkUserId');
  if (text === undefined) return undefined;
  if (text === '') return null;
  if (text.length > MAX_DINGTALK_ID_LENGTH || /\s/.test(text)) {
    reader.fail('dingtalkUserId', text, `钉钉用户ID应为不含空格、不超过 ${MAX_DINGTALK_ID_LENGTH} 个字符的文本`);
    return undefined;
  }
  return text;
}

function readConsent(reader: RowReader): boolean | null | undefined {
  const text = reader.text('consent');
  if (text === undefined) return undefined;
  const parsed = parseConsent(text);
  if (!parsed.ok) {
    reader.fail('consent', text, parsed.reason);
    return undefined;
  }
  return parsed.value;
}

function checkType(reader: RowReader, kind: RosterKind): void {
  const text = reader.text('personType');
  if (text === undefined) return;
  const checked = checkPersonType(text, kind);
  if (!checked.ok) reader.fail('personType', text, checked.reason);
}

function readStudent(reader: RowReader, today: string): StudentRecord | undefined {
  const name = readName(reader);
  const id = readIdNumber(reader, today, true);
  const gender = readGender(reader, id ? id.gender : null);
  const klass = readStudentClass(reader);
  const studentNumber = readShortText(reader, 'studentNumber', '学号', false);
  const guardianName = reader.text('guardianName');
  const phone = readPhone(reader);
  const dingtalkUserId = readDingtalkUserId(reader);
  const consent = readConsent(reader);
  checkType(reader, 'student');

  if (guardianName !== undefined && guardianName.length > MAX_NAME_LENGTH) {
    reader.fail('guardianName', guardianName, `监护人姓名超过 ${MAX_NAME_LENGTH} 个字`);
  }
  if (reader.problems.length > 0 || !name || !id || !klass || gender === undefined) return undefined;
  if (studentNumber === undefined || guardianName === undefined || phone === undefined) return undefined;
  if (dingtalkUserId === undefined || consent === undefined) return undefined;

  const hasGuardian = guardianName !== '' || phone !== null || dingtalkUserId !== null;
  return {
    row: reader.row.number,
    name,
    gender: gender ?? id.gender,
    idNumber: id.idNumber,
    birthDate: id.birthDate,
    class: klass,
    // The row has no problems, so the cell reads as text again without recording one.
    classText: reader.text('class') ?? '',
    studentNumber,
    guardian: hasGuardian ? { name: guardianName || `${name}的监护人`, phone, dingtalkUserId } : null,
    consent,
  };
}

function readStudentClass(reader: RowReader): ClassRef | undefined {
  const classText = reader.text('class');
  const gradeText = reader.has('grade') ? reader.text('grade') : '';
  if (classText === undefined || gradeText === undefined) return undefined;

  const parsed = parseClass(classText, gradeText);
  if (!parsed.ok) {
    reader.fail('class', classText, parsed.reason);
    return undefined;
  }
  return { grade: parsed.grade, number: parsed.number };
}

function readStaff(reader: RowReader, today: string): StaffRecord | undefined {
  const name = readName(reader);
  const staffNumber = readShortText(reader, 'staffNumber', '工号', true);
  const id = readIdNumber(reader, today, false);
  const gender = readGender(reader, id ? id.gender : null);
  const phone = readPhone(reader);
  const dingtalkUserId = readDingtalkUserId(reader);
  const consent = readConsent(reader);
  const headTeacherClasses = readHeadTeacherClasses(reader);
  const position = reader.text('position');
  checkType(reader, 'staff');

  if (reader.problems.length > 0 || !name || !staffNumber || id === undefined || gender === undefined) return undefined;
  if (phone === undefined || dingtalkUserId === undefined || consent === undefined) return undefined;
  if (headTeacherClasses === undefined || position === undefined) return undefined;

  const headsClasses = headTeacherClasses !== null && headTeacherClasses.length > 0;
  const role = reader.has('position') || headsClasses ? staffRoleOf(position, headsClasses) : null;
  return {
    row: reader.row.number,
    name,
    staffNumber,
    gender,
    idNumber: id?.idNumber ?? null,
    birthDate: id?.birthDate ?? null,
    phone,
    dingtalkUserId,
    role,
    headTeacherClasses,
    headTeacherClassesText: reader.text('headTeacherClasses') ?? '',
    consent,
  };
}

function readHeadTeacherClasses(reader: RowReader): ClassRef[] | null | undefined {
  const text = reader.text('headTeacherClasses');
  if (text === undefined) return undefined;
  if (text === '') return null;

  const classes: ClassRef[] = [];
  for (const part of text.split(CLASS_LIST_SEPARATOR).map((item) => item.trim()).filter(Boolean)) {
    const parsed = parseClass(part);
    if (!parsed.ok) {
      reader.fail('headTeacherClasses', text, parsed.reason);
      return undefined;
    }
    classes.push({ grade: parsed.grade, number: parsed.number });
  }
  return classes;
}

/** A value that must be unique within the file, and how a problem shows it. */
interface UniqueKey {
  key: string;
  display: string;
}

/** A kind of value that must be unique within the file. */
interface UniqueRule<T> {
  field: RosterField;
  label: string;
  keysOf: (record: T) => UniqueKey[];
}

/**
 * Reject every row that shares a key with another row (an ID number, a 工号, a class
 * to head): the file does not say which one is right, so none of them is loaded. All
 * rules see every record, so a row rejected by one rule still counts for the others.
 */
function rejectDuplicates<T extends { row: number }>(outcome: Outcome<T>, header: HeaderMap, rules: UniqueRule<T>[]): void {
  const problemsByRow = new Map<number, RosterProblem[]>();

  for (const rule of rules) {
    const rowsByKey = new Map<string, number[]>();
    for (const record of outcome.records) {
      for (const { key } of rule.keysOf(record)) rowsByKey.set(key, [...(rowsByKey.get(key) ?? []), record.row]);
    }

    const column = header.headers.get(header.columns.get(rule.field) ?? -1) ?? rule.label;
    for (const record of outcome.records) {
      for (const { key, display } of rule.keysOf(record)) {
        const others = (rowsByKey.get(key) ?? []).filter((row) => row !== record.row);
        if (others.length === 0) continue;
        const where = others.map((row) => `第 ${row} 行`).join('、');
        const problems = problemsByRow.get(record.row) ?? [];
        problems.push({ column, value: display, reason: `${rule.label}与${where}重复，请核对后只保留正确的一行` });
        problemsByRow.set(record.row, problems);
      }
    }
  }

  if (problemsByRow.size === 0) return;
  for (const [row, problems] of problemsByRow) outcome.rejected.push({ row, problems });
  outcome.records = outcome.records.filter((record) => !problemsByRow.has(record.row));
}

function sortRejected(rejected: RejectedRow[]): RejectedRow[] {
  return [...rejected].sort((a, b) => a.row - b.row);
}
