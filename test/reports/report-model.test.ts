import { describe, expect, it } from 'vitest';
import { describeChanges, diffFigures, gradeLabel, isZeroReport, summaryLine, totalOf, withoutExpected, type KeyFigures } from '../../src/modules/reports/report-model.js';

const CLEAR: KeyFigures = { expected: 10, arrived: 9, absent: 1, late: 0, fevers: 0, nonGreen: 0, stale: 0, unsynced: 0, illnessAbsences: 0, openFollowUps: 0, clusters: 0, visitors: 3 };

describe('zero report rule', () => {
  it.each([
    ['nothing abnormal', {}, true],
    ['one fever', { fevers: 1 }, false],
    ['one non-green code', { nonGreen: 1 }, false],
    ['one stale code', { stale: 1 }, false],
    ['one never-synced code', { unsynced: 1 }, false],
    ['built before 未同步 was counted', { unsynced: null }, true],
    ['one illness absence', { illnessAbsences: 1 }, false],
    ['one open follow-up', { openFollowUps: 1 }, false],
    ['one cluster', { clusters: 1 }, false],
    ['plain absences and visitors', { absent: 5, visitors: 9 }, true],
    ['checks not available', { illnessAbsences: null, openFollowUps: null, clusters: null }, true],
  ] as Array<[string, Partial<KeyFigures>, boolean]>)('%s', (_name, change, expected) => {
    expect(isZeroReport({ ...CLEAR, ...change })).toBe(expected);
  });
});

describe('summary line', () => {
  it('names every clear item', () => {
    expect(summaryLine(CLEAR)).toBe('零报告：今日无发热人员、无非绿码人员、无健康码过期人员、无健康码未同步人员、无因病缺勤、无待跟进的缺勤、无聚集性病例，无异常情况。');
  });

  it('marks sections not available', () => {
    const line = summaryLine({ ...CLEAR, illnessAbsences: null, openFollowUps: null, clusters: null });
    expect(line).toBe('零报告：今日无发热人员、无非绿码人员、无健康码过期人员、无健康码未同步人员，无异常情况。（因病缺勤、缺勤跟进、聚集性预警数据未接入，未计入）');
  });

  it('lists abnormal figures', () => {
    const line = summaryLine({ ...CLEAR, fevers: 2, clusters: 1 });
    expect(line).toBe('应到 10 人，实到 9 人，缺勤 1 人；发热 2 人；非绿码 0 人；健康码过期 0 人；健康码未同步 0 人；因病缺勤 0 人；待跟进缺勤 0 人；聚集性预警 1 起。');
  });

  it('names only arrivals without school', () => {
    const line = summaryLine({ ...CLEAR, expected: 0, arrived: 1, absent: 0, fevers: 1 }, true);
    expect(line).toBe('非上学日，不计应到和缺勤，实到 1 人；发热 1 人；非绿码 0 人；健康码过期 0 人；健康码未同步 0 人；因病缺勤 0 人；待跟进缺勤 0 人；聚集性预警 0 起。');
  });
});

describe('version differences', () => {
  it('lists changed figures in order', () => {
    const changes = diffFigures(CLEAR, { ...CLEAR, arrived: 8, absent: 2, illnessAbsences: null });
    expect(changes.map((c) => c.field)).toEqual(['arrived', 'absent', 'illnessAbsences']);
    expect(describeChanges(changes)).toBe('实到人数 9 → 8；缺勤人数 1 → 2；因病缺勤人数 0 → —');
  });

  it('says when nothing changed', () => {
    expect(describeChanges(diffFigures(CLEAR, { ...CLEAR }))).toBe('关键数字无变化');
  });
});

describe('grade rows', () => {
  it('labels grades and sums totals', () => {
    expect(gradeLabel(3)).toBe('三年级');
    expect(gradeLabel(null)).toBe('未分班');
    const total = totalOf([
      { grade: 1, label: '一年级', expected: 3, arrived: 2, absent: 1, late: 1, illnessAbsent: null },
      { grade: 2, label: '二年级', expected: 4, arrived: 4, absent: 0, late: 0, illnessAbsent: 2 },
    ]);
    expect(total).toEqual({ grade: null, label: '合计', expected: 7, arrived: 6, absent: 1, late: 1, illnessAbsent: 2 });
  });

  it('expects nobody without school', () => {
    const grades = withoutExpected([
      { grade: 1, label: '一年级', expected: 200, arrived: 1, absent: 199, late: 1, illnessAbsent: 0 },
      { grade: 2, label: '二年级', expected: 180, arrived: 0, absent: 180, late: 0, illnessAbsent: null },
    ]);
    expect(grades).toEqual([
      { grade: 1, label: '一年级', expected: 0, arrived: 1, absent: 0, late: 0, illnessAbsent: 0 },
      { grade: 2, label: '二年级', expected: 0, arrived: 0, absent: 0, late: 0, illnessAbsent: null },
    ]);
    expect(totalOf(grades)).toMatchObject({ expected: 0, arrived: 1, absent: 0 });
  });
});
