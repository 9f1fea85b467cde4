import { Cron } from 'croner';
import { AppError } from '../../shared/errors.js';
import { TIME_ZONE, parseClock, minuteOfDay, schoolDay } from '../../shared/time.js';
import { SYNC_PRESETS, type SchoolSettings } from '../people/school-settings.js';
import { stayHomeWindow } from './code-change.js';

/**
 * Rules of a school's sync schedule: cron expressions (5 fields, Asia/Shanghai) for full
 * syncs, polling during school hours, and the day a scheduled run serves. No IO; croner
 * only parses. Whether that day has school is the school calendar's decision.
 */

/** Parse a cron expression or throw INVALID_CRON naming it and, in Chinese, the field at fault. */
export function validateCron(expression: string): string {
  const trimmed = expression.trim().replace(/\s+/g, ' ');
  if (trimmed.split(' ').length !== 5) {
    throw new AppError('INVALID_CRON', { cron: expression, reason: `应为 5 段，实际为 ${trimmed ? trimmed.split(' ').length : 0} 段` });
  }
  if (!parsesAsCron(trimmed)) {
    throw new AppError('INVALID_CRON', { cron: expression, reason: describeCronFault(trimmed.split(' ')) });
  }
  return trimmed;
}

function parsesAsCron(expression: string): boolean {
  try {
    new Cron(expression, { timezone: TIME_ZONE, paused: true, mode: '5-part' });
    return true;
  } catch {
    return false;
  }
}

/** The five fields of a cron expression, in order, with the numbers each accepts. */
const CRON_FIELDS = [
  { label: '分钟', min: 0, max: 59 },
  { label: '小时', min: 0, max: 23 },
  { label: '日', min: 1, max: 31 },
  { label: '月', min: 1, max: 12 },
  { label: '星期', min: 0, max: 7 },
] as const;

/**
 * Name, in Chinese, the first field of a 5-field cron expression that croner rejects and
 * why. croner's own messages are English, so each field is tried alone in "* * * * *",
 * and the reason comes from the field's text.
 */
function describeCronFault(fields: string[]): string {
  for (const [index, field] of fields.entries()) {
    const fieldAlone = CRON_FIELDS.map((_, i) => (i === index ? field : '*')).join(' ');
    if (parsesAsCron(fieldAlone)) continue;

    const { label, min, max } = CRON_FIELDS[index];
    const name = `第 ${index + 1} 段（${label}）`;
    for (const item of field.split(',')) {
      const [values, step] = item.split('/');
      if (step !== undefined && /^\d+$/.test(step) && Number(step) === 0) return `${name}的步长“${item}”不能为 0`;
      const outside = (values.match(/\d+/g) ?? []).map(Number).find((value) => value < min || value > max);
      if (outside !== undefined) return `${name}的 ${outside} 超出范围，应在 ${min} 到 ${max} 之间`;
      const range = /^(\d+)-(\d+)$/.exec(values);
      if (range && Number(range[1]) > Number(range[2])) return `${name}的范围“${values}”起点大于终点：请把较小的数写在前面，如 ${range[2]}-${range[1]}`;
    }
    return `${name}“${field}”写法无效，可写 ${min}–${max} 的数字、*、范围（如 1-5）、列表（如 1,3,5）或步长（如 */15）`;
  }
  return '各段单独有效，但组合起来无法解析';
}

/** Return the cron list of a preset, or throw UNKNOWN_SYNC_PRESET listing the choices. */
export function presetCrons(preset: string): string[] {
  const crons = SYNC_PRESETS[preset];
  if (!crons) throw new AppError('UNKNOWN_SYNC_PRESET', { preset, choices: Object.keys(SYNC_PRESETS).join('、') });
  return [...crons];
}

/** Find the preset whose crons equal these, if any. */
export function matchingPreset(crons: string[]): string | null {
  const key = [...crons].sort().join('|');
  for (const [name, presetList] of Object.entries(SYNC_PRESETS)) {
    if ([...presetList].sort().join('|') === key) return name;
  }
  return null;
}

/** Compute the next `count` instants (epoch ms) of the crons after `from`, merged and sorted. */
export function nextRuns(crons: string[], from: number, count: number): number[] {
  const instants: number[] = [];
  for (const expression of crons) {
    const job = new Cron(expression, { timezone: TIME_ZONE, paused: true, mode: '5-part' });
    for (const date of job.nextRuns(count, new Date(from))) instants.push(date.getTime());
  }
  return [...new Set(instants)].sort((a, b) => a - b).slice(0, count);
}

/** Find the latest instant at or before `at` when the cron fired, if within `lookbackMs`. */
export function previousRun(expression: string, at: number, lookbackMs: number): number | undefined {
  const job = new Cron(expression, { timezone: TIME_ZONE, paused: true, mode: '5-part' });
  const next = job.nextRun(new Date(at - lookbackMs));
  if (!next) return undefined;
  let latest: number | undefined;
  let cursor: Date | null = next;
  while (cursor && cursor.getTime() <= at) {
    latest = cursor.getTime();
    cursor = job.nextRun(cursor);
  }
  return latest;
}

/**
 * True when a school's polling fires at this minute: polling enabled, inside from..to
 * (both included) and a whole number of steps after `from`. The school calendar decides
 * separately whether the day has polling at all (see syncServesDay).
 */
export function isPollDue(polling: SchoolSettings['polling'], instant: number): boolean {
  if (!polling.enabled || polling.everyMinutes < 1) return false;
  const from = parseClock(polling.from);
  const to = parseClock(polling.to);
  if (from === undefined || to === undefined) return false;
  const minute = minuteOfDay(instant);
  return minute >= from && minute <= to && (minute - from) % polling.everyMinutes === 0;
}

/**
 * Return the day ('YYYY-MM-DD') whose school a scheduled sync at `instant` prepares for.
 * Inside the evening part of the stay-home window (from 18:00 by default) that is the next
 * day, so Sunday 21:00 serves Monday and Friday 21:00 serves Saturday. Any other run
 * serves its own day.
 */
export function syncServesDay(instant: number, settings: Pick<SchoolSettings, 'stayHomeNoticeFrom' | 'stayHomeNoticeUntil'>): string {
  return stayHomeWindow(instant, settings)?.targetDay ?? schoolDay(instant);
}

/** Return the time ('HH:MM') from which a scheduled run serves the next day, or null when no run does. */
export function nextDayFrom(settings: Pick<SchoolSettings, 'stayHomeNoticeFrom' | 'stayHomeNoticeUntil'>): string | null {
  // The same defaults as stayHomeWindow, for settings that do not parse.
  const from = parseClock(settings.stayHomeNoticeFrom);
  const until = parseClock(settings.stayHomeNoticeUntil) ?? 8 * 60;
  if ((from ?? 18 * 60) <= until) return null;
  return from === undefined ? '18:00' : settings.stayHomeNoticeFrom;
}
