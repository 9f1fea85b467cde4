/**
 * The JSON Schema `format`s that request schemas check strings with, and how a validation
 * message explains a rejected value to users. A route that needs a new format (or a
 * `pattern`) adds its explanation here: test/foundation/field-labels.test.ts fails for
 * any route whose pattern or format has none.
 */

/** The example day of a message when the caller gives none. */
const EXAMPLE_DAY = '2026-12-07';

/** Four digits, two and two: the shape of a day, whether or not the day exists. */
const DAY_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Explain why `quoted` (the rejected value, already quoted) fails `format`, or return
 * undefined for a format without an explanation. `date` is a calendar day written
 * YYYY-MM-DD (RFC 3339 full-date, as TypeBox checks it); `today` ('YYYY-MM-DD') is the
 * example.
 */
export function explainFormatProblem(format: string, value: unknown, quoted: string, today = EXAMPLE_DAY): string | undefined {
  if (format !== 'date') return undefined;
  if (typeof value === 'string' && DAY_SHAPE.test(value)) return `${quoted}不是存在的日期，请检查月份和日期，应为 YYYY-MM-DD，例如 ${today}`;
  return `${quoted}格式不正确，应为 YYYY-MM-DD，例如 ${today}`;
}
