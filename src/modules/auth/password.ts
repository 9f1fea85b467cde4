import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { AppError } from '../../shared/errors.js';

/** scrypt cost parameters. Stored with each hash, so raising them later rehashes on login. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** 2^15 x 8 x 128 bytes = 32 MiB per hash; measured at 297 ms a hash on the 2-core dev machine under load. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 32768, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
export const PASSWORD_MIN_LENGTH = 8;
/** Longer input only costs hashing time; no real passphrase needs more. */
export const PASSWORD_MAX_LENGTH = 128;

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hash a password with a fresh salt into `scrypt$N$r$p$salt$hash`. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0)) return undefined;
  return { params: { N, r, p }, salt: Buffer.from(parts[4], 'base64url'), key: Buffer.from(parts[5], 'base64url') };
}

/** Check a password against a stored hash in constant time; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await scrypt(password, parsed.salt, parsed.params);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/** True when a stored hash was made with other parameters than `params` and should be redone. */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parseHash(stored);
  if (!parsed) return true;
  return parsed.params.N !== params.N || parsed.params.r !== params.r || parsed.params.p !== params.p;
}

/** A hash of a random password, verified against when the username does not exist so both paths take as long. */
let decoyHash: Promise<string> | undefined;
export function getDecoyHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return decoyHash;
}

/**
 * Reject a new password that is too short, too long or blank. `label` names the field in
 * the user's message: 新密码 when a user changes their own, 初始密码 when an admin creates an account.
 */
export function assertPasswordAcceptable(password: string, label: '新密码' | '初始密码' | '密码' = '新密码'): void {
  if (password.trim().length === 0) {
    throw new AppError('VALIDATION', { detail: `${label}不能为空` });
  }
  if ([...password].length < PASSWORD_MIN_LENGTH) {
    throw new AppError('VALIDATION', { detail: `${label}至少需要 ${PASSWORD_MIN_LENGTH} 个字符` });
  }
  if ([...password].length > PASSWORD_MAX_LENGTH) {
    throw new AppError('VALIDATION', { detail: `${label}不能超过 ${PASSWORD_MAX_LENGTH} 个字符` });
  }
}
