import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomFillSync, hkdfSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Field encryption for personal data at rest: AES-256-GCM for the value, and a keyed
 * HMAC-SHA256 beside it for exact lookup. Both keys derive from one master key.
 */
export interface FieldCipher {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  /** Keyed hash for equality lookups; the same input always gives the same hash. */
  hash(plain: string): string;
}

const VERSION = 'v1';
const IV_BYTES = 12;

/**
 * Hands out fresh random IVs from a pooled buffer: one CSPRNG call per 341 IVs instead of
 * one per value, which halves the cost of encrypting a roster. Every IV is still random
 * and used once.
 */
const IV_POOL_BYTES = IV_BYTES * 341;
const ivPool = { buffer: Buffer.alloc(IV_POOL_BYTES), offset: IV_POOL_BYTES };

/**
 * Take the next IV as a view into the pool, without a copy. The view changes when the
 * pool refills, so the caller must use it before taking another IV.
 */
function takeIv(): Buffer {
  if (ivPool.offset + IV_BYTES > IV_POOL_BYTES) {
    randomFillSync(ivPool.buffer);
    ivPool.offset = 0;
  }
  const { buffer } = ivPool;
  const iv = Buffer.from(buffer.buffer, buffer.byteOffset + ivPool.offset, IV_BYTES);
  ivPool.offset += IV_BYTES;
  return iv;
}

export function createFieldCipher(masterKey: Buffer): FieldCipher {
  if (masterKey.length !== 32) throw new Error(`master key must be 32 bytes, got ${masterKey.length}`);
  const encryptionKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'fangkong field encryption', 32));
  const hashKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'fangkong lookup hash', 32));

  const fieldCipher: FieldCipher = {
    encrypt(plain) {
      const iv = takeIv();
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv);
      const update = cipher.update(plain, 'utf8');
      // GCM is a stream mode, so final() returns no bytes and the copy into one buffer is skipped.
      const rest = cipher.final();
      const body = rest.length === 0 ? update : Buffer.concat([update, rest]);
      const tag = cipher.getAuthTag();
      return `${VERSION}:${iv.toString('base64url')}:${body.toString('base64url')}:${tag.toString('base64url')}`;
    },
    decrypt(sealed) {
      const [version, iv, body, tag] = sealed.split(':');
      if (version !== VERSION || !iv || body === undefined || !tag) throw new Error('sealed value has an unknown format');
      const decipher = createDecipheriv('aes-256-gcm', encryptionKey, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
    hash(plain) {
      return createHmac('sha256', hashKey).update(plain, 'utf8').digest('hex');
    },
  };
  masterKeys.set(fieldCipher, Buffer.from(masterKey));
  return fieldCipher;
}

const masterKeys = new WeakMap<FieldCipher, Buffer>();

/**
 * Return a copy of the master key a cipher was made from, for a worker thread of this
 * process that builds the same cipher with `createFieldCipher`. The key is kept outside
 * the cipher object, so logging the cipher never prints it.
 */
export function masterKeyOf(cipher: FieldCipher): Buffer {
  const key = masterKeys.get(cipher);
  if (!key) throw new Error('this cipher was not made by createFieldCipher');
  return Buffer.from(key);
}

/**
 * Load the master key: FANGKONG_SECRET_KEY when set, otherwise `secret.key` in the data
 * directory, created with mode 0600 on first start.
 */
export function loadMasterKey(secretKeyHex: string, dataDir: string): Buffer {
  if (secretKeyHex) return Buffer.from(secretKeyHex, 'hex');

  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) {
    const hex = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error(`key file ${file} does not hold 64 hex characters; restore it from backup`);
    return Buffer.from(hex, 'hex');
  }

  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}

/** Mask an ID number for screens: first 3 and last 4 characters kept (330***********123X). */
export function maskIdNumber(idNumber: string): string {
  if (idNumber.length <= 7) return '*'.repeat(idNumber.length);
  return idNumber.slice(0, 3) + '*'.repeat(idNumber.length - 7) + idNumber.slice(-4);
}

/** Mask a phone number: 138****0000. */
export function maskPhone(phone: string): string {
  if (phone.length < 7) return '*'.repeat(phone.length);
  return phone.slice(0, 3) + '*'.repeat(phone.length - 7) + phone.slice(-4);
}
