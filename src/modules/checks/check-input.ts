import type { AbsenceReason, CheckSession, CheckStatus } from '../../db/schema.js';
import { MAX_BODY_TEMPERATURE_C, MIN_BODY_TEMPERATURE_C } from '../../shared/body-temperature.js';
import { instantOf } from '../../shared/time.js';
import { isCalendarDay, type CheckSettings } from './check-settings.js';

/**
 * Rules for one class's check as the head teacher sends it: which values are plausible,
 * what changed since the stored entry, and whether the entry is late. Pure: no IO.
 */

export { MAX_BODY_TEMPERATURE_C, MIN_BODY_TEMPERATURE_C } from '../../shared/body-temperature.js';

export const SESSION_LABELS: Record<CheckSession, string> = { morning: '晨检', noon: '午检' };
export const ABSENCE_REASON_LABELS: Record<AbsenceReason, string> = { illness: '因病', personal: '事假', unknown: '原因不明' };

/** One pupil's entry as sent. */
export interface CheckEntryInput {
  personId: string;
  status: CheckStatus;
  temperature?: number | null;
  symptoms?: string[];
  absenceReason?: AbsenceReason | null;
  note?: string | null;
}

/** The stored values of an entry, after validation. */
export interface CheckValues {
  status: CheckStatus;
  temperature: number | null;
  symptoms: string[];
  absenceReason: AbsenceReason | null;
  note: string | null;
}

export interface EntryProblem {
  personId: string;
  field: string;
  message: string;
}

/**
 * Reject a check day that is malformed or after today (Asia/Shanghai); returns the Chinese
 * problem or null.
 */
export function dayProblem(day: string, today: string): string | null {
  if (!isCalendarDay(day)) return `日期“${day}”无效，请写 YYYY-MM-DD，例如 ${today}`;
  if (day > today) return `日期“${day}”晚于今天（${today}），不能登记未来日期的晨午检`;
  return null;
}

/**
 * Validate the entries of one class's check. `pupils` maps the class's active pupils by
 * id to their names; an entry for anyone else is a problem. Returns the normalised values
 * of the valid entries and the problems of the others, each naming the field and value.
 */
export function validateEntries(
  entries: CheckEntryInput[],
  pupils: Map<string, string>,
  settings: Pick<CheckSettings, 'symptoms'>,
): { values: Map<string, CheckValues>; problems: EntryProblem[] } {
  const symptomCodes = new Set(settings.symptoms.map((s) => s.code));
  const values = new Map<string, CheckValues>();
  const problems: EntryProblem[] = [];
  const seen = new Set<string>();

  for (const entry of entries) {
    const name = pupils.get(entry.personId);
    const problem = (field: string, message: string) => problems.push({ personId: entry.personId, field, message });
    if (name === undefined) {
      problem('personId', `编号为 ${entry.personId} 的人员不在本班在读名单中（可能已转班或离校），请刷新名单后重试`);
      continue;
    }
    if (seen.has(entry.personId)) {
      problem('personId', `${name} 在本次提交中出现了两次，请只保留一条`);
      continue;
    }
    seen.add(entry.personId);
    const before = problems.length;

    const temperature = entry.temperature ?? null;
    if (temperature !== null && !(Number.isFinite(temperature) && temperature >= MIN_BODY_TEMPERATURE_C && temperature <= MAX_BODY_TEMPERATURE_C)) {
      problem('temperature', `${name} 的体温“${temperature}”不在 ${MIN_BODY_TEMPERATURE_C.toFixed(1)}-${MAX_BODY_TEMPERATURE_C.toFixed(1)} ℃ 之间，请按摄氏度填写，例如 36.5`);
    }
    const symptoms = [...new Set(entry.symptoms ?? [])];
    for (const code of symptoms) {
      if (!symptomCodes.has(code)) problem('symptoms', `${name} 的症状“${code}”不在本校症状列表中，可选：${settings.symptoms.map((s) => `${s.code}（${s.label}）`).join('、')}`);
    }
    const reason = entry.absenceReason ?? null;
    if (entry.status === 'absent' && reason === null) problem('absenceReason', `${name} 缺勤，请选择缺勤原因：因病、事假或原因不明`);
    if (entry.status === 'present' && reason !== null) problem('absenceReason', `${name} 已到校，不能填写缺勤原因“${ABSENCE_REASON_LABELS[reason] ?? reason}”`);
    if (entry.status === 'absent' && temperature !== null) problem('temperature', `${name} 缺勤，不能填写体温“${temperature}”`);
    const note = entry.note?.trim() || null;
    if (note && note.length > 200) problem('note', `${name} 的备注超过 200 个字，请精简`);

    if (problems.length === before) {
      values.set(entry.personId, {
        status: entry.status,
        temperature: temperature === null ? null : Math.round(temperature * 10) / 10,
        symptoms: settings.symptoms.map((s) => s.code).filter((code) => symptoms.includes(code)),
        absenceReason: entry.status === 'absent' ? reason : null,
        note,
      });
    }
  }
  return { values, problems };
}

/** The fields whose values differ, with their old and new values; empty when nothing changed. */
export function changedFields(before: CheckValues, after: CheckValues): { before: Partial<CheckValues>; after: Partial<CheckValues> } {
  const changedBefore: Partial<CheckValues> = {};
  const changedAfter: Partial<CheckValues> = {};
  for (const key of ['status', 'temperature', 'absenceReason', 'note'] as const) {
    if (before[key] !== after[key]) {
      (changedBefore as Record<string, unknown>)[key] = before[key];
      (changedAfter as Record<string, unknown>)[key] = after[key];
    }
  }
  if (before.symptoms.join(',') !== after.symptoms.join(',')) {
    changedBefore.symptoms = before.symptoms;
    changedAfter.symptoms = after.symptoms;
  }
  return { before: changedBefore, after: changedAfter };
}

/** True when an entry made at `at` comes after the session's due time on the check's day. */
export function isLateEntry(day: string, session: CheckSession, at: number, settings: Pick<CheckSettings, 'morningDueAt' | 'noonDueAt'>): boolean {
  return at > instantOf(day, session === 'morning' ? settings.morningDueAt : settings.noonDueAt);
}

/** True when the values mean an illness case: absent for illness, or present with symptoms. */
export function isIllness(values: Pick<CheckValues, 'status' | 'absenceReason' | 'symptoms'>): boolean {
  return (values.status === 'absent' && values.absenceReason === 'illness') || (values.status === 'present' && values.symptoms.length > 0);
}
