import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { demoDataDir, type Config } from '../config.js';
import { startBureauSimulator, type BureauSimulator } from '../../tools/simulators/bureau.js';
import { startDingTalkSimulator, type DingTalkSimulator } from '../../tools/simulators/dingtalk.js';

/** Addresses of a running demo's simulators, written to data/demo/simulators.json. */
export interface DemoEndpoints {
  serverUrl?: string;
  bureauUrl: string;
  /**
   * The simulated bureau's credentials, so `fangkong sync` can query it as the demo server
   * does. They are made fresh at each start, and the file is readable by its owner only.
   * Files written before these fields existed lack them.
   */
  bureauAppKey?: string;
  bureauAppSecret?: string;
  dingtalkUrl: string;
  robotWebhook: string;
  pid: number;
}

export interface DemoEnvironment {
  config: Readonly<Config>;
  bureau: BureauSimulator;
  dingtalk: DingTalkSimulator;
  endpoints: DemoEndpoints;
  /** Record the server's URL beside the simulators', for `demo morning`. Writes nothing when `recordEndpoints` is false. */
  recordServerUrl(url: string): void;
  close(): Promise<void>;
}

export { demoDataDir };

function endpointsFile(config: Pick<Config, 'dataDir'>): string {
  return join(demoDataDir(config), 'simulators.json');
}

/** The endpoints a running demo server wrote, if any. */
export function readDemoEndpoints(config: Pick<Config, 'dataDir'>): DemoEndpoints | undefined {
  const file = endpointsFile(config);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DemoEndpoints;
  } catch {
    return undefined;
  }
}

/** The address, credentials and request limit of a running demo server's simulated bureau. */
export interface DemoBureau {
  url: string;
  appKey: string;
  appSecret: string;
  requestsPerSecond: number;
}

/** Requests a second the simulated bureau accepts, and the demo server's client sends. */
const DEMO_BUREAU_REQUESTS_PER_SECOND = 50;

/** Reasons no running demo bureau was found: no simulators.json, one without credentials, or no response. */
export type DemoBureauMissing = 'no_file' | 'no_credentials' | 'not_running';

export type DemoBureauLookup = { found: true; bureau: DemoBureau } | { found: false; reason: DemoBureauMissing };

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Find the simulated bureau of a running demo server through data/demo/simulators.json.
 * The bureau counts as running when its `/_sim/stats` responds within 2 seconds. Only a
 * loopback address is tried, because the simulators never listen elsewhere.
 */
export async function findRunningDemoBureau(config: Pick<Config, 'dataDir'>): Promise<DemoBureauLookup> {
  const endpoints = readDemoEndpoints(config);
  if (!endpoints) return { found: false, reason: 'no_file' };
  if (!endpoints.bureauAppKey || !endpoints.bureauAppSecret) return { found: false, reason: 'no_credentials' };

  let url: URL;
  try {
    url = new URL(endpoints.bureauUrl);
  } catch {
    return { found: false, reason: 'not_running' };
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) return { found: false, reason: 'not_running' };

  try {
    const reply = await fetch(new URL('/_sim/stats', url), { signal: AbortSignal.timeout(2000) });
    const stats = reply.ok ? ((await reply.json()) as { requests?: unknown }) : undefined;
    if (typeof stats?.requests !== 'number') return { found: false, reason: 'not_running' };
  } catch {
    return { found: false, reason: 'not_running' };
  }
  return { found: true, bureau: { url: endpoints.bureauUrl, appKey: endpoints.bureauAppKey, appSecret: endpoints.bureauAppSecret, requestsPerSecond: DEMO_BUREAU_REQUESTS_PER_SECOND } };
}

export interface DemoEnvironmentOptions {
  /**
   * Write the simulators' addresses to data/demo/simulators.json (true by default), as the
   * demo server does. `demo morning` replaying in its own process passes false, so the file
   * a demo server wrote is left as it was.
   */
  recordEndpoints?: boolean;
}

/**
 * Start the simulated bureau (20 ms latency, 50 requests a second) and the simulated
 * DingTalk on free loopback ports, with fresh credentials, and return a config that
 * points at them and at data/demo.
 */
export async function startDemoEnvironment(base: Readonly<Config>, options: DemoEnvironmentOptions = {}): Promise<DemoEnvironment> {
  const dataDir = demoDataDir(base);
  mkdirSync(dataDir, { recursive: true });

  const bureauKey = 'demo-app';
  const bureauSecret = randomBytes(16).toString('hex');
  const dingtalkKey = 'demo-dingtalk';
  const dingtalkSecret = randomBytes(16).toString('hex');
  const robotSecret = `SEC${randomBytes(16).toString('hex')}`;
  const agentId = '10001';

  const bureau = await startBureauSimulator({ port: 0, host: '127.0.0.1', appKey: bureauKey, appSecret: bureauSecret, latencyMs: 20, requestsPerSecond: DEMO_BUREAU_REQUESTS_PER_SECOND });
  // The demo seed gives staff and guardians the user ids demo-staff-N and demo-guardian-N.
  const dingtalk = await startDingTalkSimulator({ port: 0, appKey: dingtalkKey, appSecret: dingtalkSecret, agentId, robotSecret, memberUserIds: /^demo-(staff|guardian)-\d+$/ });

  const config: Readonly<Config> = Object.freeze({
    ...base,
    dataDir,
    demo: true,
    bureau: { ...base.bureau, url: bureau.url, appKey: bureauKey, appSecret: bureauSecret, requestsPerSecond: DEMO_BUREAU_REQUESTS_PER_SECOND },
    dingtalk: {
      ...base.dingtalk,
      apiUrl: dingtalk.url,
      appKey: dingtalkKey,
      appSecret: dingtalkSecret,
      agentId,
      robotWebhook: dingtalk.robotWebhook,
      robotSecret,
    },
  });

  const endpoints: DemoEndpoints = { bureauUrl: bureau.url, bureauAppKey: bureauKey, bureauAppSecret: bureauSecret, dingtalkUrl: dingtalk.url, robotWebhook: dingtalk.robotWebhook, pid: process.pid };
  const recordEndpoints = options.recordEndpoints ?? true;
  const write = () => {
    if (!recordEndpoints) return;
    const file = endpointsFile(base);
    writeFileSync(file, JSON.stringify(endpoints, null, 2) + '\n', { mode: 0o600 });
    // The mode above applies only when the file is created, and an older demo wrote it readable by all.
    chmodSync(file, 0o600);
  };
  write();

  return {
    config,
    bureau,
    dingtalk,
    endpoints,
    recordServerUrl: (url) => {
      endpoints.serverUrl = url;
      write();
    },
    close: async () => {
      await bureau.close();
      await dingtalk.close();
    },
  };
}
