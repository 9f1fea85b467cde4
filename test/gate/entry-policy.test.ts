import { describe, expect, it } from 'vitest';
import { decideEntry, PROMPTS, type EntryFacts, type EntryPolicySettings } from '../../src/modules/gate/entry-policy.js';
import { DEFAULT_GATE_SETTINGS, readGateSettings } from '../../src/modules/gate/gate-settings.js';
import { instantOf } from '../../src/shared/time.js';

const settings: EntryPolicySettings = {
  ...DEFAULT_GATE_SETTINGS,
  dayStartsAt: '08:00',
  entryWindows: [
    { grades: [1, 2], from: '07:10', to: '07:25', lanes: ['东门'] },
    { grades: [3, 4], from: '07:25', to: '07:40' },
  ],
};

const at = (time: string) => instantOf('2026-12-07', time);

const pupil = (overrides: Partial<EntryFacts> = {}): EntryFacts => ({
  identity: { status: 'identified', personKind: 'student', grade: 2 },
  method: 'face',
  temperatureC: 36.5,
  code: { color: 'green', isStale: false },
  occurredAt: at('07:15'),
  lane: '东门',
  holds: [],
  isSchoolDay: true,
  ...overrides,
});

interface Row {
  name: string;
  facts: EntryFacts;
  settings?: Partial<EntryPolicySettings>;
  decision: 'pass' | 'deny';
  reason: string;
  prompt: string;
  flags?: string[];
  alerts?: string[];
}

const table: Row[] = [
  { name: 'green, normal, in window', facts: pupil(), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature, flags: [], alerts: [] },
  { name: 'unknown face', facts: pupil({ identity: { status: 'unknown' } }), decision: 'deny', reason: 'unknown_person', prompt: '未识别身份，请联系门卫', alerts: ['unknown_face'] },
  { name: 'unknown card raises no face alert', facts: pupil({ identity: { status: 'unknown' }, method: 'card' }), decision: 'deny', reason: 'unknown_person', prompt: PROMPTS.unknownPerson, alerts: [] },
  { name: 'weak face match', facts: pupil({ identity: { status: 'ambiguous' } }), decision: 'deny', reason: 'weak_match', prompt: '请刷卡核验', alerts: [] },
  { name: 'weak match even with perfect readings', facts: pupil({ identity: { status: 'ambiguous' }, temperatureC: 36.2 }), decision: 'deny', reason: 'weak_match', prompt: PROMPTS.weakMatch },
  { name: 'fever at the threshold', facts: pupil({ temperatureC: 37.3 }), decision: 'deny', reason: 'fever', prompt: '体温异常，请到临时观察点复测', alerts: ['fever'] },
  { name: 'just below the threshold', facts: pupil({ temperatureC: 37.2 }), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature },
  { name: 'fever threshold from settings', facts: pupil({ temperatureC: 37.2 }), settings: { feverThresholdC: 37.0 }, decision: 'deny', reason: 'fever', prompt: PROMPTS.fever, alerts: ['fever'] },
  { name: 'reading below sensor range', facts: pupil({ temperatureC: 29.9 }), decision: 'deny', reason: 'sensor_error', prompt: '测温异常，请重新测温', alerts: [] },
  { name: 'reading above sensor range is no fever', facts: pupil({ temperatureC: 45.1 }), decision: 'deny', reason: 'sensor_error', prompt: PROMPTS.sensorError, alerts: [] },
  { name: 'reading at 45.0 is a fever', facts: pupil({ temperatureC: 45.0 }), decision: 'deny', reason: 'fever', prompt: PROMPTS.fever, alerts: ['fever'] },
  { name: 'red code', facts: pupil({ code: { color: 'red', isStale: false } }), decision: 'deny', reason: 'code_red', prompt: '健康码异常，禁止通行', alerts: ['code'] },
  { name: 'yellow code', facts: pupil({ code: { color: 'yellow', isStale: false } }), decision: 'deny', reason: 'code_yellow', prompt: PROMPTS.codeAbnormal, alerts: ['code'] },
  { name: 'stale red code stays red', facts: pupil({ code: { color: 'red', isStale: true } }), decision: 'deny', reason: 'code_red', prompt: PROMPTS.codeAbnormal, alerts: ['code'] },
  { name: 'fever and red code raise both', facts: pupil({ temperatureC: 38.1, code: { color: 'red', isStale: false } }), decision: 'deny', reason: 'fever', prompt: PROMPTS.fever, alerts: ['fever', 'code'] },
  { name: 'unknown code colour', facts: pupil({ code: { color: 'unknown', isStale: false } }), decision: 'deny', reason: 'code_unknown', prompt: PROMPTS.codeUnknown, alerts: [] },
  { name: 'no code record', facts: pupil({ code: null }), decision: 'deny', reason: 'code_unknown', prompt: PROMPTS.codeUnknown, alerts: [] },
  { name: 'stale green allowed and flagged', facts: pupil({ code: { color: 'green', isStale: true } }), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature, flags: ['stale_code'] },
  { name: 'stale green denied by setting', facts: pupil({ code: { color: 'green', isStale: true } }), settings: { staleGreenCode: 'deny' }, decision: 'deny', reason: 'code_stale', prompt: PROMPTS.codeStale },
  { name: 'no temperature allowed and flagged', facts: pupil({ temperatureC: null, method: 'card' }), decision: 'pass', reason: 'ok', prompt: '验证通过，请通行', flags: ['no_temperature'] },
  { name: 'no temperature denied by setting', facts: pupil({ temperatureC: null }), settings: { missingTemperature: 'deny' }, decision: 'deny', reason: 'no_temperature', prompt: PROMPTS.noTemperature },
  { name: 'terminal fever verdict without reading', facts: pupil({ temperatureC: null, terminalReportsFever: true }), decision: 'deny', reason: 'fever', prompt: PROMPTS.fever, flags: ['terminal_reports_fever'], alerts: ['fever'] },
  { name: 'hold from another module', facts: pupil({ holds: [{ reason: 'certificate_required', prompt: '请出示复课证明' }] }), decision: 'deny', reason: 'certificate_required', prompt: '请出示复课证明', alerts: [] },
  { name: 'before the window', facts: pupil({ occurredAt: at('07:05') }), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature, flags: ['outside_window'] },
  { name: 'after the window and late', facts: pupil({ occurredAt: at('08:01') }), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature, flags: ['late', 'outside_window'] },
  { name: 'at 08:00 is not late', facts: pupil({ occurredAt: at('08:00'), identity: { status: 'identified', personKind: 'staff', grade: null } }), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature, flags: [] },
  { name: 'wrong lane for the grade', facts: pupil({ lane: '西门' }), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature, flags: ['wrong_lane'] },
  { name: 'window without lanes ignores the lane', facts: pupil({ identity: { status: 'identified', personKind: 'student', grade: 3 }, occurredAt: at('07:30'), lane: '西门' }), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature, flags: [] },
  { name: 'grade without a window', facts: pupil({ identity: { status: 'identified', personKind: 'student', grade: 6 }, occurredAt: at('06:00') }), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature, flags: [] },
  { name: 'no school day: neither late nor outside', facts: pupil({ occurredAt: at('09:30'), lane: '西门', isSchoolDay: false }), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature, flags: [] },
  { name: 'staff ignore windows', facts: pupil({ identity: { status: 'identified', personKind: 'staff', grade: null }, occurredAt: at('06:30') }), decision: 'pass', reason: 'ok', prompt: PROMPTS.passWithTemperature, flags: [] },
];

describe('entry policy', () => {
  it.each(table)('$name', (row) => {
    const result = decideEntry(row.facts, { ...settings, ...row.settings });
    expect(result.decision).toBe(row.decision);
    expect(result.reason).toBe(row.reason);
    expect(result.prompt).toBe(row.prompt);
    if (row.flags) expect(result.flags).toEqual(row.flags);
    if (row.alerts) expect(result.alerts).toEqual(row.alerts);
  });
});

describe('gate settings', () => {
  it('defaults when absent', () => {
    expect(readGateSettings({})).toEqual(DEFAULT_GATE_SETTINGS);
    expect(readGateSettings(null).feverThresholdC).toBe(37.3);
  });

  it('keeps valid values and drops bad ones', () => {
    const parsed = readGateSettings({
      gate: {
        feverThresholdC: 37.0,
        staleGreenCode: 'deny',
        oldEventMinutes: 'ten',
        entryWindows: [{ grades: [1, 2], from: '07:10', to: '07:25', lanes: ['东门'] }, { grades: [3], from: '7h', to: '08:00' }],
      },
    });
    expect(parsed.feverThresholdC).toBe(37.0);
    expect(parsed.staleGreenCode).toBe('deny');
    expect(parsed.oldEventMinutes).toBe(10);
    expect(parsed.entryWindows).toEqual([{ grades: [1, 2], from: '07:10', to: '07:25', lanes: ['东门'] }]);
  });

  it('rejects a fever threshold outside 35-42', () => {
    expect(readGateSettings({ gate: { feverThresholdC: 30 } }).feverThresholdC).toBe(37.3);
  });
});
