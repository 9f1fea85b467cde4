/**
 * The kiosk's side of the gate device API: `Authorization: Bearer <deviceId>.<key>` on
 * POST /api/devices/events and /api/devices/heartbeat. The server returns the stored
 * decision for a repeated eventId, so resending the same event after a network failure
 * never records it twice.
 */

export interface KioskCredentials {
  deviceId: string;
  key: string;
}

/** Body of POST /api/devices/events as the kiosk sends it. */
export interface KioskEvent {
  eventId: string;
  occurredAt: number;
  /** Degrees Celsius, or null when no reading was entered. */
  temperature: number | null;
  descriptor: number[];
}

/** The decision reply of POST /api/devices/events. */
export interface DeviceDecision {
  eventId: string;
  duplicate: boolean;
  decision: 'pass' | 'deny';
  reason: string;
  prompt: string;
  flags: string[];
  personId: string | null;
  personName: string | null;
  occurredAt: number;
}

/** The server could not be reached or replied with 5xx, so the same event is worth sending again. */
export class ServerUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerUnreachableError';
  }
}

/** The server rejected the request (4xx): resending it will not help. `status` 401 means wrong credentials. */
export class DeviceRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DeviceRequestError';
  }
}

const STORAGE_KEY = 'fangkong.kiosk';
/** One request gives up after this long, so a hung connection turns into a retry. */
const REQUEST_TIMEOUT_MS = 8000;

/** Return the trimmed device id and key, or null when either has a form the server would reject. */
export function parseCredentials(deviceId: string, key: string): KioskCredentials | null {
  const id = deviceId.trim();
  const secret = key.trim();
  if (!/^[0-9A-Za-z]{1,64}$/.test(id) || !/^[A-Za-z0-9_-]{1,128}$/.test(secret)) return null;
  return { deviceId: id, key: secret };
}

export function loadCredentials(): KioskCredentials | null {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as KioskCredentials | null;
    return stored ? parseCredentials(stored.deviceId, stored.key) : null;
  } catch {
    return null;
  }
}

export function saveCredentials(credentials: KioskCredentials | null): void {
  if (credentials) localStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
  else localStorage.removeItem(STORAGE_KEY);
}

async function post<T>(credentials: KioskCredentials, path: string, body: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${credentials.deviceId}.${credentials.key}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    throw new ServerUnreachableError('服务器连接中断');
  }
  if (response.status >= 500) throw new ServerUnreachableError(`服务器暂时无法处理（HTTP ${response.status}）`);

  let reply: { message?: string } & Record<string, unknown> = {};
  try {
    reply = await response.json();
  } catch {
    if (response.ok) throw new ServerUnreachableError('服务器回复不完整');
  }
  if (!response.ok) throw new DeviceRequestError(response.status, reply.message ?? `请求被拒绝（HTTP ${response.status}）`);
  return reply as T;
}

/** Check the credentials and tell the server the lane is alive. */
export function sendHeartbeat(credentials: KioskCredentials): Promise<{ ok: true; serverTime: number }> {
  return post(credentials, '/api/devices/heartbeat', {});
}

export function sendEvent(credentials: KioskCredentials, event: KioskEvent): Promise<DeviceDecision> {
  return post(credentials, '/api/devices/events', event);
}

/**
 * Send `event` until the server responds, waiting 1, 2, 4, then every 5 seconds between
 * attempts. `onRetry` reports each failed attempt. A 4xx reply or `signal` ends it.
 */
export async function sendEventWithRetry(
  credentials: KioskCredentials,
  event: KioskEvent,
  onRetry: (attempt: number, error: ServerUnreachableError) => void,
  signal: AbortSignal,
): Promise<DeviceDecision> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sendEvent(credentials, event);
    } catch (error) {
      if (!(error instanceof ServerUnreachableError)) throw error;
      if (signal.aborted) throw error;
      onRetry(attempt, error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** (attempt - 1), 5000)));
      if (signal.aborted) throw error;
    }
  }
}
