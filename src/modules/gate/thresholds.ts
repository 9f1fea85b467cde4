import { AppError } from '../../shared/errors.js';
import { CODE_STALE_HOURS_RANGE } from '../people/school-settings.js';
import type { GateSettings } from './gate-settings.js';

/**
 * The gate thresholds a school admin edits on the console: fever and sensor range,
 * what to do with a stale green code or a missing temperature, the stale age of codes,
 * snapshot retention and device silence. Pure rules; the service stores them. Each
 * bound lies within the one readGateSettings applies, so a saved value is never dropped
 * there. The fever threshold is narrower here (FEVER_THRESHOLD_RANGE) than there (35-42 ℃),
 * so a value saved before the range was narrowed keeps working until the next save.
 */
export interface GateThresholds {
  feverThresholdC: number;
  sensorMinC: number;
  sensorMaxC: number;
  staleGreenCode: GateSettings['staleGreenCode'];
  missingTemperature: GateSettings['missingTemperature'];
  /** Null: the installation's stale age (FANGKONG_CODE_STALE_MINUTES). */
  codeStaleHours: number | null;
  snapshotRetentionDays: number;
  deviceOfflineMinutes: number;
}

export type ThresholdField = keyof GateThresholds;

/** Field names as the console labels them; error messages name fields this way. */
export const THRESHOLD_LABELS: Record<ThresholdField, string> = {
  feverThresholdC: '发热阈值',
  sensorMinC: '测温下限',
  sensorMaxC: '测温上限',
  staleGreenCode: '过期绿码处理',
  missingTemperature: '未测体温处理',
  codeStaleHours: '健康码过期时长',
  snapshotRetentionDays: '抓拍图保留天数',
  deviceOfflineMinutes: '设备离线判定',
};

/**
 * Fever thresholds a school may set, in ℃. Below 37.0 a normal reading (often 36.5-37.0)
 * would be stopped as a fever. Above 38.5 a clear fever would pass the gate. The default
 * 37.3 is the usual screening cut-off.
 */
export const FEVER_THRESHOLD_RANGE = { min: 37, max: 38.5 } as const;

interface NumberRule {
  min: number;
  max: number;
  unit: string;
  /** Decimal places allowed: 0 for whole numbers. */
  decimals: number;
  /** Reason for the range, appended to an out-of-range message. */
  reason?: string;
}

const NUMBER_RULES: Record<Exclude<ThresholdField, 'staleGreenCode' | 'missingTemperature'>, NumberRule> = {
  feverThresholdC: {
    ...FEVER_THRESHOLD_RANGE,
    unit: '℃',
    decimals: 1,
    reason: `低于 ${FEVER_THRESHOLD_RANGE.min.toFixed(1)} ℃ 会把体温正常的人判为发热，高于 ${FEVER_THRESHOLD_RANGE.max} ℃ 会放行发热的人`,
  },
  sensorMinC: { min: 0, max: 40, unit: '℃', decimals: 1 },
  sensorMaxC: { min: 38, max: 60, unit: '℃', decimals: 1 },
  codeStaleHours: { min: CODE_STALE_HOURS_RANGE.min, max: CODE_STALE_HOURS_RANGE.max, unit: '小时', decimals: 0 },
  snapshotRetentionDays: { min: 1, max: 365, unit: '天', decimals: 0 },
  deviceOfflineMinutes: { min: 1, max: 24 * 60, unit: '分钟', decimals: 0 },
};

const ACTIONS: ReadonlyArray<GateSettings['staleGreenCode']> = ['allow_and_flag', 'deny'];
const ACTION_LABELS: Record<GateSettings['staleGreenCode'], string> = { allow_and_flag: '放行并标记', deny: '拦截' };

/** One rejected field of an update, for the console to show beside that field. */
export interface ThresholdProblem {
  field: string;
  message: string;
}

function checkNumber(field: keyof typeof NUMBER_RULES, value: unknown): string | undefined {
  const rule = NUMBER_RULES[field];
  const label = THRESHOLD_LABELS[field];
  const range = `${rule.min} 到 ${rule.max} ${rule.unit}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${label}“${String(value)}”不是数字，应为 ${range}`;
  // A symbol unit keeps a space before the Chinese that follows, as in "42 ℃ 超出范围". A word unit such as 小时 needs none.
  const unitText = rule.unit === '℃' ? `${rule.unit} ` : rule.unit;
  if (value < rule.min || value > rule.max) return `${label} ${value} ${unitText}超出范围，应为 ${range}${rule.reason ? `（${rule.reason}）` : ''}`;
  const scaled = value * 10 ** rule.decimals;
  if (Math.abs(scaled - Math.round(scaled)) > 1e-9) {
    return rule.decimals === 0 ? `${label} ${value} 应为整数（${range}）` : `${label} ${value} 最多保留 ${rule.decimals} 位小数`;
  }
  return undefined;
}

/**
 * Apply a partial update to the current thresholds and return the result. Every problem
 * is collected, so one reply names all bad fields. An unknown field, a value of the wrong
 * type or range, or a sensor range that does not contain the fever threshold raises
 * VALIDATION with the problems in `details`.
 */
export function applyThresholdUpdate(current: GateThresholds, input: unknown): GateThresholds {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new AppError('VALIDATION', { detail: '请求体应为 JSON 对象，例如 {"feverThresholdC": 37.3}' });
  }
  const problems: ThresholdProblem[] = [];
  const next: GateThresholds = { ...current };

  for (const [field, value] of Object.entries(input as Record<string, unknown>)) {
    if (!(field in THRESHOLD_LABELS)) {
      problems.push({ field, message: `不能修改字段“${field}”，可修改：${Object.values(THRESHOLD_LABELS).join('、')}` });
      continue;
    }
    if (field === 'staleGreenCode' || field === 'missingTemperature') {
      if (!ACTIONS.includes(value as GateSettings['staleGreenCode'])) {
        const choices = ACTIONS.map((a) => `${a}（${ACTION_LABELS[a]}）`).join('、');
        problems.push({ field, message: `${THRESHOLD_LABELS[field]}“${String(value)}”无效，可选：${choices}` });
      } else {
        next[field] = value as GateSettings['staleGreenCode'];
      }
      continue;
    }
    if (field === 'codeStaleHours' && value === null) {
      next.codeStaleHours = null;
      continue;
    }
    const numberField = field as keyof typeof NUMBER_RULES;
    const problem = checkNumber(numberField, value);
    if (problem) problems.push({ field, message: problem });
    else (next as unknown as Record<string, number>)[numberField] = value as number;
  }

  if (problems.length === 0 && !(next.sensorMinC < next.feverThresholdC && next.feverThresholdC < next.sensorMaxC)) {
    problems.push({
      field: 'feverThresholdC',
      message: `发热阈值 ${next.feverThresholdC} ℃ 应高于测温下限 ${next.sensorMinC} ℃ 且低于测温上限 ${next.sensorMaxC} ℃`,
    });
  }
  if (problems.length > 0) {
    throw new AppError('VALIDATION', { detail: problems.map((p) => p.message).join('；') }, { problems });
  }
  return next;
}

/** List the fields whose value differs between two sets of thresholds, with both values. */
export function thresholdChanges(before: GateThresholds, after: GateThresholds): Partial<Record<ThresholdField, { from: unknown; to: unknown }>> {
  const changes: Partial<Record<ThresholdField, { from: unknown; to: unknown }>> = {};
  for (const field of Object.keys(THRESHOLD_LABELS) as ThresholdField[]) {
    if (before[field] !== after[field]) changes[field] = { from: before[field], to: after[field] };
  }
  return changes;
}
