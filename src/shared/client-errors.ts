import type { FastifyRequest } from 'fastify';

/**
 * Chinese messages for the request errors Fastify raises before a route runs (body
 * parsing, content type, URL). Their own messages are English, and a school admin or a
 * terminal vendor reading a reply should learn what was wrong and what to send instead.
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
      return `网址“${request.url.slice(0, 100)}”含有无法解析的字符，请检查后重新访问`;
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
