import { connect } from 'node:net';
import { Type } from '@fastify/type-provider-typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

/** Send raw bytes to the server and return the reply's status code and body. */
function rawRequest(port: number, text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = received.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body: rest.join('\r\n\r\n') });
    });
  });
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
    expect(JSON.parse(reply.body).message).toContain('含有无法解析的字符');
  });
});
