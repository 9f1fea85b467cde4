import type { ClusterRule } from '../../db/schema.js';
import { OTHER_SYMPTOM } from './check-settings.js';
import { OTHER_DIAGNOSIS } from './notifiable-diseases.js';

/**
 * The cluster rule (聚集性预警). In one class, a case is a pupil on a school day who was
 * absent for illness or present with symptoms. Cases are similar when they share a sign:
 * a symptom, or the same diagnosis. The rule fires when one sign is shared by at least
 * `sameDayThreshold` pupils on one school day, or by at least `windowThreshold` pupils
 * within the last `windowSchoolDays` school days. 'other' (其他) as a symptom or
 * diagnosis is no shared sign, because two "other" complaints need not be alike. Pure: no
 * IO and no clock.
 */

export interface IllnessCase {
  personId: string;
  name: string;
  /** School day, 'YYYY-MM-DD'. */
  day: string;
  symptoms: string[];
  diagnosis: string | null;
  absent: boolean;
}

export interface ClusterSign {
  kind: 'symptom' | 'diagnosis';
  code: string;
  /** Distinct pupils that share the sign in the window. */
  count: number;
}

export interface ClusterFinding {
  rule: ClusterRule;
  threshold: number;
  windowStart: string;
  windowEnd: string;
  /** Signs shared by at least `threshold` pupils, most shared first. */
  signs: ClusterSign[];
  /** The cases behind those signs, one per pupil and day. */
  cases: IllnessCase[];
  /** Distinct pupils among the cases. */
  pupilCount: number;
}

export interface ClusterThresholds {
  sameDayThreshold: number;
  windowThreshold: number;
}

/**
 * Evaluate both rules for one class on `day`. `windowDays` are the school days of the
 * multi-day window ending on `day`, oldest first; `cases` may include other days, which
 * are ignored. Returns one finding per rule that fires.
 */
export function evaluateClusters(day: string, windowDays: string[], cases: IllnessCase[], thresholds: ClusterThresholds): ClusterFinding[] {
  const findings: ClusterFinding[] = [];
  const sameDay = findShared(cases.filter((c) => c.day === day), thresholds.sameDayThreshold);
  if (sameDay) findings.push({ rule: 'same_day', threshold: thresholds.sameDayThreshold, windowStart: day, windowEnd: day, ...sameDay });

  const inWindow = new Set(windowDays);
  if (windowDays.length > 0 && inWindow.has(day)) {
    const windowed = findShared(cases.filter((c) => inWindow.has(c.day)), thresholds.windowThreshold);
    if (windowed) findings.push({ rule: 'school_days', threshold: thresholds.windowThreshold, windowStart: windowDays[0]!, windowEnd: day, ...windowed });
  }
  return findings;
}

/** Signs shared by at least `threshold` distinct pupils, and the cases that carry them; undefined when none. */
function findShared(cases: IllnessCase[], threshold: number): Pick<ClusterFinding, 'signs' | 'cases' | 'pupilCount'> | undefined {
  const pupilsBySign = new Map<string, Set<string>>();
  for (const item of cases) {
    for (const sign of signsOf(item)) {
      let pupils = pupilsBySign.get(sign);
      if (!pupils) pupilsBySign.set(sign, (pupils = new Set()));
      pupils.add(item.personId);
    }
  }

  const shared = [...pupilsBySign.entries()].filter(([, pupils]) => pupils.size >= threshold);
  if (shared.length === 0) return undefined;
  shared.sort((a, b) => b[1].size - a[1].size || a[0].localeCompare(b[0]));
  const sharedKeys = new Set(shared.map(([key]) => key));
  const matching = cases.filter((item) => signsOf(item).some((sign) => sharedKeys.has(sign)));
  matching.sort((a, b) => a.day.localeCompare(b.day) || a.name.localeCompare(b.name, 'zh-CN'));

  return {
    signs: shared.map(([key, pupils]) => {
      const [kind, code] = key.split(':') as ['symptom' | 'diagnosis', string];
      return { kind, code, count: pupils.size };
    }),
    cases: matching,
    pupilCount: new Set(matching.map((c) => c.personId)).size,
  };
}

function signsOf(item: IllnessCase): string[] {
  const signs = item.symptoms.filter((code) => code !== OTHER_SYMPTOM).map((code) => `symptom:${code}`);
  if (item.diagnosis && item.diagnosis !== OTHER_DIAGNOSIS) signs.push(`diagnosis:${item.diagnosis}`);
  return signs;
}
