import { hikvisionEventJson, hikvisionMultipart, tinyJpeg } from './terminal-payloads.js';

/**
 * A gate-lane simulator for the demo and the load benchmark. It plays either a Hikvision
 * face-temperature terminal pushing ISAPI events (real field names, optionally with the
 * multipart defects real terminals have) or a lane using Fangkong's own device API and
 * waiting for each decision. It only talks to loopback addresses.
 */

export interface TerminalSimulatorOptions {
  /** Base URL of the Fangkong server, for example http://127.0.0.1:3000. */
  url: string;
  deviceId: string;
  key: string;
  mode: 'hikvision' | 'api';
  /** Events to send. */
  count: number;
  /** Events per second; 0 sends as fast as `concurrency` allows. */
  rate: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Hikvision: employee numbers (student or staff numbers) to cycle through. */
  employeeNos: string[];
  /** API: card numbers to cycle through. */
  cardNumbers: string[];
  /** API: descriptors to cycle through (each 128 floats); used when no card numbers are given. */
  descriptors: number[][];
  /** Every n-th event reads a fever (37.8 °C); 0 for none. */
  feverEvery: number;
  /** Hikvision: send messy multipart (LF line ends, a stray boundary, no closing boundary). */
  messy: boolean;
  /** Hikvision: attach a small JPEG picture to each push. */
  picture: boolean;
  /** First serial number (Hikvision) and event id suffix. */
  firstSerial: number;
  /** Clock for event times. */
  now: () => number;
}

export interface TerminalSimulatorReport {
  sent: number;
  ok: number;
  failed: number;
  /** API mode: decisions by reason. */
  reasons: Record<string, number>;
  durationMs: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** First few error messages, for the operator. */
  errors: string[];
}

export const DEFAULT_SIMULATOR_OPTIONS: Omit<TerminalSimulatorOptions, 'url' | 'deviceId' | 'key'> = {
  mode: 'hikvision',
  count: 10,
  rate: 5,
  concurrency: 4,
  employeeNos: [],
  cardNumbers: [],
  descriptors: [],
  feverEvery: 0,
  messy: false,
  picture: false,
  firstSerial: 1,
  now: Date.now,
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Throw unless the URL points at this machine; the simulator never sends elsewhere. */
export function assertLoopbackUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid --url "${url}"; expected for example http://127.0.0.1:3000`);
  }
  if (!LOOPBACK_HOSTS.has(parsed.hostname)) throw new Error(`--url host "${parsed.hostname}" is not a loopback address; the simulator only sends to 127.0.0.1 or localhost`);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`--url must be http or https, got ${parsed.protocol}`);
  return parsed;
}

/** Beijing time with offset, the way terminals write dateTime. */
function deviceTime(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 19) + '+08:00';
}

interface Prepared {
  path: string;
  headers: Record<string, string>;
  body: Buffer | string;
}

function prepare(options: TerminalSimulatorOptions, index: number): Prepared {
  const serialNo = options.firstSerial + index;
  const isFever = options.feverEvery > 0 && (index + 1) % options.feverEvery === 0;
  const temperature = isFever ? 37.8 : 36.3 + (index % 5) / 10;

  if (options.mode === 'hikvision') {
    const employeeNo = options.employeeNos.length > 0 ? options.employeeNos[index % options.employeeNos.length] : undefined;
    const event = hikvisionEventJson({
      serialNo,
      dateTime: deviceTime(options.now()),
      minor: employeeNo ? 75 : 76,
      employeeNoString: employeeNo,
      currTemperature: temperature,
      isAbnomalTemperature: isFever,
      mask: 'yes',
    });
    const { body, contentType } = hikvisionMultipart(event, { messy: options.messy, picture: options.picture ? tinyJpeg() : undefined });
    return {
      path: `/api/terminals/hikvision/${encodeURIComponent(options.deviceId)}/events?token=${encodeURIComponent(options.key)}`,
      headers: { 'content-type': contentType },
      body,
    };
  }

  const credential: Record<string, unknown> =
    options.cardNumbers.length > 0
      ? { cardNumber: options.cardNumbers[index % options.cardNumbers.length] }
      : { descriptor: options.descriptors.length > 0 ? options.descriptors[index % options.descriptors.length] : randomUnitDescriptor() };
  return {
    path: '/api/devices/events',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.deviceId}.${options.key}` },
    body: JSON.stringify({ eventId: `sim-${serialNo}`, occurredAt: options.now(), temperature, ...credential }),
  };
}

/** 128 random floats of unit length, the shape of a face descriptor. */
export function randomUnitDescriptor(random: () => number = Math.random): number[] {
  const values = Array.from({ length: 128 }, () => random() * 2 - 1);
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0));
  return values.map((v) => v / norm);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Send the events and report what came back. Stops by itself after `count` events. */
export async function runTerminalSimulator(input: Partial<TerminalSimulatorOptions> & Pick<TerminalSimulatorOptions, 'url' | 'deviceId' | 'key'>): Promise<TerminalSimulatorReport> {
  const options: TerminalSimulatorOptions = { ...DEFAULT_SIMULATOR_OPTIONS, ...input };
  const base = assertLoopbackUrl(options.url);
  const report: TerminalSimulatorReport = { sent: 0, ok: 0, failed: 0, reasons: {}, durationMs: 0, latencyMs: { p50: 0, p99: 0, max: 0 }, errors: [] };
  const latencies: number[] = [];
  const started = performance.now();
  const interval = options.rate > 0 ? 1000 / options.rate : 0;
  let next = 0;

  const sendOne = async (index: number) => {
    const prepared = prepare(options, index);
    const sentAt = performance.now();
    try {
      const body = typeof prepared.body === 'string' ? prepared.body : new Uint8Array(prepared.body);
      const response = await fetch(new URL(prepared.path, base), { method: 'POST', headers: prepared.headers, body });
      const text = await response.text();
      latencies.push(performance.now() - sentAt);
      if (!response.ok) {
        report.failed += 1;
        if (report.errors.length < 5) report.errors.push(`HTTP ${response.status}: ${text.slice(0, 200)}`);
        return;
      }
      report.ok += 1;
      if (options.mode === 'api') {
        const reason = (JSON.parse(text) as { reason?: string }).reason ?? 'unknown';
        report.reasons[reason] = (report.reasons[reason] ?? 0) + 1;
      }
    } catch (error) {
      report.failed += 1;
      if (report.errors.length < 5) report.errors.push((error as Error).message);
    } finally {
      report.sent += 1;
    }
  };

  const worker = async () => {
    for (;;) {
      const index = next;
      if (index >= options.count) return;
      next += 1;
      if (interval > 0) {
        const due = started + index * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await sendOne(index);
    }
  };

  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  report.durationMs = Math.round(performance.now() - started);
  latencies.sort((a, b) => a - b);
  report.latencyMs = {
    p50: Math.round(percentile(latencies, 50) * 10) / 10,
    p99: Math.round(percentile(latencies, 99) * 10) / 10,
    max: Math.round((latencies.at(-1) ?? 0) * 10) / 10,
  };
  return report;
}

export interface TerminalHeartbeatOptions {
  /** Base URL of the Fangkong server, for example http://127.0.0.1:3000. */
  url: string;
  deviceId: string;
  key: string;
  /** Time between heartbeats, in milliseconds. */
  intervalMs: number;
  /** Called with the result of every heartbeat, the first one included. */
  onResult?: (result: TerminalHeartbeatResult) => void;
}

export interface TerminalHeartbeatResult {
  deviceId: string;
  ok: boolean;
  /** HTTP status, or null when the request failed before a response arrived. */
  status: number | null;
  /** Error message of a failed heartbeat; null when it succeeded. */
  error: string | null;
}

export interface TerminalHeartbeat {
  /** Resolves after the first heartbeat, which is sent at once. */
  first: Promise<TerminalHeartbeatResult>;
  /** Stop sending; resolves when a heartbeat in flight has finished. */
  stop(): Promise<void>;
}

/** Send one heartbeat of a lane: POST /api/devices/heartbeat with the device's bearer key. */
export async function sendTerminalHeartbeat(options: Pick<TerminalHeartbeatOptions, 'url' | 'deviceId' | 'key'>): Promise<TerminalHeartbeatResult> {
  const base = assertLoopbackUrl(options.url);
  try {
    const response = await fetch(new URL('/api/devices/heartbeat', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.deviceId}.${options.key}` },
      body: '{}',
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { deviceId: options.deviceId, ok: response.ok, status: response.status, error: response.ok ? null : `HTTP ${response.status}: ${text.slice(0, 200)}` };
  } catch (error) {
    return { deviceId: options.deviceId, ok: false, status: null, error: (error as Error).message };
  }
}

/**
 * Send a lane's heartbeats as a lane controller or the kiosk page does: one at once, then
 * one every `intervalMs`. A 401 or 403 means the key was rotated or the device disabled,
 * so the loop stops, because no later heartbeat with that key can succeed. Any other
 * failure is retried at the next interval.
 */
export function startTerminalHeartbeat(options: TerminalHeartbeatOptions): TerminalHeartbeat {
  assertLoopbackUrl(options.url);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<TerminalHeartbeatResult> | undefined;

  const beat = async (): Promise<TerminalHeartbeatResult> => {
    inFlight = sendTerminalHeartbeat(options);
    const result = await inFlight;
    inFlight = undefined;
    options.onResult?.(result);
    const isRefused = result.status === 401 || result.status === 403;
    if (!stopped && !isRefused) timer = setTimeout(() => void beat(), options.intervalMs);
    return result;
  };

  const first = beat();
  return {
    first,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
