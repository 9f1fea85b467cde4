import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createUser } from '../../src/modules/auth/service.js';
import { enqueueNotice, type NoticeInput } from '../../src/modules/notify/outbox.js';
import { DIALECTS } from '../helpers/db.js';
import { buildSchool, buildStaff } from '../helpers/factories.js';
import { startHarness, type NotifyHarness } from './harness.js';

const PASSWORD = 'Fangkong-2026';

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

describe.each(DIALECTS)('%s: notice routes', (dialect) => {
  let h: NotifyHarness;
  let app: HttpApp;
  let school: { id: string; code: string; name: string };
  let otherSchool: { id: string; code: string };
  let admin: Session;
  let teacherSession: Session;
  let teacher: { id: string; dingtalk_user_id: string | null };
  let otherAdmin: Session;
  let counter = 0;

  async function signIn(username: string): Promise<Session> {
    const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: PASSWORD } });
    expect(response.statusCode, response.body).toBe(200);
    return sessionOf(response);
  }

  const get = (url: string, session: Session) => app.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
  const post = (url: string, session: Session, payload: object = {}) =>
    app.inject({ method: 'POST', url, payload, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } });

  function notice(overrides: Partial<NoticeInput> = {}): NoticeInput {
    counter += 1;
    return {
      schoolId: school.id,
      channel: 'dingtalk_work',
      kind: 'code_change',
      recipientPersonId: teacher.id,
      recipientDingtalkId: teacher.dingtalk_user_id,
      title: `健康码变化 ${counter}`,
      body: `学生 ${counter} 的健康码变为黄码`,
      idempotencyKey: `routes-${dialect}-${counter}`,
      ...overrides,
    };
  }

  beforeAll(async () => {
    h = await startHarness(dialect);
    app = await buildApp(h.t.ctx);
    school = await buildSchool(h.t.ctx);
    otherSchool = await buildSchool(h.t.ctx);
    teacher = await buildStaff(h.t.ctx, school.id, 'teacher');

    await createUser(h.t.ctx, { username: `admin-${dialect}`, role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(h.t.ctx, { username: `other-${dialect}`, role: 'school_admin', schoolCode: otherSchool.code, password: PASSWORD }, null);
    await createUser(h.t.ctx, { username: `teacher-${dialect}`, role: 'teacher', schoolCode: school.code, personId: teacher.id, password: PASSWORD }, null);
    admin = await signIn(`admin-${dialect}`);
    otherAdmin = await signIn(`other-${dialect}`);
    teacherSession = await signIn(`teacher-${dialect}`);
  });

  afterAll(async () => {
    await app.close();
    await h.close();
  });

  it('lists notices with delivery state and counts', async () => {
    const delivered = notice();
    const undeliverable = notice({ recipientDingtalkId: null });
    await enqueueNotice(h.t.ctx.db, delivered, h.now());
    await enqueueNotice(h.t.ctx.db, undeliverable, h.now());

    let reply = await get(`/api/schools/${school.code}/notices`, admin);
    expect(reply.statusCode, reply.body).toBe(200);
    expect(reply.json().counts.waiting).toBe(2);

    await h.settle();
    reply = await get(`/api/schools/${school.code}/notices`, admin);
    const body = reply.json();
    expect(body.counts).toMatchObject({ sent: 1, failed: 1, waiting: 0 });
    const failed = body.notices.find((n: { title: string }) => n.title === undeliverable.title);
    expect(failed.state).toBe('failed');
    expect(failed.stateLabel).toBe('无法送达');
    expect(failed.lastError).toContain('没有钉钉账号');

    const onlySent = await get(`/api/schools/${school.code}/notices?state=sent&kind=code_change`, admin);
    expect(onlySent.json().notices.map((n: { title: string }) => n.title)).toEqual([delivered.title]);
    const byStatus = await get(`/api/schools/${school.code}/notices?status=failed`, admin);
    expect(byStatus.json().notices.map((n: { title: string }) => n.title)).toEqual([undeliverable.title]);
    const none = await get(`/api/schools/${school.code}/notices?status=confirming`, admin);
    expect(none.json().notices).toEqual([]);
    const otherKind = await get(`/api/schools/${school.code}/notices?kind=stay_home`, admin);
    expect(otherKind.json().notices).toEqual([]);
    const invalid = await get(`/api/schools/${school.code}/notices?status=lost`, admin);
    expect(invalid.statusCode).toBe(400);
  });

  it('rejects notices of another school', async () => {
    const reply = await get(`/api/schools/${school.code}/notices`, otherAdmin);
    expect(reply.statusCode).toBe(403);
    const teacherReply = await get(`/api/schools/${school.code}/notices`, teacherSession);
    expect(teacherReply.statusCode).toBe(403);
  });

  it('sends a failed notice again', async () => {
    const input = notice({ recipientDingtalkId: 'dt-route-retry' });
    await h.sim.setFaults({ invalidUserIds: ['dt-route-retry'] });
    await enqueueNotice(h.t.ctx.db, input, h.now());
    await h.settle();
    const row = await h.t.ctx.db.selectFrom('outbox').selectAll().where('idempotency_key', '=', input.idempotencyKey).executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');

    await h.sim.clearFaults();
    const reply = await post(`/api/notices/${row.id}/retry`, admin);
    expect(reply.statusCode, reply.body).toBe(200);
    expect(reply.json()).toMatchObject({ state: 'waiting', attempts: 0 });

    await h.settle();
    const after = await h.t.ctx.db.selectFrom('outbox').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(after.status).toBe('sent');
    expect(h.sim.messages()['dt-route-retry']).toHaveLength(1);

    const again = await post(`/api/notices/${row.id}/retry`, admin);
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toContain('已送达');

    const foreign = await post(`/api/notices/${row.id}/retry`, otherAdmin);
    expect(foreign.statusCode).toBe(403);
    const missing = await post('/api/notices/NO-SUCH-NOTICE/retry', admin);
    expect(missing.statusCode).toBe(404);
  });

  it('shows the inbox of a person and of a role', async () => {
    const personal = notice();
    const robot = notice({ channel: 'dingtalk_robot', recipientPersonId: null, recipientDingtalkId: null, title: '全校汇总' });
    await enqueueNotice(h.t.ctx.db, personal, h.now());
    await enqueueNotice(h.t.ctx.db, robot, h.now());

    const own = await get(`/api/schools/${school.code}/inbox`, teacherSession);
    expect(own.statusCode, own.body).toBe(200);
    const ownTitles = own.json().items.map((m: { title: string }) => m.title);
    expect(ownTitles).toContain(personal.title);
    expect(ownTitles).not.toContain('全校汇总');

    const adminInbox = await get(`/api/schools/${school.code}/inbox?role=school_admin`, admin);
    expect(adminInbox.json().items.map((m: { title: string }) => m.title)).toContain('全校汇总');

    const peek = await get(`/api/schools/${school.code}/inbox?role=school_admin`, teacherSession);
    expect(peek.statusCode).toBe(403);

    const message = own.json().items.find((m: { title: string }) => m.title === personal.title);
    expect(message.noticeId).toBeTruthy();
    const read = await post(`/api/schools/${school.code}/inbox/${message.id}/read`, teacherSession);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json().readAt).toBe(h.now());
    const unread = await get(`/api/schools/${school.code}/inbox?unread=true`, teacherSession);
    expect(unread.json().items.map((m: { id: string }) => m.id)).not.toContain(message.id);
  });

  it('sends a test message and reports in Chinese', async () => {
    const reply = await post(`/api/schools/${school.code}/dingtalk/test`, admin, { dingtalkUserId: 'dt-test-admin' });
    expect(reply.statusCode, reply.body).toBe(200);
    const body = reply.json();
    expect(body.summary).toBe('测试消息已通过 2 个钉钉通道发出。');
    expect(body.results).toEqual([
      expect.objectContaining({ channel: 'dingtalk_work', ok: true, message: expect.stringContaining('已送达 dt-test-admin') }),
      expect.objectContaining({ channel: 'dingtalk_robot', ok: true }),
    ]);
    expect(h.sim.messages()['dt-test-admin']).toHaveLength(1);

    await h.sim.setFaults({ busy: { errcode: 310000, errmsg: 'keywords not in content', path: '/robot/send' } });
    const broken = await post(`/api/schools/${school.code}/dingtalk/test`, admin, { dingtalkUserId: 'dt-test-admin' });
    await h.sim.clearFaults();
    const robot = broken.json().results.find((r: { channel: string }) => r.channel === 'dingtalk_robot');
    expect(robot.ok).toBe(false);
    expect(robot.message).toContain('群机器人安全设置校验失败');
    expect(broken.json().summary).toContain('有 1 个测试失败');
  });

  it('uses the staff member DingTalk account for the test by default', async () => {
    await createUser(h.t.ctx, { username: `admin2-${dialect}`, role: 'school_admin', schoolCode: school.code, personId: teacher.id, password: PASSWORD }, null);
    const session = await signIn(`admin2-${dialect}`);
    h.advance(60_000);
    const reply = await post(`/api/schools/${school.code}/dingtalk/test`, session);
    expect(reply.statusCode, reply.body).toBe(200);
    expect(reply.json().results[0].ok).toBe(true);
    expect(h.sim.messages()[teacher.dingtalk_user_id!].some((m) => m.title === '防控平台钉钉测试消息')).toBe(true);
  });
});
