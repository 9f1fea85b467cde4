import { join, resolve } from 'node:path';

/**
 * Settings read once from the environment at start-up. Every command and the server use
 * the same object; nothing else reads process.env.
 */
export interface Config {
  /** Folder for the SQLite file, the generated key file and demo data. */
  dataDir: string;
  /** `postgres://…` selects PostgreSQL; empty means SQLite in `dataDir`. */
  databaseUrl: string;
  port: number;
  host: string;
  /** 64 hex characters (32 bytes) or empty, in which case a key file in dataDir is used. */
  secretKey: string;
  /** True when no bureau is configured: seed demo data and start the simulators. */
  demo: boolean;
  logLevel: string;
  /** Command-line log files dated more than this many days before today are deleted when a command starts; 0 keeps them all. */
  cliLogRetentionDays: number;
  bureau: {
    url: string;
    appKey: string;
    appSecret: string;
    /** Parallel requests to the bureau. */
    concurrency: number;
    /** Requests per second the bureau allows this app. */
    requestsPerSecond: number;
    /** Per-request timeout in milliseconds. */
    timeoutMs: number;
    /** Attempts per batch before the batch counts as failed. */
    maxAttempts: number;
    /** A code not refreshed for this many minutes is shown as stale. */
    staleAfterMinutes: number;
  };
  dingtalk: {
    /** Base of the oapi endpoints. */
    apiUrl: string;
    appKey: string;
    appSecret: string;
    agentId: string;
    robotWebhook: string;
    robotSecret: string;
  };
  notify: {
    /** Attempts per notice before it is marked dead and the admin is told. */
    maxAttempts: number;
    /** How often the dispatcher looks for due notices, in milliseconds. */
    pollIntervalMs: number;
  };
  roster: {
    /** Largest roster file accepted for import, in MB (FANGKONG_ROSTER_MAX_MB). */
    maxFileMb: number;
  };
  face: {
    /** Folder of the face-api model files; empty means the folder inside @vladmandic/face-api. */
    modelDir: string;
    /** Largest photo accepted for face enrolment or identification, in MB. */
    maxImageMb: number;
    /** Smallest face (shorter side of the detected box) accepted, in pixels. */
    minFaceSizePx: number;
    /** Photos are scaled down so that their longer side is at most this many pixels. */
    maxImageDimensionPx: number;
  };
  venues: {
    /** Scheme, host and port that printed venue codes point at (FANGKONG_PUBLIC_URL). */
    publicUrl: string;
    /** Check-ins older than this many days are deleted (FANGKONG_VENUE_RETENTION_DAYS). */
    retentionDays: number;
    /** A second check-in of one person at one venue within this many minutes is the same check-in. */
    duplicateWindowMinutes: number;
    /** How long a looked-up health code is reused for check-ins, in seconds. */
    codeCacheSeconds: number;
    /** A check-in waits at most this long for the bureau before it records 'unknown', in ms. */
    bureauDeadlineMs: number;
    /** Check-ins allowed per minute from one IP address (many phones share a carrier's address). */
    checkinsPerIpPerMinute: number;
    /** Check-ins allowed per minute from one phone (the browser's device cookie). */
    checkinsPerPhonePerMinute: number;
    /** Two check-ins of one person within this many minutes are compared for distance. */
    travelWindowMinutes: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`配置有误，请修改以下环境变量后重新启动：\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const DINGTALK_DEFAULT_API_URL = 'https://oapi.dingtalk.com';

type Env = Record<string, string | undefined>;

/**
 * Parse the FANGKONG_* variables into a frozen Config. Every bad value is collected, so
 * one start-up error lists all of them with the fix.
 */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];

  const readInt = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}="${raw}" 应为 ${min} 到 ${max} 的整数；请改为范围内的值，或删除该变量以使用默认值 ${fallback}`);
      return fallback;
    }
    return value;
  };
  const readString = (name: string, fallback = ''): string => env[name]?.trim() || fallback;
  /** Read an http(s) URL setting. An empty one returns `fallback`, and `advice` ends the message for a malformed one. */
  const readHttpUrl = (name: string, advice: string, fallback = ''): string => {
    const raw = readString(name);
    if (!raw) return fallback;
    if (!isHttpUrl(raw)) problems.push(`${name}="${redactUrlSecrets(raw)}" 不是有效的网址，应为以 http:// 或 https:// 开头、包含主机名的完整网址；${advice}`);
    return raw;
  };

  const databaseUrl = readString('FANGKONG_DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(`FANGKONG_DATABASE_URL="${redactUrl(databaseUrl)}" 应以 postgres:// 开头；使用 SQLite 时请删除该变量`);
  }

  const secretKey = readString('FANGKONG_SECRET_KEY');
  if (secretKey && !/^[0-9a-fA-F]{64}$/.test(secretKey)) {
    problems.push('FANGKONG_SECRET_KEY 应为 64 个十六进制字符（32 字节）；可用 `openssl rand -hex 32` 生成，或删除该变量以使用数据目录中的密钥文件');
  }

  const bureauUrl = readHttpUrl('FANGKONG_BUREAU_URL', '请填写大数据局提供的接口地址，或删除该变量以使用演示模式');
  const config: Config = {
    dataDir: resolve(readString('FANGKONG_DATA_DIR', './data')),
    databaseUrl,
    port: readInt('FANGKONG_PORT', 3000, 0, 65535),
    host: readString('FANGKONG_HOST', '127.0.0.1'),
    secretKey,
    demo: bureauUrl === '' || env.FANGKONG_DEMO === '1',
    logLevel: readString('FANGKONG_LOG_LEVEL', 'info'),
    cliLogRetentionDays: readInt('FANGKONG_CLI_LOG_RETENTION_DAYS', 30, 0, 3650),
    bureau: {
      url: bureauUrl,
      appKey: readString('FANGKONG_BUREAU_APP_KEY'),
      appSecret: readString('FANGKONG_BUREAU_APP_SECRET'),
      concurrency: readInt('FANGKONG_BUREAU_CONCURRENCY', 8, 1, 64),
      requestsPerSecond: readInt('FANGKONG_BUREAU_RPS', 50, 1, 10000),
      timeoutMs: readInt('FANGKONG_BUREAU_TIMEOUT_MS', 10000, 100, 120000),
      maxAttempts: readInt('FANGKONG_BUREAU_MAX_ATTEMPTS', 5, 1, 20),
      staleAfterMinutes: readInt('FANGKONG_CODE_STALE_MINUTES', 24 * 60, 1, 7 * 24 * 60),
    },
    dingtalk: {
      apiUrl: readHttpUrl('FANGKONG_DINGTALK_API_URL', `请改正，或删除该变量以使用钉钉官方地址 ${DINGTALK_DEFAULT_API_URL}`, DINGTALK_DEFAULT_API_URL).replace(/\/+$/, ''),
      appKey: readString('FANGKONG_DINGTALK_APP_KEY'),
      appSecret: readString('FANGKONG_DINGTALK_APP_SECRET'),
      agentId: readString('FANGKONG_DINGTALK_AGENT_ID'),
      robotWebhook: readHttpUrl('FANGKONG_DINGTALK_ROBOT_WEBHOOK', '请从钉钉群机器人的设置中复制完整的 Webhook 地址，或删除该变量'),
      robotSecret: readString('FANGKONG_DINGTALK_ROBOT_SECRET'),
    },
    notify: {
      maxAttempts: readInt('FANGKONG_NOTIFY_MAX_ATTEMPTS', 8, 1, 100),
      pollIntervalMs: readInt('FANGKONG_NOTIFY_POLL_MS', 1000, 50, 60000),
    },
    roster: {
      maxFileMb: readInt('FANGKONG_ROSTER_MAX_MB', 20, 1, 200),
    },
    face: {
      modelDir: readString('FANGKONG_FACE_MODEL_DIR'),
      maxImageMb: readInt('FANGKONG_FACE_MAX_IMAGE_MB', 5, 1, 50),
      minFaceSizePx: readInt('FANGKONG_FACE_MIN_SIZE_PX', 80, 20, 1000),
      maxImageDimensionPx: readInt('FANGKONG_FACE_MAX_DIMENSION_PX', 1280, 320, 8192),
    },
    venues: {
      publicUrl: readString('FANGKONG_PUBLIC_URL').replace(/\/+$/, ''),
      retentionDays: readInt('FANGKONG_VENUE_RETENTION_DAYS', 28, 1, 366),
      duplicateWindowMinutes: readInt('FANGKONG_VENUE_DUPLICATE_MINUTES', 5, 0, 240),
      codeCacheSeconds: readInt('FANGKONG_VENUE_CODE_CACHE_SECONDS', 300, 0, 86400),
      bureauDeadlineMs: readInt('FANGKONG_VENUE_BUREAU_DEADLINE_MS', 3000, 100, 60000),
      checkinsPerIpPerMinute: readInt('FANGKONG_VENUE_CHECKINS_PER_IP', 600, 1, 1000000),
      checkinsPerPhonePerMinute: readInt('FANGKONG_VENUE_CHECKINS_PER_PHONE', 10, 1, 1000000),
      travelWindowMinutes: readInt('FANGKONG_VENUE_TRAVEL_WINDOW_MINUTES', 30, 1, 1440),
    },
  };

  // Without a public address, codes point at this server on loopback: right for the demo only.
  if (!config.venues.publicUrl) config.venues.publicUrl = `http://127.0.0.1:${config.port}`;
  if (!/^https?:\/\/[^/\s?#]+$/.test(config.venues.publicUrl) || !isHttpUrl(config.venues.publicUrl)) {
    problems.push(
      `FANGKONG_PUBLIC_URL="${redactUrlSecrets(config.venues.publicUrl)}" 应为以 http:// 或 https:// 开头的网址，只含主机名（可带端口）、不带路径，例如 https://fk.example.cn；打印的场所码指向该地址`,
    );
  }

  if (!LOG_LEVELS.includes(config.logLevel)) {
    problems.push(`FANGKONG_LOG_LEVEL="${config.logLevel}" 无效，可选：${LOG_LEVELS.join('、')}`);
  }

  if (bureauUrl && (!config.bureau.appKey || !config.bureau.appSecret)) {
    problems.push('已设置 FANGKONG_BUREAU_URL，但缺少 FANGKONG_BUREAU_APP_KEY 或 FANGKONG_BUREAU_APP_SECRET；请两者都设置');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** True when DingTalk work notices can be sent (app credentials present). */
export function isDingTalkConfigured(config: Config): boolean {
  return Boolean(config.dingtalk.appKey && config.dingtalk.appSecret && config.dingtalk.agentId);
}

/** Hide the password of a database URL for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]*)@/, '//$1:***@');
}

/**
 * Hide what a configured URL may carry as a secret, for start-up messages: the password
 * (see redactUrl) and every query value, such as a robot webhook's access_token.
 */
function redactUrlSecrets(url: string): string {
  return redactUrl(url).replace(/([?&][^=&#]*=)[^&#]*/g, '$1***');
}

/** True for an absolute http:// or https:// URL with a host name. */
function isHttpUrl(text: string): boolean {
  if (!/^https?:\/\//i.test(text)) return false;
  try {
    return new URL(text).hostname !== '';
  } catch {
    return false;
  }
}

/**
 * The data folder of demo mode (no bureau configured): `demo` under `dataDir`, so the demo
 * never mixes with a school's real data. The server and the CLI both use it.
 */
export function demoDataDir(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'demo');
}
