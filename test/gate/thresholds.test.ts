import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/shared/errors.js';
import { applyThresholdUpdate, thresholdChanges, type GateThresholds } from '../../src/modules/gate/thresholds.js';

const CURRENT: GateThresholds = {
  feverThresholdC: 37.3,
  sensorMinC: 30,
  sensorMaxC: 45,
  staleGreenCode: 'allow_and_flag',
  missingTemperature: 'allow_and_flag',
  codeStaleHours: null,
  snapshotRetentionDays: 7,
  deviceOfflineMinutes: 10,
};

/** The problems applyThresholdUpdate raises for `input`, or [] when it accepts it. */
function problemsOf(input: unknown): Array<{ field: string; message: string }> {
  try {
    applyThresholdUpdate(CURRENT, input);
    return [];
  } catch (error) {
    if (!isAppError(error)) throw error;
    return (error.details as { problems?: Array<{ field: string; message: string }> })?.problems ?? [{ field: '', message: error.userMessage }];
  }
}

describe('gate threshold rules', () => {
  it('accepts values at the bounds', () => {
    const next = applyThresholdUpdate(CURRENT, { feverThresholdC: 38.5, sensorMaxC: 60, sensorMinC: 0, codeStaleHours: 168, snapshotRetentionDays: 365, deviceOfflineMinutes: 1440 });
    expect(next).toMatchObject({ feverThresholdC: 38.5, sensorMaxC: 60, sensorMinC: 0, codeStaleHours: 168, snapshotRetentionDays: 365, deviceOfflineMinutes: 1440 });
    expect(applyThresholdUpdate(CURRENT, { feverThresholdC: 37, codeStaleHours: 1, snapshotRetentionDays: 1 }).feverThresholdC).toBe(37);
  });

  it('null stale age means the installation default', () => {
    const withHours = applyThresholdUpdate(CURRENT, { codeStaleHours: 12 });
    expect(applyThresholdUpdate(withHours, { codeStaleHours: null }).codeStaleHours).toBeNull();
  });

  it.each([
    [{ feverThresholdC: 36.9 }, 'feverThresholdC', '发热阈值 36.9 ℃ 超出范围，应为 37 到 38.5 ℃（低于 37.0 ℃ 会把体温正常的人判为发热'],
    [{ feverThresholdC: 42 }, 'feverThresholdC', '发热阈值 42 ℃ 超出范围，应为 37 到 38.5 ℃'],
    [{ feverThresholdC: 38.6 }, 'feverThresholdC', '高于 38.5 ℃ 会放行发热的人'],
    [{ feverThresholdC: '37.5' }, 'feverThresholdC', '发热阈值“37.5”不是数字'],
    [{ feverThresholdC: 37.55 }, 'feverThresholdC', '最多保留 1 位小数'],
    [{ sensorMinC: -1 }, 'sensorMinC', '测温下限 -1 ℃ 超出范围'],
    [{ sensorMaxC: 61 }, 'sensorMaxC', '测温上限 61 ℃ 超出范围'],
    [{ codeStaleHours: 0 }, 'codeStaleHours', '健康码过期时长 0 小时超出范围，应为 1 到 168 小时'],
    [{ codeStaleHours: 1.5 }, 'codeStaleHours', '应为整数'],
    [{ snapshotRetentionDays: 366 }, 'snapshotRetentionDays', '抓拍图保留天数 366 天超出范围'],
    [{ deviceOfflineMinutes: 0 }, 'deviceOfflineMinutes', '设备离线判定 0 分钟超出范围'],
    [{ missingTemperature: 'allow' }, 'missingTemperature', '未测体温处理“allow”无效，可选：allow_and_flag（放行并标记）、deny（拦截）'],
    [{ entryWindows: [] }, 'entryWindows', '不能修改字段“entryWindows”'],
    [{ sensorMinC: 37.3 }, 'feverThresholdC', '应高于测温下限 37.3 ℃'],
  ])('rejects %j naming the field', (input, field, message) => {
    const problems = problemsOf(input);
    expect(problems.map((p) => p.field)).toEqual([field]);
    expect(problems[0].message).toContain(message);
  });

  it('rejects a body that is not an object', () => {
    expect(problemsOf([1, 2])[0].message).toContain('请求体应为 JSON 对象');
    expect(problemsOf(null)[0].message).toContain('请求体应为 JSON 对象');
  });

  it('lists only the fields that changed', () => {
    const next = applyThresholdUpdate(CURRENT, { feverThresholdC: 37.3, deviceOfflineMinutes: 15 });
    expect(thresholdChanges(CURRENT, next)).toEqual({ deviceOfflineMinutes: { from: 10, to: 15 } });
  });
});
