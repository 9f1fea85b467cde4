import { describe, expect, it } from 'vitest';
import { dayProblem, isLateEntry, validateEntries } from '../../src/modules/checks/check-input.js';
import { DEFAULT_CHECK_SETTINGS, readCheckSettings, validateCheckSettings } from '../../src/modules/checks/check-settings.js';
import { evaluateClusters, type IllnessCase } from '../../src/modules/checks/cluster-rule.js';
import { DIAGNOSES, findDiagnosis } from '../../src/modules/checks/notifiable-diseases.js';
import { instantOf, schoolDay } from '../../src/shared/time.js';

const pupils = new Map([
  ['p1', '张一'],
  ['p2', '李二'],
]);
const settings = DEFAULT_CHECK_SETTINGS;

function illness(personId: string, day: string, symptoms: string[], diagnosis: string | null = null): IllnessCase {
  return { personId, name: personId, day, symptoms, diagnosis, absent: true };
}

describe('check entry validation', () => {
  it('accepts a present and an absent pupil', () => {
    const { values, problems } = validateEntries(
      [
        { personId: 'p1', status: 'present', temperature: 36.54, symptoms: ['cough', 'fever'] },
        { personId: 'p2', status: 'absent', absenceReason: 'illness', symptoms: ['fever'] },
      ],
      pupils,
      settings,
    );
    expect(problems).toEqual([]);
    expect(values.get('p1')).toEqual({ status: 'present', temperature: 36.5, symptoms: ['fever', 'cough'], absenceReason: null, note: null });
    expect(values.get('p2')?.absenceReason).toBe('illness');
  });

  it.each([3.7, 373, 33.9, 43.1, Number.NaN])('rejects temperature %s naming the value', (temperature) => {
    const { problems } = validateEntries([{ personId: 'p1', status: 'present', temperature }], pupils, settings);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe('temperature');
    expect(problems[0]!.message).toContain(`体温“${temperature}”`);
    expect(problems[0]!.message).toContain('34.0-43.0');
  });

  it('accepts the range edges 34.0 and 43.0', () => {
    const { problems } = validateEntries(
      [
        { personId: 'p1', status: 'present', temperature: 34.0 },
        { personId: 'p2', status: 'present', temperature: 43.0 },
      ],
      pupils,
      settings,
    );
    expect(problems).toEqual([]);
  });

  it('rejects a pupil not in the class', () => {
    const { problems } = validateEntries([{ personId: 'stranger', status: 'present' }], pupils, settings);
    expect(problems[0]!.field).toBe('personId');
    expect(problems[0]!.message).toContain('编号为 stranger 的人员不在本班在读名单中');
  });

  it('rejects an absence without a reason', () => {
    const { problems } = validateEntries([{ personId: 'p1', status: 'absent' }], pupils, settings);
    expect(problems[0]!.field).toBe('absenceReason');
    expect(problems[0]!.message).toContain('张一 缺勤，请选择缺勤原因');
  });

  it('rejects an unknown symptom code', () => {
    const { problems } = validateEntries([{ personId: 'p1', status: 'present', symptoms: ['sneezing'] }], pupils, settings);
    expect(problems[0]!.field).toBe('symptoms');
    expect(problems[0]!.message).toContain('“sneezing”不在本校症状列表中');
  });

  it('rejects a day in the future or malformed', () => {
    expect(dayProblem('2026-12-08', '2026-12-07')).toContain('日期“2026-12-08”晚于今天（2026-12-07）');
    expect(dayProblem('2026-02-30', '2026-12-07')).toContain('日期“2026-02-30”无效');
    expect(dayProblem('2026-12-07', '2026-12-07')).toBeNull();
  });

  it('flags entries after the due time as late', () => {
    expect(isLateEntry('2026-12-07', 'morning', instantOf('2026-12-07', '09:59'), settings)).toBe(false);
    expect(isLateEntry('2026-12-07', 'morning', instantOf('2026-12-07', '10:01'), settings)).toBe(true);
    expect(isLateEntry('2026-12-07', 'noon', instantOf('2026-12-07', '14:00'), settings)).toBe(false);
    expect(isLateEntry('2026-12-07', 'noon', instantOf('2026-12-08', '08:00'), settings)).toBe(true);
  });
});

describe('school days', () => {
  it('puts 23:59 and 00:01 Shanghai on different days', () => {
    expect(schoolDay(Date.parse('2026-12-07T23:59:00+08:00'))).toBe('2026-12-07');
    expect(schoolDay(Date.parse('2026-12-08T00:01:00+08:00'))).toBe('2026-12-08');
    // 15:59 UTC is still the 7th in Shanghai, 16:01 UTC is already the 8th.
    expect(schoolDay(Date.parse('2026-12-07T15:59:00Z'))).toBe('2026-12-07');
    expect(schoolDay(Date.parse('2026-12-07T16:01:00Z'))).toBe('2026-12-08');
  });
});

describe('cluster rule', () => {
  const thresholds = { sameDayThreshold: 3, windowThreshold: 5 };
  const window = ['2026-12-03', '2026-12-04', '2026-12-07'];

  it('stays quiet at two cases with a shared symptom', () => {
    const cases = [illness('a', '2026-12-07', ['fever']), illness('b', '2026-12-07', ['fever', 'cough'])];
    expect(evaluateClusters('2026-12-07', window, cases, thresholds)).toEqual([]);
  });

  it('fires at three cases sharing a symptom on one day', () => {
    const cases = [illness('a', '2026-12-07', ['fever']), illness('b', '2026-12-07', ['fever', 'cough']), illness('c', '2026-12-07', ['fever']), illness('d', '2026-12-07', ['rash'])];
    const [finding] = evaluateClusters('2026-12-07', window, cases, thresholds);
    expect(finding?.rule).toBe('same_day');
    expect(finding?.signs).toEqual([{ kind: 'symptom', code: 'fever', count: 3 }]);
    expect(finding?.cases.map((c) => c.personId)).toEqual(['a', 'b', 'c']);
  });

  it('ignores three cases without a shared sign', () => {
    const cases = [illness('a', '2026-12-07', ['fever']), illness('b', '2026-12-07', ['cough']), illness('c', '2026-12-07', ['rash'])];
    expect(evaluateClusters('2026-12-07', window, cases, thresholds)).toEqual([]);
  });

  it('does not treat other as a shared sign', () => {
    const cases = ['a', 'b', 'c'].map((id) => illness(id, '2026-12-07', ['other'], 'other'));
    expect(evaluateClusters('2026-12-07', window, cases, thresholds)).toEqual([]);
  });

  it('joins cases by the same diagnosis', () => {
    const cases = [illness('a', '2026-12-07', [], 'varicella'), illness('b', '2026-12-07', ['rash'], 'varicella'), illness('c', '2026-12-07', [], 'varicella')];
    const [finding] = evaluateClusters('2026-12-07', window, cases, thresholds);
    expect(finding?.signs).toEqual([{ kind: 'diagnosis', code: 'varicella', count: 3 }]);
  });

  it('keeps 23:59 and 00:01 cases on separate days', () => {
    const late = schoolDay(Date.parse('2026-12-07T23:59:00+08:00'));
    const early = schoolDay(Date.parse('2026-12-08T00:01:00+08:00'));
    const cases = [illness('a', late, ['fever']), illness('b', late, ['fever']), illness('c', early, ['fever'])];
    expect(evaluateClusters(late, ['2026-12-07'], cases, { sameDayThreshold: 3, windowThreshold: 99 })).toEqual([]);
    expect(evaluateClusters(early, ['2026-12-08'], cases, { sameDayThreshold: 3, windowThreshold: 99 })).toEqual([]);
  });

  it('fires at five pupils within three school days, not four', () => {
    const four = [illness('a', '2026-12-03', ['cough']), illness('b', '2026-12-04', ['cough']), illness('c', '2026-12-07', ['cough']), illness('d', '2026-12-07', ['fever', 'cough'])];
    expect(evaluateClusters('2026-12-07', window, four, thresholds).map((f) => f.rule)).toEqual([]);
    const five = [...four, illness('e', '2026-12-04', ['cough'])];
    const findings = evaluateClusters('2026-12-07', window, five, thresholds);
    expect(findings.map((f) => f.rule)).toEqual(['school_days']);
    expect(findings[0]).toMatchObject({ windowStart: '2026-12-03', windowEnd: '2026-12-07', pupilCount: 5 });
  });

  it('counts a pupil sick on several days once', () => {
    const cases = [illness('a', '2026-12-03', ['cough']), illness('a', '2026-12-04', ['cough']), illness('a', '2026-12-07', ['cough']), illness('b', '2026-12-07', ['cough']), illness('c', '2026-12-07', ['cough']), illness('d', '2026-12-04', ['cough'])];
    expect(evaluateClusters('2026-12-07', window, cases, thresholds).map((f) => f.rule)).toEqual(['same_day']);
  });

  it('leaves out cases before the window', () => {
    const cases = ['a', 'b', 'c', 'd', 'e'].map((id, i) => illness(id, i < 2 ? '2026-12-02' : '2026-12-07', ['cough']));
    expect(evaluateClusters('2026-12-07', window, cases, thresholds).map((f) => f.rule)).toEqual(['same_day']);
  });
});

describe('check settings', () => {
  it('falls back to defaults for bad stored values', () => {
    const read = readCheckSettings({ checks: { clusterSameDayThreshold: 'three', unknownAbsenceReminderAt: '25:00' } });
    expect(read.clusterSameDayThreshold).toBe(3);
    expect(read.unknownAbsenceReminderAt).toBe('09:00');
  });

  it('names each invalid field', () => {
    const { problems } = validateCheckSettings({ ...DEFAULT_CHECK_SETTINGS, unknownAbsenceReminderAt: '9点', clusterSameDayThreshold: 1, symptoms: [{ code: 'Fever', label: '发热' }] });
    expect(problems).toEqual([
      '症状代码“Fever”无效：只能用小写字母、数字和下划线，以字母开头，最多 32 个字符',
      '原因不明缺勤提醒时间“9点”无效，请写 HH:MM，例如 09:00',
      '单日聚集人数阈值“1”无效，请填写 2-50 的整数',
    ]);
  });
});

describe('notifiable diseases', () => {
  it('lists the common school diseases with unique codes', () => {
    for (const name of ['流行性感冒', '新型冠状病毒感染', '水痘', '流行性腮腺炎', '手足口病', '猩红热', '麻疹', '风疹', '细菌性和阿米巴性痢疾', '肺结核', '甲型肝炎', '其他']) {
      expect(DIAGNOSES.some((d) => d.name.startsWith(name))).toBe(true);
    }
    expect(new Set(DIAGNOSES.map((d) => d.code)).size).toBe(DIAGNOSES.length);
    expect(findDiagnosis('norovirus')?.name).toBe('诺如病毒感染（感染性腹泻）');
  });
});
