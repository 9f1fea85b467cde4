import { parseClock } from '../../shared/time.js';

/**
 * The gate's part of a school's settings, stored under the `gate` key of the school's
 * settings JSON. Every field has a default, so a school that never set one works.
 */
export interface GateSettings {
  /** A reading at or above this is a fever, in degrees Celsius. */
  feverThresholdC: number;
  /** Readings outside [sensorMinC, sensorMaxC] are sensor errors, not fevers. */
  sensorMinC: number;
  sensorMaxC: number;
  /** The action when the code is stale but its last value was green. */
  staleGreenCode: 'allow_and_flag' | 'deny';
  /** The action when a lane reports no temperature at all (a card reader without a thermometer). */
  missingTemperature: 'allow_and_flag' | 'deny';
  /** Staggered entry: each grade's window and, optionally, the lanes it should use. */
  entryWindows: EntryWindow[];
  /** Events older than this on arrival (a terminal replaying after a reboot) raise no alerts. */
  oldEventMinutes: number;
  /** Denial snapshots are deleted after this many days. */
  snapshotRetentionDays: number;
  /** A device silent for this long raises a device_offline alert. */
  deviceOfflineMinutes: number;
  /** When each head teacher gets the list of pupils not arrived, 'HH:MM', on school days of the school calendar. */
  notArrivedNoticeAt: string;
}

export interface EntryWindow {
  grades: number[];
  /** 'HH:MM' in Asia/Shanghai. */
  from: string;
  to: string;
  /** Lane names (device.lane) of this window; empty or absent means any lane. */
  lanes?: string[];
  /** Days of the week (0 Sunday to 6 Saturday) the window applies; empty or absent means every school day. */
  weekdays?: number[];
}

export const DEFAULT_GATE_SETTINGS: GateSettings = {
  feverThresholdC: 37.3,
  sensorMinC: 30,
  sensorMaxC: 45,
  staleGreenCode: 'allow_and_flag',
  missingTemperature: 'allow_and_flag',
  entryWindows: [],
  oldEventMinutes: 10,
  snapshotRetentionDays: 7,
  deviceOfflineMinutes: 10,
  notArrivedNoticeAt: '08:10',
};

/**
 * Read the gate settings from a school's parsed settings object. A field of the wrong
 * type falls back to its default, so one bad value cannot stop the gate.
 */
export function readGateSettings(schoolSettings: unknown): GateSettings {
  const stored = (schoolSettings as { gate?: unknown } | null)?.gate;
  if (!stored || typeof stored !== 'object') return { ...DEFAULT_GATE_SETTINGS };
  const raw = stored as Record<string, unknown>;
  const d = DEFAULT_GATE_SETTINGS;

  return {
    feverThresholdC: numberIn(raw.feverThresholdC, 35, 42, d.feverThresholdC),
    sensorMinC: numberIn(raw.sensorMinC, 0, 40, d.sensorMinC),
    sensorMaxC: numberIn(raw.sensorMaxC, 38, 60, d.sensorMaxC),
    staleGreenCode: raw.staleGreenCode === 'deny' ? 'deny' : d.staleGreenCode,
    missingTemperature: raw.missingTemperature === 'deny' ? 'deny' : d.missingTemperature,
    entryWindows: Array.isArray(raw.entryWindows) ? raw.entryWindows.filter(isEntryWindow) : d.entryWindows,
    oldEventMinutes: numberIn(raw.oldEventMinutes, 1, 24 * 60, d.oldEventMinutes),
    snapshotRetentionDays: numberIn(raw.snapshotRetentionDays, 1, 365, d.snapshotRetentionDays),
    deviceOfflineMinutes: numberIn(raw.deviceOfflineMinutes, 1, 24 * 60, d.deviceOfflineMinutes),
    notArrivedNoticeAt: typeof raw.notArrivedNoticeAt === 'string' && parseClock(raw.notArrivedNoticeAt) !== undefined ? raw.notArrivedNoticeAt : d.notArrivedNoticeAt,
  };
}

function numberIn(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max ? value : fallback;
}

function isEntryWindow(value: unknown): value is EntryWindow {
  if (!value || typeof value !== 'object') return false;
  const w = value as Record<string, unknown>;
  return (
    Array.isArray(w.grades) &&
    w.grades.every((g) => Number.isInteger(g)) &&
    typeof w.from === 'string' &&
    typeof w.to === 'string' &&
    parseClock(w.from) !== undefined &&
    parseClock(w.to) !== undefined &&
    (w.lanes === undefined || (Array.isArray(w.lanes) && w.lanes.every((l) => typeof l === 'string'))) &&
    (w.weekdays === undefined || (Array.isArray(w.weekdays) && w.weekdays.every((d) => Number.isInteger(d) && d >= 0 && d <= 6)))
  );
}
