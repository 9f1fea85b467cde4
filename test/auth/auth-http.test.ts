import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Type } from '@fastify/type-provider-typebox';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type RouteModule } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createUser } from '../../src/modules/auth/service.js';
import { assertClassScope, assertSchoolScope, requireUser } from '../../src/modules/auth/index.js';
import { LOCKOUT_MS, SESSION_IDLE_MS, SESSION_MAX_AGE_MS } from '../../src/modules/auth/session-rules.js';
import { ensureClass, listClasses } from '../../src/modules/people/service.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';

const START = Date.parse('2026-12-07T00:00:00Z');
const PASSWORD = 'Fangkong-2026';

/** Registers a test-only route that applies the scope checks to a class. */
const scopeProbe: RouteModule = (app) => {
  app.post(
    '/probe/schools/:schoolId/classes/:classId',
    { schema: { params: Type.Object({ schoolId: Type.String(), classId: Type.String() }) } },
    async (request) => {
      const user = requireUser(request);
      assertSchoolScope(user, request.params.schoolId, { allowClassScoped: true });
      assertClassScope(user, request.params.classId, request.params.schoolId);
      return { ok: true };
    },
  );
};

/** Cookies and the CSRF token of one signed-in browser. */
interface Session {
  cookie: string;
  csrf: string;
}

function sessionOf(response: LightMyRequestResponse): Session {
  const cookies = response.cookies as Array<{ name: string; value: string }>;
  const session = cookies.find((c) => c.name === 'fk_session');
  const csrf = cookies.find((c) => c.name === 'fk_csrf');
  if (!session || !csrf) throw new Error(`no session cookies in response ${response.statusCode}: ${response.body}`);
  return { cookie: `fk_session=${session.value}; fk_csrf=${csrf.value}`, csrf: csrf.value };
}

describe.each(DIALECTS)('auth over HTTP on %s', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let schoolA: { id: string; code: string; name: string };
  let schoolB: { id: string; code: string; name: string };
  let classA23: string;
  let classA24: string;

  async function login(username: string, password = PASSWORD, headers: Record<string, string> = {}) {
    return app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, headers });
  }

  async function signIn(username: string, password = PASSWORD): Promise<Session> {
    const response = await login(username, password);
    expect(response.statusCode, response.body).toBe(200);
    return sessionOf(response);
  }

  async function post(url: string, session: Session, payload: unknown = {}) {
    return app.inject({ method: 'POST', url, payload: payload as object, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } });
  }

  async function get(url: string, session?: Session) {
    return app.inject({ method: 'GET', url, headers: session ? { cookie: session.cookie } : {} });
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(START);
    app = await buildApp(t.ctx, [scopeProbe]);
    schoolA = await buildSchool(t.ctx);
    schoolB = await buildSchool(t.ctx);
    classA23 = (await ensureClass(t.ctx, schoolA.id, 2, 3)).id;
    classA24 = (await ensureClass(t.ctx, schoolA.id, 2, 4)).id;
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('setup creates the first admin once', async () => {
    expect((await get('/api/auth/setup')).json()).toEqual({ needed: true });

    const created = await app.inject({ method: 'POST', url: '/api/auth/setup', payload: { username: 'admin', displayName: '区管理员', password: PASSWORD } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().user).toMatchObject({ username: 'admin', role: 'district_admin', roleLabel: '区级管理员', schoolId: null });
    sessionOf(created);

    expect((await get('/api/auth/setup')).json()).toEqual({ needed: false });
    const again = await app.inject({ method: 'POST', url: '/api/auth/setup', payload: { username: 'intruder', password: PASSWORD } });
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toContain('已经初始化');
  });

  it('login sets an HttpOnly strict cookie and a readable csrf cookie', async () => {
    const response = await login('admin');
    expect(response.statusCode).toBe(200);
    const cookies = response.cookies as Array<{ name: string; value: string; httpOnly?: boolean; sameSite?: string; path?: string }>;
    const session = cookies.find((c) => c.name === 'fk_session')!;
    const csrf = cookies.find((c) => c.name === 'fk_csrf')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Strict');
    expect(session.path).toBe('/');
    expect(csrf.httpOnly).not.toBe(true);
    expect(csrf.sameSite).toBe('Strict');
    expect(response.json().csrfToken).toBe(csrf.value);

    const rows = await t.ctx.db.selectFrom('sessions').select('id').execute();
    expect(rows.map((r) => r.id)).not.toContain(session.value);
  });

  it('me returns the user behind the cookie', async () => {
    const session = await signIn('admin');
    const me = await get('/api/auth/me', session);
    expect(me.statusCode).toBe(200);
    expect(me.json().user).toMatchObject({ username: 'admin', displayName: '区管理员' });
    expect(me.json().csrfToken).toBe(session.csrf);

    const anonymous = await get('/api/auth/me');
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().message).toBe('请先登录');
  });

  it('wrong password and unknown user get the same message', async () => {
    await createUser(t.ctx, { username: 'doctor-a', role: 'school_doctor', schoolCode: schoolA.code, password: PASSWORD }, null);
    const wrong = await login('doctor-a', 'not-the-password');
    const unknown = await login('nobody-here', 'not-the-password');
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json().message).toBe('用户名或密码错误');
  });

  it('five failures lock the account for 15 minutes', async () => {
    await createUser(t.ctx, { username: 'guard-a', role: 'guard', schoolCode: schoolA.code, password: PASSWORD }, null);
    for (let i = 1; i <= 4; i++) {
      const response = await login('guard-a', `wrong-${i}`);
      expect(response.json().message).toBe('用户名或密码错误');
    }
    const fifth = await login('guard-a', 'wrong-5');
    expect(fifth.statusCode).toBe(423);
    // 2026-12-07 00:00 UTC is 08:00 in Shanghai; the lock runs to 08:15.
    expect(fifth.json().message).toContain('2026-12-07 08:15');

    const rightButLocked = await login('guard-a');
    expect(rightButLocked.statusCode).toBe(423);

    t.setNow(START + LOCKOUT_MS + 1000);
    try {
      const afterLock = await login('guard-a');
      expect(afterLock.statusCode).toBe(200);
      const row = await t.ctx.db.selectFrom('users').select(['failed_attempts', 'locked_until']).where('username', '=', 'guard-a').executeTakeFirstOrThrow();
      expect(row).toEqual({ failed_attempts: 0, locked_until: null });
    } finally {
      t.setNow(START);
    }
  });

  it('an unknown name locks like an account', async () => {
    const replies = [];
    for (let i = 1; i <= 6; i++) replies.push(await login('ghost-user', `wrong-${i}`));
    expect(replies.slice(0, 4).map((r) => r.statusCode)).toEqual([401, 401, 401, 401]);
    expect(replies[4]!.statusCode).toBe(423);
    expect(replies[4]!.json().message).toContain('2026-12-07 08:15');
    expect(replies[5]!.statusCode).toBe(423);
    expect(replies[5]!.json()).toEqual(replies[4]!.json());
  });

  it('a success resets the failure count', async () => {
    await createUser(t.ctx, { username: 'teacher-a', role: 'teacher', schoolCode: schoolA.code, password: PASSWORD }, null);
    for (let i = 0; i < 4; i++) await login('teacher-a', 'wrong');
    expect((await login('teacher-a')).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login('teacher-a', 'wrong')).statusCode).toBe(401);
  });

  it('an admin unlocks a locked account', async () => {
    await createUser(t.ctx, { username: 'locked-b', role: 'teacher', schoolCode: schoolB.code, password: PASSWORD }, null);
    for (let i = 0; i < 5; i++) await login('locked-b', 'wrong');
    expect((await login('locked-b')).statusCode).toBe(423);

    const admin = await signIn('admin');
    const users = (await get('/api/auth/users', admin)).json().users as Array<{ id: string; username: string; lockedUntil: number | null }>;
    const locked = users.find((u) => u.username === 'locked-b')!;
    expect(locked.lockedUntil).toBeGreaterThan(START);
    const unlocked = await post(`/api/auth/users/${locked.id}/unlock`, admin);
    expect(unlocked.statusCode, unlocked.body).toBe(200);
    expect((await login('locked-b')).statusCode).toBe(200);
  });

  it('idle sessions end after 30 minutes', async () => {
    const session = await signIn('admin');
    try {
      t.setNow(START + SESSION_IDLE_MS - 60_000);
      expect((await get('/api/auth/me', session)).statusCode).toBe(200);

      // Used 29 minutes in, so idle only from then on.
      t.setNow(START + 2 * SESSION_IDLE_MS - 120_000);
      expect((await get('/api/auth/me', session)).statusCode).toBe(200);

      t.setNow(START + 3 * SESSION_IDLE_MS);
      const expired = await get('/api/auth/me', session);
      expect(expired.statusCode).toBe(401);
      expect(expired.json().message).toBe('登录已超时，请重新登录');
      expect(expired.headers['set-cookie']).toBeDefined();

      t.setNow(START + 3 * SESSION_IDLE_MS + 1000);
      expect((await get('/api/auth/me', session)).json().message).toBe('请先登录');
    } finally {
      t.setNow(START);
    }
  });

  it('busy sessions end at the maximum age', async () => {
    const session = await signIn('admin');
    try {
      for (let at = START; at < START + SESSION_MAX_AGE_MS; at += 20 * 60 * 1000) {
        t.setNow(at);
        expect((await get('/api/auth/me', session)).statusCode).toBe(200);
      }
      t.setNow(START + SESSION_MAX_AGE_MS);
      expect((await get('/api/auth/me', session)).statusCode).toBe(401);
    } finally {
      t.setNow(START);
    }
  });

  it('rejects a state change without the CSRF token', async () => {
    const session = await signIn('admin');
    const missing = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: session.cookie } });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().error).toBe('CSRF_REJECTED');

    const forged = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: session.cookie, 'x-csrf-token': 'f'.repeat(64) } });
    expect(forged.statusCode).toBe(403);

    // A token copied from another session does not fit this one.
    const other = await signIn('admin');
    const crossed = await app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { cookie: `${session.cookie.split(';')[0]}; fk_csrf=${other.csrf}`, 'x-csrf-token': other.csrf },
    });
    expect(crossed.statusCode).toBe(403);

    expect((await get('/api/auth/me', session)).statusCode).toBe(200);
    const ok = await post('/api/auth/logout', session);
    expect(ok.statusCode).toBe(200);
    expect((await get('/api/auth/me', session)).statusCode).toBe(401);
  });

  it('rejects a cross-site login', async () => {
    const response = await login('admin', PASSWORD, { origin: 'http://evil.example', host: 'localhost:3000' });
    expect(response.statusCode).toBe(403);
    expect(response.json().error).toBe('CSRF_REJECTED');
    const sameSite = await login('admin', PASSWORD, { origin: 'http://localhost:3000', host: 'localhost:3000' });
    expect(sameSite.statusCode).toBe(200);
  });

  it('changes a password and ends the other sessions', async () => {
    await createUser(t.ctx, { username: 'admin-a', role: 'school_admin', schoolCode: schoolA.code, password: PASSWORD }, null);
    const first = await signIn('admin-a');
    const second = await signIn('admin-a');

    const wrongOld = await post('/api/auth/password', first, { oldPassword: 'nope-nope', newPassword: 'New-Password-1' });
    expect(wrongOld.statusCode).toBe(400);
    expect(wrongOld.json().message).toContain('原密码不正确');

    const short = await post('/api/auth/password', first, { oldPassword: PASSWORD, newPassword: 'short' });
    expect(short.statusCode).toBe(400);
    expect(short.json().message).toContain('至少需要 8 个字符');

    const changed = await post('/api/auth/password', first, { oldPassword: PASSWORD, newPassword: 'New-Password-1' });
    expect(changed.statusCode, changed.body).toBe(200);
    expect((await get('/api/auth/me', first)).statusCode).toBe(200);
    expect((await get('/api/auth/me', second)).statusCode).toBe(401);
    expect((await login('admin-a')).statusCode).toBe(401);
    expect((await login('admin-a', 'New-Password-1')).statusCode).toBe(200);
  });

  it('scope checks keep head teachers in their class and schools apart', async () => {
    await createUser(t.ctx, { username: 'ht-a23', role: 'head_teacher', schoolCode: schoolA.code, className: '二(3)班', password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'doctor-b', role: 'school_doctor', schoolCode: schoolB.code, password: PASSWORD }, null);
    const headTeacher = await signIn('ht-a23');
    const doctorA = await signIn('doctor-a');
    const doctorB = await signIn('doctor-b');
    const district = await signIn('admin');

    expect((await get('/api/auth/me', headTeacher)).json().user).toMatchObject({ className: '二(3)班', schoolCode: schoolA.code });

    const own = await post(`/api/probe/schools/${schoolA.id}/classes/${classA23}`, headTeacher);
    expect(own.statusCode, own.body).toBe(200);
    const otherClass = await post(`/api/probe/schools/${schoolA.id}/classes/${classA24}`, headTeacher);
    expect(otherClass.statusCode).toBe(403);
    expect(otherClass.json().message).toContain('本班');

    expect((await post(`/api/probe/schools/${schoolA.id}/classes/${classA24}`, doctorA)).statusCode).toBe(200);
    const otherSchool = await post(`/api/probe/schools/${schoolA.id}/classes/${classA23}`, doctorB);
    expect(otherSchool.statusCode).toBe(403);
    expect(otherSchool.json().message).toBe('没有权限：您的账号角色是“校医”，只能查看和操作本校的数据。请换用该校的账号登录');

    await createUser(t.ctx, { username: 'tracer', role: 'task_force', password: PASSWORD }, null);
    const noSchool = await post(`/api/probe/schools/${schoolA.id}/classes/${classA23}`, await signIn('tracer'));
    expect(noSchool.statusCode).toBe(403);
    expect(noSchool.json().message).toBe('没有权限：您的账号角色是“疫情防控专班”，不属于任何学校，不能查看或操作学校的数据。请换用该校的账号登录，或联系区级管理员');

    expect((await post(`/api/probe/schools/${schoolB.id}/classes/${classA23}`, district)).statusCode).toBe(200);

    const anonymous = await app.inject({ method: 'POST', url: `/api/probe/schools/${schoolA.id}/classes/${classA23}` });
    expect(anonymous.statusCode).toBe(401);

    const denied = await t.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'access.denied').execute();
    expect(denied.map((row) => row.username).sort()).toEqual(['doctor-b', 'ht-a23', 'tracer']);
  });

  it('school admins manage only their own school', async () => {
    const adminA = await signIn('admin-a', 'New-Password-1');

    const created = await post('/api/auth/users', adminA, { username: 'ht-a24', role: 'head_teacher', schoolCode: schoolA.code, className: '二（4）班', password: PASSWORD });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ classId: classA24, className: '二(4)班' });

    const districtRole = await post('/api/auth/users', adminA, { username: 'boss', role: 'district_admin', password: PASSWORD });
    expect(districtRole.statusCode).toBe(403);

    const otherSchool = await post('/api/auth/users', adminA, { username: 'spy-b', role: 'teacher', schoolCode: schoolB.code, password: PASSWORD });
    expect(otherSchool.statusCode).toBe(403);

    const duplicate = await post('/api/auth/users', adminA, { username: 'doctor-a', role: 'teacher', schoolCode: schoolA.code, password: PASSWORD });
    expect(duplicate.statusCode).toBe(409);

    const noClass = await post('/api/auth/users', adminA, { username: 'ht-none', role: 'head_teacher', schoolCode: schoolA.code, password: PASSWORD });
    expect(noClass.statusCode).toBe(400);
    expect(noClass.json().message).toContain('班主任需要指定班级');

    const listed = (await get('/api/auth/users', adminA)).json().users as Array<{ username: string; schoolId: string | null }>;
    expect(listed.every((u) => u.schoolId === schoolA.id)).toBe(true);
    expect(listed.map((u) => u.username)).toContain('ht-a24');
    expect(listed.map((u) => u.username)).not.toContain('doctor-b');

    const teacher = await signIn('teacher-a');
    expect((await get('/api/auth/users', teacher)).statusCode).toBe(403);
  });

  it('rejects a head teacher of a class the school lacks', async () => {
    const adminA = await signIn('admin-a', 'New-Password-1');
    const classNames = async (schoolId: string) => (await listClasses(t.ctx, schoolId)).map((c) => c.name).sort();
    const before = await classNames(schoolA.id);

    const typo = await post('/api/auth/users', adminA, { username: 'ht-a213', role: 'head_teacher', schoolCode: schoolA.code, className: '二（13）班', password: PASSWORD });
    expect(typo.statusCode).toBe(400);
    expect(typo.json().message).toBe(
      `输入不正确：${schoolA.name}没有班级“二（13）班”（即二(13)班），请检查班级名称，或勾选“自动新建班级”（接口字段 createClass 设为 true）后重新创建（本校现有：二(3)班、二(4)班）`,
    );
    expect(await classNames(schoolA.id)).toEqual(before);
    const users = await t.ctx.db.selectFrom('users').select('username').where('username', '=', 'ht-a213').execute();
    expect(users).toEqual([]);
  });

  it('creates the class of a head teacher when asked', async () => {
    const adminA = await signIn('admin-a', 'New-Password-1');

    const created = await post('/api/auth/users', adminA, { username: 'ht-a31', role: 'head_teacher', schoolCode: schoolA.code, className: '三(1)班', createClass: true, password: PASSWORD });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ className: '三(1)班', schoolCode: schoolA.code });
    const klass = (await listClasses(t.ctx, schoolA.id)).find((c) => c.name === '三(1)班');
    expect(klass?.id).toBe(created.json().classId);

    const audit = await t.ctx.db.selectFrom('audit_log').select('detail').where('action', '=', 'user.create').where('target', '=', 'ht-a31').executeTakeFirstOrThrow();
    expect(JSON.parse(audit.detail)).toMatchObject({ classId: klass?.id, createdClass: '三(1)班' });

    // An existing class is used as it is, with or without the option.
    const existing = await post('/api/auth/users', adminA, { username: 'ht-a31b', role: 'head_teacher', schoolCode: schoolA.code, className: '三(1)班', createClass: true, password: PASSWORD });
    expect(existing.json().classId).toBe(klass?.id);
  });

  it('creates no class when the account is rejected', async () => {
    const adminA = await signIn('admin-a', 'New-Password-1');
    const namesOf = async (schoolId: string) => (await listClasses(t.ctx, schoolId)).map((c) => c.name);

    const otherSchool = await post('/api/auth/users', adminA, { username: 'ht-b51', role: 'head_teacher', schoolCode: schoolB.code, className: '五(1)班', createClass: true, password: PASSWORD });
    expect(otherSchool.statusCode).toBe(403);
    expect(await namesOf(schoolB.id)).not.toContain('五(1)班');

    const usernameTaken = await post('/api/auth/users', adminA, { username: 'ht-a31', role: 'head_teacher', schoolCode: schoolA.code, className: '五(2)班', createClass: true, password: PASSWORD });
    expect(usernameTaken.statusCode).toBe(409);
    expect(await namesOf(schoolA.id)).not.toContain('五(2)班');
  });

  it('usernames ignore case when created and signed in', async () => {
    const adminA = await signIn('admin-a', 'New-Password-1');
    const created = await post('/api/auth/users', adminA, { username: 'teacher23', displayName: '孙老师', role: 'teacher', schoolCode: schoolA.code, password: PASSWORD });
    expect(created.statusCode, created.body).toBe(201);

    const clash = await post('/api/auth/users', adminA, { username: 'Teacher23', role: 'teacher', schoolCode: schoolA.code, password: PASSWORD });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().message).toContain('用户名 Teacher23 与已有账号 teacher23 只有大小写不同');
    const rows = await t.ctx.db.selectFrom('users').select('username').where('username', 'in', ['teacher23', 'Teacher23']).execute();
    expect(rows).toEqual([{ username: 'teacher23' }]);

    const upper = await login('TEACHER23');
    expect(upper.statusCode, upper.body).toBe(200);
    expect(upper.json().user.username).toBe('teacher23');
    const wrong = await login('TEACHER23', 'Wrong-Password-1');
    expect(wrong.statusCode).toBe(401);
  });

  it('names the initial password when too short', async () => {
    const adminA = await signIn('admin-a', 'New-Password-1');
    const short = await post('/api/auth/users', adminA, { username: 'short-pw', role: 'teacher', schoolCode: schoolA.code, password: '1234567' });
    expect(short.statusCode).toBe(400);
    expect(short.json().message).toBe('输入不正确：初始密码至少需要 8 个字符');
  });

  it('warns about a second head teacher', async () => {
    const adminA = await signIn('admin-a', 'New-Password-1');
    // ht-a24 is the head teacher of 二(4)班 from an earlier test, with no display name of its own.
    const second = await post('/api/auth/users', adminA, { username: 'ht-a24b', displayName: '吴老师', role: 'head_teacher', schoolCode: schoolA.code, className: '二(4)班', password: PASSWORD });
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json().classId).toBe(classA24);
    expect(second.json().warning).toBe('二(4)班已有班主任 ht-a24，现在该班有 2 位班主任；如需更换班主任，请处理原账号');

    const third = await post('/api/auth/users', adminA, { username: 'ht-a24c', role: 'head_teacher', schoolCode: schoolA.code, className: '二(4)班', password: PASSWORD });
    expect(third.json().warning).toBe('二(4)班已有班主任 ht-a24、吴老师（ht-a24b），现在该班有 3 位班主任；如需更换班主任，请处理原账号');

    const sole = await post('/api/auth/users', adminA, { username: 'ht-a41', role: 'head_teacher', schoolCode: schoolA.code, className: '四(1)班', createClass: true, password: PASSWORD });
    expect(sole.json().warning).toBeNull();
    const teacher = await post('/api/auth/users', adminA, { username: 'plain-a', role: 'teacher', schoolCode: schoolA.code, password: PASSWORD });
    expect(teacher.json().warning).toBeNull();
  });

  it('names the account fields in Chinese', async () => {
    const adminA = await signIn('admin-a', 'New-Password-1');

    const missing = await post('/api/auth/users', adminA, { role: 'teacher', schoolCode: schoolA.code });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toBe('输入不正确：请求体有误：缺少必填字段 用户名（username）、初始密码（password）');

    const badOption = await post('/api/auth/users', adminA, { username: 'ht-x', role: 'head_teacher', schoolCode: schoolA.code, className: '二(3)班', createClass: 'yes', password: PASSWORD });
    expect(badOption.statusCode).toBe(400);
    expect(badOption.json().message).toBe('输入不正确：请求体有误：自动新建班级（createClass）应为布尔值（true 或 false）');
  });

  it('names the roles in Chinese beside their keys', async () => {
    const adminA = await signIn('admin-a', 'New-Password-1');
    const badRole = await post('/api/auth/users', adminA, { username: 'role-x', role: 'principal', schoolCode: schoolA.code, password: PASSWORD });
    expect(badRole.statusCode).toBe(400);
    expect(badRole.json().message).toBe(
      '输入不正确：请求体有误：角色（role）应为 "district_admin"（区级管理员）、"school_admin"（学校管理员）、"head_teacher"（班主任）、"teacher"（教师）、"school_doctor"（校医）、"guard"（门卫）、"task_force"（疫情防控专班） 之一',
    );

    // A caller of the service, such as the command line, gets the same names.
    const direct = createUser(t.ctx, { username: 'role-y', role: 'principal' as never, schoolCode: schoolA.code, password: PASSWORD }, null);
    await expect(direct).rejects.toThrow(
      '角色“principal”无效，可选：district_admin（区级管理员）、school_admin（学校管理员）、head_teacher（班主任）、teacher（教师）、school_doctor（校医）、guard（门卫）、task_force（疫情防控专班）',
    );
  });

  it('records and searches the audit log within scope', async () => {
    const district = await signIn('admin');
    const all = await get('/api/audit?limit=500', district);
    expect(all.statusCode).toBe(200);
    const actions = new Set((all.json().entries as Array<{ action: string }>).map((e) => e.action));
    for (const action of ['auth.setup', 'auth.login', 'auth.login_failed', 'auth.locked', 'auth.logout', 'auth.password_change', 'user.create', 'user.unlock', 'access.denied']) {
      expect(actions, action).toContain(action);
    }

    const byUser = (await get('/api/audit?user=guard-a&action=auth.locked', district)).json();
    expect(byUser.total).toBe(1);
    expect(byUser.entries[0]).toMatchObject({ username: 'guard-a', action: 'auth.locked', target: 'guard-a' });
    expect(byUser.entries[0].detail.failures).toBe(5);

    const authPrefix = (await get('/api/audit?action=auth.&limit=500', district)).json().entries as Array<{ action: string }>;
    expect(authPrefix.every((e) => e.action.startsWith('auth.'))).toBe(true);

    const today = (await get('/api/audit?from=2026-12-07&to=2026-12-07&limit=1', district)).json();
    expect(today.total).toBeGreaterThan(5);
    expect(today.entries).toHaveLength(1);
    const tomorrow = (await get('/api/audit?from=2026-12-08', district)).json();
    expect(tomorrow.total).toBe(0);
    const badDate = await get('/api/audit?from=12/07/2026', district);
    expect(badDate.statusCode).toBe(400);
    expect(badDate.json().message).toContain('YYYY-MM-DD');

    const adminA = await signIn('admin-a', 'New-Password-1');
    const schoolView = (await get('/api/audit?limit=500', adminA)).json().entries as Array<{ schoolId: string | null; username: string | null }>;
    expect(schoolView.length).toBeGreaterThan(0);
    expect(schoolView.every((e) => e.schoolId === schoolA.id)).toBe(true);
    expect(schoolView.map((e) => e.username)).not.toContain('doctor-b');

    const doctor = await signIn('doctor-a');
    const denied = await get('/api/audit', doctor);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error).toBe('FORBIDDEN');
    expect(denied.json().message).toBe('没有权限：您的账号角色是“校医”，此操作只有区级管理员、学校管理员可以执行。请换用有权限的账号登录，或联系本校的学校管理员');
  });
});
