import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Venue code tokens. A printed venue code is the URL `<publicUrl>/v/<token>` with
 *
 *   token = <venue id: 26-character ULID> "." <version: decimal> "." <signature>
 *   signature = base64url of the first 16 bytes of HMAC-SHA256(key, "fkv1|<id>|<version>")
 *
 * 128 bits of signature cannot be guessed online and keep the QR small enough for a
 * bus window. The key comes from `deriveVenueCodeKey`, so no one without the server's
 * master key can make or change a code. This file has no IO: parsing and checking the
 * signature are pure, and the venue's current version is compared by the caller.
 */

export const SIGNATURE_BYTES = 16;
/** base64url length of SIGNATURE_BYTES bytes. */
export const SIGNATURE_LENGTH = 22;
export const VENUE_ID_LENGTH = 26;
export const CODE_PATH_PREFIX = '/v/';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const TOKEN = /^([0-9A-HJKMNP-TV-Z]{26})\.([1-9]\d{0,8})\.([A-Za-z0-9_-]{22})$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Why a scanned text is not a usable venue code. */
export type CodeProblem =
  /** Not a venue code of this platform: another system's QR, a random URL or text. */
  | 'not_ours'
  /** Looks like one of ours but parts are missing: a torn poster or a cut-off scan. */
  | 'truncated'
  /** The token appears twice, as when a URL is pasted or scanned twice into one field. */
  | 'doubled'
  /** Well formed, but the signature does not match: forged or edited. */
  | 'bad_signature';

export interface VenueCodeToken {
  venueId: string;
  version: number;
  signature: string;
}

export type ParsedCode = { ok: true; token: VenueCodeToken } | { ok: false; problem: CodeProblem };

/**
 * Derive the signing key from a keyed hash of the master key (the field cipher's
 * HMAC-SHA256), under a label of its own, so the venue key differs from every other key.
 */
export function deriveVenueCodeKey(keyedHash: (text: string) => string): Buffer {
  return Buffer.from(keyedHash('fangkong venue code signing key v1'), 'hex');
}

function signatureOf(key: Buffer, venueId: string, version: number): Buffer {
  return createHmac('sha256', key).update(`fkv1|${venueId}|${version}`).digest().subarray(0, SIGNATURE_BYTES);
}

/** Build the token of a venue's code version. */
export function signVenueCode(key: Buffer, venueId: string, version: number): string {
  if (!ULID.test(venueId)) throw new Error(`venue id "${venueId}" is not a 26-character ULID`);
  if (!Number.isInteger(version) || version < 1) throw new Error(`venue code version ${version} is not a positive integer`);
  return `${venueId}.${version}.${signatureOf(key, venueId, version).toString('base64url')}`;
}

/** The URL printed in a venue's QR code. */
export function venueCodeUrl(publicUrl: string, token: string): string {
  return `${publicUrl}${CODE_PATH_PREFIX}${token}`;
}

/**
 * Take the token out of whatever a scanner produced: a full URL of this platform, a
 * path, or the bare token. `publicUrl` names this platform's host; a URL of another host
 * is 'not_ours' even when its path looks right.
 */
export function extractToken(scanned: string, publicUrl?: string): { ok: true; token: string } | { ok: false; problem: CodeProblem } {
  const text = scanned.trim();
  if (!text) return { ok: false, problem: 'truncated' };

  const lower = text.toLowerCase();
  if (lower.startsWith('http://') || lower.startsWith('https://')) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { ok: false, problem: 'not_ours' };
    }
    if (publicUrl && url.host !== new URL(publicUrl).host) {
      // A second copy of our own URL glued after the first makes the host look foreign.
      return { ok: false, problem: countOccurrences(text, CODE_PATH_PREFIX) > 1 ? 'doubled' : 'not_ours' };
    }
    if (!url.pathname.startsWith(CODE_PATH_PREFIX)) return { ok: false, problem: 'not_ours' };
    const rest = decodeSafely(url.pathname.slice(CODE_PATH_PREFIX.length) + url.search + url.hash);
    return { ok: true, token: rest };
  }
  if (text.startsWith(CODE_PATH_PREFIX)) return { ok: true, token: decodeSafely(text.slice(CODE_PATH_PREFIX.length)) };
  return { ok: true, token: text };
}

/**
 * Parse a token and check its signature. The signature is compared in constant time
 * before anything is looked up, so a forged code costs one HMAC.
 */
export function parseVenueCode(key: Buffer, rawToken: string): ParsedCode {
  const token = withUpperCaseId(rawToken.trim());
  const match = TOKEN.exec(token);
  if (!match) return { ok: false, problem: classifyMalformed(token) };

  const [, venueId, versionText, signature] = match;
  const version = Number(versionText);
  const expected = signatureOf(key, venueId, version);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, problem: 'bad_signature' };
  // The last of the 22 characters carries 2 bits of the signature and 4 unused bits, and
  // Node's decoder ignores the unused ones. Fifteen other characters there would decode to
  // the same bytes, so only the encoding this server prints is accepted.
  if (given.toString('base64url') !== signature) return { ok: false, problem: 'bad_signature' };
  return { ok: true, token: { venueId, version, signature } };
}

/**
 * Upper-case the venue id at the start of a token. ULIDs use Crockford's base32, whose
 * letters are read without regard to case, so a scanner or a person that lower-cased the
 * id still names the same venue. The signature after it is base64url, where case counts.
 */
function withUpperCaseId(token: string): string {
  const id = token.slice(0, VENUE_ID_LENGTH);
  return /^[0-9a-hjkmnp-tv-z]+$/i.test(id) ? id.toUpperCase() + token.slice(VENUE_ID_LENGTH) : token;
}

/** Sort a token that does not match the format into truncated, doubled or foreign. */
function classifyMalformed(token: string): CodeProblem {
  const firstPart = token.slice(0, VENUE_ID_LENGTH);
  if (token.length > VENUE_ID_LENGTH && ULID.test(firstPart) && token.indexOf(firstPart, VENUE_ID_LENGTH) > 0) return 'doubled';
  if (countOccurrences(token, CODE_PATH_PREFIX) > 0) return 'doubled';

  const parts = token.split('.');
  const [id = '', version = '', signature = ''] = parts;
  const idIsPrefix = id.length > 0 && id.length <= VENUE_ID_LENGTH && /^[0-9A-HJKMNP-TV-Z]+$/.test(id);
  if (!idIsPrefix) return 'not_ours';
  if (id.length < VENUE_ID_LENGTH) return 'truncated';
  if (parts.length > 3) return 'not_ours';
  if (!/^\d*$/.test(version) || !BASE64URL.test(signature)) return 'not_ours';
  if (version === '' || signature.length < SIGNATURE_LENGTH) return 'truncated';
  // Every part is present but something was changed: a longer signature, a version 0.
  return 'bad_signature';
}

function countOccurrences(text: string, part: string): number {
  let count = 0;
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length)) count += 1;
  return count;
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
