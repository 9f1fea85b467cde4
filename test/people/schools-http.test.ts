import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createUser } from '../../src/modules/auth/service.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';

const PASSWORD = 'Schools-List-2026';

describe.each(DIALECTS)('%s: GET /api/schools', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let first: { code: string; name: string };
  let second: { code: string; name: string };

  async function cookieOf(username: string): Promise<string> {
    const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: PASSWORD } });
    expect(response.statusCode, response.body).toBe(200);
    const cookies = response.cookies as Array<{ name: string; value: string }>;
    return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  async function listAs(username: string) {
    return app.inject({ method: 'GET', url: '/api/schools', headers: { cookie: await cookieOf(username) } });
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    app = await buildApp(t.ctx);
    first = await buildSchool(t.ctx, { code: 'LIST-A', name: '列表甲小学' });
    second = await buildSchool(t.ctx, { code: 'LIST-B', name: '列表乙小学' });
    await createUser(t.ctx, { username: 'district1', role: 'district_admin', password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'principal1', role: 'school_admin', schoolCode: first.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'head1', role: 'head_teacher', schoolCode: second.code, className: '二(3)班', createClass: true, password: PASSWORD }, null);
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('district admin sees every school', async () => {
    const response = await listAs('district1');
    expect(response.statusCode).toBe(200);
    expect(response.json().schools).toEqual([
      { code: 'LIST-A', name: '列表甲小学' },
      { code: 'LIST-B', name: '列表乙小学' },
    ]);
  });

  it('school admin sees only the own school', async () => {
    const response = await listAs('principal1');
    expect(response.statusCode).toBe(200);
    expect(response.json().schools).toEqual([{ code: first.code, name: first.name }]);
  });

  it('head teacher sees only the own school', async () => {
    const response = await listAs('head1');
    expect(response.statusCode).toBe(200);
    expect(response.json().schools).toEqual([{ code: second.code, name: second.name }]);
  });

  it('signed-out request gets 401', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/schools' });
    expect(response.statusCode).toBe(401);
  });
});
