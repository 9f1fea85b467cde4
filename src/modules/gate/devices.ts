import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../../context.js';
import type { DeviceDirection, DeviceKind } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import * as store from './store.js';

/**
 * Gate devices and their keys. A key is 32 random bytes shown once at registration;
 * only its keyed HMAC-SHA256 (ctx.cipher.hash) is stored. A slow hash such as scrypt
 * buys nothing for a random 256-bit key and would cost milliseconds on every event.
 */

export const DEVICE_KINDS: readonly DeviceKind[] = ['hikvision', 'api', 'kiosk'];

/** Realm of the HTTP Digest challenge sent to Hikvision terminals. */
export const DIGEST_REALM = 'fangkong';

/** How long an authenticated device row is reused before it is read again. */
const DEVICE_CACHE_MS = 30_000;
/** last_seen_at is written at most this often per device. */
const SEEN_WRITE_INTERVAL_MS = 30_000;

export interface NewDevice {
  schoolCode: string;
  kind: string;
  name: string;
  lane?: string | null;
  direction?: string | null;
}

export interface CreatedDevice {
  device: store.DeviceRow;
  /** The device's key, shown once. */
  key: string;
}

/** Register a device of a school and return its key; the key cannot be shown again. */
export async function createDevice(ctx: AppContext, input: NewDevice): Promise<CreatedDevice> {
  const school = await getSchoolByCodeOrThrow(ctx, input.schoolCode);
  const kind = input.kind as DeviceKind;
  if (!DEVICE_KINDS.includes(kind)) {
    throw new AppError('VALIDATION', { detail: `设备类型“${input.kind}”无效，可选：hikvision（海康测温终端）、api（通道设备）、kiosk（平板闸机）` });
  }
  const direction = (input.direction ?? 'in') as DeviceDirection;
  if (direction !== 'in' && direction !== 'out') {
    throw new AppError('VALIDATION', { detail: `通行方向“${input.direction}”无效，可选：in（入校）、out（离校）` });
  }
  const name = input.name.trim();
  if (!name) throw new AppError('VALIDATION', { detail: '设备名称不能为空' });

  const id = newId(ctx.now());
  const key = randomBytes(32).toString('base64url');
  const device: store.DeviceRow = {
    id,
    school_id: school.id,
    name,
    lane: input.lane?.trim() || null,
    direction,
    kind,
    key_hash: ctx.cipher.hash(`device-key:${key}`),
    digest_ha1_enc: kind === 'hikvision' ? ctx.cipher.encrypt(digestHa1(id, key)) : null,
    last_seen_at: null,
    last_serial_no: null,
    offline_alerted_at: null,
    created_at: ctx.now(),
    active: 1,
  };
  await store.insertDevice(ctx.db, device);
  ctx.log.info({ deviceId: id, schoolId: school.id, kind }, 'device registered');
  return { device, key };
}

/** Find a device of the school by id, or throw NOT_FOUND naming the id (also for another school's device). */
export async function getDeviceOfSchoolOrThrow(ctx: AppContext, schoolId: string, deviceId: string): Promise<store.DeviceRow> {
  const device = await store.findDeviceById(ctx.db, deviceId);
  if (!device || device.school_id !== schoolId) throw new AppError('NOT_FOUND', { what: '设备', value: deviceId });
  return device;
}

/**
 * Replace a device's key and return the new one, shown once. The old key stops working
 * at once in this process; other processes drop their cached row within 30 seconds.
 */
export async function rotateDeviceKey(ctx: AppContext, device: store.DeviceRow): Promise<string> {
  const key = randomBytes(32).toString('base64url');
  await store.updateDevice(ctx.db, device.id, {
    key_hash: ctx.cipher.hash(`device-key:${key}`),
    digest_ha1_enc: device.kind === 'hikvision' ? ctx.cipher.encrypt(digestHa1(device.id, key)) : null,
  });
  forgetDevice(ctx, device.id);
  ctx.log.info({ deviceId: device.id, schoolId: device.school_id }, 'device key rotated');
  return key;
}

/** Disable a device (its key is refused from now on) or enable it again. */
export async function setDeviceActive(ctx: AppContext, device: store.DeviceRow, active: boolean): Promise<store.DeviceRow> {
  await store.updateDevice(ctx.db, device.id, { active: active ? 1 : 0 });
  forgetDevice(ctx, device.id);
  ctx.log.info({ deviceId: device.id, schoolId: device.school_id, active }, active ? 'device enabled' : 'device disabled');
  return { ...device, active: active ? 1 : 0 };
}

export async function listDevices(ctx: AppContext, schoolCode: string): Promise<store.DeviceRow[]> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  return store.listDevices(ctx.db, school.id);
}

/** MD5(username:realm:password) of RFC 7616, with the device id as the user name. */
function digestHa1(deviceId: string, key: string): string {
  return createHash('md5').update(`${deviceId}:${DIGEST_REALM}:${key}`).digest('hex');
}

interface DeviceCache {
  rows: Map<string, { row: store.DeviceRow; loadedAt: number }>;
  seenWrittenAt: Map<string, number>;
  /** The key each device last authenticated with, and the stored hash it matched. */
  verifiedKeys: Map<string, { key: string; keyHash: string }>;
}

const caches = new WeakMap<AppContext, DeviceCache>();

function cacheOf(ctx: AppContext): DeviceCache {
  let cache = caches.get(ctx);
  if (!cache) {
    cache = { rows: new Map(), seenWrittenAt: new Map(), verifiedKeys: new Map() };
    caches.set(ctx, cache);
  }
  return cache;
}

/** Find an active device by id through a short-lived cache; undefined when unknown or retired. */
async function findActiveDevice(ctx: AppContext, deviceId: string): Promise<store.DeviceRow | undefined> {
  const cache = cacheOf(ctx);
  const cached = cache.rows.get(deviceId);
  if (cached && ctx.now() - cached.loadedAt < DEVICE_CACHE_MS) return cached.row;

  const row = await store.findDeviceById(ctx.db, deviceId);
  if (!row || row.active !== 1) {
    cache.rows.delete(deviceId);
    return undefined;
  }
  cache.rows.set(deviceId, { row, loadedAt: ctx.now() });
  return row;
}

/** Forget cached device rows, after a change such as a retired device. */
export function forgetDevice(ctx: AppContext, deviceId: string): void {
  cacheOf(ctx).rows.delete(deviceId);
  cacheOf(ctx).verifiedKeys.delete(deviceId);
}

/** Authenticate a device by its key; undefined on a wrong key. Compares hashes in constant time. */
export async function authenticateDevice(ctx: AppContext, deviceId: string, key: string): Promise<store.DeviceRow | undefined> {
  if (!deviceId || !key || deviceId.length > 64 || key.length > 128) return undefined;
  const device = await findActiveDevice(ctx, deviceId);
  if (!device) return undefined;

  // A lane sends the same key with every event, so the key that last matched the stored
  // hash is compared directly, which skips the HMAC (about 2% of a face decision). A
  // changed hash in the device row makes the remembered key useless.
  const verifiedKeys = cacheOf(ctx).verifiedKeys;
  const verified = verifiedKeys.get(device.id);
  if (verified && verified.keyHash === device.key_hash && sameSecret(verified.key, key)) return device;

  if (!sameSecret(device.key_hash, ctx.cipher.hash(`device-key:${key}`))) return undefined;
  verifiedKeys.set(device.id, { key, keyHash: device.key_hash });
  return device;
}

/** Compare two secrets in time that does not depend on where they differ. */
function sameSecret(expected: string, actual: string): boolean {
  const expectedBytes = Buffer.from(expected);
  const actualBytes = Buffer.from(actual);
  return expectedBytes.length === actualBytes.length && timingSafeEqual(expectedBytes, actualBytes);
}

/** Split `Bearer <deviceId>.<key>`; undefined when the header has another form. */
export function parseDeviceBearer(header: string | undefined): { deviceId: string; key: string } | undefined {
  const match = /^Bearer\s+([0-9A-Za-z]{1,64})\.([A-Za-z0-9_-]{1,128})$/.exec(header?.trim() ?? '');
  return match ? { deviceId: match[1], key: match[2] } : undefined;
}

/**
 * Check an HTTP Digest Authorization header (RFC 7616, MD5, qop=auth) against the
 * device's stored HA1. The nonce is checked by `isNonceValid`, which the caller supplies.
 */
export async function authenticateDigest(
  ctx: AppContext,
  deviceId: string,
  method: string,
  header: string,
  isNonceValid: (nonce: string) => boolean,
): Promise<store.DeviceRow | undefined> {
  const fields = parseDigestHeader(header);
  if (!fields || fields.username !== deviceId || fields.realm !== DIGEST_REALM) return undefined;
  if (!isNonceValid(fields.nonce)) return undefined;
  if (fields.qop && fields.qop !== 'auth') return undefined;

  const device = await findActiveDevice(ctx, deviceId);
  if (!device?.digest_ha1_enc) return undefined;
  const ha1 = ctx.cipher.decrypt(device.digest_ha1_enc);
  const ha2 = createHash('md5').update(`${method}:${fields.uri}`).digest('hex');
  const material = fields.qop ? `${ha1}:${fields.nonce}:${fields.nc}:${fields.cnonce}:${fields.qop}:${ha2}` : `${ha1}:${fields.nonce}:${ha2}`;
  const expected = Buffer.from(createHash('md5').update(material).digest('hex'));
  const actual = Buffer.from(fields.response.toLowerCase());
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? device : undefined;
}

interface DigestFields {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
}

export function parseDigestHeader(header: string): DigestFields | undefined {
  if (!/^Digest\s/i.test(header)) return undefined;
  const fields: Record<string, string> = {};
  for (const match of header.slice(7).matchAll(/(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]+))/g)) {
    fields[match[1].toLowerCase()] = match[2] ?? match[3];
  }
  const { username, realm, nonce, uri, response } = fields;
  if (!username || !realm || !nonce || !uri || !response) return undefined;
  if (fields.qop && (!fields.nc || !fields.cnonce)) return undefined;
  return { username, realm, nonce, uri, response, qop: fields.qop, nc: fields.nc, cnonce: fields.cnonce };
}

/**
 * Note that the device was heard from; written at most every 30 seconds per device, and
 * never moved back to an earlier time.
 */
export async function markDeviceSeen(ctx: AppContext, device: store.DeviceRow): Promise<void> {
  const cache = cacheOf(ctx);
  const now = ctx.now();
  const last = cache.seenWrittenAt.get(device.id);
  if (last !== undefined && now - last < SEEN_WRITE_INTERVAL_MS && now >= last) return;
  cache.seenWrittenAt.set(device.id, now);
  await store.raiseLastSeenAt(ctx.db, device.id, now);
}
