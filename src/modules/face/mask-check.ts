import type { RgbImage } from './image.js';

/**
 * Whether a detected face wears a mask, judged from colour: a mask makes the lower face
 * (mouth and cheeks) differ from the skin between the eyes, either in colour or as a
 * bright or dark patch without texture. Pure: pixels and the 68 landmarks in, a verdict out.
 *
 * Why it matters (bench/face-calibrate.ts on the fixtures): the detector finds masked
 * faces (14 of the 21 masked photos, the rest were too small), but a masked descriptor lies
 * 0.43-0.66 from the same photo unmasked, and masked photos of different people came as
 * close as 0.36 to each other. So a masked photo is not enrolled, and a masked face at the
 * gate is never a 'match'.
 *
 * NOTE: the limits below were chosen on the same fixture photos they are checked on. All
 * 14 masked faces found were flagged, and none of the 55 labelled photos (40 grey scale)
 * or the 11 unmasked originals. A patterned or skin-coloured mask, or a grey-scale photo
 * of a mid-grey mask, can pass as unmasked.
 */

export interface Point {
  x: number;
  y: number;
}

export interface MaskEvidence {
  /** Chroma distance (YCbCr) of the mouth area from the skin between the eyes. */
  mouthChroma: number;
  /** The smaller chroma distance of the two cheeks beside the nose. */
  cheekChroma: number;
  /** Luma of the mouth area minus luma between the eyes (0-255 scale). */
  mouthLumaShift: number;
  /** Luma standard deviation inside the mouth area: low for a plain mask. */
  mouthTexture: number;
}

/** Limits of the rule; see the NOTE above for where they come from. */
export const MASK_LIMITS = {
  mouthChroma: 15,
  cheekChroma: 10,
  lumaShift: 30,
  maxPlainTexture: 15,
};

/** A mask is likely when the lower face has another colour, or is a plain bright or dark patch. */
export function isMaskLikely(evidence: MaskEvidence): boolean {
  const coloured = evidence.mouthChroma >= MASK_LIMITS.mouthChroma && evidence.cheekChroma >= MASK_LIMITS.cheekChroma;
  const plainPatch = Math.abs(evidence.mouthLumaShift) >= MASK_LIMITS.lumaShift && evidence.mouthTexture <= MASK_LIMITS.maxPlainTexture;
  return coloured || plainPatch;
}

/**
 * Measure the lower face against the skin between the eyes. `landmarks` are the 68 points
 * of the iBUG 300-W layout (0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth) in
 * the image's pixel coordinates.
 */
export function measureMaskEvidence(image: RgbImage, landmarks: readonly Point[]): MaskEvidence {
  if (landmarks.length !== 68) throw new Error(`expected 68 landmarks, got ${landmarks.length}`);
  const p = landmarks;
  const eyeWidth = p[45].x - p[36].x;
  const browTop = Math.min(...p.slice(17, 27).map((q) => q.y));
  const eyeBottom = Math.max(...p.slice(36, 48).map((q) => q.y));

  const between = patchColour(image, p[39].x, browTop, p[42].x, eyeBottom);
  const cheekTop = p[30].y;
  const cheekBottom = p[33].y + 0.1 * eyeWidth;
  const leftCheek = patchColour(image, (p[3].x + p[31].x) / 2, cheekTop, p[31].x - 0.05 * eyeWidth, cheekBottom);
  const rightCheek = patchColour(image, p[35].x + 0.05 * eyeWidth, cheekTop, (p[13].x + p[35].x) / 2, cheekBottom);
  const mouth = patchColour(image, p[48].x, p[33].y, p[54].x, p[8].y);

  return {
    mouthChroma: chromaDistance(mouth, between),
    cheekChroma: Math.min(chromaDistance(leftCheek, between), chromaDistance(rightCheek, between)),
    mouthLumaShift: mouth.luma - between.luma,
    mouthTexture: mouth.lumaDeviation,
  };
}

interface PatchColour {
  luma: number;
  cb: number;
  cr: number;
  lumaDeviation: number;
}

/** Mean YCbCr (BT.601) and luma deviation of the pixels in a rectangle, clipped to the image. */
function patchColour(image: RgbImage, xa: number, ya: number, xb: number, yb: number): PatchColour {
  const x0 = clamp(Math.round(Math.min(xa, xb)), 0, image.width - 1);
  const x1 = clamp(Math.round(Math.max(xa, xb)), 0, image.width - 1);
  const y0 = clamp(Math.round(Math.min(ya, yb)), 0, image.height - 1);
  const y1 = clamp(Math.round(Math.max(ya, yb)), 0, image.height - 1);

  let count = 0;
  let r = 0;
  let g = 0;
  let b = 0;
  let lumaSum = 0;
  let lumaSquares = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const offset = (y * image.width + x) * 3;
      const pr = image.data[offset];
      const pg = image.data[offset + 1];
      const pb = image.data[offset + 2];
      const luma = 0.299 * pr + 0.587 * pg + 0.114 * pb;
      r += pr;
      g += pg;
      b += pb;
      lumaSum += luma;
      lumaSquares += luma * luma;
      count += 1;
    }
  }

  r /= count;
  g /= count;
  b /= count;
  const luma = lumaSum / count;
  return {
    luma,
    cb: -0.1687 * r - 0.3313 * g + 0.5 * b,
    cr: 0.5 * r - 0.4187 * g - 0.0813 * b,
    lumaDeviation: Math.sqrt(Math.max(0, lumaSquares / count - luma * luma)),
  };
}

function chromaDistance(a: PatchColour, b: PatchColour): number {
  return Math.hypot(a.cb - b.cb, a.cr - b.cr);
}

function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}
