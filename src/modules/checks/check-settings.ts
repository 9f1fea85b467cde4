import { parseClock } from '../../shared/time.js';

export { isCalendarDay } from '../calendar/calendar-rules.js';

/**
 * The checks' part of a school's settings, stored under the `checks` key of the school's
 * settings JSON. Every field has a default, so a school that never set one works.
 */
export interface CheckSettings {
  /** Symptoms a head teacher can mark, in screen order; codes are stored, labels shown. */
  symptoms: SymptomOption[];
  /** When head teachers are reminded of unknown-reason absences, 'HH:MM' in Asia/Shanghai. */
  unknownAbsenceReminderAt: string;
  /** Entries or corrections after these times ('HH:MM') of the check's day, or on a later day, are late. */
  morningDueAt: string;
  noonDueAt: string;
  /** Cases in one class on one school day that raise a cluster alert. */
  clusterSameDayThreshold: number;
  /** Cases in one class within `clusterWindowSchoolDays` school days that raise a cluster alert. */
  clusterWindowThreshold: number;
  clusterWindowSchoolDays: number;
}

export interface SymptomOption {
  code: string;
  label: string;
}

/** The symptom a school cannot remove: 'other' stays so that any complaint can be marked. */
export const OTHER_SYMPTOM = 'other';

export const DEFAULT_SYMPTOMS: SymptomOption[] = [
  { code: 'fever', label: '发热' },
  { code: 'cough', label: '咳嗽' },
  { code: 'sore_throat', label: '咽痛' },
  { code: 'vomiting', label: '呕吐' },
  { code: 'diarrhoea', label: '腹泻' },
  { code: 'rash', label: '皮疹' },
  { code: 'conjunctivitis', label: '结膜红肿' },
  { code: OTHER_SYMPTOM, label: '其他' },
];

export const DEFAULT_CHECK_SETTINGS: CheckSettings = {
  symptoms: DEFAULT_SYMPTOMS,
  unknownAbsenceReminderAt: '09:00',
  morningDueAt: '10:00',
  noonDueAt: '14:30',
  clusterSameDayThreshold: 3,
  clusterWindowThreshold: 5,
  clusterWindowSchoolDays: 3,
};

/**
 * Read the check settings from a school's parsed settings object. A field of the wrong
 * type falls back to its default, so one bad value cannot stop the checks.
 */
export function readCheckSettings(schoolSettings: unknown): CheckSettings {
  const stored = (schoolSettings as { checks?: unknown } | null)?.checks;
  const d = DEFAULT_CHECK_SETTINGS;
  if (!stored || typeof stored !== 'object') return { ...d, symptoms: [...d.symptoms] };
  const raw = stored as Record<string, unknown>;

  return {
    symptoms: readSymptoms(raw.symptoms),
    unknownAbsenceReminderAt: clockOr(raw.unknownAbsenceReminderAt, d.unknownAbsenceReminderAt),
    morningDueAt: clockOr(raw.morningDueAt, d.morningDueAt),
    noonDueAt: clockOr(raw.noonDueAt, d.noonDueAt),
    clusterSameDayThreshold: integerIn(raw.clusterSameDayThreshold, 2, 50, d.clusterSameDayThreshold),
    clusterWindowThreshold: integerIn(raw.clusterWindowThreshold, 2, 100, d.clusterWindowThreshold),
    clusterWindowSchoolDays: integerIn(raw.clusterWindowSchoolDays, 2, 10, d.clusterWindowSchoolDays),
  };
}

/**
 * Check settings sent by a school admin and return them normalised, or the list of
 * problems in Chinese, each naming the field and the value.
 */
export function validateCheckSettings(input: CheckSettings): { settings: CheckSettings; problems: string[] } {
  const problems: string[] = [];
  const codes = new Set<string>();
  const symptoms: SymptomOption[] = [];
  for (const option of input.symptoms) {
    const code = option.code.trim();
    const label = option.label.trim();
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(code)) problems.push(`症状代码“${code}”无效：只能用小写字母、数字和下划线，以字母开头，最多 32 个字符`);
    else if (codes.has(code)) problems.push(`症状代码“${code}”重复`);
    if (!label || label.length > 20) problems.push(`症状“${code}”的名称“${label}”无效：请填写 1-20 个字`);
    codes.add(code);
    symptoms.push({ code, label });
  }
  if (!codes.has(OTHER_SYMPTOM)) symptoms.push({ code: OTHER_SYMPTOM, label: '其他' });

  for (const [field, label] of [
    ['unknownAbsenceReminderAt', '原因不明缺勤提醒时间'],
    ['morningDueAt', '晨检截止时间'],
    ['noonDueAt', '午检截止时间'],
  ] as const) {
    if (parseClock(input[field]) === undefined) problems.push(`${label}“${input[field]}”无效，请写 HH:MM，例如 09:00`);
  }
  const ranges = [
    ['clusterSameDayThreshold', '单日聚集人数阈值', 2, 50],
    ['clusterWindowThreshold', '多日聚集人数阈值', 2, 100],
    ['clusterWindowSchoolDays', '多日聚集统计天数', 2, 10],
  ] as const;
  for (const [field, label, min, max] of ranges) {
    const value = input[field];
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`${label}“${value}”无效，请填写 ${min}-${max} 的整数`);
  }
  const settings: CheckSettings = {
    symptoms,
    unknownAbsenceReminderAt: input.unknownAbsenceReminderAt,
    morningDueAt: input.morningDueAt,
    noonDueAt: input.noonDueAt,
    clusterSameDayThreshold: input.clusterSameDayThreshold,
    clusterWindowThreshold: input.clusterWindowThreshold,
    clusterWindowSchoolDays: input.clusterWindowSchoolDays,
  };
  return { settings, problems };
}

function readSymptoms(value: unknown): SymptomOption[] {
  if (!Array.isArray(value)) return [...DEFAULT_SYMPTOMS];
  const options = value.filter(
    (item): item is SymptomOption => !!item && typeof item === 'object' && typeof (item as SymptomOption).code === 'string' && typeof (item as SymptomOption).label === 'string',
  );
  if (options.length === 0) return [...DEFAULT_SYMPTOMS];
  if (!options.some((o) => o.code === OTHER_SYMPTOM)) options.push({ code: OTHER_SYMPTOM, label: '其他' });
  return options;
}

function clockOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && parseClock(value) !== undefined ? value : fallback;
}

function integerIn(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : fallback;
}
