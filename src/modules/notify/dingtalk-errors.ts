/**
 * How the dispatcher reacts to a DingTalk error. The codes come from DingTalk's
 * open-platform documentation for the oapi endpoints (gettoken, work notices, the group
 * robot); an errcode not listed here is treated as retryable, so an unknown hiccup costs
 * an attempt rather than a notice.
 *
 * - retryable: try again after the backoff; counts as an attempt.
 * - throttled: DingTalk asks us to slow down; wait and retry without spending an attempt.
 * - token: the access token is invalid or expired; fetch a new one and repeat once.
 * - permanent: the same request will fail again (bad signature, missing keyword, wrong
 *   credentials, bad parameters); the notice is dead at once and the admin is told.
 */
export type FailureKind = 'retryable' | 'throttled' | 'token' | 'permanent';

const TOKEN_CODES = new Set([40014, 42001]);

const THROTTLED_CODES = new Set([
  130101, // robot: more than 20 messages in a minute
  302033, // robot: sending too fast, wait before the next message
  90018, // calls per unit of time exceeded for the app
  143103, // work notice: app's recipients per minute exceeded
  143104, // work notice: organisation's recipients per minute exceeded
  143203, // work notice (ISV): recipients per minute exceeded
  143204, // work notice (ISV): recipients per minute exceeded
]);

const PERMANENT_CODES = new Set([
  310000, // robot: signature mismatch, timestamp out of window, keyword missing or IP not allowed
  300001, // robot: access_token of the webhook does not exist
  40089, // gettoken: invalid appkey or appsecret
  40035, // invalid parameter
  400002, // invalid parameter
  1430000, // work notice: no recipient
  1430002, // work notice: content rejected
]);

export function classifyErrcode(errcode: number): FailureKind {
  if (TOKEN_CODES.has(errcode)) return 'token';
  if (THROTTLED_CODES.has(errcode)) return 'throttled';
  if (PERMANENT_CODES.has(errcode)) return 'permanent';
  return 'retryable';
}

/** Classify an HTTP status that came without a DingTalk body: 429 and 5xx are temporary, other 4xx are not. */
export function classifyHttpStatus(status: number): FailureKind {
  if (status === 429) return 'throttled';
  if (status >= 500) return 'retryable';
  return 'permanent';
}

/**
 * forbidden_list codes that mean "same content to the same user today": DingTalk accepted
 * the task but dropped this recipient as a duplicate.
 */
const DUPLICATE_CONTENT_CODES = new Set(['143106', '143206']);

export function isDuplicateContentCode(code: string | number | undefined): boolean {
  return code !== undefined && DUPLICATE_CONTENT_CODES.has(String(code));
}

const ERRCODE_TEXT: Record<number, string> = {
  [-1]: '钉钉系统繁忙',
  130101: '群机器人每分钟最多发送 20 条消息，发送过快',
  302033: '群机器人发送过快，需要等待',
  90018: '调用钉钉接口过于频繁',
  143103: '工作通知每分钟发送人次超限',
  143104: '企业每分钟发送人次超限',
  143105: '超过钉钉每人每日工作通知上限',
  143106: '同一天已向该用户发送过相同内容',
  310000: '群机器人安全设置校验失败（签名、时间戳、关键词或 IP）',
  300001: '群机器人 Webhook 的 access_token 不存在',
  40014: '钉钉 access_token 无效',
  42001: '钉钉 access_token 已过期',
  40089: '钉钉应用的 AppKey 或 AppSecret 不正确',
  1430000: '接收人为空',
  1430002: '消息内容被钉钉拒绝',
};

/** Describe a DingTalk errcode in short Chinese for the console, with the code. */
export function describeErrcode(errcode: number, errmsg?: string): string {
  const known = ERRCODE_TEXT[errcode];
  if (known) return `${known}（错误码 ${errcode}）`;
  return `钉钉返回错误码 ${errcode}${errmsg ? `：${errmsg}` : ''}`;
}
