import dayjs from 'dayjs';

/** 'YYYY-MM-DD HH:mm' in the browser's zone, which for the console's users is Asia/Shanghai. */
export function formatDateTime(ms: number | null | undefined): string {
  return ms ? dayjs(ms).format('YYYY-MM-DD HH:mm') : '—';
}

export function formatTime(ms: number | null | undefined): string {
  return ms ? dayjs(ms).format('HH:mm:ss') : '—';
}

export const CODE_COLORS: Record<string, { label: string; color: string }> = {
  green: { label: '绿码', color: 'green' },
  yellow: { label: '黄码', color: 'gold' },
  red: { label: '红码', color: 'red' },
  unknown: { label: '未知', color: 'default' },
};
