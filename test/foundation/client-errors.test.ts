import { connect } from 'node:net';
import { Type } from '@fastify/type-provider-typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

/** Send raw bytes to the server on loopback and return the reply's status code, head and body. */
function rawRequest(port: number, request: string | Buffer): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), head, body: rest.join('\r\n\r\n') });
    });
  });
}

/** Build a GET request whose request line carries `target` as raw bytes. */
function requestWithTarget(target: Buffer): Buffer {
  return Buffer.concat([Buffer.from('GET '), target, Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')]);
}

describe('request errors before a route runs', () => {
  let t: TestDb;
  let app: HttpApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestDb('sqlite');
    app = await buildApp(t.ctx, [
      (api) => {
        api.post('/client-error-probe', { bodyLimit: 2048, schema: { body: Type.Object({ name: Type.String({ title: '姓名' }) }) } }, async () => ({ ok: true }));
      },
    ]);
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  const post = (payload: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/api/client-error-probe', headers: { 'content-type': contentType }, payload });

  it('explains broken JSON', async () => {
    const response = await post('{"name": "张三",}');
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe('请求正文不是有效的 JSON，请检查引号、逗号和括号后重新提交');
  });

  it('explains an empty JSON body', async () => {
    const response = await post('');
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('请求正文为空');
  });

  it('names the body limit', async () => {
    const response = await post(JSON.stringify({ name: 'x'.repeat(5000) }));
    expect(response.statusCode).toBe(413);
    expect(response.json().message).toBe('请求正文超过上限 2 KB，请缩小文件或分批提交');
  });

  it('names an unsupported content type', async () => {
    const response = await post('name=x', 'text/csv');
    expect(response.statusCode).toBe(415);
    expect(response.json().message).toBe('不支持的请求内容类型“text/csv”，请按接口说明提交，通常为 application/json');
  });

  it('explains a URL it cannot decode', async () => {
    const reply = await rawRequest(port, 'GET /api/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(reply.status).toBe(400);
    const message = JSON.parse(reply.body).message as string;
    expect(message).toContain('网址“/api/%E0%A4%A”含有无法解析的百分号编码');
    expect(message).toContain('% 后应为两位十六进制数字');
  });

  it('explains raw UTF-8 bytes in a URL', async () => {
    const reply = await rawRequest(port, requestWithTarget(Buffer.from('/api/学校', 'utf8')));
    expect(reply.status).toBe(400);
    expect(reply.head).toMatch(/content-type: application\/json; charset=utf-8/i);
    const parsed = JSON.parse(reply.body) as { error: string; message: string };
    expect(parsed.error).toBe('BAD_URL');
    expect(parsed.message).toContain('网址“/api/学校”含有不能直接发送的字符');
    expect(parsed.message).toContain('%E4%B8%AD');
    expect(reply.body).not.toContain('Client Error');
  });

  it('explains URL bytes that are not UTF-8', async () => {
    const reply = await rawRequest(port, requestWithTarget(Buffer.from([0x2f, 0x61, 0x70, 0x69, 0x2f, 0xe0, 0xa4, 0xff, 0x80])));
    expect(reply.status).toBe(400);
    const parsed = JSON.parse(reply.body) as { error: string; message: string };
    expect(parsed.error).toBe('BAD_URL');
    expect(parsed.message).toContain('网址“/api/%E0%A4%FF%80”含有不能直接发送的字符');
    expect(parsed.message).toContain('UTF-8 百分号编码');
  });

  it('explains a space in the URL', async () => {
    const reply = await rawRequest(port, 'GET /api/a b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(reply.status).toBe(400);
    const parsed = JSON.parse(reply.body) as { error: string; message: string };
    expect(parsed.message).toContain('请求行应为“方法 网址 HTTP/1.1”');
    expect(reply.body).not.toContain('Client Error');
  });

  it('explains an invalid header name', async () => {
    const reply = await rawRequest(port, 'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\nConnection: close\r\n\r\n');
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body).message).toContain('请求头格式无效');
  });

  it('explains oversized headers', async () => {
    const reply = await rawRequest(port, `GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${'x'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
    expect(reply.status).toBe(431);
    expect(JSON.parse(reply.body).message).toContain('请求头过大');
  });
});
