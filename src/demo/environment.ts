import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { demoDataDir, type Config } from '../config.js';
import { startBureauSimulator, type BureauSimulator } from '../../tools/simulators/bureau.js';
import { startDingTalkSimulator, type DingTalkSimulator } from '../../tools/simulators/dingtalk.js';

/** Addresses of a running demo's simulators, written to data/demo/simulators.json. */
export interface DemoEndpoints {
  serverUrl?: string;
  bureauUrl: string;
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

function endpointsFile(config: Config): string {
  return join(demoDataDir(config), 'simulators.json');
}

/** The endpoints a running demo server wrote, if any. */
export function readDemoEndpoints(config: Config): DemoEndpoints | undefined {
  const file = endpointsFile(config);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DemoEndpoints;
  } catch {
    return undefined;
  }
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

  const bureau = await startBureauSimulator({ port: 0, host: '127.0.0.1', appKey: bureauKey, appSecret: bureauSecret, latencyMs: 20, requestsPerSecond: 50 });
  // The demo seed gives staff and guardians the user ids demo-staff-N and demo-guardian-N.
  const dingtalk = await startDingTalkSimulator({ port: 0, appKey: dingtalkKey, appSecret: dingtalkSecret, agentId, robotSecret, memberUserIds: /^demo-(staff|guardian)-\d+$/ });

  const config: Readonly<Config> = Object.freeze({
    ...base,
    dataDir,
    demo: true,
    bureau: { ...base.bureau, url: bureau.url, appKey: bureauKey, appSecret: bureauSecret, requestsPerSecond: 50 },
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

  const endpoints: DemoEndpoints = { bureauUrl: bureau.url, dingtalkUrl: dingtalk.url, robotWebhook: dingtalk.robotWebhook, pid: process.pid };
  const recordEndpoints = options.recordEndpoints ?? true;
  const write = () => {
    if (recordEndpoints) writeFileSync(endpointsFile(base), JSON.stringify(endpoints, null, 2) + '\n');
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
