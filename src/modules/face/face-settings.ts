import type { MatchThresholds } from './matcher.js';

/**
 * The match thresholds. The defaults come from `npx tsx bench/face-calibrate.ts` on the
 * labelled fixture photos: 14 identities, 55 photos, 96 genuine and 1,389 impostor pairs
 * (docs/benchmarks.md, "Face recognition"). A school can override them under the `face`
 * key of its settings JSON after calibrating on photos of its own people.
 *
 * NOTE: none of those identities is East Asian. This kind of model is reported to place
 * East-Asian faces closer together, which is one reason the threshold is stricter than
 * face-api's customary 0.6, but a school should still re-calibrate on its own photos.
 */
export const DEFAULT_MATCH_THRESHOLDS: MatchThresholds = {
  // FAR <= 0.1 % holds up to 0.5489 (TAR 88.5 %, 1 false accept in 1,389 pairs), rounded
  // down here. The customary 0.6 gives TAR 96.9 % but FAR 0.43 % (6 false accepts).
  threshold: 0.54,
  // Leave-one-out: the one wrong nearest person had a margin of 0.035, and 2 of the 53
  // correct ones were under 0.05 (median margin 0.284).
  minMargin: 0.05,
  // A 'match' needs 0.50 or less because the closest impostor pair was 0.504. Between
  // 0.50 and 0.54 (TAR 70.8 % rising to 86.5 %) a card or a guard decides.
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
