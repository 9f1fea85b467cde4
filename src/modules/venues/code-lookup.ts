import type { AppContext } from '../../context.js';
import type { CodeColor, VenueCodeSource } from '../../db/schema.js';
import type { BureauClient } from '../healthcode/bureau-client.js';
import { MAX_BATCH_SIZE } from '../healthcode/bureau-client.js';
import { getBureauClient } from '../healthcode/service.js';

/**
 * One person's health code for a check-in, through the bureau client that health-code
 * sync uses (one client per process, so check-ins and syncs share the bureau's rate
 * limit). Around it:
 *
 * - a cache of recent answers, keyed by the ID number's keyed hash, for
 *   `codeCacheSeconds` (a 'not found' answer for a minute); failures are not cached;
 * - batching: lookups that arrive within BATCH_WAIT_MS go to the bureau as one query
 *   of up to 100 ID numbers, so a busy morning costs few bureau requests;
 * - a deadline: a check-in waits at most `bureauDeadlineMs`, then records 'unknown'.
 *   A late answer still fills the cache for the next scan;
 * - a breaker: after a failed query the bureau is not asked for BREAKER_OPEN_MS and
 *   check-ins record 'unknown' at once instead of each waiting out the deadline.
 */

export interface CodeLookupResult {
  color: CodeColor;
  source: VenueCodeSource;
}

const BATCH_WAIT_MS = 5;
const NOT_FOUND_CACHE_MS = 60_000;
export const BREAKER_OPEN_MS = 30_000;
/** Cache entries kept at most; the oldest go first. */
const MAX_CACHE_ENTRIES = 200_000;

interface Waiter {
  resolve(result: CodeLookupResult): void;
}

interface Pending {
  idNumber: string;
  idHash: string;
  waiters: Waiter[];
}

export class VenueCodeLookup {
  private readonly cache = new Map<string, { color: CodeColor; expiresAt: number }>();
  private queue = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private breakerUntil = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly ctx: AppContext,
    private readonly clientOf: () => BureauClient | undefined,
  ) {}

  /** The cached colour of an ID number hash, or undefined when absent or expired. */
  cached(idHash: string): CodeColor | undefined {
    const entry = this.cache.get(idHash);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.ctx.now()) {
      this.cache.delete(idHash);
      return undefined;
    }
    return entry.color;
  }

  /** Look up one ID number; never throws, because any failure is an 'unknown' code. */
  async lookup(idNumber: string, idHash: string): Promise<CodeLookupResult> {
    const hit = this.cached(idHash);
    if (hit) return { color: hit, source: hit === 'unknown' ? 'not_found' : 'cache' };

    if (performance.now() < this.breakerUntil) return { color: 'unknown', source: 'unavailable' };
    const client = this.clientOf();
    if (!client) return { color: 'unknown', source: 'unavailable' };

    return new Promise<CodeLookupResult>((resolve) => {
      let settled = false;
      const deadline = setTimeout(() => finish({ color: 'unknown', source: 'unavailable' }), this.ctx.config.venues.bureauDeadlineMs);
      const finish = (result: CodeLookupResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(result);
      };
      this.enqueue(client, idNumber, idHash, { resolve: finish });
    });
  }

  /** Put a known colour in the cache, as a fresh bureau answer would. */
  remember(idHash: string, color: CodeColor, ttlMs = this.ctx.config.venues.codeCacheSeconds * 1000): void {
    if (ttlMs <= 0) return;
    if (this.cache.size >= MAX_CACHE_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.delete(idHash);
    this.cache.set(idHash, { color, expiresAt: this.ctx.now() + ttlMs });
  }

  /** Wait for queries already sent; used on shutdown and by tests. */
  async drain(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      const client = this.clientOf();
      if (client) this.flush(client);
    }
    await Promise.all([...this.inFlight]);
  }

  private enqueue(client: BureauClient, idNumber: string, idHash: string, waiter: Waiter): void {
    const pending = this.queue.get(idHash);
    if (pending) pending.waiters.push(waiter);
    else this.queue.set(idHash, { idNumber, idHash, waiters: [waiter] });

    if (this.queue.size >= MAX_BATCH_SIZE) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.flush(client);
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush(client);
      }, BATCH_WAIT_MS);
    }
  }

  private flush(client: BureauClient): void {
    const batch = [...this.queue.values()];
    this.queue = new Map();
    if (batch.length === 0) return;

    const query = this.query(client, batch);
    this.inFlight.add(query);
    void query.finally(() => this.inFlight.delete(query));
  }

  private async query(client: BureauClient, batch: Pending[]): Promise<void> {
    const answers = new Map<string, CodeLookupResult>();
    try {
      const outcome = await client.queryBatch(batch.map((p) => p.idNumber));
      if (outcome.ok) {
        const byId = new Map(batch.map((p) => [p.idNumber, p]));
        for (const code of outcome.results) {
          const pending = byId.get(code.idNumber);
          if (!pending) continue;
          this.remember(pending.idHash, code.color);
          answers.set(pending.idHash, { color: code.color, source: 'bureau' });
        }
        for (const idNumber of [...outcome.notFound, ...outcome.unauthorized]) {
          const pending = byId.get(idNumber);
          if (!pending) continue;
          this.remember(pending.idHash, 'unknown', NOT_FOUND_CACHE_MS);
          answers.set(pending.idHash, { color: 'unknown', source: 'not_found' });
        }
      } else {
        this.breakerUntil = performance.now() + BREAKER_OPEN_MS;
        this.ctx.log.warn({ kind: outcome.kind, batchSize: batch.length, attempts: outcome.attempts }, 'venue code lookup failed; checking in as unknown');
      }
    } catch (error) {
      this.breakerUntil = performance.now() + BREAKER_OPEN_MS;
      this.ctx.log.error({ err: error, batchSize: batch.length }, 'venue code lookup threw; checking in as unknown');
    }

    for (const pending of batch) {
      const answer = answers.get(pending.idHash) ?? { color: 'unknown' as const, source: 'unavailable' as const };
      for (const waiter of pending.waiters) waiter.resolve(answer);
    }
  }
}

const lookups = new WeakMap<object, VenueCodeLookup>();

/**
 * The lookup of this process for the context's settings. Without a configured bureau
 * every lookup answers 'unknown' ('unavailable').
 */
export function venueCodeLookup(ctx: AppContext): VenueCodeLookup {
  let lookup = lookups.get(ctx.config);
  if (!lookup) {
    lookup = new VenueCodeLookup(ctx, () => (ctx.config.bureau.url ? getBureauClient(ctx) : undefined));
    lookups.set(ctx.config, lookup);
  }
  return lookup;
}
