import type { AppContext } from '../../context.js';
import type { Worker } from '../../workers.js';
import { sendUnknownAbsenceRemindersForAllSchools } from './reminders.js';

/** The reminders are checked once a minute, so one goes out within a minute of its time. */
const TICK_MS = 60_000;

/** The checks module's background work in `serve`: the unknown-absence reminders. */
export const checksWorker: Worker = {
  name: 'checks',
  start(ctx: AppContext) {
    let running: Promise<void> | undefined;
    const tick = () => {
      if (running) return;
      running = sendUnknownAbsenceRemindersForAllSchools(ctx)
        .then(() => undefined)
        .catch((error: unknown) => ctx.log.error({ err: error }, 'checks worker tick failed'))
        .finally(() => (running = undefined));
    };
    const timer = setInterval(tick, TICK_MS);
    return async () => {
      clearInterval(timer);
      await running;
    };
  },
};
