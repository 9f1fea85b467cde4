import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * Chinese messages for the request errors Fastify raises before a route runs (body
 * parsing, content type, URL), and for requests Node's HTTP parser rejects before Fastify
 * routes them. Their own messages are English, and a school admin or a terminal vendor
 * reading a reply should learn what was wrong and what to send instead.
 */

interface ClientError {
  code?: string;
  statusCode?: number;
  message: string;
}

/** Return the Chinese message for a 4xx error Fastify raised; unknown ones keep Fastify's text after a Chinese lead. */
export function describeClientError(error: ClientError, request: FastifyRequest): string {
  const contentType = request.headers['content-type'] ?? '';
  switch (error.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return '请求正文为空：Content-Type 为 application/json 时需要提交 JSON 内容，没有内容时请去掉该请求头';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return '请求正文不是有效的 JSON，请检查引号、逗号和括号后重新提交';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `请求正文超过上限 ${formatBytes(request.routeOptions.bodyLimit)}，请缩小文件或分批提交`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `不支持的请求内容类型“${contentType || '（未填写）'}”，请按接口说明提交，通常为 application/json`;
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return '请求头 Content-Length 与实际提交的内容长度不一致，请重新提交';
    case 'FST_ERR_BAD_URL':
      return `网址“${request.url.slice(0, 100)}”含有无法解析的百分号编码：% 后应为两位十六进制数字，且解码后应为有效的 UTF-8（例如“中”写作 %E4%B8%AD），请检查后重新访问`;
  }
  // The JSON parser's own syntax errors carry status 400 and no Fastify code.
  if (error.statusCode === 400 && contentType.includes('json') && /JSON|token|position/i.test(error.message)) {
    return '请求正文不是有效的 JSON，请检查引号、逗号和括号后重新提交';
  }
  if (error.statusCode === 429) return '请求过于频繁，请稍后再试';
  return `请求无效：${error.message}`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} 字节`;
}

/** A connection error as Node's HTTP server emits it on 'clientError'. */
export interface ConnectionError extends Error {
  code?: string;
  /** The bytes the parser was reading, a Buffer in Node 20. */
  rawPacket?: unknown;
}

interface ParserReply {
  status: number;
  error: string;
  message: string;
}

/** Codes of Node's HTTP parser (llhttp) for a request line or header it cannot read. */
const HEADER_ERRORS = new Set(['HPE_INVALID_HEADER_TOKEN', 'HPE_INVALID_TRANSFER_ENCODING', 'HPE_INVALID_CONTENT_LENGTH', 'HPE_UNEXPECTED_CONTENT_LENGTH']);

const percentEncoded = (byte: number) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * Return the request target (the URL of the request line) of a rejected packet for a
 * message, or undefined when the packet does not start with a request line. Valid UTF-8
 * is shown as text with control characters as %XX. Other bytes are all shown as %XX,
 * because they have no text to show.
 */
function requestTargetOf(error: ConnectionError): string | undefined {
  if (!Buffer.isBuffer(error.rawPacket)) return undefined;
  const lineEnd = error.rawPacket.indexOf(0x0a);
  const line = error.rawPacket.subarray(0, lineEnd === -1 ? Math.min(error.rawPacket.length, 2048) : lineEnd);
  const methodEnd = line.indexOf(0x20);
  if (methodEnd < 1 || !/^[A-Z]+$/.test(line.subarray(0, methodEnd).toString('latin1'))) return undefined;
  const versionStart = line.lastIndexOf(' HTTP/');
  const target = line.subarray(methodEnd + 1, versionStart > methodEnd ? versionStart : line.length);

  const text = target.toString('utf8');
  const printable = Buffer.from(text, 'utf8').equals(target)
    ? text.replace(/[\u0000-\u001f\u007f]/g, (char) => percentEncoded(char.charCodeAt(0)))
    : [...target].map((byte) => (byte > 0x20 && byte < 0x7f ? String.fromCharCode(byte) : percentEncoded(byte))).join('');
  return printable.length > 100 ? `${printable.slice(0, 100)}…` : printable;
}

/** Choose the status and Chinese message for a request Node's HTTP parser rejected. */
export function describeParserError(error: ConnectionError): ParserReply {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, error: 'REQUEST_TIMEOUT', message: '请求超时：服务器没有在规定时间内收到完整的请求，请检查网络后重新发送' };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, error: 'HEADERS_TOO_LARGE', message: '请求头过大，服务器无法处理：请清除本站的 Cookie 或减少请求头后重试' };
  }
  if (error.code === 'HPE_INVALID_URL') {
    const target = requestTargetOf(error);
    const named = target === undefined ? '网址' : `网址“${target}”`;
    return {
      status: 400,
      error: 'BAD_URL',
      message: `${named}含有不能直接发送的字符：请求行中的网址只能使用 ASCII 字符，中文、空格和其他字符请先按 UTF-8 百分号编码（例如“中”写作 %E4%B8%AD）再发送`,
    };
  }
  if (error.code && HEADER_ERRORS.has(error.code)) {
    return { status: 400, error: 'BAD_REQUEST', message: '请求头格式无效（含有不允许的字符，或 Content-Length、Transfer-Encoding 的值无效）：请检查请求头后重新发送' };
  }
  return {
    status: 400,
    error: 'BAD_REQUEST',
    message: '无法解析请求：请求行应为“方法 网址 HTTP/1.1”（例如 GET /api/health HTTP/1.1），网址中的空格和中文请先按 UTF-8 百分号编码，请检查后重新发送',
  };
}

/**
 * Reply in Chinese to a request Node's HTTP parser rejected, in place of Fastify's
 * English "Client Error", and close the connection. Use as Fastify's clientErrorHandler.
 */
export function replyToUnparsableRequest(error: ConnectionError, socket: Socket, log: Logger): void {
  // A reset connection has no one to reply to.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;

  const reply = describeParserError(error);
  log.info({ code: error.code, status: reply.status, remoteAddress: socket.remoteAddress }, 'HTTP parser rejected a request');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: reply.error, message: reply.message });
  const head = [
    `HTTP/1.1 ${reply.status} ${STATUS_TEXT[reply.status]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };
