import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Call `check` every 25 ms until it returns something other than undefined or false, and
 * return that value. Throws when `ms` pass first, for conditions that a background job
 * (the scheduler, a sync) makes true.
 */
export async function eventually<T>(check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(25);
  }
}
