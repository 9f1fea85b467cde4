/**
 * Grades and classes as schools write them in rosters: 一(1)班, 一（1）班, 一【1】班,
 * 一年级1班, 1年级1班, 2-3, 101 (grade 1, class 01), 初一(3)班, or 1班 beside a 年级 column.
 */

export interface ClassRef {
  grade: number;
  number: number;
}

export type ClassParseResult = ({ ok: true } & ClassRef) | { ok: false; reason: string };

export const MIN_GRADE = 1;
export const MAX_GRADE = 12;
export const MAX_CLASS_NUMBER = 99;

const NUMERAL_VALUES: Record<string, number> = { 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** Middle school (初中) grades 1-3 are grades 7-9; high school (高中) grades 1-3 are 10-12. */
const STAGE_OFFSETS: Record<string, number> = { 初: 6, 高: 9 };

const CHINESE_NUMBER = '[一二两三四五六七八九十]+';
const GRADE_TOKEN = `(?:[初高][一二三]|${CHINESE_NUMBER}|\\d{1,2})`;
const CLASS_TOKEN = `(?:${CHINESE_NUMBER}|\\d{1,2})`;

const WITH_PARENTHESES = new RegExp(`^(${GRADE_TOKEN})(?:年级)?\\((${CLASS_TOKEN})\\)班?$`);
const WITH_GRADE_WORD = new RegExp(`^(${GRADE_TOKEN})年级(${CLASS_TOKEN})班?$`);
const WITH_HYPHEN = new RegExp(`^(${GRADE_TOKEN})-(${CLASS_TOKEN})班?$`);
/** A Chinese grade followed by digits is unambiguous (初一3班); digits after digits are not. */
const CHINESE_GRADE_THEN_DIGITS = new RegExp(`^((?:[初高][一二三])|${CHINESE_NUMBER})(\\d{1,2})班$`);
/** 101 is grade 1 class 1; 1003 is grade 10 class 3. */
const GRADE_AND_TWO_DIGITS = /^(\d|1[0-2])(\d{2})班?$/;
const CLASS_ONLY = new RegExp(`^(${CLASS_TOKEN})班?$`);
const GRADE_ONLY = new RegExp(`^(${GRADE_TOKEN})(?:年级)?$`);

/**
 * Value of a Chinese numeral from 1 to 99 (一, 十, 十二, 二十三) or of ASCII digits;
 * undefined when the text is neither.
 */
export function parseNumeral(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const match = /^([一二两三四五六七八九])?(十)?([一二三四五六七八九])?$/.exec(text);
  if (!match || text === '') return undefined;

  const [, first, ten, last] = match;
  if (!ten) return last ? undefined : NUMERAL_VALUES[first];
  const tens = first ? NUMERAL_VALUES[first] : 1;
  return tens * 10 + (last ? NUMERAL_VALUES[last] : 0);
}

/**
 * Normalise full-width digits, brackets, dashes and spaces before matching, and read the
 * square and lenticular brackets some rosters use (二[3]班, 二【3】班) as parentheses.
 */
export function normalizeClassText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\s+/g, '')
    .replace(/[－—–‐]/g, '-')
    .replace(/[[【〔]/g, '(')
    .replace(/[\]】〕]/g, ')');
}

/** The grade of a 年级 cell (一年级, 1年级, 1, 初一, 高二); undefined when not recognised. */
export function parseGrade(text: string): number | undefined {
  const match = GRADE_ONLY.exec(normalizeClassText(text));
  if (!match) return undefined;
  const grade = parseGradeToken(match[1]);
  return grade !== undefined && isValidGrade(grade) ? grade : undefined;
}

/**
 * Parse a class cell, with the 年级 cell of the same row when the roster has that column.
 * When both name a grade they must agree.
 */
export function parseClass(classText: string, gradeText?: string): ClassParseResult {
  const text = normalizeClassText(classText);
  if (text === '') return { ok: false, reason: '班级为空' };

  let columnGrade: number | undefined;
  const hasGradeCell = gradeText !== undefined && normalizeClassText(gradeText) !== '';
  if (hasGradeCell) {
    columnGrade = parseGrade(gradeText);
    if (columnGrade === undefined) {
      return { ok: false, reason: `无法识别年级“${gradeText.trim()}”，请写成“一年级”或 1 到 12 的数字` };
    }
  }

  const ref = matchFullClass(text);
  if (ref === 'invalid') return { ok: false, reason: `班级“${classText.trim()}”中的年级或班号超出范围（年级 1-12，班号 1-99）` };
  if (ref) {
    if (columnGrade !== undefined && columnGrade !== ref.grade) {
      return { ok: false, reason: `班级“${classText.trim()}”属于${ref.grade}年级，与年级列的“${gradeText!.trim()}”不一致` };
    }
    return { ok: true, ...ref };
  }

  const classOnly = CLASS_ONLY.exec(text);
  if (classOnly) {
    if (columnGrade === undefined) {
      return { ok: false, reason: `班级“${classText.trim()}”没有写年级，请填写年级列，或写成“一(1)班”的形式` };
    }
    const number = parseNumeral(classOnly[1]);
    if (number === undefined || !isValidClassNumber(number)) {
      return { ok: false, reason: `班号“${classText.trim()}”超出范围（1-99）` };
    }
    return { ok: true, grade: columnGrade, number };
  }

  return { ok: false, reason: `无法识别班级“${classText.trim()}”，请写成“一(1)班”、“一年级1班”、“1-1”或“101”` };
}

function matchFullClass(text: string): ClassRef | 'invalid' | undefined {
  for (const pattern of [WITH_PARENTHESES, WITH_GRADE_WORD, WITH_HYPHEN, CHINESE_GRADE_THEN_DIGITS, GRADE_AND_TWO_DIGITS]) {
    const match = pattern.exec(text);
    if (!match) continue;

    const grade = parseGradeToken(match[1]);
    const number = parseNumeral(match[2]);
    if (grade === undefined || number === undefined || !isValidGrade(grade) || !isValidClassNumber(number)) return 'invalid';
    return { grade, number };
  }
  return undefined;
}

function parseGradeToken(token: string): number | undefined {
  const offset = STAGE_OFFSETS[token[0]];
  if (offset !== undefined) {
    const within = parseNumeral(token.slice(1));
    return within === undefined ? undefined : offset + within;
  }
  return parseNumeral(token);
}

function isValidGrade(grade: number): boolean {
  return Number.isInteger(grade) && grade >= MIN_GRADE && grade <= MAX_GRADE;
}

function isValidClassNumber(number: number): boolean {
  return Number.isInteger(number) && number >= 1 && number <= MAX_CLASS_NUMBER;
}

const GRADE_LABELS = ['一年级', '二年级', '三年级', '四年级', '五年级', '六年级', '七年级', '八年级', '九年级', '高一', '高二', '高三'];

/** The usual label of a grade for exports: 一年级 to 九年级, then 高一 to 高三. */
export function gradeLabel(grade: number): string {
  return GRADE_LABELS[grade - 1] ?? `${grade}年级`;
}
