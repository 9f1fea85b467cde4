/**
 * The JSON Schema `format`s that request schemas check strings with, and how a validation
 * message explains a rejected value to users. A route that needs a new format (or a
 * `pattern`) adds its explanation here: test/foundation/field-labels.test.ts fails for
 * any route whose pattern or format has none. Fields that take a typed date and time are
 * read with readLocalDateTime, which explains a rejected value the same way.
 */

import { instantOf } from './time.js';

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

/** A day and a 24-hour clock time: 'YYYY-MM-DD HH:mm', with a space or a 'T' between them. */
const DATE_TIME_SHAPE = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})$/;

/** A local date and time read as an instant, or the reason it is not one. */
export type LocalDateTimeReading = { ok: true; instant: number } | { ok: false; problem: string };

/** Return whether 'YYYY-MM-DD' names a day that exists (2026-02-30 does not). */
function dayExists(day: string): boolean {
  const date = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day;
}

/**
 * Read `text` as 'YYYY-MM-DD HH:mm' in Beijing time (UTC+8). A value of the wrong shape, a
 * day that does not exist or a time past 23:59 yields a problem that quotes the value
 * (`quoted`, already quoted) and shows the expected form with `today` as the example day.
 */
export function readLocalDateTime(text: string, quoted: string, today = EXAMPLE_DAY): LocalDateTimeReading {
  const expected = `应为 YYYY-MM-DD HH:mm（北京时间），例如 ${today} 07:30`;
  const match = DATE_TIME_SHAPE.exec(text.trim());
  if (!match) return { ok: false, problem: `${quoted}格式不正确，${expected}` };

  const [, day, hours, minutes] = match;
  if (!dayExists(day)) return { ok: false, problem: `${quoted}中的日期 ${day} 不存在，请检查月份和日期，${expected}` };
  if (Number(hours) > 23 || Number(minutes) > 59) {
    return { ok: false, problem: `${quoted}中的时间 ${hours}:${minutes} 不存在，小时应为 00 到 23，分钟应为 00 到 59，${expected}` };
  }
  return { ok: true, instant: instantOf(day, `${hours}:${minutes}`) };
}
