import { formatDateTime } from '../../format';

/**
 * Chinese names of the keys that audit entries store in `detail`, and of the fields named in
 * `changes` and `fields`. A key missing here is shown as stored.
 */
const DETAIL_LABELS: Record<string, string> = {
  // Gate thresholds (`changes` of gate.settings.update), with the units of the settings form.
  feverThresholdC: '发热阈值（℃）',
  sensorMinC: '测温下限（℃）',
  sensorMaxC: '测温上限（℃）',
  staleGreenCode: '过期的绿码',
  missingTemperature: '未测体温',
  codeStaleHours: '健康码过期时长（小时）',
  snapshotRetentionDays: '抓拍图保留天数',
  deviceOfflineMinutes: '设备离线判定（分钟）',

  changes: '修改',
  fields: '修改的字段',
  count: '条数',
  rows: '行数',
  lines: '行数',
  day: '日期',
  from: '开始',
  to: '结束',
  days: '天数',
  reason: '原因',
  result: '结果',
  decision: '结果',
  kind: '类型',
  format: '格式',
  via: '途径',
  name: '名称',
  className: '班级',
  classId: '班级 ID',
  schoolId: '学校 ID',
  personId: '人员 ID',
  venueId: '场所 ID',
  role: '角色',
  createdClass: '新建班级',
  createClasses: '自动新建班级',
  created: '新增',
  updated: '更新',
  unchanged: '未变',
  rejected: '被拒绝',
  classesCreated: '新建班级数',
  corrected: '更正',
  session: '时段',
  failures: '失败次数',
  lockedUntil: '锁定至',
  endedSessions: '结束的会话数',
  url: '地址',
  previousStatus: '原状态',
  channels: '渠道',
  color: '颜色',
  stale: '已过期',
  unsynced: '未同步',
  runId: '同步任务 ID',
  jobId: '任务 ID',
  crons: '同步时间',
  polling: '轮询',
  everyDay: '每天同步',
  schools: '学校数',
  version: '版本',
  buildAt: '生成时间',
  deadline: '截止时间',
  purpose: '用途',
  venues: '场所数',
  operators: '运营方',
  operator: '运营方',
  fromVersion: '原版本',
  toVersion: '新版本',
  lane: '通道',
  windows: '时段数',
  weekdays: '上学日',
  removed: '删除天数',
  isSchoolDay: '上学日',
  issuedOn: '开具日期',
  descriptorId: '人脸特征 ID',
  deleted: '删除数',
  enrolled: '录入数',
  failed: '失败数',
  consentId: '授权 ID',
  givenBy: '授权人',
  revoked: '撤回数',
  faceDescriptorsDeleted: '删除的人脸特征数',
};

/** Keys whose value is an instant in epoch milliseconds. */
const INSTANT_KEYS = new Set(['lockedUntil']);

/**
 * A run of digits shaped like a mainland ID number (18 digits, the last may be X, or the old
 * 15) or a mobile number (11 digits from 13 to 19). Digits next to other digits do not match,
 * so a 13-digit timestamp stays as it is.
 * NOTE: a number written with spaces or dashes inside, such as 138 1234 5678, is not caught.
 */
const PERSONAL_NUMBER = /(?<!\d)(?:\d{17}[\dXx]|\d{15}|1[3-9]\d{9})(?![\dXx])/g;

/**
 * Replace what looks like an ID number or phone number by its first 3 and last 2 characters.
 * Audit detail must not contain either, and this keeps one off the page if an entry does.
 */
export function maskPersonalNumbers(text: string): string {
  return text.replace(PERSONAL_NUMBER, (match) => `${match.slice(0, 3)}${'*'.repeat(match.length - 5)}${match.slice(-2)}`);
}

function labelOf(key: string): string {
  return DETAIL_LABELS[key] ?? key;
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (Array.isArray(value)) return value.length === 0 ? '—' : value.map(formatValue).join('、');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Render `changes` as 'label：from → to' parts, the shape of gate.settings.update. */
function formatChanges(changes: Record<string, unknown>): string[] {
  return Object.entries(changes).map(([field, change]) => {
    if (change && typeof change === 'object' && 'from' in change && 'to' in change) {
      const { from, to } = change as { from: unknown; to: unknown };
      return `${labelOf(field)}：${formatValue(from)} → ${formatValue(to)}`;
    }
    return `${labelOf(field)}：${formatValue(change)}`;
  });
}

/**
 * Describe an audit entry's detail as short Chinese parts, such as
 * '设备离线判定（分钟）：10 → 12'. Field names go through the label map. Values are shown as
 * stored, except that true and false read 是 and 否 and instants read as local time.
 */
export function describeAuditDetail(detail: Record<string, unknown>): string[] {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(detail)) {
    if (key === 'changes' && value && typeof value === 'object' && !Array.isArray(value)) {
      parts.push(...formatChanges(value as Record<string, unknown>));
    } else if (key === 'fields' && Array.isArray(value)) {
      parts.push(`${labelOf(key)}：${value.length === 0 ? '—' : value.map((field) => labelOf(String(field))).join('、')}`);
    } else if (INSTANT_KEYS.has(key) && typeof value === 'number') {
      parts.push(`${labelOf(key)}：${formatDateTime(value)}`);
    } else {
      parts.push(`${labelOf(key)}：${formatValue(value)}`);
    }
  }
  return parts.map(maskPersonalNumbers);
}
