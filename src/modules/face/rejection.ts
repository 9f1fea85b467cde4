/**
 * Why a photo yields no face descriptor: a stable reason code for machines (the gate, the
 * CLI's --json output, HTTP clients) and a Chinese message that tells the person what to
 * do. `{name}` placeholders are filled from the params.
 */
export const FACE_REJECTIONS = {
  IMAGE_EMPTY: '照片为空，请重新上传',
  IMAGE_TOO_LARGE: '照片过大（{sizeMb} MB），上限为 {limitMb} MB，请压缩后重新上传',
  IMAGE_TOO_LARGE_PIXELS: '照片像素过多（超过 {limitMp} 百万像素），请缩小后重新上传',
  NOT_AN_IMAGE: '上传的文件不是图片，请上传 JPEG、PNG 或 WebP 格式的照片',
  UNSUPPORTED_FORMAT: '不支持的图片格式（{format}），请上传 JPEG、PNG 或 WebP 格式的照片',
  IMAGE_CORRUPT: '照片文件已损坏，无法读取，请重新拍摄或上传',
  IMAGE_TRUNCATED: '照片文件不完整（数据被截断），请重新上传完整的照片',
  IMAGE_TOO_SMALL: '照片尺寸过小（{width}×{height} 像素），短边至少需要 {minPx} 像素',
  NO_FACE: '照片中未检测到人脸，请正对镜头、露出面部后重拍',
  MULTIPLE_FACES: '检测到多张人脸（{count} 张），请确保照片中只有本人',
  FACE_TOO_SMALL: '人脸过小（约 {sizePx} 像素），请靠近镜头重拍，人脸至少需要 {minPx} 像素',
  FACE_UNCLEAR: '人脸不清晰（检测置信度 {score}），请在光线充足处正对镜头重拍',
  FACE_MASKED: '检测到口罩或面部遮挡，请摘下口罩、露出完整面部后重拍',
} as const;

export type FaceRejectionCode = keyof typeof FACE_REJECTIONS;

export class FaceRejection extends Error {
  /** The Chinese message for the person who sent the photo. */
  readonly userMessage: string;

  constructor(
    readonly code: FaceRejectionCode,
    readonly params: Record<string, string | number> = {},
    /** Decoder detail for the log; never shown to users. */
    readonly detail?: string,
  ) {
    const userMessage = FACE_REJECTIONS[code].replace(/\{(\w+)\}/g, (_, key: string) => String(params[key] ?? ''));
    super(userMessage);
    this.name = 'FaceRejection';
    this.userMessage = userMessage;
  }
}

export function isFaceRejection(error: unknown): error is FaceRejection {
  return error instanceof FaceRejection;
}
