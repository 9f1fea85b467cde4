import type { Config } from '../../config.js';
import { decodeImage, padImage, type RgbImage } from './image.js';
import { loadFaceModels, type FaceModels } from './model.js';
import { moreInformative, selectFace, shouldRetryWithPadding, type Detection, type FaceBox, type Selection } from './face-selection.js';
import { isMaskLikely, measureMaskEvidence, type MaskEvidence } from './mask-check.js';
import { FaceRejection } from './rejection.js';

/**
 * Photo in, one 128-float face descriptor out, or a FaceRejection with a defined reason.
 * Steps: decode (image.ts), detect every face with SSD MobileNet v1, select the one face
 * (face-selection.ts), retry once on a padded copy when nothing was found, then align with
 * the 68 landmarks and run the recognition net on that face only.
 */

export interface ExtractOptions {
  /** Photos larger than this are rejected before decoding. */
  maxBytes: number;
  /** The longer side is scaled down to this many pixels before detection. */
  maxDimension: number;
  minFaceSizePx: number;
  /** Detections at or above this confidence count as faces. */
  minScore: number;
  /** Lowest confidence the detector reports; between this and minScore a face is "unclear". */
  detectMinScore: number;
  /** Border added on every side for the second pass, as a fraction of the longer side. */
  paddingFraction: number;
  /** Empty for the package's model folder. */
  modelDir: string;
}

export const DEFAULT_EXTRACT_OPTIONS: ExtractOptions = {
  maxBytes: 5 * 1024 * 1024,
  maxDimension: 1280,
  minFaceSizePx: 80,
  minScore: 0.5,
  detectMinScore: 0.3,
  // Measured on the 40 tight 150x150 crops of the labelled fixtures (bench/face-calibrate.ts
  // prints per-photo results): a border of 1.0 found a face in all of them, 0.5 in 36.
  paddingFraction: 1.0,
  modelDir: '',
};

/** Extraction options from the process settings (FANGKONG_FACE_*). */
export function extractOptionsFromConfig(config: Pick<Config, 'face'>): ExtractOptions {
  return {
    ...DEFAULT_EXTRACT_OPTIONS,
    maxBytes: config.face.maxImageMb * 1024 * 1024,
    maxDimension: config.face.maxImageDimensionPx,
    minFaceSizePx: config.face.minFaceSizePx,
    modelDir: config.face.modelDir,
  };
}

export interface FaceExtraction {
  descriptor: Float32Array;
  /** Detector confidence of the chosen face. */
  score: number;
  /** Face box in the decoded photo (after orientation and scaling), in pixels. */
  box: FaceBox;
  /** True when the face was only found on the padded copy. */
  padded: boolean;
  /** Confident faces below the minimum size that were ignored. */
  ignoredSmallFaces: number;
  /** True when the lower face looks covered (mask-check.ts); enrolment rejects such photos. */
  masked: boolean;
  maskEvidence: MaskEvidence;
  width: number;
  height: number;
}

/** Decode a photo and extract the descriptor of its one face; throws FaceRejection. */
export async function extractDescriptor(input: Buffer, options: ExtractOptions = DEFAULT_EXTRACT_OPTIONS): Promise<FaceExtraction> {
  const image = await decodeImage(input, {
    maxBytes: options.maxBytes,
    maxDimension: options.maxDimension,
    minDimension: options.minFaceSizePx,
  });
  return extractFromImage(image, options);
}

/** Extract the descriptor from decoded pixels; throws FaceRejection. */
export async function extractFromImage(image: RgbImage, options: ExtractOptions = DEFAULT_EXTRACT_OPTIONS): Promise<FaceExtraction> {
  const models = await loadFaceModels(options.modelDir);
  return runExclusive(() => extractWithModels(models, image, options));
}

async function extractWithModels(models: FaceModels, image: RgbImage, options: ExtractOptions): Promise<FaceExtraction> {
  const rules = { minScore: options.minScore, minFaceSizePx: options.minFaceSizePx };

  const first = await describeBest(models, image, 0, options, rules);
  if (first.kind === 'face' || !shouldRetryWithPadding(first.selection)) return finish(first, image);

  const { image: padded, offset } = padImage(image, options.paddingFraction);
  const second = await describeBest(models, padded, offset, options, rules);
  if (second.kind === 'face') return finish(second, image);
  return finish({ kind: 'rejected', selection: moreInformative(first.selection, second.selection) }, image);
}

type PassResult =
  | { kind: 'face'; descriptor: Float32Array; detection: Detection; ignoredSmallFaces: number; padded: boolean; maskEvidence: MaskEvidence }
  | { kind: 'rejected'; selection: Selection };

function finish(result: PassResult, image: RgbImage): FaceExtraction {
  if (result.kind === 'rejected') {
    const selection = result.selection;
    if (selection.kind === 'face') throw new Error('a selected face reached the rejection path');
    throw new FaceRejection(selection.code, selection.params);
  }
  return {
    descriptor: result.descriptor,
    score: result.detection.score,
    box: result.detection.box,
    padded: result.padded,
    ignoredSmallFaces: result.ignoredSmallFaces,
    masked: isMaskLikely(result.maskEvidence),
    maskEvidence: result.maskEvidence,
    width: image.width,
    height: image.height,
  };
}

/**
 * One pass: detect on the image, select a face and describe it. `offset` is the padding
 * border, subtracted from the boxes so they refer to the unpadded photo.
 */
async function describeBest(
  models: FaceModels,
  image: RgbImage,
  offset: number,
  options: ExtractOptions,
  rules: { minScore: number; minFaceSizePx: number },
): Promise<PassResult> {
  const { faceapi, tf } = models;
  const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
  // face-api bundles its own copy of the tfjs type declarations, so the same runtime
  // tensor has two static types.
  const netInput = input as unknown as Parameters<typeof faceapi.detectAllFaces>[0];
  try {
    const found = await faceapi.detectAllFaces(netInput, new faceapi.SsdMobilenetv1Options({ minConfidence: options.detectMinScore, maxResults: 20 }));
    const detections: Detection[] = found.map((d) => ({ score: d.score, box: { x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height } }));

    const selection = selectFace(detections, rules);
    if (selection.kind !== 'face') return { kind: 'rejected', selection };

    const chosen = found[detections.indexOf(selection.detection)];
    const described = await new faceapi.DetectSingleFaceLandmarksTask(Promise.resolve({ detection: chosen }), netInput, false).withFaceDescriptor();
    if (!described) return { kind: 'rejected', selection: { kind: 'rejected', code: 'NO_FACE', params: {} } };

    const box = selection.detection.box;
    const maskEvidence = measureMaskEvidence(image, described.landmarks.positions);
    return {
      kind: 'face',
      descriptor: described.descriptor,
      detection: { score: selection.detection.score, box: { x: box.x - offset, y: box.y - offset, width: box.width, height: box.height } },
      ignoredSmallFaces: selection.ignoredSmallFaces,
      padded: offset > 0,
      maskEvidence,
    };
  } finally {
    input.dispose();
  }
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Run extractions one at a time. The wasm backend computes on one thread anyway, and
 * serialising bounds the tensors alive at once to one photo's worth.
 */
function runExclusive<T>(task: () => Promise<T>): Promise<T> {
  const run = queue.then(task, task);
  queue = run.catch(() => undefined);
  return run;
}
