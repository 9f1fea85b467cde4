import { AppError } from '../../shared/errors.js';

/**
 * Rules for the text fields people type when registering a venue: a bus line, a licence
 * plate and, for the duplicate check, an address. Pure functions, shared by the service,
 * the tracing query and the pages. The migration that normalised stored lines keeps its
 * own copy of the line rule.
 */

/** Replace full-width ASCII forms (U+FF01-U+FF5E) and the ideographic space with their half-width forms. */
export function toHalfWidth(text: string): string {
  return text.replace(/[\uff01-\uff5e]/g, (char) => String.fromCharCode(char.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, ' ');
}

/**
 * Reduce a bus line to its stored form, so "K101路", "ｋ101" and " K101 " are one line:
 * half-width, without whitespace, without one trailing 路 or 线, Latin letters upper case.
 * Pages add 路 back when they show it (busLineLabel). Returns '' when nothing is left.
 */
export function normalizeBusLine(text: string): string {
  return toHalfWidth(text)
    .replace(/\s+/g, '')
    .replace(/[路线]$/, '')
    .replace(/[a-z]/g, (letter) => letter.toUpperCase());
}

/** Format a stored line as people write it: "K101" becomes "K101路". */
export function busLineLabel(line: string): string {
  return `${line}路`;
}

/** One-character abbreviations of the 31 provinces, regions and municipalities that open a mainland plate. */
const PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';
const PLATE_SEPARATORS = /[ ·.-]+/g;
/** Province, the issuing office's letter, then 5 characters (6 on a new-energy plate). */
const PLATE = new RegExp(`^[${PROVINCES}][A-Z][A-Z0-9]{5,6}$`);
export const PLATE_EXAMPLE = '浙A·10101';

/**
 * Check a bus plate and return the form to store: half-width, Latin letters upper case,
 * separators (middle dot, dot, dash, spaces) kept where they were typed. Throws
 * VALIDATION naming the value and an example when it is not a mainland licence plate.
 */
export function checkBusPlate(text: string): string {
  const plate = toHalfWidth(text)
    .trim()
    .replace(/[a-z]/g, (letter) => letter.toUpperCase());
  if (!PLATE.test(plate.replace(PLATE_SEPARATORS, ''))) {
    throw new AppError('VALIDATION', {
      detail: `车牌号“${text.trim()}”格式不对，应为省份简称、一个字母，再加 5 位字母或数字（新能源车 6 位），例如 ${PLATE_EXAMPLE}`,
    });
  }
  return plate;
}

/**
 * Reduce an address to the form compared for duplicate venues: half-width, without
 * whitespace, so "城东路 18 号" and "城东路１８号" are one address. It is not what is
 * stored. A district written before the street ("示范区城东路18号") still makes another
 * address, because telling a district prefix from a street name needs a gazetteer.
 */
export function addressKey(address: string): string {
  return toHalfWidth(address).replace(/\s+/g, '');
}
