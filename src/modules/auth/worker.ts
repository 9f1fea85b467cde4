import type { Worker } from '../../workers.js';
import { purgeStaleSessions } from './service.js';

const PURGE_INTERVAL_MS = 10 * 60 * 1000;

/** Deletes sessions past their idle timeout or maximum age every 10 minutes. */
export const sessionPurgeWorker: Worker = {
  name: 'session-purge',
  start(ctx) {
    const run = async () => {
      try {
        const removed = await purgeStaleSessions(ctx);
        if (removed > 0) ctx.log.info({ removed }, 'stale sessions removed');
      } catch (error) {
        ctx.log.error({ err: error }, 'session purge failed');
      }
    };
    const timer = setInterval(run, PURGE_INTERVAL_MS);
    timer.unref();
    return async () => clearInterval(timer);
  },
};
