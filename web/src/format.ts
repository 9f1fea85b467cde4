import dayjs, { type Dayjs } from 'dayjs';
import timezone from 'dayjs/plugin/timezone';
import utc from 'dayjs/plugin/utc';
import type { UserRole } from './auth/session';
import { GATE_REASON_LABELS } from '../../src/modules/gate/reason-labels.js';

/**
 * The zone of every time and day the console shows, whatever the browser's own zone is:
 * schools and the server count days in Asia/Shanghai.
 */
export const TIME_ZONE = 'Asia/Shanghai';

dayjs.extend(utc);
dayjs.extend(timezone);
dayjs.tz.setDefault(TIME_ZONE);

/** Convert an instant (epoch ms, default now) to a dayjs in Asia/Shanghai. Use it instead of dayjs(ms). */
export function shanghai(ms?: number): Dayjs {
  return ms === undefined ? dayjs().tz(TIME_ZONE) : dayjs(ms).tz(TIME_ZONE);
}

/** Today's school day, 'YYYY-MM-DD' in Asia/Shanghai. */
export function todayInShanghai(): string {
  return shanghai().format('YYYY-MM-DD');
}

/** 'YYYY-MM-DD HH:mm' in Asia/Shanghai, or — when there is no instant. */
export function formatDateTime(ms: number | null | undefined): string {
  return ms ? shanghai(ms).format('YYYY-MM-DD HH:mm') : '—';
}

/** 'HH:mm:ss' in Asia/Shanghai, or — when there is no instant. */
export function formatTime(ms: number | null | undefined): string {
  return ms ? shanghai(ms).format('HH:mm:ss') : '—';
}

export const CODE_COLORS: Record<string, { label: string; color: string }> = {
  green: { label: '绿码', color: 'green' },
  yellow: { label: '黄码', color: 'gold' },
  red: { label: '红码', color: 'red' },
  unknown: { label: '未知', color: 'default' },
};

/**
 * List the tags of a person's current code: the colour, and 已过期 when it is stale. A code the
 * bureau never returned (fetchedAt null) is only 未同步, because the server counts it as
 * stale although nothing was fetched that could have expired.
 */
export function codeTagsOf(code: { color: string; isStale: boolean; fetchedAt: number | null }): Array<{ label: string; color: string }> {
  if (code.fetchedAt === null) return [{ label: '未同步', color: 'default' }];
  const color = CODE_COLORS[code.color] ?? CODE_COLORS.unknown;
  return code.isStale ? [color, { label: '已过期', color: 'orange' }] : [color];
}

/** Gate reason codes as the lane screen and the console name them. */
export const GATE_REASONS: Record<string, string> = GATE_REASON_LABELS;

export const GATE_METHODS: Record<string, string> = { face: '人脸', card: '刷卡', id_number: '身份证号', manual: '人工核验', fingerprint: '指纹' };

export function formatTemperature(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${value.toFixed(1)}℃`;
}

/** Plausible body temperatures in ℃ that a person may type: the server's range for visitor and class checks. */
export const BODY_TEMPERATURE_RANGE = { min: 34, max: 43 } as const;

/**
 * A form rule that rejects a typed body temperature outside BODY_TEMPERATURE_RANGE and names
 * the value as typed. Temperature inputs carry no min or max of their own, because antd's
 * InputNumber would clamp 365 to its max on blur and the check would then report a value the user never typed.
 */
export const bodyTemperatureRule = {
  validator: async (_rule: unknown, value: number | null | undefined) => {
    if (value === null || value === undefined) return;
    const { min, max } = BODY_TEMPERATURE_RANGE;
    if (value < min || value > max) throw new Error(`体温 ${value} ℃ 不在 ${min} 到 ${max} ℃ 之间，请重新测量后填写`);
  },
};

/**
 * Account roles as users read them (docs/glossary.md), the server's own map. Every role
 * list, table, filter and form of the console takes its labels from here and keeps the
 * English key as the value.
 */
export { ROLE_LABELS } from '../../src/modules/auth/roles.js';
import { ROLE_LABELS } from '../../src/modules/auth/roles.js';

/** Roles of staff in a school roster (岗位), which also name the recipients of notices. */
export const STAFF_ROLE_LABELS: Record<string, string> = {
  head_teacher: ROLE_LABELS.head_teacher,
  management: '学校管理层',
  school_doctor: ROLE_LABELS.school_doctor,
  guard: ROLE_LABELS.guard,
  teacher: ROLE_LABELS.teacher,
};

/** Name an account or staff role in Chinese; an unknown key is shown as it is. */
export function roleLabel(role: string): string {
  return (ROLE_LABELS as Record<string, string>)[role] ?? STAFF_ROLE_LABELS[role] ?? role;
}

/** Roles that belong to the district rather than to one school; only a district admin grants them. */
export const DISTRICT_ROLES: readonly UserRole[] = ['district_admin', 'task_force'];

/** Build the role options an admin may grant, school roles first, as the server allows them. */
export function grantableRoleOptions(grantor: UserRole): Array<{ value: UserRole; label: string }> {
  const order: UserRole[] = ['school_admin', 'head_teacher', 'teacher', 'school_doctor', 'guard', 'district_admin', 'task_force'];
  const grantable = grantor === 'district_admin' ? order : order.filter((role) => !DISTRICT_ROLES.includes(role));
  return grantable.map((role) => ({ value: role, label: ROLE_LABELS[role] }));
}

/** Venue kinds (场所类型) as users read them, keyed by the API value. */
export const VENUE_KIND_LABELS: Record<string, string> = { bus: '公交车', shop: '商铺', school_gate: '校门', hall: '场馆', other: '其他场所' };

/** Kinds a school admin may register for their own school; a district admin registers every kind. */
const SCHOOL_VENUE_KINDS = ['school_gate', 'hall', 'other'];

/** Build the venue kind options of a form or filter; `role` limits them to the kinds that role may register. */
export function venueKindOptions(role?: UserRole): Array<{ value: string; label: string }> {
  const kinds = role !== undefined && role !== 'district_admin' ? SCHOOL_VENUE_KINDS : Object.keys(VENUE_KIND_LABELS);
  return kinds.map((kind) => ({ value: kind, label: VENUE_KIND_LABELS[kind] }));
}
