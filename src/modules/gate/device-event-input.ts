import { AppError } from '../../shared/errors.js';
import { formatLocalDateTime } from '../../shared/time.js';
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

/**
 * Chinese labels of the body's fields. The route schema uses them as titles, so these
 * messages and the schema's own validation messages name a field the same way.
 */
export const DEVICE_EVENT_FIELD_LABELS = {
  eventId: '事件编号',
  occurredAt: '通行时间',
  temperature: '体温',
  descriptor: '人脸特征值',
  imageBase64: '抓拍图',
  cardNumber: '卡号',
  idNumber: '身份证号',
  personId: '人员 ID',
} as const;

type DeviceEventField = keyof typeof DEVICE_EVENT_FIELD_LABELS;

const CREDENTIAL_FIELDS = ['descriptor', 'imageBase64', 'cardNumber', 'idNumber', 'personId'] as const;
/** Instants before 2020 or more than a day ahead are a device clock that was never set. */
const EARLIEST_VALID_MS = Date.parse('2020-01-01T00:00:00Z');
const MAX_ECHOED_CHARACTERS = 40;

function invalid(detail: string): AppError {
  return new AppError('VALIDATION', { detail });
}

/** Name a field as the schema messages do: 事件编号（eventId）. */
function fieldName(field: DeviceEventField): string {
  return `${DEVICE_EVENT_FIELD_LABELS[field]}（${field}）`;
}

/** Quote a received value for a message, cut to 40 characters: “has space”, “true”. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > MAX_ECHOED_CHARACTERS ? `“${text.slice(0, MAX_ECHOED_CHARACTERS)}…”` : `“${text}”`;
}

/** Check and convert a device event body; throws VALIDATION (400) with the reason. */
export function parseDeviceEventBody(body: unknown, now: number): DeviceEventInput {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid(`请求体应为 JSON 对象，包含${fieldName('eventId')}、${fieldName('occurredAt')}和一项身份信息，例如卡号（cardNumber）`);
  const fields = body as Record<string, unknown>;

  const eventId = typeof fields.eventId === 'number' && Number.isSafeInteger(fields.eventId) ? String(fields.eventId) : fields.eventId;
  if (typeof eventId !== 'string' || !/^[\w.:@-]{1,128}$/.test(eventId)) {
    const problem = eventId === undefined || eventId === null || eventId === '' ? '缺失' : `${quote(eventId)}无效`;
    throw invalid(
      `${fieldName('eventId')}${problem}：请发送 1-128 个字母、数字或 _ . : @ - 组成的编号（或一个整数），例如 "east-1-000123"；` +
        '同一设备的每次通行用不同的编号，重发同一次通行时沿用原编号',
    );
  }

  const occurredAt = parseOccurredAt(fields.occurredAt, now);
  const temperatureC = parseTemperature(fields.temperature);

  const present = CREDENTIAL_FIELDS.filter((name) => fields[name] !== undefined && fields[name] !== null);
  if (present.length === 0) {
    const names = CREDENTIAL_FIELDS.map(fieldName);
    throw invalid(`缺少身份信息：请提供${names.slice(0, -1).join('、')}或${names.at(-1)}之一`);
  }
  if (present.length > 1) throw invalid(`身份信息只能提供一种，收到 ${present.map(fieldName).join('、')}，请只保留其中一项`);

  return { eventId, occurredAt, temperatureC, credential: parseCredential(present[0], fields[present[0]]) };
}

function parseOccurredAt(value: unknown, now: number): number {
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) ms = value;
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const parsed = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}+08:00`);
    if (!Number.isNaN(parsed)) ms = parsed;
  }
  if (ms === undefined) {
    const problem = value === undefined || value === null || value === '' ? '缺失' : `${quote(value)}无效`;
    throw invalid(`${fieldName('occurredAt')}${problem}：请发送毫秒时间戳或 ISO-8601 时间，例如 1796599930000 或 2026-12-07T07:32:10+08:00（同一时刻）`);
  }
  if (ms < EARLIEST_VALID_MS || ms > now + 24 * 60 * 60 * 1000) {
    const when = ms < EARLIEST_VALID_MS ? '早于 2020 年' : '比服务器时间晚一天以上';
    throw invalid(`${fieldName('occurredAt')}${formatLocalDateTime(ms)}（北京时间）${when}，请校准设备时钟后重发`);
  }
  return ms;
}

function parseTemperature(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalid(`${fieldName('temperature')}${quote(value)}无效：请发送摄氏度数值，例如 36.5；未测温时省略该字段或发送 null`);
  }
  return Math.round(value * 10) / 10;
}

function parseCredential(field: (typeof CREDENTIAL_FIELDS)[number], value: unknown): DeviceCredential {
  switch (field) {
    case 'descriptor':
      return { kind: 'descriptor', descriptor: parseDescriptor(value) };
    case 'imageBase64':
      return { kind: 'image', image: parseImage(value) };
    case 'cardNumber': {
      const cardNumber = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : undefined;
      if (cardNumber === undefined || !/^[0-9A-Za-z]{1,64}$/.test(cardNumber)) {
        throw invalid(`${fieldName('cardNumber')}${quote(cardNumber ?? value)}无效：请发送读卡器读到的卡号，1-64 位字母或数字，不含空格和符号`);
      }
      return { kind: 'card', cardNumber };
    }
    case 'idNumber': {
      const idNumber = typeof value === 'string' ? value.trim().toUpperCase() : '';
      // The value is not echoed, because the message may reach logs and an ID number must not.
      if (!/^\d{17}[\dX]$/.test(idNumber)) throw invalid(`${fieldName('idNumber')}无效：请发送 18 位身份证号（17 位数字加 1 位数字或 X），不含空格`);
      return { kind: 'id_number', idNumber };
    }
    case 'personId': {
      if (typeof value !== 'string' || !/^[0-9A-Za-z]{1,64}$/.test(value)) {
        throw invalid(`${fieldName('personId')}${quote(value)}无效：请发送平台中人员的 ID（1-64 位字母或数字），或改用卡号、身份证号或人脸识别`);
      }
      return { kind: 'person', personId: value };
    }
  }
}

/** Parse a face descriptor: exactly 128 finite numbers. */
export function parseDescriptor(value: unknown): Float32Array {
  if (!Array.isArray(value)) throw invalid(`${fieldName('descriptor')}应为 ${DESCRIPTOR_LENGTH} 个数的数组：请发送人脸模型输出的 ${DESCRIPTOR_LENGTH} 维特征值，例如 [0.013, -0.092, …]`);
  if (value.length !== DESCRIPTOR_LENGTH) {
    throw invalid(`${fieldName('descriptor')}应为 ${DESCRIPTOR_LENGTH} 个数，收到 ${value.length} 个：请发送人脸模型输出的完整 ${DESCRIPTOR_LENGTH} 维特征值`);
  }
  const descriptor = new Float32Array(DESCRIPTOR_LENGTH);
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (typeof item !== 'number' || !Number.isFinite(item)) {
      throw invalid(
        `${fieldName('descriptor')}第 ${i + 1} 个值不是有限数（${JSON.stringify(item) ?? String(item)}）：每个值都应为数字，NaN、Infinity 和字符串都不接受，请检查人脸模型的输出`,
      );
    }
    descriptor[i] = item;
  }
  return descriptor;
}

/** Decode a base64 JPEG of at most 5 MB; a `data:image/jpeg;base64,` prefix is allowed. */
export function parseImage(value: unknown): Buffer {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(`${fieldName('imageBase64')}应为非空文本：请发送 base64 编码的 JPEG 图片，可带 data:image/jpeg;base64, 前缀`);
  }
  const text = value.replace(/^data:image\/[a-z]+;base64,/i, '');
  const decodedBytes = Math.floor((text.replace(/\s|=+$/g, '').length * 3) / 4);
  if (decodedBytes > MAX_IMAGE_BYTES) {
    throw invalid(
      `${fieldName('imageBase64')}过大：图片 ${decodedBytes.toLocaleString('en-US')} 字节，超过上限 ${MAX_IMAGE_BYTES.toLocaleString('en-US')} 字节（5 MB），请压缩后重试`,
    );
  }
  if (!/^[A-Za-z0-9+/_\s-]*={0,2}\s*$/.test(text)) throw invalid(`${fieldName('imageBase64')}不是有效的 base64 编码：请把 JPEG 图片的字节按 base64 编码后发送`);
  const image = Buffer.from(text, 'base64');
  if (!isJpeg(image)) throw invalid(`${fieldName('imageBase64')}不是 JPEG 图片：请发送 JPEG 格式的抓拍图，PNG 等格式请先转换`);
  return image;
}
