/**
 * The error catalogue: each entry fixes a stable code, the HTTP status and a Chinese
 * message template shown to users. `{name}` placeholders are filled from `params`.
 * Developer-facing detail goes to the log, never to the message.
 */
export const ERRORS = {
  VALIDATION: { status: 400, message: '输入不正确：{detail}' },
  INVALID_ID_NUMBER: { status: 400, message: '身份证号 {masked} 无效：{reason}' },
  NOT_FOUND: { status: 404, message: '未找到{what}：{value}' },
  SCHOOL_NOT_FOUND: { status: 404, message: '未找到学校代码 {code}，请先用 `npx fangkong school add` 创建学校' },
  CONFLICT: { status: 409, message: '{detail}' },
  ROSTER_UNREADABLE: { status: 400, message: '无法读取花名册文件：{detail}' },
  ROSTER_TOO_LARGE: { status: 413, message: '花名册文件过大（{sizeMb} MB），上限为 {limitMb} MB，请拆分后分批导入' },
  UNAUTHORIZED: { status: 401, message: '{detail}' },
  FORBIDDEN: { status: 403, message: '没有权限：{detail}' },
  BUREAU_NOT_CONFIGURED: { status: 409, message: '未配置大数据局接口（FANGKONG_BUREAU_URL），无法同步健康码；请设置该接口及其 APP_KEY、APP_SECRET。演示模式下请用 `npx fangkong demo morning` 重放同步' },
  SYNC_ALREADY_RUNNING: { status: 409, message: '学校 {school} 的健康码同步正在进行中，请稍后再试' },
  INVALID_CRON: { status: 400, message: '同步时间“{cron}”不是有效的 cron 表达式：{reason}。请写 5 段（分 时 日 月 周，北京时间），例如 “30 4 * * *” 表示每天 04:30' },
  UNKNOWN_SYNC_PRESET: { status: 400, message: '没有名为“{preset}”的同步方案，可选：{choices}' },
  PAYLOAD_TOO_LARGE: { status: 413, message: '上传内容过大：{detail}' },
  LOGIN_FAILED: { status: 401, message: '用户名或密码错误' },
  ACCOUNT_LOCKED: { status: 423, message: '密码连续错误次数过多，账号已锁定至 {until}（北京时间），请届时再试或联系管理员解锁' },
  CSRF_REJECTED: { status: 403, message: '请求缺少有效的安全令牌（X-CSRF-Token），请刷新页面后重试' },
  NOTICE_NOT_RETRYABLE: { status: 409, message: '通知当前状态为“{state}”，只有无法送达、已放弃或被钉钉过滤的通知可以重新发送' },
  DINGTALK_NOT_CONFIGURED: { status: 409, message: '未配置钉钉（工作通知需要 FANGKONG_DINGTALK_APP_KEY、APP_SECRET、AGENT_ID，群机器人需要 FANGKONG_DINGTALK_ROBOT_WEBHOOK），无法测试发送' },
  FACE_REJECTED: { status: 422, message: '{detail}' },
  FACE_CONSENT_REQUIRED: { status: 409, message: '{name} 尚未授权人脸识别（或授权已撤回），请先登记本人或监护人的人脸识别授权后再录入' },
  FACE_LIMIT_REACHED: { status: 409, message: '{name} 已录入 {count} 张人脸照片（上限 {limit} 张），请先删除原有照片再录入' },
  FACE_MODEL_UNAVAILABLE: { status: 503, message: '人脸识别模型未能加载，暂时无法识别人脸，请联系管理员检查安装' },
  INVALID_DESCRIPTOR: { status: 400, message: '人脸特征值无效：{detail}' },
  VENUE_CODE_INVALID: { status: 400, message: '{title}：{advice}' },
  VENUE_CARD_UNKNOWN: { status: 404, message: '尾号 {masked} 的卡未登记，不能刷卡登记，请由工作人员代为登记' },
  VENUE_CARD_LOST: { status: 409, message: '尾号 {masked} 的卡已挂失，不能使用，请由工作人员核验身份后代为登记' },
  RATE_LIMITED: { status: 429, message: '操作太频繁，请 {seconds} 秒后再试' },
  TRACE_PURPOSE_REQUIRED: { status: 400, message: '请填写查询目的（至少 4 个字），例如“密接排查：某某病例”；每次查询都会记入审计日志' },
  INTERNAL: { status: 500, message: '服务器内部错误，请稍后重试；如持续出现请联系管理员' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly status: number;
  /** The Chinese message for the user. */
  readonly userMessage: string;

  constructor(
    readonly code: ErrorCode,
    readonly params: Record<string, string | number> = {},
    /** Extra structured detail returned to the client (for example rejected rows). */
    readonly details?: unknown,
  ) {
    const entry = ERRORS[code];
    const userMessage = entry.message.replace(/\{(\w+)\}/g, (_, key: string) => String(params[key] ?? ''));
    super(userMessage);
    this.name = 'AppError';
    this.status = entry.status;
    this.userMessage = userMessage;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
