/**
 * When a failed notice is tried again. Exponential backoff with jitter, so a fleet of
 * notices that failed together (DingTalk down) does not retry in one burst.
 */
export interface BackoffPolicy {
  /** Delay after the first failed attempt, in milliseconds. */
  baseMs: number;
  /** Each further failure multiplies the delay by this. */
  factor: number;
  /** Upper bound of one delay, in milliseconds. */
  capMs: number;
  /** Spread of the delay as a fraction: 0.2 means ±20 %. */
  jitter: number;
}

/**
 * Delays of 10 s, 30 s, 90 s, 4.5 min, 13.5 min, then 30 min. With the default 8 attempts
 * the retries span about 80 minutes (at least 64 with the jitter at its low end). So an
 * outage of DingTalk of up to an hour delays notices but does not kill them.
 */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 10_000, factor: 3, capMs: 30 * 60_000, jitter: 0.2 };

/**
 * Delay before the next attempt after `attemptsMade` attempts (1 or more) have failed.
 * `random` returns a number in [0, 1); tests pass a fixed one.
 */
export function retryDelayMs(attemptsMade: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exponent = Math.max(0, attemptsMade - 1);
  const raw = Math.min(policy.capMs, policy.baseMs * policy.factor ** exponent);
  const spread = 1 - policy.jitter + 2 * policy.jitter * random();
  return Math.max(0, Math.round(raw * spread));
}

/** True when no attempt is left, so the notice becomes dead and the school admin gets an inbox message. */
export function isOutOfAttempts(attemptsMade: number, maxAttempts: number): boolean {
  return attemptsMade >= maxAttempts;
}

/** Total time the retries of a notice can span at the low end of the jitter, in milliseconds. */
export function minimumRetrySpanMs(maxAttempts: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  let total = 0;
  for (let attempt = 1; attempt < maxAttempts; attempt++) total += retryDelayMs(attempt, policy, () => 0);
  return total;
}
