import type { MatchThresholds } from './matcher.js';

/**
 * The match thresholds. The defaults come from bench/face-calibrate.ts on the labelled
 * fixture photos (figures beside each value); a school can override them under the
 * `face` key of its settings JSON after calibrating on photos of its own pupils.
 */
export const DEFAULT_MATCH_THRESHOLDS: MatchThresholds = {
  threshold: 0.54,
  minMargin: 0.05,
  weakBand: 0.04,
};

/**
 * Read the thresholds from a school's parsed settings object. A missing or out-of-range
 * value falls back to its default, so one bad value cannot open the gate to strangers.
 */
export function readFaceSettings(schoolSettings: unknown): MatchThresholds {
  const stored = (schoolSettings as { face?: unknown } | null)?.face;
  if (!stored || typeof stored !== 'object') return { ...DEFAULT_MATCH_THRESHOLDS };
  const raw = stored as Record<string, unknown>;
  const d = DEFAULT_MATCH_THRESHOLDS;

  const threshold = numberIn(raw.threshold, 0.2, 0.8, d.threshold);
  return {
    threshold,
    minMargin: numberIn(raw.minMargin, 0, 0.5, d.minMargin),
    weakBand: numberIn(raw.weakBand, 0, threshold, d.weakBand),
  };
}

function numberIn(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max ? value : fallback;
}
