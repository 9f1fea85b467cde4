import type { EntryReason } from './entry-policy.js';

/**
 * Gate decision reasons as the lane screen, the console and the command line name them.
 * Only type imports here: the console bundles this file.
 */
export const GATE_REASON_LABELS: Record<EntryReason | 'return_certificate_missing', string> = {
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
