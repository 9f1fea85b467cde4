import { Type } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { searchAuditLog } from './audit.js';
import { assertSameOrigin, clearSessionCookies, csrfTokenFor, requireUser, setSessionCookies, SESSION_COOKIE } from './plugin.js';
import { ADMIN_ROLES, ROLE_LABELS } from './roles.js';
import * as service from './service.js';

// Each value carries its Chinese name, which validation messages show beside the key.
const RoleSchema = Type.Union(
  [
    Type.Literal('district_admin', { title: ROLE_LABELS.district_admin }),
    Type.Literal('school_admin', { title: ROLE_LABELS.school_admin }),
    Type.Literal('head_teacher', { title: ROLE_LABELS.head_teacher }),
    Type.Literal('teacher', { title: ROLE_LABELS.teacher }),
    Type.Literal('school_doctor', { title: ROLE_LABELS.school_doctor }),
    Type.Literal('guard', { title: ROLE_LABELS.guard }),
    Type.Literal('task_force', { title: ROLE_LABELS.task_force }),
  ],
  { title: '角色' },
);

const UserReply = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  role: RoleSchema,
  roleLabel: Type.String(),
  schoolId: Type.Union([Type.String(), Type.Null()]),
  schoolCode: Type.Union([Type.String(), Type.Null()]),
  schoolName: Type.Union([Type.String(), Type.Null()]),
  classId: Type.Union([Type.String(), Type.Null()]),
  className: Type.Union([Type.String(), Type.Null()]),
  personId: Type.Union([Type.String(), Type.Null()]),
  lockedUntil: Type.Union([Type.Number(), Type.Null()]),
  createdAt: Type.Number(),
  passwordChangedAt: Type.Number(),
});

const SessionReply = Type.Object({ user: UserReply, csrfToken: Type.String() });

const CreatedUserReply = Type.Object({
  ...UserReply.properties,
  warning: Type.Union([Type.String(), Type.Null()], { description: 'Chinese text for the admin, such as the class already having a head teacher; null when there is none' }),
});

const Credentials = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64, title: '用户名' }),
  password: Type.String({ minLength: 1, maxLength: 256, title: '密码' }),
});

const SetupBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64, title: '用户名' }),
  displayName: Type.Optional(Type.String({ maxLength: 64, title: '姓名' })),
  password: Type.String({ minLength: 1, maxLength: 256, title: '密码' }),
});

const PasswordBody = Type.Object({
  oldPassword: Type.String({ minLength: 1, maxLength: 256, title: '原密码' }),
  newPassword: Type.String({ minLength: 1, maxLength: 256, title: '新密码' }),
});

const NewUserBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64, title: '用户名' }),
  displayName: Type.Optional(Type.String({ maxLength: 64, title: '姓名' })),
  role: RoleSchema,
  schoolCode: Type.Optional(Type.String({ maxLength: 32, title: '学校代码' })),
  className: Type.Optional(Type.String({ maxLength: 16, title: '班级', description: 'Class of a head teacher, such as 二(3)班; it must exist unless createClass is true' })),
  createClass: Type.Optional(
    Type.Boolean({ default: false, title: '自动新建班级', description: 'Create the class of a head teacher when the school lacks it; when false such an account is rejected' }),
  ),
  password: Type.String({ minLength: 1, maxLength: 256, title: '初始密码' }),
});

const AuditQuery = Type.Object({
  user: Type.Optional(Type.String({ maxLength: 64, title: '用户名或账号 ID', description: 'Username or user id' })),
  action: Type.Optional(Type.String({ maxLength: 64, title: '操作', description: "Exact action, or a prefix ending in '.' such as 'auth.'" })),
  kind: Type.Optional(
    Type.Union([Type.Literal('change', { title: '修改' }), Type.Literal('read', { title: '查看和导出' })], {
      title: '类型',
      description: "'change' leaves out views, searches and exports; 'read' lists only those",
    }),
  ),
  from: Type.Optional(Type.String({ format: 'date', title: '开始日期', description: 'First day, YYYY-MM-DD (Asia/Shanghai)' })),
  to: Type.Optional(Type.String({ format: 'date', title: '结束日期', description: 'Last day, YYYY-MM-DD (Asia/Shanghai)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, title: '每页条数' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, title: '跳过条数' })),
});

const AuditReply = Type.Object({
  total: Type.Integer(),
  entries: Type.Array(
    Type.Object({
      id: Type.String(),
      at: Type.Number(),
      userId: Type.Union([Type.String(), Type.Null()]),
      username: Type.Union([Type.String(), Type.Null()]),
      schoolId: Type.Union([Type.String(), Type.Null()]),
      action: Type.String(),
      target: Type.Union([Type.String(), Type.Null()]),
      targetLabel: Type.Union([Type.String(), Type.Null()], { description: 'The target by name, such as 名称（代码） for a school, or null when the target is shown as stored' }),
      detail: Type.Record(Type.String(), Type.Unknown()),
      ip: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

const Ok = Type.Object({ ok: Type.Literal(true) });

export async function authRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.get('/auth/setup', { schema: { tags: ['auth'], response: { 200: Type.Object({ needed: Type.Boolean() }) } } }, async () => {
    return { needed: await service.isSetupNeeded(ctx) };
  });

  app.post('/auth/setup', { schema: { tags: ['auth'], body: SetupBody, response: { 201: SessionReply } } }, async (request, reply) => {
    assertSameOrigin(request);
    await service.setupFirstAdmin(ctx, request.body, request.ip);
    const { token, user } = await service.login(ctx, { ...request.body, ip: request.ip, userAgent: request.headers['user-agent'] });
    const csrfToken = setSessionCookies(ctx, request, reply, token);
    return reply.status(201).send({ user, csrfToken });
  });

  app.post('/auth/login', { schema: { tags: ['auth'], body: Credentials, response: { 200: SessionReply } } }, async (request, reply) => {
    assertSameOrigin(request);
    const { token, user } = await service.login(ctx, {
      username: request.body.username,
      password: request.body.password,
      ip: request.ip,
      userAgent: request.headers['user-agent'],
    });
    const csrfToken = setSessionCookies(ctx, request, reply, token);
    return { user, csrfToken };
  });

  app.post('/auth/logout', { schema: { tags: ['auth'], response: { 200: Ok } } }, async (request, reply) => {
    const user = requireUser(request);
    await service.logout(ctx, user, request.ip);
    clearSessionCookies(reply);
    return { ok: true as const };
  });

  app.get('/auth/me', { schema: { tags: ['auth'], response: { 200: SessionReply } } }, async (request) => {
    const user = requireUser(request);
    const token = request.cookies[SESSION_COOKIE]!;
    return { user: await service.getCurrentUser(ctx, user), csrfToken: csrfTokenFor(ctx, token) };
  });

  app.post('/auth/password', { schema: { tags: ['auth'], body: PasswordBody, response: { 200: Ok } } }, async (request) => {
    const user = requireUser(request);
    await service.changePassword(ctx, user, request.body.oldPassword, request.body.newPassword, request.ip);
    return { ok: true as const };
  });

  app.get('/auth/users', { schema: { tags: ['auth'], response: { 200: Type.Object({ users: Type.Array(UserReply) }) } } }, async (request) => {
    const user = requireUser(request, { roles: ADMIN_ROLES });
    return { users: await service.listUsers(ctx, user) };
  });

  app.post('/auth/users', { schema: { tags: ['auth'], body: NewUserBody, response: { 201: CreatedUserReply } } }, async (request, reply) => {
    const actor = requireUser(request, { roles: ADMIN_ROLES });
    const created = await service.createUser(ctx, request.body, actor, request.ip);
    return reply.status(201).send(created);
  });

  app.post(
    '/auth/users/:id/unlock',
    { schema: { tags: ['auth'], params: Type.Object({ id: Type.String({ title: '账号 ID' }) }), response: { 200: UserReply } } },
    async (request) => {
      const actor = requireUser(request, { roles: ADMIN_ROLES });
      return service.unlockUser(ctx, actor, request.params.id, request.ip);
    },
  );

  app.get('/audit', { schema: { tags: ['auth'], querystring: AuditQuery, response: { 200: AuditReply } } }, async (request) => {
    const actor = requireUser(request, { roles: ADMIN_ROLES });
    return searchAuditLog(ctx, actor, request.query);
  });
}
