import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { AppContext } from '../../context.js';
import { onDbClose, sqliteFileOf } from '../../db/connection.js';
import { masterKeyOf } from '../../shared/crypto.js';
import { CheckinGroupWriter, type GroupResult } from './checkin-group.js';
import type { CheckinDraft, CheckinWindows, WrittenCheckin } from './checkin-rules.js';
import { unpackResult, type FromThread, type ThreadData, type ToThread } from './checkin-thread-protocol.js';

/**
 * Group commit of check-ins. Check-ins that arrive while a group is written wait and go
 * into the next group together, and each group is decided (checkin-rules.ts) and stored
 * in one transaction. Each caller's promise resolves after the commit, so every check-in
 * that gets a reply is stored. On a busy morning this turns hundreds of small
 * transactions a second into a few dozen larger ones.
 *
 * Groups are written one after another, so the decision on a scan includes that
 * person's earlier check-ins written by this process. Two processes can each write one
 * scan of a pair that arrives within the same few milliseconds; the next scan of that
 * person sees both and is folded.
 *
 * Where a group is written:
 * - PostgreSQL: in this thread (checkin-group.ts), reading the group's recent check-ins
 *   from the database, because several server processes may write. A worker thread with
 *   its own pool was tried too and cost the database more CPU per check-in
 *   (docs/decisions.md).
 * - A SQLite file: in a worker thread with its own connection (checkin-thread.ts), which
 *   keeps the recent check-ins in memory and encrypts what it inserts. The insert and the
 *   encryption then use the second core instead of the thread that serves HTTP
 *   (docs/benchmarks.md has the figures).
 * - SQLite `:memory:`: in this thread, because another connection would see another
 *   database.
 */

/** Check-ins written per transaction at most. */
const MAX_GROUP = 200;
/**
 * Groups handed to the store and not yet committed, at most. In this thread two let the
 * next group read and decide while the one before commits. The SQLite worker thread gets
 * one at a time, so the next group grows while it writes. At 10 connections that reached
 * 25 to 29 % of the bare route, against 23 to 26 % with two and 22 to 24 % with four
 * (bench/venue-checkin.ts, 2-core machine, 2026-12-05).
 */
const MAX_GROUPS_IN_FLIGHT = { local: 2, thread: 1 };

/** Destination of groups: a writer in this thread or the SQLite worker thread. */
interface GroupStore {
  /** Resolves when groups can be written without a start-up wait. */
  ready(): Promise<void>;
  write(group: CheckinDraft[], windows: CheckinWindows, now: number): Promise<GroupResult>;
  forgetRecent(): void;
  close(): Promise<void>;
}

interface Pending {
  draft: CheckinDraft;
  resolve(result: WrittenCheckin): void;
  reject(error: unknown): void;
}

export class CheckinWriter {
  private queue: Pending[] = [];
  private running: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly store: GroupStore;
  private readonly maxInFlight: number;

  constructor(private readonly ctx: AppContext) {
    const file = ctx.dialect === 'sqlite' ? sqliteFileOf(ctx.db) : undefined;
    if (file) {
      this.store = new ThreadGroupStore({ file, masterKey: masterKeyOf(ctx.cipher) }, ctx.log);
      this.maxInFlight = MAX_GROUPS_IN_FLIGHT.thread;
    } else {
      this.maxInFlight = MAX_GROUPS_IN_FLIGHT.local;
      const local = new CheckinGroupWriter(ctx.db, ctx.dialect, ctx.cipher);
      this.store = {
        ready: async () => {},
        write: (group, windows, now) => local.write(group, windows, now),
        forgetRecent: () => local.forgetRecent(),
        close: async () => {},
      };
    }
  }

  /**
   * Start the worker thread, if this database has one, and resolve once it has opened the
   * file. `serve` calls this at start, so the first scan does not wait for the thread.
   */
  ready(): Promise<void> {
    return this.store.ready();
  }

  /** Write one check-in with the next group; resolves after its commit. */
  submit(draft: CheckinDraft): Promise<WrittenCheckin> {
    return new Promise<WrittenCheckin>((resolve, reject) => {
      this.queue.push({ draft, resolve, reject });
      if (!this.running) this.running = this.drain();
    });
  }

  /** Wait until every submitted check-in is written. */
  async flushed(): Promise<void> {
    while (this.running || this.inFlight.size > 0) {
      if (this.running) await this.running;
      await Promise.all(this.inFlight);
    }
  }

  /** Drop the recent check-ins kept in memory, because rows were deleted. The next group loads them again. */
  forgetRecent(): void {
    this.store.forgetRecent();
  }

  /** Write what is queued, then stop the worker thread if there is one. */
  async close(): Promise<void> {
    await this.flushed();
    await this.store.close();
  }

  private async drain(): Promise<void> {
    // Start the write in the event loop's check phase, after the requests that came in
    // with this one have been read and have joined the queue. Without this pause, every
    // SQLite group written in this thread held one check-in: such a write finishes in
    // microtasks, so no request is read while it runs and none can join the next group.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      // Check-ins that arrive while the groups in flight are written wait for the next group.
      while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
      const group = this.queue.splice(0, MAX_GROUP);
      const written = this.writeGroup(group).finally(() => this.inFlight.delete(written));
      this.inFlight.add(written);
    }
    this.running = undefined;
  }

  /** Write one group and settle its callers' promises; never rejects. */
  private async writeGroup(group: Pending[]): Promise<void> {
    try {
      const drafts = group.map((pending) => pending.draft);
      const { results, farApart, recentIndexDropped } = await this.store.write(drafts, this.windows(), this.ctx.now());
      if (recentIndexDropped) this.ctx.log.warn(recentIndexDropped, 'too many recent check-ins to keep in memory, reading them from the database for each group');
      for (const note of farApart) this.ctx.log.warn(note, 'far-apart check-ins flagged for review');
      group.forEach((pending, i) => pending.resolve(results[i]));
    } catch (error) {
      this.ctx.log.error({ err: error, groupSize: group.length }, 'check-in group write failed');
      for (const pending of group) pending.reject(error);
    }
  }

  private windows(): CheckinWindows {
    const { duplicateWindowMinutes, travelWindowMinutes } = this.ctx.config.venues;
    return { duplicateMs: duplicateWindowMinutes * 60_000, travelMs: travelWindowMinutes * 60_000 };
  }
}

/** A thread that does not stop this long after it was asked to is terminated. */
const THREAD_STOP_TIMEOUT_MS = 5_000;

/**
 * Groups written by the worker thread of checkin-thread.ts. The thread starts with the
 * first group, and again with the next group after a crash. A group in flight when the
 * thread crashed fails, and its callers get the error.
 */
class ThreadGroupStore implements GroupStore {
  private worker: Worker | undefined;
  private started: Promise<void> | undefined;
  private exited: Promise<void> | undefined;
  private seq = 0;
  private readonly waiting = new Map<number, { group: CheckinDraft[]; resolve(result: GroupResult): void; reject(error: unknown): void }>();

  constructor(
    private readonly data: ThreadData,
    private readonly log: Logger,
  ) {}

  async ready(): Promise<void> {
    if (!this.worker) this.start();
    await this.started;
  }

  write(group: CheckinDraft[], windows: CheckinWindows, now: number): Promise<GroupResult> {
    const worker = this.worker ?? this.start();
    const seq = ++this.seq;
    // Referenced while a group is in flight, so a script that awaits a check-in does not exit first.
    worker.ref();
    return new Promise<GroupResult>((resolve, reject) => {
      this.waiting.set(seq, { group, resolve, reject });
      this.send(worker, { kind: 'write', seq, group, windows, now });
    });
  }

  forgetRecent(): void {
    if (this.worker) this.send(this.worker, { kind: 'forget' });
  }

  async close(): Promise<void> {
    const { worker, exited } = this;
    if (!worker || !exited) return;
    this.send(worker, { kind: 'close' });
    const timeout = setTimeout(() => void worker.terminate(), THREAD_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timeout);
  }

  private send(worker: Worker, message: ToThread): void {
    worker.postMessage(message);
  }

  private start(): Worker {
    const worker = new Worker(THREAD_BOOTSTRAP, { eval: true, workerData: { ...this.data, ...threadEntry() } });
    worker.unref();
    this.worker = worker;
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.started = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('exit', (code) => reject(new Error(`check-in writer thread exited with code ${code} before it was ready`)));
    });
    // A failed start is reported by the 'error' listener and by the groups that fail.
    this.started.catch(() => {});

    worker.on('message', (message: FromThread) => {
      if (message.kind === 'ready') return;
      const waiter = this.waiting.get(message.seq);
      if (!waiter) return;
      this.waiting.delete(message.seq);
      if (this.waiting.size === 0) worker.unref();
      if (message.kind === 'written') waiter.resolve(unpackResult(message.result, waiter.group));
      else waiter.reject(Object.assign(new Error(message.message), { code: message.code }));
    });
    worker.on('error', (error) => {
      this.log.error({ err: error }, 'check-in writer thread failed; the next group starts a new one');
    });
    worker.once('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      const error = new Error(`check-in writer thread exited with code ${code} while groups were in flight`);
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    });
    return worker;
  }
}

// The thread runs checkin-thread.js from the built package. Under tsx or Vitest this
// module is TypeScript, so the thread first registers tsx to load checkin-thread.ts.
const THREAD_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  await import(workerData.entry);
})().catch((error) => {
  setImmediate(() => { throw error; });
});
`;

function threadEntry(): { entry: string; tsxApi: string | null } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { entry: new URL('./checkin-thread.js', here).href, tsxApi: null };
  // require.resolve picks the package's "require" export; the thread needs the ES module beside it.
  const tsxApi = createRequire(here).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  return { entry: new URL('./checkin-thread.ts', here).href, tsxApi: pathToFileURL(tsxApi).href };
}

const writers = new WeakMap<object, CheckinWriter>();

/** Return the check-in writer of this process for the context's database; it closes with the database. */
export function checkinWriter(ctx: AppContext): CheckinWriter {
  let writer = writers.get(ctx.db);
  if (!writer) {
    const created = new CheckinWriter(ctx);
    writers.set(ctx.db, created);
    onDbClose(ctx.db, () => created.close());
    writer = created;
  }
  return writer;
}
