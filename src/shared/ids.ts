import { randomFillSync } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = 0;
let lastRandom: Uint8Array = new Uint8Array(10);

/**
 * Create a ULID: 26 characters that sort by creation time. Within one millisecond the
 * random part is incremented, so ids made in one process stay in order.
 */
export function newId(now = Date.now()): string {
  if (now === lastTime) {
    lastRandom = increment(lastRandom);
  } else {
    lastTime = now;
    lastRandom = takeRandom();
  }
  return encodeTime(now) + encodeRandom(lastRandom);
}

const RANDOM_BYTES = 10;
/** Random bytes for 409 ids at a time: one CSPRNG call instead of one per id, as the field cipher pools its IVs. */
const randomPool = { bytes: new Uint8Array(RANDOM_BYTES * 409), offset: RANDOM_BYTES * 409 };

function takeRandom(): Uint8Array {
  if (randomPool.offset + RANDOM_BYTES > randomPool.bytes.length) {
    randomFillSync(randomPool.bytes);
    randomPool.offset = 0;
  }
  const bytes = randomPool.bytes.slice(randomPool.offset, randomPool.offset + RANDOM_BYTES);
  randomPool.offset += RANDOM_BYTES;
  return bytes;
}

function encodeTime(time: number): string {
  let out = '';
  let value = time;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // Two 40-bit halves, each exact in a double, give 8 base-32 characters apiece.
  return encode40(bytes, 0) + encode40(bytes, 5);
}

function encode40(bytes: Uint8Array, start: number): string {
  let value = 0;
  for (let i = start; i < start + 5; i++) value = value * 256 + bytes[i];
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = CROCKFORD[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

function increment(bytes: Uint8Array): Uint8Array {
  const next = new Uint8Array(bytes);
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i] < 255) {
      next[i] += 1;
      return next;
    }
    next[i] = 0;
  }
  return next;
}
