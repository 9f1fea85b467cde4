import type { AppContext } from '../../context.js';
import type { Worker } from '../../workers.js';
import { checkinWriter } from './checkin-writer.js';
import { venueCodeLookup } from './code-lookup.js';
import { purgeExpiredCheckins } from './retention.js';

/** Retention runs once an hour and once shortly after start. */
const RETENTION_INTERVAL_MS = 60 * 60_000;
const FIRST_RUN_DELAY_MS = 60_000;

/** The venues module's background work in `serve`: the check-in writer's thread and check-in retention. */
export const venueWorker: Worker = {
  name: 'venues',
  start(ctx: AppContext) {
    checkinWriter(ctx)
      .ready()
      .catch((error: unknown) => ctx.log.error({ err: error }, 'check-in writer thread did not start; the first check-in tries again'));
    let running: Promise<void> | undefined;
    const run = () => {
      if (running) return;
      running = purgeExpiredCheckins(ctx)
        .then(() => undefined)
        .catch((error: unknown) => ctx.log.error({ err: error }, 'venue check-in retention failed'))
        .finally(() => (running = undefined));
    };
    const first = setTimeout(run, FIRST_RUN_DELAY_MS);
    const timer = setInterval(run, RETENTION_INTERVAL_MS);

    return async () => {
      clearTimeout(first);
      clearInterval(timer);
      await running;
      await venueCodeLookup(ctx).drain();
    };
  },
};
