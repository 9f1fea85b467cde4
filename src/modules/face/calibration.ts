import { euclideanDistance } from './descriptor.js';
import { FaceGallery, type PersonDistance } from './matcher.js';

/**
 * Threshold calibration from labelled descriptors: every genuine pair (same identity) and
 * impostor pair (different identities), the true-accept rate at a false-accept limit, and
 * leave-one-out identification to see the margin between the nearest two persons.
 * Pure: bench/face-calibrate.ts and the tests feed it descriptors.
 */

export interface LabelledDescriptor {
  identity: string;
  /** Photo name, for reports. */
  file: string;
  descriptor: Float32Array;
}

export interface PairDistances {
  genuine: number[];
  impostor: number[];
}

export function pairDistances(samples: readonly LabelledDescriptor[]): PairDistances {
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    for (let j = i + 1; j < samples.length; j++) {
      const distance = euclideanDistance(samples[i].descriptor, samples[j].descriptor);
      (samples[i].identity === samples[j].identity ? genuine : impostor).push(distance);
    }
  }
  return { genuine, impostor };
}

export interface OperatingPoint {
  threshold: number;
  /** Share of genuine pairs at or under the threshold. */
  tar: number;
  /** Share of impostor pairs at or under the threshold. */
  far: number;
  trueAccepts: number;
  falseAccepts: number;
}

/** TAR and FAR when pairs at or under `threshold` are accepted. */
export function operatingPoint(pairs: PairDistances, threshold: number): OperatingPoint {
  const trueAccepts = pairs.genuine.filter((d) => d <= threshold).length;
  const falseAccepts = pairs.impostor.filter((d) => d <= threshold).length;
  return {
    threshold,
    tar: pairs.genuine.length ? trueAccepts / pairs.genuine.length : 0,
    far: pairs.impostor.length ? falseAccepts / pairs.impostor.length : 0,
    trueAccepts,
    falseAccepts,
  };
}

/**
 * The largest threshold whose FAR stays at or under `maxFar`, and its TAR. With n
 * impostor pairs, floor(maxFar * n) false accepts are allowed, so the threshold sits just
 * under the next impostor distance. Below 1 / maxFar impostor pairs no false accept is
 * allowed and the estimate is coarse.
 */
export function operatingPointAtFar(pairs: PairDistances, maxFar: number): OperatingPoint {
  const sorted = [...pairs.impostor].sort((a, b) => a - b);
  const allowed = Math.floor(maxFar * sorted.length);
  const threshold = allowed < sorted.length ? nextBelow(sorted[allowed]) : Infinity;
  return operatingPoint(pairs, threshold);
}

export interface IdentificationTrial {
  file: string;
  identity: string;
  best?: PersonDistance;
  second?: PersonDistance;
  /** True when the nearest person is the probe's own identity. */
  correct: boolean;
}

/**
 * Leave-one-out identification: each photo of an identity with at least two photos is the
 * probe, and a gallery of all other photos is searched.
 */
export function leaveOneOut(samples: readonly LabelledDescriptor[]): IdentificationTrial[] {
  const counts = countByIdentity(samples);
  const trials: IdentificationTrial[] = [];
  samples.forEach((probe, index) => {
    if ((counts.get(probe.identity) ?? 0) < 2) return;
    const gallery = new FaceGallery({ prefilter: 'off' });
    samples.forEach((sample, other) => {
      if (other !== index) gallery.add(sample.identity, sample.descriptor);
    });
    const { best, second } = gallery.search(probe.descriptor);
    trials.push({ file: probe.file, identity: probe.identity, best, second, correct: best?.personId === probe.identity });
  });
  return trials;
}

/**
 * Open-set trials: each photo is searched in a gallery without any photo of its own
 * identity, as a stranger at the gate would be. `best` is the nearest other person.
 */
export function leavePersonOut(samples: readonly LabelledDescriptor[]): IdentificationTrial[] {
  return samples.map((probe) => {
    const gallery = new FaceGallery({ prefilter: 'off' });
    for (const sample of samples) {
      if (sample.identity !== probe.identity) gallery.add(sample.identity, sample.descriptor);
    }
    const { best, second } = gallery.search(probe.descriptor);
    return { file: probe.file, identity: probe.identity, best, second, correct: false };
  });
}

export interface Summary {
  count: number;
  min: number;
  p10: number;
  median: number;
  p90: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: sorted[0] ?? NaN,
    p10: quantile(sorted, 0.1),
    median: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** Linear-interpolated quantile of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

function countByIdentity(samples: readonly LabelledDescriptor[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const sample of samples) counts.set(sample.identity, (counts.get(sample.identity) ?? 0) + 1);
  return counts;
}

/** The largest double below `value`, so a threshold excludes that exact distance. */
function nextBelow(value: number): number {
  return value - Math.max(Math.abs(value) * Number.EPSILON, Number.MIN_VALUE);
}
