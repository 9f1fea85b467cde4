/**
 * Chinese resident ID numbers (居民身份证号码, GB 11643-1999): normalisation and validation.
 *
 * An 18-character number is a 6-digit address code, an 8-digit birth date (YYYYMMDD) and
 * a 3-digit sequence whose last digit is odd for men and even for women. The last
 * character (0-9 or X) is a check character, ISO 7064 MOD 11-2 over the first 17 digits.
 *
 * The address code is not checked against the published code list: codes change over
 * time (a code may be retired or reused), and resident permits for Hong Kong, Macao and
 * Taiwan residents use 81, 82 and 83. A number with a valid date and check digit is
 * accepted whatever its address code.
 */

export type Gender = 'male' | 'female';

export type IdNumberProblem =
  | 'empty'
  | 'lost_digits'
  | 'old_15_digit'
  | 'length'
  | 'format'
  | 'birth_date_invalid'
  | 'birth_date_too_early'
  | 'birth_date_future'
  | 'check_digit';

export type IdNumberResult =
  | { ok: true; idNumber: string; birthDate: string; gender: Gender }
  | { ok: false; code: IdNumberProblem; reason: string };

/** Chinese reason for an old 15-digit number; users must re-enter the 18-digit form. */
export const OLD_15_DIGIT_REASON = '旧版15位身份证号，请填写18位号码';

/** Chinese reason for a number that Excel stored as a floating-point number. */
export const LOST_DIGITS_REASON = '身份证号在 Excel 中丢失了位数（被存成数字或科学计数法），请将该列设置为文本格式后重新录入';

const EARLIEST_BIRTH_DATE = '1900-01-01';
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARACTERS = '10X98765432';

/** Excel writes numbers of 12 or more digits in scientific notation: 3.30106E+17. */
const SCIENTIFIC_NOTATION = /^\d+(\.\d+)?E\+?\d+$/i;

/** Excel keeps 15 significant digits of a number, so a longer integer has lost digits. */
const MAX_EXACT_EXCEL_DIGITS = 15;

/**
 * Normalise an ID number typed by a person: trim, drop spaces inside (including the
 * full-width space), turn full-width digits and Ｘ into ASCII, and upper-case x.
 */
export function normalizeIdNumber(text: string): string {
  return text
    .replace(/[\s\u200B-\u200D\uFEFF]+/g, '')
    .replace(/[\uFF10-\uFF19]/g, (digit) => String.fromCharCode(digit.charCodeAt(0) - 0xff10 + 0x30))
    .replace(/[xＸｘ]/g, 'X');
}

/** Compute the GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits. */
export function computeCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK_CHARACTERS[sum % 11];
}

/**
 * Validate an ID number given as text or as a spreadsheet number. `today` is the current
 * day in Asia/Shanghai ('YYYY-MM-DD'); a birth date after it is rejected.
 *
 * A number cell never yields a valid ID: Excel keeps only 15 significant digits, so an
 * 18-digit number that went through a number cell has lost its last digits and cannot
 * be repaired by guessing them.
 *
 * @example validateIdNumber(' 11010119900307867x ', { today: '2026-12-07' })
 *   // { ok: false, code: 'check_digit', ... } because the check character of 11010119900307867 is 0
 */
export function validateIdNumber(input: string | number, options: { today: string }): IdNumberResult {
  if (typeof input === 'number') return validateNumberCell(input);

  const idNumber = normalizeIdNumber(input);
  if (idNumber === '') return problem('empty', '身份证号为空');
  if (SCIENTIFIC_NOTATION.test(idNumber)) return problem('lost_digits', LOST_DIGITS_REASON);
  if (/^\d{15}$/.test(idNumber)) return problem('old_15_digit', OLD_15_DIGIT_REASON);
  if (idNumber.length !== 18) return problem('length', `身份证号应为18位，实际为${idNumber.length}位`);
  if (!/^\d{17}[\dX]$/.test(idNumber)) return problem('format', '身份证号前17位必须是数字，最后一位是数字或X');

  const birthDate = `${idNumber.slice(6, 10)}-${idNumber.slice(10, 12)}-${idNumber.slice(12, 14)}`;
  if (!isCalendarDate(birthDate)) return problem('birth_date_invalid', `号码中的出生日期 ${birthDate} 不是有效日期`);
  if (birthDate < EARLIEST_BIRTH_DATE) return problem('birth_date_too_early', `号码中的出生日期 ${birthDate} 早于1900年`);
  if (birthDate > options.today) return problem('birth_date_future', `号码中的出生日期 ${birthDate} 晚于今天`);

  // The expected character is not shown. A user who reads "should be 3" may change the
  // last character when the typo is elsewhere, and so load a wrong number that passes.
  if (computeCheckCharacter(idNumber.slice(0, 17)) !== idNumber[17]) {
    return problem('check_digit', '校验码不符，号码中有数字填写错误，请对照证件核对');
  }

  const gender: Gender = Number(idNumber[16]) % 2 === 1 ? 'male' : 'female';
  return { ok: true, idNumber, birthDate, gender };
}

function validateNumberCell(value: number): IdNumberResult {
  if (!Number.isInteger(value) || value < 0) return problem('format', '身份证号前17位必须是数字，最后一位是数字或X');

  const digits = value.toFixed(0).length;
  if (digits > MAX_EXACT_EXCEL_DIGITS || !Number.isSafeInteger(value)) return problem('lost_digits', LOST_DIGITS_REASON);
  if (digits === 15) return problem('old_15_digit', OLD_15_DIGIT_REASON);
  return problem('length', `身份证号应为18位，实际为${digits}位`);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True for a real Gregorian date 'YYYY-MM-DD' (29 February only in leap years). */
function isCalendarDate(day: string): boolean {
  const year = Number(day.slice(0, 4));
  const month = Number(day.slice(5, 7));
  const date = Number(day.slice(8, 10));
  if (month < 1 || month > 12 || date < 1) return false;

  const isLeap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 && isLeap ? 29 : DAYS_IN_MONTH[month - 1];
  return date <= days;
}

function problem(code: IdNumberProblem, reason: string): IdNumberResult {
  return { ok: false, code, reason };
}
