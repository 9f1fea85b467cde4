import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { classifyErrcode, classifyHttpStatus, describeErrcode, type FailureKind } from './dingtalk-errors.js';

/**
 * Client of DingTalk's oapi endpoints that the platform uses: the app access token, work
 * notices (asyncsend_v2 and getsendresult), user lookup by mobile and the group robot.
 * Every request has a timeout. Failures are thrown as DingTalkError, whose kind tells the
 * caller whether to retry. Tokens, secrets, signatures and phone numbers never reach the log.
 */
export interface DingTalkClient {
  /** True when app key, secret and agent id are set, so work notices can be sent. */
  isWorkNoticeConfigured(): boolean;
  /** True when a robot webhook is set. */
  isRobotConfigured(): boolean;
  /** The cached app access token, fetched when missing or about to expire. */
  getAccessToken(): Promise<string>;
  /** Send one markdown work notice to the users; returns DingTalk's task id. */
  sendWorkNotice(input: { userIds: string[]; title: string; markdown: string }): Promise<string>;
  /** Read which recipients of a task were reached, filtered or rejected. */
  getSendResult(taskId: string): Promise<SendResult>;
  /** The DingTalk userid of a mobile number, or undefined when no member has it. */
  getUserIdByMobile(mobile: string): Promise<string | undefined>;
  /** Post a markdown message through the group robot, signed with the current time. */
  sendRobot(input: { title: string; markdown: string }): Promise<void>;
}

/** The recipients of a work-notice task, by outcome. */
export interface SendResult {
  invalid: string[];
  /** Recipients DingTalk did not send to, with the forbidden_list code (143106: same content today). */
  forbidden: Array<{ userId: string; code: string | undefined }>;
  failed: string[];
  read: string[];
  unread: string[];
}

export interface DingTalkClientOptions {
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
  /** Refresh the token this long before DingTalk's expiry, in milliseconds. */
  tokenMarginMs?: number;
  /** Clock for token expiry and robot signatures; the dispatcher passes ctx.now. */
  now?: () => number;
}

export interface DingTalkErrorDetails {
  operation: string;
  errcode?: number;
  httpStatus?: number;
  /** True when the request may have taken effect although it failed (timeout, 5xx, reset). */
  uncertain: boolean;
  /** Cause of the failure in Chinese, for the console. */
  reason: string;
}

export class DingTalkError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly details: DingTalkErrorDetails,
  ) {
    super(message);
    this.name = 'DingTalkError';
  }
}

export function isDingTalkError(error: unknown): error is DingTalkError {
  return error instanceof DingTalkError;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_TOKEN_MARGIN_MS = 5 * 60_000;
/** The getbymobile errcode for a number that no member of the organisation has. */
const USER_NOT_FOUND_ERRCODE = 60121;

interface DingTalkReply {
  errcode?: number;
  errmsg?: string;
  [key: string]: unknown;
}

interface RequestSpec {
  operation: string;
  method: 'GET' | 'POST';
  url: URL;
  body?: unknown;
  /** True for calls that deliver a message: a failure after the request left is uncertain. */
  delivers: boolean;
  /** Errcodes that are an expected result, not a failure (60121 for getbymobile). They are thrown as usual but logged at debug. */
  expectedErrcodes?: number[];
}

export function createDingTalkClient(config: Config['dingtalk'], log: Logger, options: DingTalkClientOptions = {}): DingTalkClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tokenMarginMs = options.tokenMarginMs ?? DEFAULT_TOKEN_MARGIN_MS;
  const now = options.now ?? Date.now;
  const apiUrl = config.apiUrl.replace(/\/+$/, '');

  let cachedToken: { value: string; refreshAt: number } | undefined;
  let tokenRequest: Promise<string> | undefined;

  function isWorkNoticeConfigured(): boolean {
    return Boolean(config.appKey && config.appSecret && config.agentId);
  }

  function isRobotConfigured(): boolean {
    return Boolean(config.robotWebhook);
  }

  function requireWorkNoticeConfig(operation: string): void {
    if (isWorkNoticeConfigured()) return;
    throw new DingTalkError('permanent', 'DingTalk app key, secret or agent id is not configured', {
      operation,
      uncertain: false,
      reason: '未配置钉钉工作通知（FANGKONG_DINGTALK_APP_KEY、APP_SECRET、AGENT_ID）',
    });
  }

  async function fetchToken(): Promise<string> {
    requireWorkNoticeConfig('gettoken');
    const url = new URL(`${apiUrl}/gettoken`);
    url.searchParams.set('appkey', config.appKey);
    url.searchParams.set('appsecret', config.appSecret);
    const reply = await call({ operation: 'gettoken', method: 'GET', url, delivers: false });
    const token = reply.access_token;
    const expiresIn = Number(reply.expires_in);
    if (typeof token !== 'string' || token === '' || !Number.isFinite(expiresIn)) {
      throw new DingTalkError('retryable', 'gettoken reply has no access_token or expires_in', {
        operation: 'gettoken',
        uncertain: false,
        reason: '钉钉 gettoken 返回内容不完整',
      });
    }
    cachedToken = { value: token, refreshAt: now() + expiresIn * 1000 - tokenMarginMs };
    log.info({ expiresInSeconds: expiresIn }, 'dingtalk access token fetched');
    return token;
  }

  async function getAccessToken(): Promise<string> {
    if (cachedToken && now() < cachedToken.refreshAt) return cachedToken.value;

    // One request for all callers that find the cache empty at the same time.
    tokenRequest ??= fetchToken().finally(() => {
      tokenRequest = undefined;
    });
    return tokenRequest;
  }

  /** Call an endpoint that takes the access token, fetching a new token once when DingTalk rejects it. */
  async function callWithToken(operation: string, path: string, body: unknown, delivers: boolean, expectedErrcodes?: number[]): Promise<DingTalkReply> {
    requireWorkNoticeConfig(operation);
    for (let round = 1; ; round++) {
      const token = await getAccessToken();
      const url = new URL(`${apiUrl}${path}`);
      url.searchParams.set('access_token', token);
      try {
        return await call({ operation, method: 'POST', url, body, delivers, expectedErrcodes });
      } catch (error) {
        if (!isDingTalkError(error) || error.kind !== 'token' || round > 1) throw error;
        log.warn({ operation, errcode: error.details.errcode }, 'dingtalk rejected the access token; fetching a new one');
        if (cachedToken?.value === token) cachedToken = undefined;
      }
    }
  }

  async function call(spec: RequestSpec): Promise<DingTalkReply> {
    const started = Date.now();
    let response: Response;
    try {
      response = await fetch(spec.url, {
        method: spec.method,
        headers: spec.body === undefined ? undefined : { 'content-type': 'application/json; charset=utf-8' },
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw networkError(spec, error, timeoutMs, log);
    }

    let reply: DingTalkReply | undefined;
    const text = await response.text().catch(() => '');
    try {
      reply = text ? (JSON.parse(text) as DingTalkReply) : undefined;
    } catch {
      reply = undefined;
    }
    const durationMs = Date.now() - started;

    if (reply && typeof reply.errcode === 'number' && reply.errcode !== 0) {
      const kind = classifyErrcode(reply.errcode);
      if (spec.expectedErrcodes?.includes(reply.errcode)) {
        log.debug({ operation: spec.operation, errcode: reply.errcode, durationMs }, 'dingtalk request done');
      } else {
        log.warn({ operation: spec.operation, errcode: reply.errcode, httpStatus: response.status, durationMs }, 'dingtalk returned an error');
      }
      throw new DingTalkError(kind, `${spec.operation} failed with errcode ${reply.errcode}`, {
        operation: spec.operation,
        errcode: reply.errcode,
        httpStatus: response.status,
        uncertain: false,
        reason: describeErrcode(reply.errcode, reply.errmsg),
      });
    }
    if (!response.ok || !reply) {
      const kind = response.ok ? 'retryable' : classifyHttpStatus(response.status);
      log.warn({ operation: spec.operation, httpStatus: response.status, durationMs }, 'dingtalk returned an unusable reply');
      throw new DingTalkError(kind, `${spec.operation} failed with HTTP ${response.status}`, {
        operation: spec.operation,
        httpStatus: response.status,
        uncertain: spec.delivers && response.status >= 500,
        reason: `钉钉接口返回 HTTP ${response.status}`,
      });
    }

    log.debug({ operation: spec.operation, durationMs }, 'dingtalk request done');
    return reply;
  }

  return {
    isWorkNoticeConfigured,
    isRobotConfigured,
    getAccessToken,

    async sendWorkNotice(input) {
      if (input.userIds.length === 0) throw new Error('sendWorkNotice needs at least one user id');
      const agentId = Number(config.agentId);
      if (!Number.isSafeInteger(agentId)) {
        throw new DingTalkError('permanent', 'DingTalk agent id is not a number', {
          operation: 'asyncsend_v2',
          uncertain: false,
          reason: `钉钉 AgentId “${config.agentId}” 不是数字，请检查 FANGKONG_DINGTALK_AGENT_ID`,
        });
      }
      const reply = await callWithToken(
        'asyncsend_v2',
        '/topapi/message/corpconversation/asyncsend_v2',
        {
          agent_id: agentId,
          userid_list: input.userIds.join(','),
          msg: { msgtype: 'markdown', markdown: { title: input.title, text: input.markdown } },
        },
        true,
      );
      if (reply.task_id === undefined || reply.task_id === null) {
        // The send was accepted (errcode 0) but we cannot follow it up, so it counts as uncertain.
        throw new DingTalkError('retryable', 'asyncsend_v2 reply has no task_id', {
          operation: 'asyncsend_v2',
          uncertain: true,
          reason: '钉钉未返回任务编号',
        });
      }
      return String(reply.task_id);
    },

    async getSendResult(taskId) {
      const reply = await callWithToken(
        'getsendresult',
        '/topapi/message/corpconversation/getsendresult',
        { agent_id: Number(config.agentId), task_id: Number(taskId) },
        false,
      );
      return parseSendResult(reply.send_result);
    },

    async getUserIdByMobile(mobile) {
      try {
        const reply = await callWithToken('getbymobile', '/topapi/v2/user/getbymobile', { mobile }, false, [USER_NOT_FOUND_ERRCODE]);
        const result = reply.result as { userid?: unknown } | undefined;
        return typeof result?.userid === 'string' && result.userid !== '' ? result.userid : undefined;
      } catch (error) {
        if (isDingTalkError(error) && error.details.errcode === USER_NOT_FOUND_ERRCODE) return undefined;
        throw error;
      }
    },

    async sendRobot(input) {
      if (!isRobotConfigured()) {
        throw new DingTalkError('permanent', 'DingTalk robot webhook is not configured', {
          operation: 'robot_send',
          uncertain: false,
          reason: '未配置钉钉群机器人（FANGKONG_DINGTALK_ROBOT_WEBHOOK）',
        });
      }
      const url = new URL(config.robotWebhook);
      if (config.robotSecret) {
        const timestamp = String(now());
        url.searchParams.set('timestamp', timestamp);
        url.searchParams.set('sign', signRobotRequest(timestamp, config.robotSecret));
      }
      await call({
        operation: 'robot_send',
        method: 'POST',
        url,
        body: { msgtype: 'markdown', markdown: { title: input.title, text: input.markdown } },
        delivers: true,
      });
    },
  };
}

/**
 * Compute the group robot's signature, HMAC-SHA256 keyed with the secret over
 * "<timestamp>\n<secret>", base64-encoded. URLSearchParams URL-encodes it on the way out.
 */
export function signRobotRequest(timestamp: string, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');
}

function parseSendResult(raw: unknown): SendResult {
  const result = (raw ?? {}) as Record<string, unknown>;
  const list = (key: string): string[] => (Array.isArray(result[key]) ? (result[key] as unknown[]).map(String) : []);

  const codes = new Map<string, string>();
  if (Array.isArray(result.forbidden_list)) {
    for (const entry of result.forbidden_list as Array<{ userid?: unknown; code?: unknown }>) {
      if (entry && entry.userid !== undefined) codes.set(String(entry.userid), String(entry.code));
    }
  }

  return {
    invalid: list('invalid_user_id_list'),
    forbidden: list('forbidden_user_id_list').map((userId) => ({ userId, code: codes.get(userId) })),
    failed: list('failed_user_id_list'),
    read: list('read_user_id_list'),
    unread: list('unread_user_id_list'),
  };
}

function networkError(spec: RequestSpec, error: unknown, timeoutMs: number, log: Logger): DingTalkError {
  const cause = (error as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  const timedOut = (error as { name?: string }).name === 'TimeoutError' || (error as { name?: string }).name === 'AbortError';
  // A refused connection never reached DingTalk; a timeout or reset may have.
  const refused = code === 'ECONNREFUSED';

  log.warn({ operation: spec.operation, code, timedOut }, 'dingtalk request failed');
  let reason = '与钉钉接口的连接中断';
  if (timedOut) reason = `钉钉接口 ${timeoutMs} 毫秒内无响应`;
  else if (refused) reason = '无法连接钉钉接口（连接被拒绝）';
  return new DingTalkError('retryable', `${spec.operation} failed: ${timedOut ? 'timed out' : (code ?? 'network error')}`, {
    operation: spec.operation,
    uncertain: spec.delivers && !refused,
    reason,
  });
}
