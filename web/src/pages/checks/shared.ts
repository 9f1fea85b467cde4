import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc';

dayjs.extend(utc);

/** Today's school day in Asia/Shanghai (UTC+8, no daylight saving), 'YYYY-MM-DD'. */
export function shanghaiToday(): string {
  return dayjs().utc().add(8, 'hour').format('YYYY-MM-DD');
}

/** 'HH:mm' in Asia/Shanghai of an instant. */
export function shanghaiClock(ms: number): string {
  return dayjs(ms).utc().add(8, 'hour').format('HH:mm');
}

/** 'MM-DD HH:mm' in Asia/Shanghai of an instant. */
export function shanghaiDateTime(ms: number): string {
  return dayjs(ms).utc().add(8, 'hour').format('MM-DD HH:mm');
}

export interface SymptomOption {
  code: string;
  label: string;
}

export interface CheckOptions {
  absenceReasons: Array<{ code: string; label: string }>;
  contactResults: Array<{ code: string; label: string }>;
  diagnoses: Array<{ code: string; name: string; category: string }>;
  temperatureRange: { min: number; max: number };
}

export interface IllnessCase {
  personId: string;
  name: string;
  day: string;
  symptoms: string[];
  diagnosis: string | null;
  diagnosisName?: string | null;
  absent: boolean;
}

export interface ClusterAlert {
  id: string;
  schoolCode: string;
  schoolName: string;
  className: string;
  rule: 'same_day' | 'school_days';
  ruleText: string;
  windowStart: string;
  windowEnd: string;
  caseCount: number;
  signs: Array<{ kind: 'symptom' | 'diagnosis'; code: string; label: string; count: number }>;
  cases: IllnessCase[];
  status: 'open' | 'acknowledged' | 'closed';
  createdAt: number;
}

export interface FollowUp {
  id: string;
  classId: string;
  className: string;
  personId: string;
  name: string;
  status: 'open' | 'closed' | 'cancelled';
  absenceBeganOn: string;
  daysSinceStart: number;
  symptoms: string[];
  sawDoctor: boolean | null;
  diagnosis: string | null;
  diagnosisNote: string | null;
  expectedReturnOn: string | null;
  certificate: { issuedOn: string; issuer: string | null } | null;
  contacts: Array<{ id: string; contactedAt: number; result: string; note: string | null; recordedByName: string }>;
}

/** Labels of the default symptom codes, for lists that span schools; a school may rename its own. */
export const DEFAULT_SYMPTOM_LABELS: Record<string, string> = {
  fever: '发热',
  cough: '咳嗽',
  sore_throat: '咽痛',
  vomiting: '呕吐',
  diarrhoea: '腹泻',
  rash: '皮疹',
  conjunctivitis: '结膜红肿',
  other: '其他',
};
