import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the DingTalk oapi endpoints Fangkong uses, listening on 127.0.0.1:
 *
 * - GET  /gettoken?appkey&appsecret: the app access token (7200 s, the same token while valid)
 * - POST /topapi/message/corpconversation/asyncsend_v2?access_token: a work notice, returns task_id
 * - POST /topapi/message/corpconversation/getsendresult?access_token: per-user outcome of a task
 * - POST /topapi/v2/user/getbymobile?access_token: userid of a mobile number, 60121 when unknown
 * - POST /robot/send?access_token&timestamp&sign: the group robot with signature, keyword
 *   and rate checks
 *
 * It applies the DingTalk rules that change a sender's results: identical content to the
 * same user on the same Asia/Shanghai day is filtered (forbidden code 143106), a user gets
 * at most 500 work notices a day (143105), the robot takes 20 messages a minute (130101
 * after that, then a penalty pause), and a robot request with a bad signature, a timestamp
 * more than an hour off or no keyword is rejected with 310000.
 *
 * Everything it receives is recorded and served for tests and the demo (GET /_sim/messages,
 * /_sim/robot, /_sim/stats; DELETE /_sim/reset), and faults (down, slow, busy errcodes,
 * failing users) can be switched on and off, in process or with POST /_sim/faults.
 */
export interface DingTalkSimulatorOptions {
  /** 0 picks a free port. */
  port?: number;
  appKey: string;
  appSecret: string;
  /** When set, asyncsend_v2 and getsendresult reject any other agent_id. */
  agentId?: string | number;
  /** Secret of the robot's signature check; empty means the robot takes unsigned requests. */
  robotSecret?: string;
  /** The access_token of the robot webhook URL. */
  robotAccessToken?: string;
  /** Keywords of the robot's security setting; a message must contain one of them. */
  robotKeywords?: string[];
  /** Robot messages accepted per sliding minute. */
  robotPerMinute?: number;
  /** After the robot limit is exceeded, every robot message is rejected for this long, in ms. */
  robotPenaltyMs?: number;
  /** mobile → userid, for getbymobile. */
  users?: Record<string, string>;
  /** User ids that DingTalk reports as invalid (not in the organisation). */
  invalidUserIds?: string[];
  /**
   * The organisation's user ids, when set: a work notice to any other id is reported as
   * invalid, as DingTalk reports ids outside the organisation. Unset, every id is a member.
   */
  memberUserIds?: RegExp;
  tokenTtlSeconds?: number;
  /** Work notices one user can receive per day. */
  perUserDailyLimit?: number;
  /** Results of a task are reported only this long after it was created, in ms. */
  processingDelayMs?: number;
  /** Clock for token expiry, days, signatures and rate windows; tests share theirs. */
  now?: () => number;
}

export interface DingTalkFaults {
  /** 'refuse': stop listening (connection refused); 'reset': drop each connection; 'error503': reply HTTP 503. */
  down: false | 'refuse' | 'reset' | 'error503';
  /** Wait this long before handling a request, in ms. */
  delayMs: number;
  /** Handle the request (it takes effect), then wait this long before replying, in ms. */
  replyDelayMs: number;
  /** Limits `delayMs` and `replyDelayMs` to this endpoint path; null slows every endpoint. */
  slowPath: string | null;
  /** Reply with this errcode instead of handling the request. `times` counts down, and `path` limits it to one endpoint. */
  busy: { errcode: number; errmsg?: string; times?: number; path?: string } | null;
  /** Users that land in failed_user_id_list. */
  failUserIds: string[];
  /** Users reported as invalid, besides the `invalidUserIds` option. */
  invalidUserIds: string[];
}

/** One work notice as a user received it. */
export interface WorkDelivery {
  taskId: string;
  userId: string;
  msgtype: string;
  title: string;
  text: string;
  contentHash: string;
  receivedAt: number;
  day: string;
  read: boolean;
}

/** One request to the robot, accepted or not. */
export interface RobotRecord {
  receivedAt: number;
  accepted: boolean;
  errcode: number;
  msgtype: string;
  title: string;
  text: string;
}

export interface DingTalkSimulatorStats {
  requests: number;
  tokenRequests: number;
  tokensIssued: number;
  workSends: number;
  workRecipients: number;
  delivered: number;
  /** Recipients dropped by the same-content-same-day rule. */
  filtered: number;
  /** Recipients dropped by the daily limit. */
  overDailyLimit: number;
  invalid: number;
  failed: number;
  getSendResultCalls: number;
  getByMobileCalls: number;
  robotAccepted: number;
  /** Rejected robot requests by errcode. */
  robotRejected: Record<string, number>;
  /** Replies changed by an injected fault. */
  faultReplies: number;
  /** (user, content) pairs delivered more than once, over all days. */
  duplicateDeliveries: number;
}

export interface DingTalkSimulator {
  url: string;
  port: number;
  /** The robot webhook URL to configure (FANGKONG_DINGTALK_ROBOT_WEBHOOK). */
  robotWebhook: string;
  close(): Promise<void>;
  /** Work notices received, by user id. */
  messages(): Record<string, WorkDelivery[]>;
  robotMessages(): RobotRecord[];
  stats(): DingTalkSimulatorStats;
  setFaults(faults: Partial<DingTalkFaults>): Promise<void>;
  clearFaults(): Promise<void>;
  /** Forget every token, task, delivery and counter (faults stay). */
  reset(): void;
  /** Let every issued token expire now; the next call with one gets 42001. */
  expireTokens(): void;
  /** Mark a user's work notices as read. */
  markRead(userId: string): void;
}

const HOUR_MS = 60 * 60_000;
const MINUTE_MS = 60_000;
const SHANGHAI_OFFSET_MS = 8 * HOUR_MS;
const ROBOT_MSGTYPES = new Set(['text', 'markdown', 'link', 'actionCard', 'feedCard']);
const WORK_MSGTYPES = new Set(['text', 'markdown', 'action_card', 'link', 'oa', 'image', 'file', 'voice']);
const MAX_WORK_RECIPIENTS = 5000;

interface Task {
  id: string;
  createdAt: number;
  outcomes: Map<string, { kind: 'delivered' | 'invalid' | 'failed' } | { kind: 'forbidden'; code: string; count: number }>;
}

interface State {
  tokens: Map<string, number>;
  tasks: Map<string, Task>;
  deliveries: Map<string, WorkDelivery[]>;
  /** `${userId}\n${contentHash}\n${day}` → count, and `${userId}\n${day}` → count. */
  sentToday: Map<string, number>;
  deliveredEver: Map<string, number>;
  robot: RobotRecord[];
  robotPenaltyUntil: number;
  stats: DingTalkSimulatorStats;
  nextTaskId: number;
  nextToken: number;
}

function freshStats(): DingTalkSimulatorStats {
  return {
    requests: 0,
    tokenRequests: 0,
    tokensIssued: 0,
    workSends: 0,
    workRecipients: 0,
    delivered: 0,
    filtered: 0,
    overDailyLimit: 0,
    invalid: 0,
    failed: 0,
    getSendResultCalls: 0,
    getByMobileCalls: 0,
    robotAccepted: 0,
    robotRejected: {},
    faultReplies: 0,
    duplicateDeliveries: 0,
  };
}

function freshState(): State {
  return {
    tokens: new Map(),
    tasks: new Map(),
    deliveries: new Map(),
    sentToday: new Map(),
    deliveredEver: new Map(),
    robot: [],
    robotPenaltyUntil: 0,
    stats: freshStats(),
    nextTaskId: 310_000_001,
    nextToken: 1,
  };
}

const NO_FAULTS: DingTalkFaults = { down: false, delayMs: 0, replyDelayMs: 0, slowPath: null, busy: null, failUserIds: [], invalidUserIds: [] };

class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

function ok(body: Record<string, unknown> = {}): Reply {
  return new Reply(200, { errcode: 0, errmsg: 'ok', ...body });
}

function dingError(errcode: number, errmsg: string): Reply {
  return new Reply(200, { errcode, errmsg });
}

function shanghaiDay(ms: number): string {
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

function hashContent(msg: unknown): string {
  return createHash('sha256').update(JSON.stringify(msg)).digest('hex').slice(0, 16);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Start the simulator; resolves when it listens. */
export async function startDingTalkSimulator(options: DingTalkSimulatorOptions): Promise<DingTalkSimulator> {
  const now = options.now ?? Date.now;
  const robotAccessToken = options.robotAccessToken ?? 'sim-robot-token';
  const robotPerMinute = options.robotPerMinute ?? 20;
  const robotPenaltyMs = options.robotPenaltyMs ?? 10 * MINUTE_MS;
  const tokenTtlMs = (options.tokenTtlSeconds ?? 7200) * 1000;
  const dailyLimit = options.perUserDailyLimit ?? 500;
  const processingDelayMs = options.processingDelayMs ?? 0;
  const mobiles = new Map(Object.entries(options.users ?? {}));

  let state = freshState();
  let faults: DingTalkFaults = { ...NO_FAULTS };

  function checkToken(url: URL): Reply | undefined {
    const token = url.searchParams.get('access_token');
    if (!token || !state.tokens.has(token)) return dingError(40014, '不合法的access_token');
    if (state.tokens.get(token)! <= now()) return dingError(42001, 'access_token超时');
    return undefined;
  }

  function checkAgent(agentId: unknown): Reply | undefined {
    if (agentId === undefined || agentId === null || agentId === '') return dingError(40035, '缺少参数 agent_id');
    if (options.agentId !== undefined && String(agentId) !== String(options.agentId)) return dingError(40035, '不合法的参数 agent_id');
    return undefined;
  }

  function handleGetToken(url: URL): Reply {
    state.stats.tokenRequests += 1;
    if (url.searchParams.get('appkey') !== options.appKey || url.searchParams.get('appsecret') !== options.appSecret) {
      return dingError(40089, '不合法的corpid或corpsecret');
    }

    // While a token is valid, DingTalk returns the same one and extends its life.
    const current = now();
    for (const [token, expiresAt] of state.tokens) {
      if (expiresAt > current) {
        state.tokens.set(token, current + tokenTtlMs);
        return ok({ access_token: token, expires_in: tokenTtlMs / 1000 });
      }
    }
    const token = `simtoken-${state.nextToken++}-${createHash('sha256').update(String(current)).digest('hex').slice(0, 12)}`;
    state.tokens.set(token, current + tokenTtlMs);
    state.stats.tokensIssued += 1;
    return ok({ access_token: token, expires_in: tokenTtlMs / 1000 });
  }

  function handleAsyncSend(url: URL, body: Record<string, unknown>): Reply {
    const tokenProblem = checkToken(url);
    if (tokenProblem) return tokenProblem;
    const agentProblem = checkAgent(body.agent_id);
    if (agentProblem) return agentProblem;

    const msg = body.msg as { msgtype?: unknown; [key: string]: unknown } | undefined;
    if (!msg || typeof msg !== 'object' || typeof msg.msgtype !== 'string' || !WORK_MSGTYPES.has(msg.msgtype)) {
      return dingError(40035, '不合法的参数 msg.msgtype');
    }
    const content = msg[msg.msgtype] as Record<string, unknown> | undefined;
    if (!content || typeof content !== 'object') return dingError(40035, `缺少参数 msg.${msg.msgtype}`);

    const userIds = parseUserIdList(body.userid_list);
    if (userIds.length === 0) return dingError(1430000, '接受者为空');
    if (userIds.length > MAX_WORK_RECIPIENTS) return dingError(40035, `userid_list 超过 ${MAX_WORK_RECIPIENTS} 人`);

    const current = now();
    const day = shanghaiDay(current);
    const contentHash = hashContent(msg);
    const title = String(content.title ?? '');
    const text = String(content.text ?? content.content ?? content.markdown ?? '');
    const invalid = new Set([...(options.invalidUserIds ?? []), ...faults.invalidUserIds]);
    const failing = new Set(faults.failUserIds);

    const task: Task = { id: String(state.nextTaskId++), createdAt: current, outcomes: new Map() };
    state.stats.workSends += 1;
    state.stats.workRecipients += userIds.length;

    for (const userId of userIds) {
      const sameContentKey = `${userId}\n${contentHash}\n${day}`;
      const dailyKey = `${userId}\n${day}`;
      if (invalid.has(userId) || (options.memberUserIds && !options.memberUserIds.test(userId))) {
        task.outcomes.set(userId, { kind: 'invalid' });
        state.stats.invalid += 1;
      } else if (failing.has(userId)) {
        task.outcomes.set(userId, { kind: 'failed' });
        state.stats.failed += 1;
      } else if ((state.sentToday.get(sameContentKey) ?? 0) > 0) {
        task.outcomes.set(userId, { kind: 'forbidden', code: '143106', count: 1 });
        state.stats.filtered += 1;
      } else if ((state.sentToday.get(dailyKey) ?? 0) >= dailyLimit) {
        task.outcomes.set(userId, { kind: 'forbidden', code: '143105', count: dailyLimit });
        state.stats.overDailyLimit += 1;
      } else {
        task.outcomes.set(userId, { kind: 'delivered' });
        state.sentToday.set(sameContentKey, 1);
        state.sentToday.set(dailyKey, (state.sentToday.get(dailyKey) ?? 0) + 1);
        const everKey = `${userId}\n${contentHash}`;
        const times = (state.deliveredEver.get(everKey) ?? 0) + 1;
        state.deliveredEver.set(everKey, times);
        if (times === 2) state.stats.duplicateDeliveries += 1;
        const list = state.deliveries.get(userId) ?? [];
        list.push({ taskId: task.id, userId, msgtype: msg.msgtype, title, text, contentHash, receivedAt: current, day, read: false });
        state.deliveries.set(userId, list);
        state.stats.delivered += 1;
      }
    }
    state.tasks.set(task.id, task);
    return ok({ task_id: Number(task.id), request_id: `simreq-${task.id}` });
  }

  function handleGetSendResult(url: URL, body: Record<string, unknown>): Reply {
    state.stats.getSendResultCalls += 1;
    const tokenProblem = checkToken(url);
    if (tokenProblem) return tokenProblem;
    const agentProblem = checkAgent(body.agent_id);
    if (agentProblem) return agentProblem;

    const task = state.tasks.get(String(body.task_id ?? ''));
    if (!task) return dingError(40035, '不合法的参数 task_id');

    const result = {
      invalid_user_id_list: [] as string[],
      forbidden_user_id_list: [] as string[],
      failed_user_id_list: [] as string[],
      read_user_id_list: [] as string[],
      unread_user_id_list: [] as string[],
      invalid_dept_id_list: [] as number[],
      forbidden_list: [] as Array<{ code: string; count: number; userid: string }>,
    };
    if (now() >= task.createdAt + processingDelayMs) {
      for (const [userId, outcome] of task.outcomes) {
        if (outcome.kind === 'invalid') result.invalid_user_id_list.push(userId);
        if (outcome.kind === 'failed') result.failed_user_id_list.push(userId);
        if (outcome.kind === 'forbidden') {
          result.forbidden_user_id_list.push(userId);
          result.forbidden_list.push({ code: outcome.code, count: outcome.count, userid: userId });
        }
        if (outcome.kind === 'delivered') {
          const read = (state.deliveries.get(userId) ?? []).some((d) => d.taskId === task.id && d.read);
          (read ? result.read_user_id_list : result.unread_user_id_list).push(userId);
        }
      }
    }
    return ok({ send_result: result });
  }

  function handleGetByMobile(url: URL, body: Record<string, unknown>): Reply {
    state.stats.getByMobileCalls += 1;
    const tokenProblem = checkToken(url);
    if (tokenProblem) return tokenProblem;
    const mobile = typeof body.mobile === 'string' ? body.mobile.trim() : '';
    if (!mobile) return dingError(40035, '缺少参数 mobile');
    const userId = mobiles.get(mobile);
    if (!userId) return dingError(60121, '找不到该用户');
    return ok({ result: { userid: userId, exclusive_account_userid_list: [] }, request_id: `simreq-mobile-${state.stats.getByMobileCalls}` });
  }

  function robotReject(record: Omit<RobotRecord, 'accepted' | 'errcode'>, errcode: number, errmsg: string): Reply {
    state.robot.push({ ...record, accepted: false, errcode });
    state.stats.robotRejected[errcode] = (state.stats.robotRejected[errcode] ?? 0) + 1;
    return dingError(errcode, errmsg);
  }

  function handleRobot(url: URL, body: Record<string, unknown>): Reply {
    const current = now();
    const msgtype = typeof body.msgtype === 'string' ? body.msgtype : '';
    const content = (body[msgtype] ?? {}) as Record<string, unknown>;
    const title = String(content.title ?? '');
    const text = String(content.text ?? content.content ?? '');
    const record = { receivedAt: current, msgtype, title, text };

    if (url.searchParams.get('access_token') !== robotAccessToken) return robotReject(record, 300001, 'token is not exist');

    if (options.robotSecret) {
      const timestamp = url.searchParams.get('timestamp') ?? '';
      const sign = url.searchParams.get('sign') ?? '';
      if (!/^\d{10,16}$/.test(timestamp) || !sign) return robotReject(record, 310000, 'sign not match, more: [missing timestamp or sign]');
      if (Math.abs(current - Number(timestamp)) > HOUR_MS) return robotReject(record, 310000, 'sign not match, more: [timestamp is more than 1 hour off]');
      const expected = Buffer.from(createHmac('sha256', options.robotSecret).update(`${timestamp}\n${options.robotSecret}`).digest('base64'));
      const given = Buffer.from(sign);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return robotReject(record, 310000, 'sign not match');
    }

    if (!ROBOT_MSGTYPES.has(msgtype) || Object.keys(content).length === 0) return robotReject(record, 40035, '缺少参数 json');

    const keywords = options.robotKeywords ?? [];
    if (keywords.length > 0 && !keywords.some((keyword) => `${title}${text}`.includes(keyword))) {
      return robotReject(record, 310000, 'keywords not in content');
    }

    if (current < state.robotPenaltyUntil) return robotReject(record, 130101, 'send too fast, exceed 20 times per minute');
    const lastMinute = state.robot.filter((r) => r.accepted && r.receivedAt > current - MINUTE_MS).length;
    if (lastMinute >= robotPerMinute) {
      state.robotPenaltyUntil = current + robotPenaltyMs;
      return robotReject(record, 130101, 'send too fast, exceed 20 times per minute');
    }

    state.robot.push({ ...record, accepted: true, errcode: 0 });
    state.stats.robotAccepted += 1;
    return ok();
  }

  function handleInspection(request: IncomingMessage, url: URL): Reply | undefined {
    if (request.method === 'GET' && url.pathname === '/_sim/messages') {
      const userId = url.searchParams.get('userId');
      const all = Object.fromEntries(state.deliveries);
      return new Reply(200, { users: userId ? { [userId]: all[userId] ?? [] } : all });
    }
    if (request.method === 'GET' && url.pathname === '/_sim/robot') return new Reply(200, { messages: state.robot });
    if (request.method === 'GET' && url.pathname === '/_sim/stats') return new Reply(200, state.stats);
    if (request.method === 'DELETE' && url.pathname === '/_sim/reset') {
      state = freshState();
      return new Reply(200, { reset: true });
    }
    return undefined;
  }

  async function route(request: IncomingMessage, url: URL, body: Record<string, unknown>): Promise<Reply> {
    if (request.method === 'GET' && url.pathname === '/gettoken') return handleGetToken(url);
    if (request.method !== 'POST') return new Reply(404, { errcode: 404, errmsg: '请求的URI地址不存在' });
    switch (url.pathname) {
      case '/topapi/message/corpconversation/asyncsend_v2':
        return handleAsyncSend(url, body);
      case '/topapi/message/corpconversation/getsendresult':
        return handleGetSendResult(url, body);
      case '/topapi/v2/user/getbymobile':
        return handleGetByMobile(url, body);
      case '/robot/send':
        return handleRobot(url, body);
      default:
        return new Reply(404, { errcode: 404, errmsg: '请求的URI地址不存在' });
    }
  }

  function injectedFault(url: URL): Reply | undefined {
    if (faults.down === 'error503') return new Reply(503, '<html><body>503 Service Temporarily Unavailable</body></html>');
    const busy = faults.busy;
    if (busy && (!busy.path || url.pathname === busy.path)) {
      if (busy.times !== undefined) {
        if (busy.times <= 0) return undefined;
        busy.times -= 1;
      }
      return dingError(busy.errcode, busy.errmsg ?? '系统繁忙');
    }
    return undefined;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(request);

    const inspection = handleInspection(request, url);
    if (inspection) return send(response, inspection);
    if (request.method === 'POST' && url.pathname === '/_sim/faults') {
      // Reply first: switching to 'refuse' closes this very connection.
      send(response, new Reply(200, { faults: { ...faults, ...(JSON.parse(raw || '{}') as Partial<DingTalkFaults>) } }));
      await applyFaults(JSON.parse(raw || '{}') as Partial<DingTalkFaults>);
      return;
    }
    state.stats.requests += 1;

    if (faults.down === 'reset') {
      state.stats.faultReplies += 1;
      request.socket.destroy();
      return;
    }
    const isSlow = faults.slowPath === null || faults.slowPath === url.pathname;
    if (isSlow && faults.delayMs > 0) await sleep(faults.delayMs);

    const fault = injectedFault(url);
    if (fault) {
      state.stats.faultReplies += 1;
      return send(response, fault);
    }

    let body: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return send(response, dingError(40035, '请求体不是合法的 JSON'));
      }
    }
    const reply = await route(request, url, body);
    if (isSlow && faults.replyDelayMs > 0) await sleep(faults.replyDelayMs);
    send(response, reply);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, new Reply(500, { errcode: -1, errmsg: `simulator error: ${String(error)}` }));
    });
  });
  server.keepAliveTimeout = 5_000;

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  await listen(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let listening = true;

  async function applyFaults(next: Partial<DingTalkFaults>): Promise<void> {
    // A copy of `busy`, because its `times` counts down.
    let busy = faults.busy;
    if (next.busy !== undefined) busy = next.busy ? { ...next.busy } : null;
    faults = { ...faults, ...next, busy };
    if (faults.down === 'refuse' && listening) {
      await stopListening();
      listening = false;
    } else if (faults.down !== 'refuse' && !listening) {
      await listen(port);
      listening = true;
    }
  }

  return {
    url,
    port,
    robotWebhook: `${url}/robot/send?access_token=${encodeURIComponent(robotAccessToken)}`,
    async close() {
      if (listening) await stopListening();
      listening = false;
    },
    messages: () => structuredClone(Object.fromEntries(state.deliveries)),
    robotMessages: () => structuredClone(state.robot),
    stats: () => structuredClone(state.stats),
    setFaults: applyFaults,
    clearFaults: () => applyFaults({ ...NO_FAULTS }),
    reset() {
      state = freshState();
    },
    expireTokens() {
      for (const token of state.tokens.keys()) state.tokens.set(token, now());
    },
    markRead(userId) {
      for (const delivery of state.deliveries.get(userId) ?? []) delivery.read = true;
    },
  };
}

/** Parse the recipients of asyncsend_v2, a comma-separated string (or a list), without duplicates. */
function parseUserIdList(raw: unknown): string[] {
  let ids: string[] = [];
  if (Array.isArray(raw)) ids = raw.map(String);
  else if (typeof raw === 'string') ids = raw.split(',');
  return [...new Set(ids.map((id) => id.trim()).filter(Boolean))];
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, reply: Reply): void {
  const isText = typeof reply.body === 'string';
  response.writeHead(reply.status, { 'content-type': isText ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8' });
  response.end(isText ? (reply.body as string) : JSON.stringify(reply.body));
}
