import dayjs, { type Dayjs } from 'dayjs';
import timezone from 'dayjs/plugin/timezone';
import utc from 'dayjs/plugin/utc';

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

/** Gate reason codes as the lane screen and the console name them. */
export const GATE_REASONS: Record<string, string> = {
  ok: '正常通行',
  fever: '体温异常',
  sensor_error: '测温异常',
  no_temperature: '未测体温',
  code_red: '红码',
  code_yellow: '黄码',
  code_unknown: '无健康码记录',
  code_stale: '健康码过期',
  unknown_person: '未识别身份',
  weak_match: '人脸匹配度低',
  return_certificate_missing: '未登记复课证明',
};

export const GATE_METHODS: Record<string, string> = { face: '人脸', card: '刷卡', id_number: '身份证号', manual: '人工核验', fingerprint: '指纹' };

export function formatTemperature(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${value.toFixed(1)}℃`;
}
