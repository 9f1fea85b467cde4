import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

/**
 * WAL checkpoints of a SQLite file in a worker thread with its own connection.
 *
 * With SQLite's automatic checkpoint (every 1,000 WAL pages), the commit that crosses
 * the limit copies the pages into the database file and waits for two fsyncs, and
 * better-sqlite3 runs it on the event loop. Gate entries commit many times a second:
 * 10 lanes calling the gate service in one process (3,000 pupils, 2 cores) decided 6,500
 * to 7,600 entries a second that way, and 8,100 to 8,500 with checkpoints in this worker.
 * The worker runs a PASSIVE checkpoint every CHECKPOINT_INTERVAL_MS. SQLite documents
 * that mode as copying what it can without waiting for readers or writers
 * (sqlite3_wal_checkpoint_v2). The writer keeps an automatic checkpoint at
 * FALLBACK_CHECKPOINT_PAGES in case this worker falls behind or stops.
 */

export const CHECKPOINT_INTERVAL_MS = 250;
/** Automatic checkpoint of the writing connection, about 40 MB of WAL at 4 KiB pages. */
export const FALLBACK_CHECKPOINT_PAGES = 10_000;
/** A worker that does not stop this long after close() is terminated. */
const STOP_TIMEOUT_MS = 2_000;

// The worker is plain CommonJS run with `eval`, so it loads the same way under tsx, in
// the built package and in tests.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.modulePath);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 100');
let failures = 0;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    failures += 1;
    // Report the first failure and then every 100th, so a broken disk does not flood the log.
    if (failures === 1 || failures % 100 === 0) parentPort.postMessage({ failures, message: String(error && error.message) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/** Start checkpointing `file` (a WAL-mode SQLite database) in a worker thread. */
export function startCheckpointer(file: string, log?: Logger): Checkpointer {
  const modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, modulePath, intervalMs: CHECKPOINT_INTERVAL_MS } });
  // The process may exit while the worker runs; open transactions are the writer's.
  worker.unref();

  let exited = false;
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  void exit.then(() => {
    exited = true;
  });
  worker.on('message', (report: { failures: number; message: string }) => {
    log?.warn({ file, failures: report.failures, error: report.message }, 'sqlite background checkpoint failed');
  });
  worker.on('error', (error) => {
    log?.error({ err: error, file }, 'sqlite checkpoint worker stopped; the automatic checkpoint takes over');
  });

  return {
    async stop() {
      if (exited) return;
      worker.postMessage('stop');
      const timeout = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(timeout);
    },
  };
}
