import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { listDevices, rotateDeviceKey } from '../modules/gate/devices.js';
import type { DeviceRow } from '../modules/gate/store.js';
import { startTerminalHeartbeat, type TerminalHeartbeat, type TerminalHeartbeatResult } from '../../tools/simulators/terminal.js';
import { demoLaneDevices } from './gate.js';
import { DEMO_SCHOOL } from './seed.js';

/** Heartbeat interval of the simulated lanes, the same as the kiosk page's. */
export const DEMO_LANE_HEARTBEAT_MS = 30_000;

/** Device id to key of the demo's seeded lanes, in data/demo/lane-keys.json. */
type LaneKeys = Record<string, string>;

function laneKeysFile(ctx: AppContext): string {
  return join(ctx.config.dataDir, 'lane-keys.json');
}

/** Read lane-keys.json; a missing or invalid file reads as no keys, so every lane gets a new one. */
function readLaneKeys(ctx: AppContext, file: string): LaneKeys {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LaneKeys;
  } catch (error) {
    ctx.log.warn({ file, err: error }, 'demo lane keys file invalid; issuing new lane keys');
    return {};
  }
}

/**
 * Read the key of each lane from lane-keys.json, and issue and save a new key for a lane
 * without one (a new demo data folder, or one made before the file existed). A saved key
 * is kept even after 设备 rotated the lane's key, so a key an admin took for a real tablet
 * keeps working. The simulated terminal of that lane is rejected and stops.
 */
async function laneKeysOf(ctx: AppContext, lanes: DeviceRow[]): Promise<LaneKeys> {
  const file = laneKeysFile(ctx);
  const keys = readLaneKeys(ctx, file);
  const missing = lanes.filter((lane) => keys[lane.id] === undefined);
  if (missing.length === 0) return keys;

  for (const lane of missing) keys[lane.id] = await rotateDeviceKey(ctx, lane);
  // The keys sit beside secret.key in the data folder, readable by the owner only.
  writeFileSync(file, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return keys;
}

export interface DemoLaneTerminals {
  /** Lanes whose simulated terminal sends heartbeats. */
  lanes: number;
  stop(): Promise<void>;
}

/**
 * Start a simulated terminal for each active lane the demo seeded. Each one sends
 * heartbeats to the server at `serverUrl` over the device API, as a real lane does, so
 * the lanes stay online while the demo server runs. A lane registered by hand gets no
 * simulated terminal and is reported offline when it stays silent. Resolves after every
 * lane has sent its first heartbeat. `heartbeatMs` is the interval (30 seconds unless given).
 */
export async function startDemoLaneTerminals(ctx: AppContext, serverUrl: string, options: { heartbeatMs?: number } = {}): Promise<DemoLaneTerminals> {
  const devices = await listDevices(ctx, DEMO_SCHOOL.code);
  const lanes = demoLaneDevices(devices).filter((device) => device.active === 1);
  const keys = await laneKeysOf(ctx, lanes);

  const failing = new Set<string>();
  const logResult = (result: TerminalHeartbeatResult) => {
    if (result.ok) {
      if (failing.delete(result.deviceId)) ctx.log.info({ deviceId: result.deviceId }, 'demo lane heartbeat recovered');
      return;
    }
    if (result.status === 401 || result.status === 403) {
      ctx.log.warn({ deviceId: result.deviceId, status: result.status }, 'demo lane key rejected, its heartbeats stopped');
      return;
    }
    // One warning per run of failures, not one every 30 seconds.
    if (!failing.has(result.deviceId)) ctx.log.warn({ deviceId: result.deviceId, status: result.status, error: result.error }, 'demo lane heartbeat failed');
    failing.add(result.deviceId);
  };

  const terminals: TerminalHeartbeat[] = lanes.map((lane) =>
    startTerminalHeartbeat({ url: serverUrl, deviceId: lane.id, key: keys[lane.id], intervalMs: options.heartbeatMs ?? DEMO_LANE_HEARTBEAT_MS, onResult: logResult }),
  );
  const first = await Promise.all(terminals.map((terminal) => terminal.first));
  ctx.log.info({ lanes: lanes.length, online: first.filter((result) => result.ok).length }, 'demo lane terminals started');

  return {
    lanes: lanes.length,
    stop: async () => {
      await Promise.all(terminals.map((terminal) => terminal.stop()));
    },
  };
}
