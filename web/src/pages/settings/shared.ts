import type { FormInstance } from 'antd';
import { ApiError } from '../../api/client';

/** One field the server rejected, from `details.problems` of a VALIDATION error. */
interface FieldProblem {
  field: string;
  message: string;
}

/**
 * Show the server's field errors beside their form fields. Returns true when it marked at
 * least one field.
 */
export function showFieldProblems(form: FormInstance, error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  const problems = (error.details as { problems?: FieldProblem[] } | undefined)?.problems ?? [];
  const known = new Set(Object.keys(form.getFieldsValue(true) as Record<string, unknown>));
  const fields = problems.filter((p) => known.has(p.field)).map((p) => ({ name: p.field, errors: [p.message] }));
  form.setFields(fields);
  return fields.length > 0;
}

/** GET /api/schools/:code/gate-settings. */
export interface GateThresholdsReply {
  thresholds: {
    feverThresholdC: number;
    sensorMinC: number;
    sensorMaxC: number;
    staleGreenCode: 'allow_and_flag' | 'deny';
    missingTemperature: 'allow_and_flag' | 'deny';
    codeStaleHours: number | null;
    snapshotRetentionDays: number;
    deviceOfflineMinutes: number;
  };
  installation: { codeStaleHours: number; venueCheckinRetentionDays: number };
}

export const gateSettingsKey = (schoolCode: string) => ['gate-settings', schoolCode];
export const gateSettingsUrl = (schoolCode: string) => `/api/schools/${encodeURIComponent(schoolCode)}/gate-settings`;
