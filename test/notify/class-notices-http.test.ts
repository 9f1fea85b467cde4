import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createUser } from '../../src/modules/auth/service.js';
import { enqueueNotice, type NoticeInput } from '../../src/modules/notify/outbox.js';
import { DIALECTS } from '../helpers/db.js';
import { buildSchool, buildStaff, buildStudent } from '../helpers/factories.js';
import { startHarness, type NotifyHarness } from './harness.js';

const PASSWORD = 'Class-Notices-2026';

function cookieOf(response: LightMyRequestResponse): string {
  return (response.cookies as Array<{ name: string; value: string }>).map((c) => `${c.name}=${c.value}`).join('; ');
}

describe.each(DIALECTS)('%s: notices by class and DingTalk settings', (dialect) => {
  let h: NotifyHarness;
  let app: HttpApp;
  let school: { id: string; code: string };
  let ownClassId: string;
  let otherClassId: string;
  const cookies: Record<string, string> = {};
  let counter = 0;

  const get = (url: string, who: string) => app.inject({ method: 'GET', url, headers: { cookie: cookies[who] } });
  const titles = (response: LightMyRequestResponse) => (response.json().notices as Array<{ title: string }>).map((n) => n.title).sort();

  async function notice(title: string, overrides: Partial<NoticeInput>): Promise<void> {
    counter += 1;
    await enqueueNotice(
      h.t.ctx.db,
      { schoolId: school.id, channel: 'dingtalk_work', recipientDingtalkId: `dt-class-${counter}`, kind: 'code_change', title, body: `${title} 的内容`, idempotencyKey: `class-notices-${dialect}-${counter}`, ...overrides },
      h.now(),
    );
  }

  beforeAll(async () => {
    h = await startHarness(dialect);
    app = await buildApp(h.t.ctx);
    school = await buildSchool(h.t.ctx);
    const own = await buildStudent(h.t.ctx, school.id, { grade: 2, classNumber: 3 });
    const other = await buildStudent(h.t.ctx, school.id, { grade: 2, classNumber: 4 });
    ownClassId = own.klass.id;
    otherClassId = other.klass.id;
    const headTeacher = await buildStaff(h.t.ctx, school.id, 'head_teacher', { classId: ownClassId });
    const manager = await buildStaff(h.t.ctx, school.id, 'management');

    await notice('本班学生家长通知', { recipientPersonId: own.person.id, recipientGuardianId: own.guardianId });
    await notice('本班班主任汇总', { recipientPersonId: headTeacher.id });
    await notice('别班学生家长通知', { recipientPersonId: other.person.id });
    await notice('管理层汇总', { recipientPersonId: manager.id });

    const accounts: Array<[string, Parameters<typeof createUser>[1]]> = [
      ['admin', { username: `cn-admin-${dialect}`, role: 'school_admin', schoolCode: school.code, password: PASSWORD }],
      ['head', { username: `cn-head-${dialect}`, role: 'head_teacher', schoolCode: school.code, className: '二(3)班', personId: headTeacher.id, password: PASSWORD }],
      ['teacher', { username: `cn-teacher-${dialect}`, role: 'teacher', schoolCode: school.code, password: PASSWORD }],
    ];
    for (const [who, input] of accounts) {
      await createUser(h.t.ctx, input, null);
      const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: input.username, password: PASSWORD } });
      expect(login.statusCode, login.body).toBe(200);
      cookies[who] = cookieOf(login);
    }
  });

  afterAll(async () => {
    await app?.close();
    await h?.close();
  });

  it('admins see every notice, or one class', async () => {
    const all = await get(`/api/schools/${school.code}/notices`, 'admin');
    expect(all.statusCode, all.body).toBe(200);
    expect(titles(all)).toEqual(['别班学生家长通知', '本班学生家长通知', '本班班主任汇总', '管理层汇总'].sort());

    const own = await get(`/api/schools/${school.code}/notices?classId=${ownClassId}`, 'admin');
    expect(titles(own)).toEqual(['本班学生家长通知', '本班班主任汇总'].sort());
    expect(own.json().counts.waiting).toBe(2);
  });

  it('a head teacher sees only their own class', async () => {
    const own = await get(`/api/schools/${school.code}/notices`, 'head');
    expect(own.statusCode, own.body).toBe(200);
    expect(titles(own)).toEqual(['本班学生家长通知', '本班班主任汇总'].sort());
    expect(own.json().counts.waiting).toBe(2);

    const explicit = await get(`/api/schools/${school.code}/notices?classId=${ownClassId}`, 'head');
    expect(titles(explicit)).toEqual(titles(own));
  });

  it('another class is 403 for a head teacher, and logged', async () => {
    const response = await get(`/api/schools/${school.code}/notices?classId=${otherClassId}`, 'head');
    expect(response.statusCode).toBe(403);
    expect(response.json().message).toContain('班主任只能查看和操作本班的数据');
    const denied = await h.t.ctx.db.selectFrom('audit_log').select(['action', 'username']).where('action', '=', 'access.denied').execute();
    expect(denied.map((d) => d.username)).toContain(`cn-head-${dialect}`);
  });

  it('an unknown class is 404 and a teacher is 403', async () => {
    const unknown = await get(`/api/schools/${school.code}/notices?classId=no-such-class`, 'admin');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toContain('未找到班级');
    expect((await get(`/api/schools/${school.code}/notices`, 'teacher')).statusCode).toBe(403);
  });

  it('each view of the notices is audit-logged', async () => {
    const views = await h.t.ctx.db.selectFrom('audit_log').select(['detail', 'username']).where('action', '=', 'notices.view').execute();
    expect(views.length).toBeGreaterThanOrEqual(3);
    expect(views.some((v) => v.username === `cn-head-${dialect}` && JSON.parse(v.detail).classId === ownClassId)).toBe(true);
  });

  it('DingTalk settings leave the secrets out', async () => {
    const response = await get('/api/dingtalk/settings', 'admin');
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.workNotice).toEqual({ configured: true, appKey: h.t.ctx.config.dingtalk.appKey, agentId: h.t.ctx.config.dingtalk.agentId });
    expect(body.robot.configured).toBe(true);
    expect(body.robot.signed).toBe(true);
    expect(body.robot.webhook).toMatch(/access_token=\*\*\*$/);
    expect(response.body).not.toContain(h.t.ctx.config.dingtalk.appSecret);
    expect(response.body).not.toContain(h.t.ctx.config.dingtalk.robotSecret);
    expect((await get('/api/dingtalk/settings', 'head')).statusCode).toBe(403);
  });
});
