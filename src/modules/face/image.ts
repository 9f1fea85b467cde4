import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { FaceRejection } from './rejection.js';

/**
 * Photo decoding for face extraction: bytes in, upright 8-bit RGB pixels out, or a
 * FaceRejection with a defined reason. The decoder is sharp (libvips).
 */

/** Upright RGB pixels, 3 bytes per pixel, row by row. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface DecodeOptions {
  /** Larger inputs are rejected before decoding. */
  maxBytes: number;
  /** The longer side is scaled down to this many pixels; smaller photos are left as they are. */
  maxDimension: number;
  /** Photos whose shorter side is below this cannot hold an acceptable face. */
  minDimension: number;
}

/** Formats accepted; sharp also reads GIF, TIFF, SVG and others, which no camera sends. */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp']);

/**
 * Decompression-bomb guard: headers declaring more pixels than this are rejected before
 * the pixel data is decoded (50 megapixels, for example 8660 x 5773).
 */
const MAX_INPUT_PIXELS = 50_000_000;

/** Background for transparent pixels, so a cut-out portrait looks like one on paper. */
const FLATTEN_BACKGROUND = { r: 255, g: 255, b: 255 };

/**
 * Decode a photo: apply the EXIF orientation, flatten transparency onto white, turn grey
 * scale into 3 channels and bound the size. Truncated data is an error (sharp's
 * failOn 'truncated'); milder warnings such as extraneous bytes in a JPEG are tolerated,
 * because phone and terminal encoders produce them and the pixels are intact.
 */
export async function decodeImage(input: Buffer, options: DecodeOptions): Promise<RgbImage> {
  if (input.length === 0) throw new FaceRejection('IMAGE_EMPTY');
  if (input.length > options.maxBytes) {
    throw new FaceRejection('IMAGE_TOO_LARGE', { sizeMb: (input.length / 1024 / 1024).toFixed(1), limitMb: formatMb(options.maxBytes) });
  }

  const metadata = await readMetadata(input);
  if (!metadata.format || !ACCEPTED_FORMATS.has(metadata.format)) {
    throw new FaceRejection('UNSUPPORTED_FORMAT', { format: metadata.format ?? '未知' });
  }

  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(input, { failOn: 'truncated', limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .flatten({ background: FLATTEN_BACKGROUND })
      .toColourspace('srgb')
      .resize({ width: options.maxDimension, height: options.maxDimension, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw classifyDecodeError(error);
  }

  const { data, info } = decoded;
  if (info.channels !== 3) {
    throw new Error(`decoded image has ${info.channels} channels; expected 3 after flatten and srgb conversion`);
  }
  if (Math.min(info.width, info.height) < options.minDimension) {
    throw new FaceRejection('IMAGE_TOO_SMALL', { width: info.width, height: info.height, minPx: options.minDimension });
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

async function readMetadata(input: Buffer): Promise<Metadata> {
  try {
    return await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  } catch (error) {
    throw classifyDecodeError(error);
  }
}

/**
 * Map a libvips error to a rejection: unknown bytes, a damaged header, or pixel data that
 * ends early. Messages checked against sharp 0.35 with libvips 8.17.
 */
function classifyDecodeError(error: unknown): FaceRejection {
  const message = error instanceof Error ? error.message : String(error);
  if (/unsupported image format/i.test(message)) return new FaceRejection('NOT_AN_IMAGE');
  if (/exceeds pixel limit/i.test(message)) return new FaceRejection('IMAGE_TOO_LARGE_PIXELS', { limitMp: MAX_INPUT_PIXELS / 1_000_000 });
  if (/corrupt header/i.test(message)) return new FaceRejection('IMAGE_CORRUPT', {}, message);
  if (/premature end|truncated|read error|unexpected end|not enough data/i.test(message)) return new FaceRejection('IMAGE_TRUNCATED', {}, message);
  return new FaceRejection('IMAGE_CORRUPT', {}, message);
}

/**
 * A copy of the image with a uniform grey border of `fraction` times the longer side on
 * every side. The detector misses faces that fill the whole frame (a tight crop of an ID
 * photo); the border gives it the context it was trained with. Coordinates inside the
 * padded image are shifted by `offset` pixels in x and y.
 */
export function padImage(image: RgbImage, fraction: number): { image: RgbImage; offset: number } {
  const offset = Math.round(Math.max(image.width, image.height) * fraction);
  const width = image.width + 2 * offset;
  const height = image.height + 2 * offset;
  const data = new Uint8Array(width * height * 3).fill(PAD_GREY);

  const rowBytes = image.width * 3;
  for (let y = 0; y < image.height; y++) {
    const source = image.data.subarray(y * rowBytes, (y + 1) * rowBytes);
    data.set(source, ((y + offset) * width + offset) * 3);
  }
  return { image: { data, width, height }, offset };
}

/** Mid grey: among grey, edge copy and mirror borders it gave the detector the most faces on tight crops. */
const PAD_GREY = 128;

function formatMb(bytes: number): string {
  const mb = bytes / 1024 / 1024;
  return Number.isInteger(mb) ? String(mb) : mb.toFixed(1);
}
