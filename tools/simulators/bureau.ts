import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A health-code bureau (大数据局) simulator that speaks the real protocol:
 *
 *   POST /v1/health-codes/query  {"idNumbers": [...]}  (1 to 100 entries)
 *   X-App-Key, X-Timestamp (Unix ms), X-Nonce (never reused), X-Signature =
 *   hex HMAC-SHA256(appSecret, METHOD\nPATH\nTIMESTAMP\nNONCE\nSHA256_HEX(BODY))
 *
 * It answers 200 with results/notFound/unauthorized, 400 for a bad body, 401 for a bad
 * key or signature, a timestamp more than 5 minutes off or a reused nonce, 429 with
 * Retry-After above its requests-per-second limit, and injected faults on request:
 * 5xx errors, 429s, hanging requests, garbage bodies and dropped connections.
 *
 * The `/_sim/*` endpoints drive it from outside (set a colour, schedule changes, set
 * faults, read statistics). It listens on loopback only and is for the demo, tests and
 * benchmarks; it holds synthetic ID numbers only.
 */

export type SimColor = 'green' | 'yellow' | 'red';
export type FaultKind = 'error' | 'rate_limit' | 'timeout' | 'garbage' | 'drop';

export interface BureauFaults {
  /** Share of requests answered with a 5xx error (0 to 1). */
  errorRate: number;
  /** Share of requests answered 429 regardless of the rate limit. */
  rateLimitRate: number;
  /** Retry-After seconds sent with injected and real 429s (real ones at least this). */
  retryAfterSeconds: number;
  /** Share of requests that are never answered (the connection stays open). */
  timeoutRate: number;
  /** Share of requests answered 200 with a body that is not the protocol's JSON. */
  garbageRate: number;
  /** Share of requests whose connection is destroyed without an answer. */
  dropRate: number;
  /** When true every query is answered 503: the bureau is down. */
  outage: boolean;
  /** Faults applied, in order, to the next queries before any rate is drawn. */
  sequence: FaultKind[];
}

export interface ScheduledChange {
  /** Epoch ms (simulator clock) from which the colour applies. */
  at: number;
  idNumber: string;
  color: SimColor;
  reason?: string;
}

export interface BureauSimulatorOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Loopback only: '127.0.0.1' (default), 'localhost' or '::1'. */
  host?: string;
  appKey: string;
  appSecret: string;
  /** Added before every answer, in ms. */
  latencyMs?: number;
  /** Server-side limit; above it requests get 429. 0 means no limit. */
  requestsPerSecond?: number;
  faults?: Partial<BureauFaults>;
  /** ID numbers the bureau has no record of (returned in notFound). */
  unknownIdNumbers?: Iterable<string>;
  /** ID numbers this app may not query (returned in unauthorized). */
  unauthorizedIdNumbers?: Iterable<string>;
  schedule?: ScheduledChange[];
  /** Seed of the fault dice, so a run can be repeated. */
  seed?: number;
  /** Clock for timestamp checks, updatedAt and schedules; tests may move it. */
  now?: () => number;
  /** Allowed difference between X-Timestamp and the clock, in ms (default 5 minutes). */
  timestampToleranceMs?: number;
}

export interface BureauStats {
  requests: number;
  /** Answers by HTTP status, plus 'dropped' and 'hung' for requests never answered. */
  byStatus: Record<string, number>;
  /** ID numbers answered in 200s. */
  idNumbersAnswered: number;
  /** Most queries in flight at once. */
  maxInFlight: number;
}

export interface BureauSimulator {
  url: string;
  appKey: string;
  appSecret: string;
  close(): Promise<void>;
  /** Set a person's colour now (or from `at`, on the simulator clock). */
  setCode(idNumber: string, color: SimColor, options?: { reason?: string; at?: number }): void;
  /** Merge fault settings; omitted fields keep their value. */
  setFaults(faults: Partial<BureauFaults>): void;
  setUnknown(idNumbers: Iterable<string>, kind?: 'not_found' | 'unauthorized'): void;
  /**
   * True while the simulator returns its default code for an ID number (green since the
   * simulator started), because no colour, schedule or unknown result was set for it.
   */
  hasDefaultCode(idNumber: string): boolean;
  stats(): BureauStats;
  resetStats(): void;
}

const QUERY_PATH = '/v1/health-codes/query';
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_IDS = 100;
const COLORS: ReadonlySet<string> = new Set(['green', 'yellow', 'red']);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

const NO_FAULTS: BureauFaults = {
  errorRate: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  timeoutRate: 0,
  garbageRate: 0,
  dropRate: 0,
  outage: false,
  sequence: [],
};

/** True for 18 characters with a valid GB 11643 check character; others are notFound. */
export function looksLikeIdNumber(value: string): boolean {
  if (!/^\d{17}[\dX]$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(value[i]) * ID_WEIGHTS[i];
  return ID_CHECK[sum % 11] === value[17];
}

/** Small deterministic PRNG (mulberry32) for the fault dice. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Token bucket: `rate` tokens a second, holding at most one second's worth. */
class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  /** Take a token, or return the ms until one is available. */
  take(): { ok: true } | { ok: false; waitMs: number } {
    const now = performance.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, waitMs: ((1 - this.tokens) / this.rate) * 1000 };
  }
}

/** Start the simulator; resolves once it listens. */
export async function startBureauSimulator(options: BureauSimulatorOptions): Promise<BureauSimulator> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`bureau simulator host "${host}" is not loopback; use 127.0.0.1`);
  if (!options.appKey || !options.appSecret) throw new Error('bureau simulator needs appKey and appSecret');

  const now = options.now ?? Date.now;
  const toleranceMs = options.timestampToleranceMs ?? 5 * 60 * 1000;
  const latencyMs = options.latencyMs ?? 0;
  const random = createRandom(options.seed ?? 20261204);
  const bucket = options.requestsPerSecond ? new TokenBucket(options.requestsPerSecond) : undefined;
  let faults: BureauFaults = { ...NO_FAULTS, ...options.faults, sequence: [...(options.faults?.sequence ?? [])] };

  // Every valid ID number starts green with this updatedAt, so repeated queries agree.
  const bornAt = now();
  const codes = new Map<string, { color: SimColor; updatedAt: number; reason?: string }>();
  const unknown = new Set(options.unknownIdNumbers ?? []);
  const unauthorized = new Set(options.unauthorizedIdNumbers ?? []);
  const pending: ScheduledChange[] = [...(options.schedule ?? [])];

  // Nonces seen within the timestamp window, with when they may be forgotten.
  const nonces = new Map<string, number>();
  const sockets = new Set<Socket>();
  let stats = emptyStats();
  let inFlight = 0;

  const applySchedule = () => {
    const current = now();
    for (let i = pending.length - 1; i >= 0; i--) {
      const change = pending[i];
      if (change.at <= current) {
        codes.set(change.idNumber, { color: change.color, updatedAt: change.at, reason: change.reason });
        pending.splice(i, 1);
      }
    }
  };

  const setCode: BureauSimulator['setCode'] = (idNumber, color, extra = {}) => {
    if (!COLORS.has(color)) throw new Error(`unknown colour "${color}"; use green, yellow or red`);
    const at = extra.at ?? now();
    pending.push({ at, idNumber, color, reason: extra.reason });
    unknown.delete(idNumber);
    unauthorized.delete(idNumber);
    applySchedule();
  };

  const count = (status: number | string) => {
    stats.byStatus[String(status)] = (stats.byStatus[String(status)] ?? 0) + 1;
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    count(status);
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(text);
  };

  const drawFault = (): FaultKind | 'outage' | undefined => {
    if (faults.outage) return 'outage';
    const next = faults.sequence.shift();
    if (next) return next;
    const dice = random();
    let edge = 0;
    for (const [kind, rate] of [
      ['error', faults.errorRate],
      ['rate_limit', faults.rateLimitRate],
      ['timeout', faults.timeoutRate],
      ['garbage', faults.garbageRate],
      ['drop', faults.dropRate],
    ] as const) {
      edge += rate;
      if (dice < edge) return kind;
    }
    return undefined;
  };

  const verify = (req: IncomingMessage, path: string, body: Buffer): string | undefined => {
    const appKey = header(req, 'x-app-key');
    const timestamp = header(req, 'x-timestamp');
    const nonce = header(req, 'x-nonce');
    const signature = header(req, 'x-signature');
    if (!appKey || !timestamp || !nonce || !signature) return 'missing X-App-Key, X-Timestamp, X-Nonce or X-Signature';
    if (appKey !== options.appKey) return 'unknown app key';
    if (!/^\d{1,16}$/.test(timestamp)) return 'X-Timestamp is not Unix milliseconds';
    if (Math.abs(now() - Number(timestamp)) > toleranceMs) return 'X-Timestamp is more than 5 minutes off';

    const canonical = [req.method, path, timestamp, nonce, createHash('sha256').update(body).digest('hex')].join('\n');
    const expected = createHmac('sha256', options.appSecret).update(canonical).digest();
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature does not match';

    const current = now();
    for (const [seen, forgetAt] of nonces) if (forgetAt < current) nonces.delete(seen);
    if (nonces.has(nonce)) return 'nonce was already used';
    nonces.set(nonce, current + 2 * toleranceMs);
    return undefined;
  };

  const answerQuery = (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer) => {
    const fault = drawFault();
    if (fault === 'outage') return send(res, 503, { error: 'service unavailable' });
    if (fault === 'error') return send(res, random() < 0.5 ? 500 : 502, { error: 'internal error' });
    if (fault === 'rate_limit') {
      return send(res, 429, { error: 'too many requests' }, { 'retry-after': String(faults.retryAfterSeconds) });
    }
    if (fault === 'timeout') {
      count('hung');
      return;
    }
    if (fault === 'drop') {
      count('dropped');
      req.socket.destroy();
      return;
    }

    if (bucket) {
      const token = bucket.take();
      if (!token.ok) {
        const seconds = Math.max(faults.retryAfterSeconds, Math.ceil(token.waitMs / 1000));
        return send(res, 429, { error: 'too many requests' }, { 'retry-after': String(seconds) });
      }
    }

    const authProblem = verify(req, path, body);
    if (authProblem) return send(res, 401, { error: authProblem });

    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return send(res, 400, { error: 'body is not JSON' });
    }
    const idNumbers = (parsed as { idNumbers?: unknown } | null)?.idNumbers;
    if (!Array.isArray(idNumbers) || idNumbers.length < 1 || idNumbers.length > MAX_IDS) {
      return send(res, 400, { error: `idNumbers must be an array of 1 to ${MAX_IDS} strings` });
    }
    if (!idNumbers.every((id): id is string => typeof id === 'string')) {
      return send(res, 400, { error: 'every idNumbers entry must be a string' });
    }

    if (fault === 'garbage') {
      count(200);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(garbageBody(random()));
      return;
    }

    applySchedule();
    const results: Array<{ idNumber: string; color: SimColor; updatedAt: string; reason?: string }> = [];
    const notFound: string[] = [];
    const refused: string[] = [];
    for (const idNumber of idNumbers) {
      if (unauthorized.has(idNumber)) {
        refused.push(idNumber);
        continue;
      }
      if (unknown.has(idNumber) || !looksLikeIdNumber(idNumber)) {
        notFound.push(idNumber);
        continue;
      }
      const code = codes.get(idNumber) ?? { color: 'green' as const, updatedAt: bornAt };
      const entry: (typeof results)[number] = { idNumber, color: code.color, updatedAt: new Date(code.updatedAt).toISOString() };
      if (code.reason) entry.reason = code.reason;
      results.push(entry);
    }
    stats.idNumbersAnswered += idNumbers.length;
    return send(res, 200, { results, notFound, unauthorized: refused });
  };

  const handleControl = (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer) => {
    if (req.method === 'GET' && path === '/_sim/stats') return reply(res, 200, { ...stats, byStatus: { ...stats.byStatus } });
    if (req.method !== 'POST') return reply(res, 404, { error: 'not found' });

    let input: Record<string, unknown>;
    try {
      input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return reply(res, 400, { error: 'body is not JSON' });
    }

    try {
      if (path === '/_sim/codes') {
        setCode(String(input.idNumber), input.color as SimColor, {
          reason: typeof input.reason === 'string' ? input.reason : undefined,
          at: typeof input.at === 'number' ? input.at : undefined,
        });
        return reply(res, 200, { ok: true });
      }
      if (path === '/_sim/schedule') {
        const changes = Array.isArray(input.changes) ? (input.changes as ScheduledChange[]) : [];
        for (const change of changes) setCode(change.idNumber, change.color, { reason: change.reason, at: change.at });
        return reply(res, 200, { ok: true, scheduled: changes.length });
      }
      if (path === '/_sim/faults') {
        simulator.setFaults(input as Partial<BureauFaults>);
        return reply(res, 200, { ok: true, faults });
      }
      if (path === '/_sim/unknown') {
        const ids = Array.isArray(input.idNumbers) ? input.idNumbers.map(String) : [];
        simulator.setUnknown(ids, input.kind === 'unauthorized' ? 'unauthorized' : 'not_found');
        return reply(res, 200, { ok: true });
      }
      if (path === '/_sim/stats/reset') {
        simulator.resetStats();
        return reply(res, 200, { ok: true });
      }
    } catch (error) {
      return reply(res, 400, { error: error instanceof Error ? error.message : String(error) });
    }
    return reply(res, 404, { error: 'not found' });
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (path.startsWith('/_sim/')) return handleControl(req, res, path, body);
      if (path !== QUERY_PATH || req.method !== 'POST') return reply(res, 404, { error: `no route ${req.method} ${path}` });

      stats.requests += 1;
      inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
      res.on('close', () => {
        inFlight -= 1;
      });
      if (tooLarge) return send(res, 400, { error: 'body larger than 1 MiB' });

      const answer = () => answerQuery(req, res, path, body);
      if (latencyMs > 0) setTimeout(answer, latencyMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const simulator: BureauSimulator = {
    url: `http://${hostInUrl}:${address.port}`,
    appKey: options.appKey,
    appSecret: options.appSecret,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
    setCode,
    setFaults(next) {
      faults = { ...faults, ...next, sequence: next.sequence ? [...next.sequence] : faults.sequence };
    },
    setUnknown(idNumbers, kind = 'not_found') {
      for (const id of idNumbers) {
        if (kind === 'unauthorized') unauthorized.add(id);
        else unknown.add(id);
      }
    },
    hasDefaultCode: (idNumber) =>
      !codes.has(idNumber) && !unknown.has(idNumber) && !unauthorized.has(idNumber) && !pending.some((change) => change.idNumber === idNumber),
    stats: () => ({ ...stats, byStatus: { ...stats.byStatus } }),
    resetStats() {
      stats = emptyStats();
    },
  };
  return simulator;
}

function emptyStats(): BureauStats {
  return { requests: 0, byStatus: {}, idNumbersAnswered: 0, maxInFlight: 0 };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** Bodies a broken gateway might send: HTML, truncated JSON, or JSON of another shape. */
function garbageBody(dice: number): string {
  if (dice < 0.34) return '<html><body>502 Bad Gateway</body></html>';
  if (dice < 0.67) return '{"results":[{"idNumber":"3301';
  return JSON.stringify({ code: 0, data: null, msg: 'ok' });
}
