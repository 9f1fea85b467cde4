import type { AppContext } from './context.js';
import { sessionPurgeWorker } from './modules/auth/worker.js';
import { schedulerWorker } from './jobs/scheduler.js';
import { notifyDispatcherWorker } from './modules/notify/dispatcher.js';
import { gateWorker } from './modules/gate/worker.js';
import { venueWorker } from './modules/venues/worker.js';
import { checksWorker } from './modules/checks/worker.js';
import { reportWorker } from './modules/reports/worker.js';

/** A background loop started by `serve`: the scheduler, the notice dispatcher, ... */
export interface Worker {
  name: string;
  /** Start the loop; the returned function stops it and resolves when it has stopped. */
  start(ctx: AppContext): Promise<() => Promise<void>> | (() => Promise<void>);
}

/** Workers `serve` starts, in order. Modules add theirs here. */
export const WORKERS: Worker[] = [sessionPurgeWorker, schedulerWorker, notifyDispatcherWorker, gateWorker, venueWorker, checksWorker, reportWorker];

export async function startWorkers(ctx: AppContext, workers: Worker[] = WORKERS): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  for (const worker of workers) {
    stops.push(await worker.start(ctx));
    ctx.log.info({ worker: worker.name }, 'worker started');
  }
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
