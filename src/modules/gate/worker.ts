import type { AppContext } from '../../context.js';
import type { Worker } from '../../workers.js';
import { sendNotArrivedListsForAllSchools } from './attendance.js';
import { checkDeviceSilence, purgeExpiredSnapshots } from './jobs.js';
import { startGateListener } from './live.js';
import { drainTerminalQueues } from './terminal-events.js';

/** How often the gate's checks run: device silence and the not-arrived lists each minute. */
const TICK_MS = 60_000;
/** Snapshot retention runs once an hour. */
const RETENTION_EVERY_TICKS = 60;

/**
 * The gate's background work in `serve`: the device-silence check and the not-arrived
 * lists every minute, snapshot retention every hour, and on PostgreSQL the LISTEN
 * connection that brings other processes' live decisions here.
 */
export const gateWorker: Worker = {
  name: 'gate',
  async start(ctx: AppContext) {
    const stopListener = await startGateListener(ctx);
    let ticks = 0;
    let running: Promise<void> | undefined;

    const tick = async () => {
      try {
        await checkDeviceSilence(ctx);
        await sendNotArrivedListsForAllSchools(ctx);
        if (ticks % RETENTION_EVERY_TICKS === 0) await purgeExpiredSnapshots(ctx);
      } catch (error) {
        ctx.log.error({ err: error }, 'gate worker tick failed');
      }
      ticks += 1;
    };
    const timer = setInterval(() => {
      if (!running) running = tick().finally(() => (running = undefined));
    }, TICK_MS);

    return async () => {
      clearInterval(timer);
      await running;
      await drainTerminalQueues(ctx);
      await stopListener();
    };
  },
};
