import { Type } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { AppError } from '../../shared/errors.js';
import { assertClassScope, assertSchoolScope, auditRequest, classScopeOf, requireUser, type AuthUser } from '../auth/index.js';
import { getClassOfSchoolOrThrow, getContacts, getSchoolByCodeOrThrow, listClassNoticePersonIds } from '../people/service.js';
import { createDingTalkClient } from './dingtalk-client.js';
import { getInboxMessageOrThrow, getNoticeOrThrow, listInboxMessages, listSchoolNotices, markInboxRead, retryNotice, sendTestMessage } from './service.js';

const ADMINS = ['school_admin', 'district_admin'] as const;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const SchoolCode = () => Type.String({ minLength: 1, maxLength: 32, title: '学校代码' });
const SchoolParams = Type.Object({ code: SchoolCode() });

const DeliveryStateSchema = Type.Union([
  Type.Literal('waiting'),
  Type.Literal('sent'),
  Type.Literal('filtered'),
  Type.Literal('failed'),
  Type.Literal('dead'),
]);

const NoticeItem = Type.Object({
  id: Type.String(),
  channel: Type.String({ description: 'dingtalk_work, dingtalk_robot or inbox' }),
  kind: Type.String({ description: 'What caused the notice: code_change, stay_home, ...' }),
  state: DeliveryStateSchema,
  stateLabel: Type.String({ description: 'The state in Chinese' }),
  status: Type.String({ description: 'Outbox status: pending, sending, confirming, sent, filtered, failed, dead' }),
  title: Type.String(),
  body: Type.String(),
  recipientPersonId: Nullable(Type.String()),
  recipientGuardianId: Nullable(Type.String()),
  recipientRole: Nullable(Type.String()),
  hasDingtalkRecipient: Type.Boolean(),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String({ description: 'Why the last attempt failed, in Chinese' })),
  deliveryNote: Nullable(Type.String({ description: 'How the final state was reached, in Chinese' })),
  createdAt: Type.Integer({ description: 'Epoch milliseconds' }),
  sentAt: Nullable(Type.Integer()),
  nextAttemptAt: Nullable(Type.Integer({ description: 'Next attempt while waiting, epoch milliseconds' })),
});

const OutboxStatusSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('sending'),
  Type.Literal('confirming'),
  Type.Literal('sent'),
  Type.Literal('filtered'),
  Type.Literal('failed'),
  Type.Literal('dead'),
]);

const NoticesQuery = Type.Object({
  state: Type.Optional(Type.Union(DeliveryStateSchema.anyOf, { title: '送达状态' })),
  status: Type.Optional(Type.Union([DeliveryStateSchema, OutboxStatusSchema], { title: '通知状态', description: 'A delivery state, or an exact outbox status' })),
  kind: Type.Optional(Type.String({ maxLength: 40, title: '通知类型' })),
  before: Type.Optional(Type.Integer({ minimum: 0, title: '翻页时间点', description: 'Only notices created before this instant (epoch ms), for paging' })),
  classId: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      title: '班级 ID',
      description: 'Only notices to the pupils of this class, their guardians and its head teacher; a head teacher always gets their own class',
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, title: '条数上限' })),
});

const NoticesReply = Type.Object({
  counts: Type.Object({ waiting: Type.Integer(), sent: Type.Integer(), filtered: Type.Integer(), failed: Type.Integer(), dead: Type.Integer() }),
  notices: Type.Array(NoticeItem),
});

const InboxItem = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  title: Type.String(),
  body: Type.String(),
  recipientPersonId: Nullable(Type.String()),
  recipientGuardianId: Nullable(Type.String()),
  recipientRole: Nullable(Type.String()),
  createdAt: Type.Integer(),
  readAt: Nullable(Type.Integer()),
  noticeId: Nullable(Type.String({ description: 'The DingTalk notice this message copies' })),
});

const InboxQuery = Type.Object({
  role: Type.Optional(Type.String({ maxLength: 40, title: '角色', description: 'Messages for the holders of this role (admins only, for a role not their own)' })),
  personId: Type.Optional(Type.String({ maxLength: 40, title: '人员 ID', description: 'Messages for this person (admins only for other persons)' })),
  unread: Type.Optional(Type.Boolean({ title: '只看未读' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, title: '条数上限' })),
});

const TestBody = Type.Object({
  dingtalkUserId: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, title: '工作通知收件人（钉钉 userid）', description: 'Work-notice recipient; defaults to the DingTalk account of the signed-in staff member' }),
  ),
});

const DingTalkSettingsReply = Type.Object({
  demo: Type.Boolean({ description: 'True when the server talks to the local DingTalk simulator of demo mode' }),
  apiUrl: Type.String(),
  workNotice: Type.Object({ configured: Type.Boolean(), appKey: Type.String(), agentId: Type.String() }),
  robot: Type.Object({
    configured: Type.Boolean(),
    webhook: Type.String({ description: 'The webhook without its access_token' }),
    signed: Type.Boolean({ description: 'True when a signing secret is set' }),
  }),
  defaultRecipient: Nullable(Type.String({ description: 'DingTalk userid of the signed-in staff member, the test message’s default recipient' })),
});

/** Return a robot webhook with its access_token, a secret, replaced by ***. */
function redactWebhook(webhook: string): string {
  if (!webhook) return '';
  try {
    const url = new URL(webhook);
    return `${url.origin}${url.pathname}${url.searchParams.has('access_token') ? '?access_token=***' : ''}`;
  } catch {
    return '（地址格式无效）';
  }
}

const TestReply = Type.Object({
  summary: Type.String(),
  results: Type.Array(Type.Object({ channel: Type.String(), ok: Type.Boolean(), message: Type.String() })),
});

/**
 * Notice screens: delivery state of a school's notices, sending one again, the in-app
 * inbox and a test send through the configured DingTalk channels.
 */
export async function notifyRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  const client = createDingTalkClient(ctx.config.dingtalk, ctx.log, { now: ctx.now });

  app.get(
    '/schools/:code/notices',
    { schema: { tags: ['notify'], summary: 'Notices of a school with their delivery state', params: SchoolParams, querystring: NoticesQuery, response: { 200: NoticesReply } } },
    async (request) => {
      const user = requireUser(request, { roles: [...ADMINS, 'head_teacher'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });

      // A head teacher gets their own class only. A request for another class is rejected with 403, not narrowed.
      const classId = request.query.classId ?? classScopeOf(user);
      let personIds: string[] | undefined;
      if (classId) {
        const klass = await getClassOfSchoolOrThrow(ctx, school.id, classId);
        assertClassScope(user, klass.id, school.id);
        personIds = await listClassNoticePersonIds(ctx, klass.id);
      }
      const result = await listSchoolNotices(ctx, school.id, { ...request.query, personIds });
      await auditRequest(ctx, request, 'notices.view', school.code, { classId: classId ?? null, count: result.notices.length }, { schoolId: school.id });
      return result;
    },
  );

  app.post(
    '/notices/:id/retry',
    {
      schema: {
        tags: ['notify'],
        summary: 'Send a failed, dead or filtered notice again',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 40, title: '通知 ID' }) }),
        response: { 200: NoticeItem },
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ADMINS });
      const notice = await getNoticeOrThrow(ctx, request.params.id);
      if (notice.school_id) assertSchoolScope(user, notice.school_id);
      else if (user.role !== 'district_admin') throw new AppError('FORBIDDEN', { detail: '只有区级管理员可以重新发送不属于学校的通知' });

      const view = await retryNotice(ctx, notice.id);
      await auditRequest(ctx, request, 'notice.retry', notice.id, { previousStatus: notice.status }, { schoolId: notice.school_id });
      return view;
    },
  );

  app.get(
    '/schools/:code/inbox',
    { schema: { tags: ['notify'], summary: 'In-app messages for a role or a person', params: SchoolParams, querystring: InboxQuery, response: { 200: Type.Object({ items: Type.Array(InboxItem) }) } } },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });

      const { role, personId, unread, limit } = request.query;
      assertMayReadInbox(user, { role, personId });
      const recipients = role || personId ? { role, personId } : { role: user.role, personId: user.personId ?? undefined };
      return { items: await listInboxMessages(ctx, school.id, { ...recipients, unreadOnly: unread, limit }) };
    },
  );

  app.post(
    '/schools/:code/inbox/:id/read',
    {
      schema: {
        tags: ['notify'],
        summary: 'Mark an in-app message read',
        params: Type.Object({ code: SchoolCode(), id: Type.String({ minLength: 1, maxLength: 40, title: '消息 ID' }) }),
        response: { 200: Type.Object({ id: Type.String(), readAt: Type.Integer() }) },
      },
    },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });

      const message = await getInboxMessageOrThrow(ctx, school.id, request.params.id);
      assertMayReadInbox(user, { role: message.recipient_role ?? undefined, personId: message.recipient_person_id ?? undefined });
      return { id: message.id, readAt: await markInboxRead(ctx, message) };
    },
  );

  app.get(
    '/dingtalk/settings',
    { schema: { tags: ['notify'], summary: 'The DingTalk settings of the installation, secrets left out', response: { 200: DingTalkSettingsReply } } },
    async (request) => {
      const user = requireUser(request, { roles: ADMINS });
      const settings = ctx.config.dingtalk;
      return {
        demo: ctx.config.demo,
        apiUrl: settings.apiUrl,
        workNotice: { configured: client.isWorkNoticeConfigured(), appKey: settings.appKey, agentId: settings.agentId },
        robot: { configured: client.isRobotConfigured(), webhook: redactWebhook(settings.robotWebhook), signed: settings.robotSecret !== '' },
        defaultRecipient: await dingtalkIdOf(ctx, user),
      };
    },
  );

  app.post(
    '/schools/:code/dingtalk/test',
    { schema: { tags: ['notify'], summary: 'Send a test message through the configured DingTalk channels', params: SchoolParams, body: TestBody, response: { 200: TestReply } } },
    async (request) => {
      const user = requireUser(request, { roles: ADMINS });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);

      const dingtalkUserId = request.body?.dingtalkUserId ?? (await dingtalkIdOf(ctx, user));
      const result = await sendTestMessage(ctx, client, { schoolName: school.name, dingtalkUserId, requestedBy: user.displayName });
      await auditRequest(ctx, request, 'dingtalk.test', school.code, { channels: result.results.map((r) => `${r.channel}:${r.ok ? 'ok' : 'failed'}`) }, { schoolId: school.id });
      return result;
    },
  );
}

/** Admins read any inbox of their school; everyone else only their own role's and their own. */
function assertMayReadInbox(user: AuthUser, requested: { role?: string; personId?: string }): void {
  if (user.role === 'school_admin' || user.role === 'district_admin') return;
  if (requested.role && requested.role !== user.role) throw new AppError('FORBIDDEN', { detail: '只能查看本人或本角色的站内信' });
  if (requested.personId && requested.personId !== user.personId) throw new AppError('FORBIDDEN', { detail: '只能查看本人或本角色的站内信' });
}

async function dingtalkIdOf(ctx: AppContext, user: AuthUser): Promise<string | null> {
  if (!user.personId) return null;
  const contacts = await getContacts(ctx, [user.personId]);
  return contacts.get(user.personId)?.person.dingtalk_user_id ?? null;
}
