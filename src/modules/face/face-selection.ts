import type { FaceRejectionCode } from './rejection.js';

/**
 * Face selection: the one detected face a photo is about, or the reason there is none.
 * Pure: detections in, a choice or a reason out.
 */

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Detection {
  /** Detector confidence from 0 to 1. */
  score: number;
  box: FaceBox;
}

export interface SelectionRules {
  /** Detections below this confidence do not count as faces. */
  minScore: number;
  /** A face whose box is shorter than this on either side is too small to describe well. */
  minFaceSizePx: number;
}

export type Selection =
  | { kind: 'face'; detection: Detection; ignoredSmallFaces: number }
  | { kind: 'rejected'; code: Extract<FaceRejectionCode, 'NO_FACE' | 'MULTIPLE_FACES' | 'FACE_TOO_SMALL' | 'FACE_UNCLEAR'>; params: Record<string, string | number> };

/** Return the shorter side of the box, in pixels. */
export function faceSize(box: FaceBox): number {
  return Math.min(box.width, box.height);
}

/**
 * Share of the chosen face's size from which another confident face counts as a second
 * person, even under the minimum size. Smaller faces (people far behind) are ignored.
 */
export const COMPETING_FACE_RATIO = 0.5;

/**
 * Select the one face of a photo:
 * - exactly one confident face of at least the minimum size, and no other confident face
 *   of at least half its size: that face (smaller confident faces are ignored and counted);
 * - two or more such faces: MULTIPLE_FACES;
 * - confident faces, all too small: FACE_TOO_SMALL with the largest size;
 * - only detections below minScore: FACE_UNCLEAR with the best score;
 * - nothing: NO_FACE.
 */
export function selectFace(detections: readonly Detection[], rules: SelectionRules): Selection {
  const confident = detections.filter((d) => d.score >= rules.minScore);
  const usable = confident.filter((d) => faceSize(d.box) >= rules.minFaceSizePx);

  if (usable.length > 1) {
    return { kind: 'rejected', code: 'MULTIPLE_FACES', params: { count: usable.length } };
  }
  if (usable.length === 1) {
    const chosen = usable[0];
    const competing = confident.filter((d) => d !== chosen && faceSize(d.box) >= COMPETING_FACE_RATIO * faceSize(chosen.box));
    if (competing.length > 0) return { kind: 'rejected', code: 'MULTIPLE_FACES', params: { count: competing.length + 1 } };
    return { kind: 'face', detection: chosen, ignoredSmallFaces: confident.length - 1 };
  }
  if (confident.length > 0) {
    const largest = Math.max(...confident.map((d) => faceSize(d.box)));
    return { kind: 'rejected', code: 'FACE_TOO_SMALL', params: { sizePx: Math.round(largest), minPx: rules.minFaceSizePx } };
  }
  if (detections.length > 0) {
    const best = Math.max(...detections.map((d) => d.score));
    return { kind: 'rejected', code: 'FACE_UNCLEAR', params: { score: best.toFixed(2) } };
  }
  return { kind: 'rejected', code: 'NO_FACE', params: {} };
}

/** True when a second pass on a padded copy may find what the first pass missed. */
export function shouldRetryWithPadding(first: Selection): boolean {
  return first.kind === 'rejected' && (first.code === 'NO_FACE' || first.code === 'FACE_UNCLEAR');
}

/** Return the more useful of two failed passes for the message: a weak face beats no face. */
export function moreInformative(first: Selection, second: Selection): Selection {
  if (second.kind === 'face') return second;
  if (first.kind === 'face') return first;
  const rank = { MULTIPLE_FACES: 3, FACE_TOO_SMALL: 2, FACE_UNCLEAR: 1, NO_FACE: 0 } as const;
  return rank[second.code] > rank[first.code] ? second : first;
}
