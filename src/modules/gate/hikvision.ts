import { createHash } from 'node:crypto';
import type { GateMethod } from '../../db/schema.js';
import { parseMultipart, type MultipartPart } from './multipart.js';
import { parseXml } from './xml.js';

/**
 * Hikvision access-control events (ISAPI) as face-temperature terminals push them in
 * listening mode, and as the AcsEvent search returns them. Pure: bytes in, normalised
 * events out.
 *
 * Event codes follow Hikvision's HCNetSDK access-control constants. Major 5 is
 * MAJOR_EVENT, and its minors include the verification results listed below. Other
 * majors (alarms, exceptions, operations) and the door and lock minors are not entries.
 */

/** Minor codes of major 5 that are a verification: a person tried to pass. */
const VERIFY_MINORS: Record<number, { result: 'pass' | 'fail'; method: GateMethod }> = {
  0x01: { result: 'pass', method: 'card' }, // legal card
  0x02: { result: 'pass', method: 'card' }, // card and password
  0x03: { result: 'fail', method: 'card' }, // card and password failed
  0x06: { result: 'fail', method: 'card' }, // card without access rights
  0x07: { result: 'fail', method: 'card' }, // card outside its valid period
  0x08: { result: 'fail', method: 'card' }, // card expired
  0x09: { result: 'fail', method: 'card' }, // no such card
  0x26: { result: 'pass', method: 'fingerprint' }, // fingerprint compare passed
  0x27: { result: 'fail', method: 'fingerprint' }, // fingerprint compare failed
  0x28: { result: 'pass', method: 'card' }, // card and fingerprint
  0x29: { result: 'fail', method: 'card' },
  0x2e: { result: 'pass', method: 'fingerprint' }, // fingerprint and password
  0x2f: { result: 'fail', method: 'fingerprint' },
  0x31: { result: 'fail', method: 'fingerprint' }, // fingerprint not enrolled
  0x36: { result: 'pass', method: 'face' }, // face and fingerprint
  0x37: { result: 'fail', method: 'face' },
  0x39: { result: 'pass', method: 'face' }, // face and password
  0x3a: { result: 'fail', method: 'face' },
  0x3c: { result: 'pass', method: 'face' }, // face and card
  0x3d: { result: 'fail', method: 'face' },
  0x4b: { result: 'pass', method: 'face' }, // face verification passed
  0x4c: { result: 'fail', method: 'face' }, // face verification failed
  0x4d: { result: 'pass', method: 'face' }, // employee number and face
  0x4e: { result: 'fail', method: 'face' },
  0x50: { result: 'fail', method: 'face' }, // face recognition failed
};

const MAJOR_EVENT = 5;

/** One access-control event, in the terms the gate service needs. */
export interface TerminalEvent {
  /** Stable per device: serial number and time, so a replay is recognised. */
  eventId: string;
  major: number;
  minor: number;
  /** Epoch ms; a time without an offset is read as Asia/Shanghai. */
  occurredAt: number | null;
  serialNo: number | null;
  /** employeeNoString, else employeeNo: the person's student or staff number. */
  employeeNo: string | null;
  cardNo: string | null;
  /** Degrees Celsius, converted and rounded to 0.1 when the terminal used another unit. */
  temperatureC: number | null;
  /** The terminal's own verdict (isAbnomalTemperature, spelled so by the firmware). */
  abnormalTemperature: boolean | null;
  mask: 'yes' | 'no' | 'unknown' | null;
  /** Verification result, or null when the event is not an attempt to pass. */
  verification: { result: 'pass' | 'fail'; method: GateMethod } | null;
}

/** The content of one push request. */
export interface TerminalPush {
  events: TerminalEvent[];
  /** The first JPEG picture part, if any arrived whole. */
  picture: Buffer | null;
  /** Parts that could not be read (cut off, not JSON or XML), for the log. */
  skipped: Array<{ name: string | null; reason: string }>;
}

/** Classify a major/minor pair: a pass or fail verification with its method, or null. */
export function classifyEvent(major: number, minor: number): TerminalEvent['verification'] {
  if (major !== MAJOR_EVENT) return null;
  return VERIFY_MINORS[minor] ?? null;
}

/**
 * Read a push request's body. It is either multipart/form-data, with the event in a part
 * named `event_log` or `AccessControllerEvent` (or any JSON or XML part) and an optional
 * JPEG part, or a bare JSON or XML document.
 */
export function readTerminalPush(body: Buffer, contentType: string | undefined): TerminalPush {
  const type = (contentType ?? '').toLowerCase();
  const looksMultipart = type.startsWith('multipart/') || /^\s*--/.test(body.subarray(0, 16).toString('latin1'));
  if (!looksMultipart) {
    try {
      return { events: extractEvents(parseDocument(body.toString('utf8'))), picture: null, skipped: [] };
    } catch (error) {
      return { events: [], picture: null, skipped: [{ name: null, reason: (error as Error).message }] };
    }
  }

  const parts = parseMultipart(body, contentType);
  const push: TerminalPush = { events: [], picture: null, skipped: [] };
  for (const part of parts) {
    if (isPicture(part)) {
      const body = part.complete ? part.body : trimTrailingLineEnds(part.body);
      const isWhole = part.complete || endsWithJpegEoi(body);
      if (isWhole && !push.picture && isJpeg(body)) push.picture = Buffer.from(body);
      else if (!isWhole) push.skipped.push({ name: part.name, reason: 'picture cut off' });
      continue;
    }
    try {
      push.events.push(...extractEvents(parseDocument(part.body.toString('utf8'))));
    } catch (error) {
      push.skipped.push({ name: part.name, reason: part.complete ? (error as Error).message : 'part cut off' });
    }
  }
  return push;
}

function isPicture(part: MultipartPart): boolean {
  if (part.contentType?.startsWith('image/')) return true;
  if (part.filename && /\.jpe?g$/i.test(part.filename)) return true;
  return isJpeg(part.body);
}

/** True when a JPEG ends with its end-of-image marker: it arrived whole even without a closing boundary. */
function endsWithJpegEoi(bytes: Buffer): boolean {
  return bytes.length > 4 && bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9;
}

function trimTrailingLineEnds(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  return bytes.subarray(0, end);
}

export function isJpeg(bytes: Buffer): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Parse a JSON or XML event document; throws with the reason when it is neither. */
export function parseDocument(text: string): unknown {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed);
    } catch (error) {
      throw new Error(`invalid JSON: ${(error as Error).message}`);
    }
  }
  if (trimmed.startsWith('<')) return parseXml(trimmed);
  throw new Error('neither JSON nor XML');
}

/**
 * Extract the events of a parsed document. It is either a push notification
 * (`AccessControllerEvent` inside, possibly under an XML `EventNotificationAlert` root)
 * or an AcsEvent search result (`AcsEvent.InfoList`, which terminals also resend after a
 * reboot).
 */
export function extractEvents(document: unknown): TerminalEvent[] {
  const root = asRecord(document);
  if (!root) return [];

  const search = asRecord(root.AcsEvent);
  if (search) {
    const list = search.InfoList;
    let items: unknown[] = [];
    if (Array.isArray(list)) items = list;
    else if (list) items = [list];
    return items.map(asRecord).filter((item): item is Record<string, unknown> => item !== undefined).map((item) => normalise(item, item.time));
  }

  const alert = asRecord(root.EventNotificationAlert) ?? root;
  const inner = asRecord(alert.AccessControllerEvent);
  if (!inner) return [];
  return [normalise(inner, alert.dateTime)];
}

function normalise(fields: Record<string, unknown>, time: unknown): TerminalEvent {
  const major = toInt(fields.majorEventType ?? fields.major) ?? 0;
  const minor = toInt(fields.subEventType ?? fields.minor) ?? 0;
  const occurredAt = parseDeviceTime(time);
  const serialNo = toInt(fields.serialNo);
  const employeeNo = toText(fields.employeeNoString) ?? toText(fields.employeeNo);
  const cardNo = toText(fields.cardNo);
  const unit = toText(fields.thermometryUnit)?.toLowerCase() ?? 'celsius';
  const reading = toNumber(fields.currTemperature);

  return {
    eventId: eventIdOf(serialNo, occurredAt, fields),
    major,
    minor,
    occurredAt,
    serialNo,
    employeeNo,
    cardNo,
    temperatureC: reading === null ? null : toCelsius(reading, unit),
    abnormalTemperature: toBool(fields.isAbnomalTemperature ?? fields.isAbnormalTemperature),
    mask: toMask(fields.mask),
    verification: classifyEvent(major, minor),
  };
}

function eventIdOf(serialNo: number | null, occurredAt: number | null, fields: Record<string, unknown>): string {
  if (serialNo !== null) return `sn${serialNo}@${occurredAt ?? 'none'}`;
  const digest = createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 24);
  return `h${digest}@${occurredAt ?? 'none'}`;
}

/** Convert a reading to Celsius, rounded to 0.1 °C. */
export function toCelsius(value: number, unit: string): number {
  let celsius = value;
  if (unit.startsWith('f')) celsius = ((value - 32) * 5) / 9;
  else if (unit.startsWith('k')) celsius = value - 273.15;
  return Math.round(celsius * 10) / 10;
}

/** Parse an ISO-8601 device time; a time without an offset is local time in Asia/Shanghai. */
export function parseDeviceTime(value: unknown): number | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const text = value.trim();
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  const ms = Date.parse(hasZone ? text : `${text.replace(' ', 'T')}+08:00`);
  return Number.isNaN(ms) ? null : ms;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function toInt(value: unknown): number | null {
  const n = typeof value === 'string' ? Number(value.trim()) : value;
  return typeof n === 'number' && Number.isInteger(n) ? n : null;
}

function toNumber(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

function toText(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return null;
  const text = value.trim();
  return text === '' ? null : text;
}

function toBool(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return null;
}

function toMask(value: unknown): TerminalEvent['mask'] {
  return value === 'yes' || value === 'no' || value === 'unknown' ? value : null;
}
