import { AppError } from '../../shared/errors.js';
import { parseClock } from '../../shared/time.js';

/**
 * The report's part of a school's settings, stored under the `reports` key of the
 * school's settings JSON, and the district's default deadline.
 */
export interface SchoolReportSettings {
  /** When the day's report is built by itself, 'HH:MM' in Asia/Shanghai. */
  buildAt: string;
}

export const DEFAULT_SCHOOL_REPORT_SETTINGS: SchoolReportSettings = { buildAt: '16:30' };

/** Submitted reports after this time of the day, 'HH:MM' in Asia/Shanghai, count as late. */
export const DEFAULT_DEADLINE = '17:30';

/** Read the report settings from a school's parsed settings; a malformed value falls back to its default. */
export function readSchoolReportSettings(schoolSettings: unknown): SchoolReportSettings {
  const stored = (schoolSettings as { reports?: unknown } | null)?.reports;
  if (!stored || typeof stored !== 'object') return { ...DEFAULT_SCHOOL_REPORT_SETTINGS };
  const buildAt = (stored as Record<string, unknown>).buildAt;
  return { buildAt: typeof buildAt === 'string' && parseClock(buildAt) !== undefined ? buildAt : DEFAULT_SCHOOL_REPORT_SETTINGS.buildAt };
}

/** Validate a build time typed by an admin and return it as HH:MM. */
export function parseBuildAt(text: string): string {
  const minutes = parseClock(text);
  if (minutes === undefined) throw new AppError('VALIDATION', { detail: `日报生成时间“${text}”无效，请按 HH:MM 填写（北京时间），例如 16:30` });
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
