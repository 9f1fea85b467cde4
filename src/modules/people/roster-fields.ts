import type { StaffRole } from '../../db/schema.js';

/**
 * Roster columns: the Chinese headers schools use for each field, and the rules for the
 * values that are not ID numbers or classes (phones, consent, gender, staff roles).
 */

export type RosterField =
  | 'name'
  | 'gender'
  | 'idNumber'
  | 'grade'
  | 'class'
  | 'studentNumber'
  | 'guardianName'
  | 'phone'
  | 'personType'
  | 'consent'
  | 'dingtalkUserId'
  | 'staffNumber'
  | 'position'
  | 'headTeacherClasses';

export type RosterKind = 'student' | 'staff';

/** Header variants by field; compared after `normalizeHeader`. The first is the one exports write. */
export const HEADER_VARIANTS: Record<RosterField, string[]> = {
  name: ['姓名', '学生姓名', '教职工姓名', '名字'],
  gender: ['性别'],
  idNumber: ['身份证号', '身份证号码', '证件号码', '身份证', '证件号', '学生身份证号', '身份证件号码'],
  grade: ['年级'],
  class: ['班级', '所在班级', '班级名称'],
  studentNumber: ['学号'],
  guardianName: ['监护人', '家长姓名', '监护人姓名', '家长'],
  phone: ['联系电话', '手机号', '家长电话', '监护人电话', '手机号码', '家长手机号', '监护人手机号', '联系方式', '电话'],
  personType: ['人员类型', '人员类别'],
  consent: ['健康码授权', '授权', '是否授权'],
  dingtalkUserId: ['钉钉用户ID', '钉钉ID', '钉钉userid', '钉钉账号'],
  staffNumber: ['工号', '教职工号', '职工号'],
  position: ['职务', '岗位', '职位'],
  headTeacherClasses: ['班主任班级', '任班主任班级'],
};

/** Columns a file of each kind must have. */
export const REQUIRED_FIELDS: Record<RosterKind, RosterField[]> = {
  student: ['name', 'idNumber', 'class'],
  staff: ['name', 'staffNumber'],
};

/** Columns exports write, in order; imports accept them in any order. */
export const EXPORT_FIELDS: Record<RosterKind, RosterField[]> = {
  student: ['name', 'gender', 'idNumber', 'personType', 'grade', 'class', 'studentNumber', 'guardianName', 'phone', 'dingtalkUserId', 'consent'],
  staff: ['name', 'gender', 'staffNumber', 'idNumber', 'personType', 'position', 'headTeacherClasses', 'phone', 'dingtalkUserId', 'consent'],
};

/** Staff exports label the phone column 手机号, as staff rosters usually do. */
export function exportHeader(kind: RosterKind, field: RosterField): string {
  if (kind === 'staff' && field === 'phone') return '手机号';
  return HEADER_VARIANTS[field][0];
}

/**
 * Normalise a header cell: full-width to ASCII, no spaces, no required-field stars, no
 * trailing note in brackets (身份证号（必填） is 身份证号), ASCII lower-cased.
 */
export function normalizeHeader(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\s+/g, '')
    .replace(/\*/g, '')
    .replace(/\([^()]*\)$/, '')
    .toLowerCase();
}

const FIELD_BY_HEADER = new Map<string, RosterField>();
for (const [field, variants] of Object.entries(HEADER_VARIANTS) as Array<[RosterField, string[]]>) {
  for (const variant of variants) FIELD_BY_HEADER.set(normalizeHeader(variant), field);
}

/** Look up the field a header cell names; undefined for a column the import ignores. */
export function fieldOfHeader(text: string): RosterField | undefined {
  return FIELD_BY_HEADER.get(normalizeHeader(text));
}

/** Detect the kind of roster: a staff roster has a 工号 column, anything else is a pupil roster. */
export function detectRosterKind(fields: Set<RosterField>): RosterKind {
  return fields.has('staffNumber') ? 'staff' : 'student';
}

export type FieldResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Normalise and check a mobile number: spaces, dashes and a +86 prefix are removed, and
 * 11 digits starting with 1 remain. No issued mobile number starts with 100. The check
 * still accepts 100xxxxxxxx, because the demo, tests and benchmarks use that unassigned
 * prefix for synthetic people.
 */
export function parsePhone(text: string): FieldResult<string> {
  const phone = normalizePhone(text);
  if (!/^1\d{10}$/.test(phone)) return { ok: false, reason: '手机号应为以 1 开头的 11 位数字' };
  return { ok: true, value: phone };
}

/** Phone text without spaces, dashes, brackets or a +86/0086 prefix, in ASCII digits. */
export function normalizePhone(text: string): string {
  const digits = text.normalize('NFKC').replace(/[\s\-()]/g, '');
  return digits.replace(/^(\+86|0086|86)(?=1\d{10}$)/, '');
}

const CONSENT_YES = new Set(['是', '已授权', '授权', '同意', 'y', 'yes', '√', 'true']);
const CONSENT_NO = new Set(['否', '未授权', '不授权', '不同意', 'n', 'no', '×', 'false']);

/** 是/否 in a consent cell; null for an empty cell (nothing stated). */
export function parseConsent(text: string): FieldResult<boolean | null> {
  const value = text.normalize('NFKC').trim().toLowerCase();
  if (value === '') return { ok: true, value: null };
  if (CONSENT_YES.has(value)) return { ok: true, value: true };
  if (CONSENT_NO.has(value)) return { ok: true, value: false };
  return { ok: false, reason: `无法识别“${text.trim()}”，请填写“是”或“否”` };
}

export type GenderLabel = '男' | '女';

/** 男/女 in a gender cell; null when empty. */
export function parseGender(text: string): FieldResult<GenderLabel | null> {
  const value = text.normalize('NFKC').trim().toLowerCase();
  if (value === '') return { ok: true, value: null };
  if (value === '男' || value === 'm' || value === 'male') return { ok: true, value: '男' };
  if (value === '女' || value === 'f' || value === 'female') return { ok: true, value: '女' };
  return { ok: false, reason: `无法识别性别“${text.trim()}”，请填写“男”或“女”` };
}

const MANAGEMENT_KEYWORDS = ['校长', '防疫专员', '管理层'];
const GUARD_KEYWORDS = ['门卫', '保安'];

/** Labels exports write for each role; the import maps each back to the same role. */
export const STAFF_ROLE_LABELS: Record<StaffRole, string> = {
  management: '管理层',
  school_doctor: '校医',
  guard: '门卫',
  head_teacher: '班主任',
  teacher: '教师',
};

/**
 * Map a 职务 cell to a staff role by keyword in priority order, so 副校长兼班主任 is
 * management. An empty cell is a head teacher when the row names classes to head, and
 * otherwise a teacher. A position without a keyword is a teacher.
 */
export function staffRoleOf(position: string, headsClasses: boolean): StaffRole {
  const text = position.normalize('NFKC').replace(/\s+/g, '');
  if (text === '') return headsClasses ? 'head_teacher' : 'teacher';

  if (MANAGEMENT_KEYWORDS.some((keyword) => text.includes(keyword))) return 'management';
  if (text.includes('校医')) return 'school_doctor';
  if (GUARD_KEYWORDS.some((keyword) => text.includes(keyword))) return 'guard';
  if (text.includes('班主任')) return 'head_teacher';
  return 'teacher';
}

const STUDENT_TYPES = new Set(['学生', '在校生', '走读生', '住校生', '寄宿生']);
const STAFF_TYPES = new Set(['教职工', '教师', '老师', '职工', '员工', '教工', '工作人员']);

/** Check a 人员类型 cell against the kind of the file; empty is fine. */
export function checkPersonType(text: string, kind: RosterKind): FieldResult<null> {
  const value = text.trim();
  if (value === '') return { ok: true, value: null };
  if (kind === 'student' && STUDENT_TYPES.has(value)) return { ok: true, value: null };
  if (kind === 'staff' && STAFF_TYPES.has(value)) return { ok: true, value: null };
  if (kind === 'student' && STAFF_TYPES.has(value)) {
    return { ok: false, reason: `人员类型为“${value}”：教职工请用教职工名单（含“工号”列）导入` };
  }
  if (kind === 'staff' && STUDENT_TYPES.has(value)) {
    return { ok: false, reason: `人员类型为“${value}”：学生请用学生名单（不含“工号”列）导入` };
  }
  return { ok: false, reason: `无法识别人员类型“${value}”，请填写“学生”或“教职工”` };
}

/** Characters that make Excel and other spreadsheets read a cell as a formula. */
const FORMULA_TRIGGERS = /^[=+\-@\t\r]/;

/**
 * Prefix a value that Excel would run as a formula with an apostrophe, so it stays text.
 * CSV files need this because they have no cell types. The .xlsx writers write text cells instead.
 */
export function escapeFormula(value: string): string {
  return FORMULA_TRIGGERS.test(value) ? `'${value}` : value;
}

/** Check whether a spreadsheet would read `value` as a formula (it starts with =, +, -, @ or a tab). */
export function looksLikeFormula(value: string): boolean {
  return FORMULA_TRIGGERS.test(value);
}

/** Undo `escapeFormula` when a roster written by the export (a .csv, or an older .xlsx) comes back. */
export function unescapeFormula(value: string): string {
  return value.startsWith("'") && FORMULA_TRIGGERS.test(value.slice(1)) ? value.slice(1) : value;
}
