import { AppError } from '../../shared/errors.js';
import { isJpeg } from './hikvision.js';

/**
 * The body of POST /api/devices/events, checked field by field so a device gets a 400
 * naming the field and the fix. Pure: no IO.
 */

export const DESCRIPTOR_LENGTH = 128;
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

export type DeviceCredential =
  | { kind: 'descriptor'; descriptor: Float32Array }
  | { kind: 'image'; image: Buffer }
  | { kind: 'card'; cardNumber: string }
  | { kind: 'id_number'; idNumber: string }
  | { kind: 'person'; personId: string };

export interface DeviceEventInput {
  eventId: string;
  occurredAt: number;
  /** Degrees Celsius, or null when the lane measured nothing. */
  temperatureC: number | null;
  credential: DeviceCredential;
}

const CREDENTIAL_FIELDS = ['descriptor', 'imageBase64', 'cardNumber', 'idNumber', 'personId'] as const;
/** Instants before 2020 or more than a day ahead are a device clock that was never set. */
const EARLIEST_VALID_MS = Date.parse('2020-01-01T00:00:00Z');

function invalid(detail: string): AppError {
  return new AppError('VALIDATION', { detail });
}

/** Check and convert a device event body; throws VALIDATION (400) with the reason. */
export function parseDeviceEventBody(body: unknown, now: number): DeviceEventInput {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('请求体应为 JSON 对象');
  const fields = body as Record<string, unknown>;

  const eventId = typeof fields.eventId === 'number' && Number.isSafeInteger(fields.eventId) ? String(fields.eventId) : fields.eventId;
  if (typeof eventId !== 'string' || !/^[\w.:@-]{1,128}$/.test(eventId)) {
    throw invalid('eventId 缺失或无效：应为 1-128 个字母、数字或 _ . : @ -，同一设备的每次通行唯一');
  }

  const occurredAt = parseOccurredAt(fields.occurredAt, now);
  const temperatureC = parseTemperature(fields.temperature);

  const present = CREDENTIAL_FIELDS.filter((name) => fields[name] !== undefined && fields[name] !== null);
  if (present.length === 0) throw invalid('缺少身份信息：请提供 descriptor、imageBase64、cardNumber、idNumber 或 personId 之一');
  if (present.length > 1) throw invalid(`身份信息只能提供一种，收到 ${present.join('、')}`);

  return { eventId, occurredAt, temperatureC, credential: parseCredential(present[0], fields[present[0]]) };
}

function parseOccurredAt(value: unknown, now: number): number {
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) ms = value;
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const parsed = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}+08:00`);
    if (!Number.isNaN(parsed)) ms = parsed;
  }
  if (ms === undefined) throw invalid('occurredAt 缺失或无效：应为毫秒时间戳或 ISO-8601 时间，例如 2026-12-07T07:32:10+08:00');
  if (ms < EARLIEST_VALID_MS || ms > now + 24 * 60 * 60 * 1000) {
    throw invalid(`occurredAt ${new Date(ms).toISOString()} 不合理，请校准设备时钟`);
  }
  return ms;
}

function parseTemperature(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid('temperature 应为摄氏度数值，例如 36.5');
  return Math.round(value * 10) / 10;
}

function parseCredential(field: (typeof CREDENTIAL_FIELDS)[number], value: unknown): DeviceCredential {
  switch (field) {
    case 'descriptor':
      return { kind: 'descriptor', descriptor: parseDescriptor(value) };
    case 'imageBase64':
      return { kind: 'image', image: parseImage(value) };
    case 'cardNumber': {
      if (typeof value !== 'string' && typeof value !== 'number') throw invalid('cardNumber 应为卡号字符串');
      const cardNumber = String(value).trim();
      if (!/^[0-9A-Za-z]{1,64}$/.test(cardNumber)) throw invalid('cardNumber 应为 1-64 位字母或数字');
      return { kind: 'card', cardNumber };
    }
    case 'idNumber': {
      const idNumber = typeof value === 'string' ? value.trim().toUpperCase() : '';
      if (!/^\d{17}[\dX]$/.test(idNumber)) throw invalid('idNumber 应为 18 位身份证号');
      return { kind: 'id_number', idNumber };
    }
    case 'personId': {
      if (typeof value !== 'string' || !/^[0-9A-Za-z]{1,64}$/.test(value)) throw invalid('personId 无效');
      return { kind: 'person', personId: value };
    }
  }
}

/** Parse a face descriptor: exactly 128 finite numbers. */
export function parseDescriptor(value: unknown): Float32Array {
  if (!Array.isArray(value)) throw invalid(`descriptor 应为 ${DESCRIPTOR_LENGTH} 个数的数组`);
  if (value.length !== DESCRIPTOR_LENGTH) throw invalid(`descriptor 应为 ${DESCRIPTOR_LENGTH} 个数，收到 ${value.length} 个`);
  const descriptor = new Float32Array(DESCRIPTOR_LENGTH);
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (typeof item !== 'number' || !Number.isFinite(item)) {
      throw invalid(`descriptor 第 ${i + 1} 个值不是有限数（${JSON.stringify(item) ?? String(item)}），NaN、Infinity 和字符串都不接受`);
    }
    descriptor[i] = item;
  }
  return descriptor;
}

/** Decode a base64 JPEG of at most 5 MB; a `data:image/jpeg;base64,` prefix is allowed. */
export function parseImage(value: unknown): Buffer {
  if (typeof value !== 'string' || value.length === 0) throw invalid('imageBase64 应为 base64 编码的 JPEG 图片');
  const text = value.replace(/^data:image\/[a-z]+;base64,/i, '');
  const decodedBytes = Math.floor((text.replace(/\s|=+$/g, '').length * 3) / 4);
  if (decodedBytes > MAX_IMAGE_BYTES) {
    throw invalid(`图片过大：${decodedBytes.toLocaleString('en-US')} 字节，超过上限 ${MAX_IMAGE_BYTES.toLocaleString('en-US')} 字节（5 MB），请压缩后重试`);
  }
  if (!/^[A-Za-z0-9+/_\s-]*={0,2}\s*$/.test(text)) throw invalid('imageBase64 不是有效的 base64 编码');
  const image = Buffer.from(text, 'base64');
  if (!isJpeg(image)) throw invalid('imageBase64 不是 JPEG 图片，请上传 JPEG 格式的抓拍图');
  return image;
}
