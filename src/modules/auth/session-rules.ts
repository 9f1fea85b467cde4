import { createHash, randomBytes } from 'node:crypto';

/** A session unused for this long ends; the user signs in again. */
export const SESSION_IDLE_MS = 30 * 60 * 1000;
/** A session ends this long after sign-in, however busy it is. */
export const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;
/** last_seen_at is written at most this often, so reads do not each cost a write. */
export const SESSION_TOUCH_INTERVAL_MS = 60 * 1000;

/** Failed passwords in a row that lock an account, and for how long. */
export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_MS = 15 * 60 * 1000;

/** Create a cookie token (32 random bytes, base64url) and the id stored for it. */
export function newSessionToken(): { token: string; id: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, id: sessionIdOf(token) };
}

/** Compute the stored id of a cookie token: SHA-256 in hex, so a leaked table gives no usable cookie. */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export type SessionState = 'active' | 'idle' | 'expired';

/** Classify a session at `now`: 'idle' past the idle timeout, 'expired' past the maximum age. */
export function sessionState(session: { created_at: number; last_seen_at: number }, now: number): SessionState {
  if (now - session.created_at >= SESSION_MAX_AGE_MS) return 'expired';
  if (now - session.last_seen_at >= SESSION_IDLE_MS) return 'idle';
  return 'active';
}

export function shouldTouch(lastSeenAt: number, now: number): boolean {
  return now - lastSeenAt >= SESSION_TOUCH_INTERVAL_MS;
}
