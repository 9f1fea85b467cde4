import { describe, expect, it } from 'vitest';
import { DEFAULT_GATE_SETTINGS } from '../../src/modules/gate/gate-settings.js';
import { checkShownCode, checkTemperature, checkVisitWindow, checkVisitorDetails, decideVisitorEntry, maskLast4, type VisitorCode } from '../../src/modules/visitors/visitor-rules.js';
import { makeIdNumber } from '../../src/shared/synthetic.js';

const TODAY = '2026-12-07';
const ID_NUMBER = makeIdNumber(42, '1980-02-03');

describe('visitor details', () => {
  it('accepts an ID number with full-width digits and a +86 phone', () => {
    const fullWidth = ID_NUMBER.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));
    const checked = checkVisitorDetails({ name: ' 王五 ', idNumber: fullWidth, phone: '+86 100 0000 1234', purpose: '送货' }, TODAY);
    expect(checked).toEqual({ ok: true, value: { name: '王五', idNumber: ID_NUMBER, phone: '10000001234', purpose: '送货', hostName: null } });
  });

  it('lists every problem with the field named', () => {
    const checked = checkVisitorDetails({ name: '', idNumber: '', phone: '', purpose: '' }, TODAY);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.problems.map((p) => p.split('：')[0])).toEqual(['姓名', '身份证号 / 手机号', '来访事由']);
  });

  it('masks all but the last 4 characters', () => {
    expect(maskLast4(ID_NUMBER)).toBe(`**************${ID_NUMBER.slice(-4)}`);
    expect(maskLast4('123')).toBe('***');
  });
});

describe('visit window and temperature', () => {
  it.each([
    [{ day: TODAY, from: '9:00', to: '10:30' }, true],
    [{ day: TODAY, from: '10:30', to: '10:30' }, false],
    [{ day: '2026-02-30', from: '09:00', to: '10:00' }, false],
    [{ day: '2026-12-06', from: '09:00', to: '10:00' }, false],
    [{ day: TODAY, from: '25:00', to: '10:00' }, false],
  ])('window %j valid: %s', (input, valid) => {
    expect(checkVisitWindow(input, TODAY).ok).toBe(valid);
  });

  it('quotes an invalid visit day', () => {
    const checked = checkVisitWindow({ day: '2026/12/08', from: '09:00', to: '10:00' }, TODAY);
    expect(checked.ok ? [] : checked.problems).toEqual(['到访日期：“2026/12/08”不是有效日期，请写 YYYY-MM-DD，例如 2026-12-07']);
  });

  it.each([
    [36.55, 36.6],
    ['37.3', 37.3],
    [34, 34],
    [43, 43],
  ])('temperature %j reads %s', (input, expected) => {
    expect(checkTemperature(input)).toEqual({ ok: true, value: expected });
  });

  it.each([3.7, 373, 33.9, 43.1, '', null, Number.NaN])('temperature %j is rejected', (input) => {
    const checked = checkTemperature(input);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.problems[0]).toMatch(/^体温：/);
  });
});

describe('visitor entry decision', () => {
  const decide = (temperatureC: number, code: VisitorCode) => decideVisitorEntry({ temperatureC, code, occurredAt: Date.parse('2026-12-07T01:00:00Z') }, DEFAULT_GATE_SETTINGS);

  it.each<[number, VisitorCode, string, string, string[]]>([
    [36.5, { color: 'green', source: 'bureau' }, 'pass', 'ok', []],
    [36.5, { color: 'green', source: 'shown' }, 'pass', 'ok', []],
    [37.3, { color: 'green', source: 'bureau' }, 'deny', 'fever', ['fever']],
    [37.8, { color: 'red', source: 'bureau' }, 'deny', 'fever', ['fever', 'code']],
    [36.5, { color: 'yellow', source: 'bureau' }, 'deny', 'code_yellow', ['code']],
    [36.5, { color: 'unknown', source: 'unavailable' }, 'deny', 'code_unknown', []],
    [36.5, { color: 'unknown', source: 'not_found' }, 'deny', 'code_unknown', []],
    [36.5, { color: 'unknown', source: 'none' }, 'deny', 'code_unknown', []],
  ])('%s °C with %j: %s %s', (temperature, code, decision, reason, alerts) => {
    const decided = decide(temperature, code);
    expect(decided.decision).toBe(decision);
    expect(decided.reason).toBe(reason);
    expect(decided.alerts).toEqual(alerts);
    expect(decided.prompt).toMatch(/[\u4e00-\u9fff]/);
  });

  it('tells the guard why an unknown code is refused', () => {
    expect(decide(36.5, { color: 'unknown', source: 'unavailable' }).prompt).toContain('健康码接口暂时不可用');
    expect(decide(36.5, { color: 'unknown', source: 'none' }).prompt).toContain('请查看访客出示的健康码');
  });
});

describe('shown code check', () => {
  it('needs no colour when the ID number is on record', () => {
    expect(checkShownCode(true, null)).toEqual({ ok: true, value: null });
  });

  it('takes the shown colour without an ID number', () => {
    expect(checkShownCode(false, 'yellow')).toEqual({ ok: true, value: 'yellow' });
  });

  it.each([null, undefined])('rejects %s without an ID number', (shown) => {
    const checked = checkShownCode(false, shown);
    expect(checked.ok).toBe(false);
    expect(checked.ok ? '' : checked.problems.join('')).toContain('请选择访客出示的健康码颜色');
  });
});
