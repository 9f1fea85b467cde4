import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';

/**
 * Write a Y4M video for Chromium's fake camera (--use-file-for-fake-video-capture): the
 * photo scaled into a `width` x `height` frame on a dark background, repeated `frames`
 * times. Y4M is a one-line text header and, per frame, "FRAME\n" and the raw I420 planes
 * (Y at full size, then U and V at half width and half height).
 */
export async function writeY4mFromPhoto(photoPath: string, outPath: string, options: { width?: number; height?: number; frames?: number } = {}): Promise<void> {
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const frames = options.frames ?? 3;
  const rgb = await sharp(photoPath)
    .rotate()
    .resize(width, height, { fit: 'contain', background: { r: 40, g: 44, b: 52 } })
    .removeAlpha()
    .raw()
    .toBuffer();

  const luma = Buffer.alloc(width * height);
  const blue = Buffer.alloc((width / 2) * (height / 2));
  const red = Buffer.alloc((width / 2) * (height / 2));
  // BT.601 studio range, as video decoders expect I420.
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]];
    luma[i] = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
  }
  for (let y = 0; y < height / 2; y++) {
    for (let x = 0; x < width / 2; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const p = ((y * 2 + dy) * width + (x * 2 + dx)) * 3;
        r += rgb[p] / 4;
        g += rgb[p + 1] / 4;
        b += rgb[p + 2] / 4;
      }
      blue[y * (width / 2) + x] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
      red[y * (width / 2) + x] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
    }
  }

  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`, 'ascii');
  const frame = Buffer.concat([Buffer.from('FRAME\n', 'ascii'), luma, blue, red]);
  await writeFile(outPath, Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]));
}
