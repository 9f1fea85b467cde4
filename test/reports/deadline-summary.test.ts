import { describe, expect, it } from 'vitest';
import { describeDeadline, type DeadlineSummaryInput } from '../../src/modules/reports/deadline-summary.js';

type School = DeadlineSummaryInput['schools'][number];

const onTime: School = { name: '城东小学', state: 'submitted', missedDeadline: false };
const late: School = { name: '城西小学', state: 'submitted', missedDeadline: true };
const missing: School = { name: '城南小学', state: 'missing', missedDeadline: true };
const draft: School = { name: '城北小学', state: 'draft', missedDeadline: true };
const closed: School = { name: '停课小学', state: 'no_school', missedDeadline: false };

const afterDeadline = (schools: School[]): DeadlineSummaryInput => ({
  deadlinePassed: true,
  schools,
  totals: { missing: schools.filter((s) => s.state === 'missing' || s.state === 'draft').length },
});

describe('deadline summary of 日报汇总', () => {
  it('counts a late submission as missed', () => {
    expect(describeDeadline(afterDeadline([late]))).toBe('截止时 1 所学校未上报：城西小学。其中 1 所已逾期上报。');
  });

  it('splits late and still missing', () => {
    expect(describeDeadline(afterDeadline([onTime, late, missing, draft]))).toBe('截止时 3 所学校未上报：城西小学、城南小学、城北小学。其中 1 所已逾期上报，2 所仍未上报。');
  });

  it('names missing schools without late ones', () => {
    expect(describeDeadline(afterDeadline([onTime, missing]))).toBe('截止时 1 所学校未上报：城南小学。');
  });

  it('says all reported only when none was late', () => {
    expect(describeDeadline(afterDeadline([onTime, closed]))).toBe('截止时所有学校均已上报。');
  });

  it('counts missing schools before the deadline', () => {
    expect(describeDeadline({ deadlinePassed: false, schools: [onTime, { ...missing, missedDeadline: false }], totals: { missing: 1 } })).toBe('尚未到截止时间，目前 1 所未上报。');
  });
});
