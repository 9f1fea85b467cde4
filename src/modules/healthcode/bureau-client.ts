import { createHash, createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Agent, request, errors as undiciErrors } from 'undici';

/**
 * Client of the health-code bureau (大数据局) query API. It signs every request, sends
 * at most `concurrency` at once and at most `requestsPerSecond` (evenly spaced), obeys
 * Retry-After on 429, and retries timeouts, 5xx, unreadable bodies and dropped
 * connections with exponential backoff and full jitter, up to `maxAttempts` per batch.
 * One client is shared by every sync of a process, because the bureau's limit is per app.
 * ID numbers are never logged.
 */

export const MAX_BATCH_SIZE = 100;
export const QUERY_PATH = '/v1/health-codes/query';

export type BureauColor = 'green' | 'yellow' | 'red';

export interface BureauCode {
  idNumber: string;
  color: BureauColor;
  /** Epoch ms of the bureau's updatedAt. */
  updatedAt: number;
  reason?: string;
}

/** Cause of a failed batch. */
export type BureauFailureKind = 'timeout' | 'server_error' | 'rate_limited' | 'garbage' | 'connection' | 'bad_request' | 'unauthorized';

export type BatchOutcome =
  | { ok: true; results: BureauCode[]; notFound: string[]; unauthorized: string[]; attempts: number }
  | {
      ok: false;
      kind: BureauFailureKind;
      /** Chinese, for the admin and the person's last_failure. */
      message: string;
      attempts: number;
      /** True when retrying other batches is pointless too (a rejected signature). */
      fatal: boolean;
    };

export interface BureauClientOptions {
  url: string;
  appKey: string;
  appSecret: string;
  concurrency: number;
  requestsPerSecond: number;
  timeoutMs: number;
  maxAttempts: number;
  /** First backoff step in ms; attempt n waits a random time up to base * 2^(n-1). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A Retry-After longer than this fails the batch instead of waiting. */
  maxRetryAfterMs?: number;
  log?: Logger;
}

const FAILURE_MESSAGES: Record<BureauFailureKind, string> = {
  timeout: '健康码接口超时',
  server_error: '健康码接口返回服务器错误',
  rate_limited: '健康码接口限流',
  garbage: '健康码接口返回内容无法解析',
  connection: '健康码接口连接中断',
  bad_request: '健康码接口拒绝了请求内容（400）',
  unauthorized: '健康码接口签名校验失败（401），请检查 FANGKONG_BUREAU_APP_KEY / FANGKONG_BUREAU_APP_SECRET 和服务器时间',
};

/**
 * How far request starts may fall behind their slots and still catch up. A quarter second
 * at 50 requests a second is 12 slots, well inside a one-second token bucket.
 */
const CATCH_UP_MS = 250;

type AttemptResult =
  | { ok: true; results: BureauCode[]; notFound: string[]; unauthorized: string[] }
  | { ok: false; kind: BureauFailureKind; detail: string; retryAfterMs?: number };

/** Counting semaphore for the concurrency limit. */
class Semaphore {
  private waiting: Array<() => void> = [];
  private free: number;

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

/**
 * Gives request starts slots 1000/rps ms apart and delays every request while a
 * Retry-After pause is in force. Slots follow a fixed grid, so timers that fire late on a
 * busy machine do not slow the long-run rate: missed slots are used at once, up to
 * CATCH_UP_MS worth, which bounds any burst. Further behind than that, the client was
 * idle, and the grid restarts at now.
 */
class RatePacer {
  private nextSlot = 0;
  private pausedUntil = 0;

  constructor(private readonly intervalMs: number) {}

  async wait(): Promise<void> {
    for (;;) {
      const now = performance.now();
      let slot = Math.max(this.nextSlot, this.pausedUntil);
      if (slot < now - Math.max(CATCH_UP_MS, this.intervalMs)) slot = now;
      if (slot <= now) {
        this.nextSlot = slot + this.intervalMs;
        return;
      }
      await sleep(slot - now);
    }
  }

  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, performance.now() + ms);
  }
}

export class BureauClient {
  private readonly semaphore: Semaphore;
  private readonly pacer: RatePacer;
  private readonly agent: Agent;
  private readonly endpoint: URL;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly maxRetryAfterMs: number;

  constructor(private readonly options: BureauClientOptions) {
    if (!options.url) throw new Error('bureau client needs a URL; set FANGKONG_BUREAU_URL');
    this.endpoint = new URL(options.url.replace(/\/+$/, '') + QUERY_PATH);
    this.semaphore = new Semaphore(options.concurrency);
    this.pacer = new RatePacer(1000 / options.requestsPerSecond);
    this.agent = new Agent({ connections: options.concurrency, keepAliveTimeout: 10_000 });
    this.backoffBaseMs = options.backoffBaseMs ?? 500;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  }

  /**
   * Fetch the codes of up to 100 ID numbers, retrying within the limits. Never throws for
   * bureau trouble, because the outcome describes the failure.
   */
  async queryBatch(idNumbers: string[], signal?: AbortSignal): Promise<BatchOutcome> {
    if (idNumbers.length < 1 || idNumbers.length > MAX_BATCH_SIZE) {
      throw new Error(`invalid bureau batch: it must contain 1 to ${MAX_BATCH_SIZE} ID numbers, got ${idNumbers.length}`);
    }

    const body = JSON.stringify({ idNumbers });
    let last: Extract<AttemptResult, { ok: false }> | undefined;
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      if (signal?.aborted) break;

      const result = await this.attempt(body, idNumbers);
      if (result.ok) return { ...result, attempts: attempt };
      last = result;

      const fatal = result.kind === 'unauthorized';
      if (fatal || result.kind === 'bad_request') {
        this.options.log?.error({ kind: result.kind, detail: result.detail, batchSize: idNumbers.length }, 'bureau rejected the request');
        return { ok: false, kind: result.kind, message: FAILURE_MESSAGES[result.kind], attempts: attempt, fatal };
      }
      if (attempt === this.options.maxAttempts) break;

      let waitMs = this.backoff(attempt);
      if (result.kind === 'rate_limited') {
        waitMs = result.retryAfterMs ?? waitMs;
        if (waitMs > this.maxRetryAfterMs) break;
        this.pacer.pause(waitMs);
      }
      this.options.log?.warn({ kind: result.kind, detail: result.detail, attempt, waitMs, batchSize: idNumbers.length }, 'bureau request failed; retrying');
      try {
        await sleep(waitMs, undefined, { signal });
      } catch {
        break;
      }
    }

    const kind = last?.kind ?? 'connection';
    this.options.log?.error({ kind, detail: last?.detail ?? 'aborted', batchSize: idNumbers.length }, 'bureau batch failed');
    return { ok: false, kind, message: FAILURE_MESSAGES[kind], attempts: this.options.maxAttempts, fatal: false };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Full jitter: a random wait up to base * 2^(attempt-1), capped. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (attempt - 1));
    return Math.round(Math.random() * ceiling);
  }

  private async attempt(body: string, idNumbers: string[]): Promise<AttemptResult> {
    await this.semaphore.acquire();
    try {
      await this.pacer.wait();
      return await this.send(body, idNumbers);
    } finally {
      this.semaphore.release();
    }
  }

  private async send(body: string, idNumbers: string[]): Promise<AttemptResult> {
    const timestamp = String(Date.now());
    const nonce = randomBytes(16).toString('hex');
    const canonical = ['POST', this.endpoint.pathname, timestamp, nonce, createHash('sha256').update(body).digest('hex')].join('\n');
    const signature = createHmac('sha256', this.options.appSecret).update(canonical).digest('hex');

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    try {
      const response = await request(this.endpoint, {
        method: 'POST',
        dispatcher: this.agent,
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          'x-app-key': this.options.appKey,
          'x-timestamp': timestamp,
          'x-nonce': nonce,
          'x-signature': signature,
        },
        body,
      });
      const text = await response.body.text();
      return interpretResponse(response.statusCode, response.headers['retry-after'], text, idNumbers);
    } catch (error) {
      if (controller.signal.aborted) return { ok: false, kind: 'timeout', detail: `no answer within ${this.options.timeoutMs} ms` };
      if (error instanceof undiciErrors.UndiciError || error instanceof Error) {
        return { ok: false, kind: 'connection', detail: `${error.name}: ${error.message}` };
      }
      return { ok: false, kind: 'connection', detail: String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function interpretResponse(status: number, retryAfter: string | string[] | undefined, text: string, idNumbers: string[]): AttemptResult {
  if (status === 429) return { ok: false, kind: 'rate_limited', detail: 'HTTP 429', retryAfterMs: parseRetryAfter(retryAfter) };
  // The bodies of errors are not logged: a bureau may echo the ID numbers it rejects.
  if (status === 401) return { ok: false, kind: 'unauthorized', detail: `HTTP 401 (${text.length} bytes)` };
  if (status === 400) return { ok: false, kind: 'bad_request', detail: `HTTP 400 (${text.length} bytes)` };
  if (status >= 500) return { ok: false, kind: 'server_error', detail: `HTTP ${status}` };
  if (status !== 200) return { ok: false, kind: 'server_error', detail: `unexpected HTTP ${status}` };

  const parsed = parseQueryBody(text, new Set(idNumbers));
  if (typeof parsed === 'string') return { ok: false, kind: 'garbage', detail: parsed };
  return { ok: true, ...parsed };
}

/** Retry-After as delay-seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Check a 200 body against the protocol. Returns the codes, or a description (without
 * ID numbers) of what is wrong. Entries for ID numbers that were not requested are wrong.
 */
export function parseQueryBody(
  text: string,
  requested: ReadonlySet<string>,
): { results: BureauCode[]; notFound: string[]; unauthorized: string[] } | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `body is not JSON (${text.length} bytes)`;
  }
  if (typeof body !== 'object' || body === null) return 'body is not an object';
  const { results, notFound = [], unauthorized = [] } = body as Record<string, unknown>;
  if (!Array.isArray(results)) return 'results is not an array';
  if (!Array.isArray(notFound) || !notFound.every((id) => typeof id === 'string' && requested.has(id))) return 'notFound is not a list of requested ID numbers';
  if (!Array.isArray(unauthorized) || !unauthorized.every((id) => typeof id === 'string' && requested.has(id))) {
    return 'unauthorized is not a list of requested ID numbers';
  }

  const codes: BureauCode[] = [];
  for (const [index, entry] of results.entries()) {
    const { idNumber, color, updatedAt, reason } = (entry ?? {}) as Record<string, unknown>;
    if (typeof idNumber !== 'string' || !requested.has(idNumber)) return `results[${index}].idNumber was not requested`;
    if (color !== 'green' && color !== 'yellow' && color !== 'red') return `results[${index}].color is not green, yellow or red`;
    const updatedMs = typeof updatedAt === 'string' ? Date.parse(updatedAt) : Number.NaN;
    if (Number.isNaN(updatedMs)) return `results[${index}].updatedAt is not ISO-8601`;
    codes.push({ idNumber, color, updatedAt: updatedMs, ...(typeof reason === 'string' && reason ? { reason } : {}) });
  }
  return { results: codes, notFound: notFound as string[], unauthorized: unauthorized as string[] };
}
