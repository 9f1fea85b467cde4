import { Type } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import type { AbsenceReason, CheckSession, CheckStatus, ContactResult } from '../../db/schema.js';
import type { HttpApp } from '../../http.js';
import { AppError } from '../../shared/errors.js';
import { schoolDay } from '../../shared/time.js';
import { assertClassScope, assertSchoolScope, auditRequest, classScopeOf, listClassScope, requireUser, type AuthUser } from '../auth/index.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { ABSENCE_REASON_LABELS, MAX_BODY_TEMPERATURE_C, MIN_BODY_TEMPERATURE_C, SESSION_LABELS } from './check-input.js';
import type { CheckSettings } from './check-settings.js';
import { listClusterAlerts, setClusterAlertStatus } from './clusters.js';
import { CONTACT_RESULT_LABELS, addContact, getFollowUpHistory, getFollowUpOrThrow, listFollowUps, recordCertificate, updateFollowUp, type FollowUpUpdate } from './follow-ups.js';
import { DIAGNOSES } from './notifiable-diseases.js';
import { addDays } from '../calendar/calendar-rules.js';
import { getCheckSettings, getClassCheck, getClassCheckHistory, saveClassCheck, setCheckSettings, toHistoryItem, type Actor } from './service.js';

const Day = (title: string) => Type.String({ format: 'date', title, description: "School day 'YYYY-MM-DD' in Asia/Shanghai" });
const Session = Type.Union([Type.Literal('morning'), Type.Literal('noon')], { title: '检查时段' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const SchoolCode = () => Type.String({ title: '学校代码' });
const ClassParams = Type.Object({ code: SchoolCode(), classId: Type.String({ title: '班级 ID' }) });
const FollowUpParams = Type.Object({ code: SchoolCode(), id: Type.String({ title: '缺勤追踪 ID' }) });

/** Roles that record and correct checks, each within its scope. */
const CHECK_WRITERS = ['district_admin', 'school_admin', 'school_doctor', 'head_teacher'] as const;
const CHECK_READERS = [...CHECK_WRITERS, 'teacher'] as const;
/** Roles that record the return-to-school certificate. */
const CERTIFICATE_RECORDERS = ['school_admin', 'school_doctor'] as const;

const CheckEntryBody = Type.Object({
  personId: Type.String({ title: '学生 ID' }),
  status: Type.Union([Type.Literal('present'), Type.Literal('absent')], { title: '到校情况' }),
  temperature: Type.Optional(Nullable(Type.Number({ title: '体温', description: `Degrees Celsius, ${MIN_BODY_TEMPERATURE_C}-${MAX_BODY_TEMPERATURE_C}` }))),
  symptoms: Type.Optional(Type.Array(Type.String(), { maxItems: 20, title: '症状', description: "Codes from the school's symptom list" })),
  absenceReason: Type.Optional(Nullable(Type.Union([Type.Literal('illness'), Type.Literal('personal'), Type.Literal('unknown')], { title: '缺勤原因' }))),
  note: Type.Optional(Nullable(Type.String({ maxLength: 500, title: '备注' }))),
});

const SettingsBody = Type.Object({
  symptoms: Type.Array(Type.Object({ code: Type.String({ title: '症状代码' }), label: Type.String({ title: '症状名称' }) }), { minItems: 1, maxItems: 30, title: '症状列表' }),
  unknownAbsenceReminderAt: Type.String({ title: '原因不明缺勤提醒时间' }),
  morningDueAt: Type.String({ title: '晨检截止时间' }),
  noonDueAt: Type.String({ title: '午检截止时间' }),
  clusterSameDayThreshold: Type.Integer({ title: '同一天同班病例数' }),
  clusterWindowThreshold: Type.Integer({ title: '连续上学日内同班病例数' }),
  clusterWindowSchoolDays: Type.Integer({ title: '连续上学日天数' }),
});

function actorOf(user: AuthUser): Actor {
  return { userId: user.id, name: user.displayName };
}

/**
 * Routes of the morning and noon checks, the illness-absence follow-ups and the cluster
 * alerts. A head teacher reaches only their own class; school roles their school; the
 * district every school.
 */
export async function checksRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.get('/check-options', { schema: { tags: ['checks'], summary: 'Lists for the check and follow-up forms: diagnoses, absence reasons, contact results' } }, async (request) => {
    requireUser(request);
    return {
      sessions: Object.entries(SESSION_LABELS).map(([code, label]) => ({ code, label })),
      absenceReasons: Object.entries(ABSENCE_REASON_LABELS).map(([code, label]) => ({ code, label })),
      contactResults: Object.entries(CONTACT_RESULT_LABELS).map(([code, label]) => ({ code, label })),
      diagnoses: DIAGNOSES,
      temperatureRange: { min: MIN_BODY_TEMPERATURE_C, max: MAX_BODY_TEMPERATURE_C },
    };
  });

  app.get<{ Params: { code: string; classId: string }; Querystring: { day?: string; session?: CheckSession } }>(
    '/schools/:code/classes/:classId/checks',
    {
      schema: {
        tags: ['checks'],
        summary: "A class's morning or noon check, pre-filled from the gate",
        params: ClassParams,
        querystring: Type.Object({ day: Type.Optional(Day('日期')), session: Type.Optional(Session) }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: CHECK_READERS });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertClassScope(user, request.params.classId, school.id);
      const day = request.query.day ?? schoolDay(ctx.now());
      return getClassCheck(ctx, school.id, request.params.classId, day, request.query.session ?? 'morning');
    },
  );

  app.put<{ Params: { code: string; classId: string }; Body: { day: string; session: CheckSession; entries: Array<{ personId: string; status: CheckStatus; temperature?: number | null; symptoms?: string[]; absenceReason?: AbsenceReason | null; note?: string | null }> } }>(
    '/schools/:code/classes/:classId/checks',
    {
      schema: {
        tags: ['checks'],
        summary: "Save a class's check; corrections are kept in the history",
        params: ClassParams,
        body: Type.Object({ day: Day('日期'), session: Session, entries: Type.Array(CheckEntryBody, { maxItems: 200, title: '检查记录' }) }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: CHECK_WRITERS });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertClassScope(user, request.params.classId, school.id);
      const result = await saveClassCheck(ctx, actorOf(user), school.id, request.params.classId, request.body);
      await auditRequest(ctx, request, 'checks.save', request.params.classId, { day: request.body.day, session: request.body.session, created: result.created, corrected: result.corrected }, { schoolId: school.id });
      return result;
    },
  );

  app.get<{ Params: { code: string; classId: string }; Querystring: { day?: string } }>(
    '/schools/:code/classes/:classId/checks/history',
    {
      schema: { tags: ['checks'], summary: "Entries and corrections of a class's checks on a day", params: ClassParams, querystring: Type.Object({ day: Type.Optional(Day('日期')) }) },
    },
    async (request) => {
      const user = requireUser(request, { roles: CHECK_READERS });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertClassScope(user, request.params.classId, school.id);
      return { history: await getClassCheckHistory(ctx, school.id, request.params.classId, request.query.day ?? schoolDay(ctx.now())) };
    },
  );

  app.get<{ Params: { code: string } }>(
    '/schools/:code/check-settings',
    { schema: { tags: ['checks'], summary: "A school's symptom list, reminder and due times and cluster thresholds", params: Type.Object({ code: SchoolCode() }) } },
    async (request) => {
      const user = requireUser(request, { roles: CHECK_READERS });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      return getCheckSettings(ctx, school.id);
    },
  );

  app.put<{ Params: { code: string }; Body: CheckSettings }>(
    '/schools/:code/check-settings',
    { schema: { tags: ['checks'], summary: "Replace a school's check settings", params: Type.Object({ code: SchoolCode() }), body: SettingsBody } },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin', 'school_admin'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      const settings = await setCheckSettings(ctx, school.id, request.body);
      await auditRequest(ctx, request, 'checks.settings', school.code, {}, { schoolId: school.id });
      return settings;
    },
  );

  app.get<{ Params: { code: string }; Querystring: { status?: 'open' | 'closed' | 'cancelled'; classId?: string } }>(
    '/schools/:code/follow-ups',
    {
      schema: {
        tags: ['checks'],
        summary: 'Illness-absence follow-ups of a school',
        params: Type.Object({ code: SchoolCode() }),
        querystring: Type.Object({
          status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('cancelled')], { title: '追踪状态' })),
          classId: Type.Optional(Type.String({ title: '班级 ID' })),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: CHECK_READERS });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      return { followUps: await listFollowUps(ctx, school.id, { status: request.query.status, classId: listClassScope(user, request.query.classId) }) };
    },
  );

  /** Load a follow-up of the school and check the user may act on its class. */
  const followUpInScope = async (user: AuthUser, code: string, id: string) => {
    const school = await getSchoolByCodeOrThrow(ctx, code);
    assertSchoolScope(user, school.id, { allowClassScoped: true });
    const followUp = await getFollowUpOrThrow(ctx, school.id, id);
    assertClassScope(user, followUp.classId, school.id);
    return { school, followUp };
  };

  app.get<{ Params: { code: string; id: string } }>(
    '/schools/:code/follow-ups/:id',
    { schema: { tags: ['checks'], summary: 'A follow-up with its contacts and history', params: FollowUpParams } },
    async (request) => {
      const user = requireUser(request, { roles: CHECK_READERS });
      const { school, followUp } = await followUpInScope(user, request.params.code, request.params.id);
      const history = (await getFollowUpHistory(ctx, school.id, followUp.id)).map(toHistoryItem);
      return { followUp, history };
    },
  );

  app.patch<{ Params: { code: string; id: string }; Body: FollowUpUpdate }>(
    '/schools/:code/follow-ups/:id',
    {
      schema: {
        tags: ['checks'],
        summary: "Change a follow-up's symptoms, doctor visit, diagnosis or expected return",
        params: FollowUpParams,
        body: Type.Object({
          symptoms: Type.Optional(Type.Array(Type.String(), { maxItems: 20, title: '症状' })),
          sawDoctor: Type.Optional(Nullable(Type.Boolean({ title: '是否就诊' }))),
          diagnosis: Type.Optional(Nullable(Type.String({ title: '诊断', description: 'Code from /api/check-options diagnoses' }))),
          diagnosisNote: Type.Optional(Nullable(Type.String({ maxLength: 500, title: '诊断说明' }))),
          expectedReturnOn: Type.Optional(Nullable(Day('预计返校日期'))),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: CHECK_WRITERS });
      const { school } = await followUpInScope(user, request.params.code, request.params.id);
      const followUp = await updateFollowUp(ctx, actorOf(user), school.id, request.params.id, request.body);
      await auditRequest(ctx, request, 'checks.follow_up.update', request.params.id, { fields: Object.keys(request.body) }, { schoolId: school.id });
      return { followUp };
    },
  );

  app.post<{ Params: { code: string; id: string }; Body: { contactedAt?: string; result: ContactResult; note?: string | null } }>(
    '/schools/:code/follow-ups/:id/contacts',
    {
      schema: {
        tags: ['checks'],
        summary: 'Record an attempt to reach the guardian',
        params: FollowUpParams,
        body: Type.Object({
          contactedAt: Type.Optional(Type.String({ title: '联系时间', description: 'ISO 8601 instant; now when absent' })),
          result: Type.Union([Type.Literal('reached'), Type.Literal('no_answer'), Type.Literal('unreachable'), Type.Literal('other')], { title: '联系结果' }),
          note: Type.Optional(Nullable(Type.String({ maxLength: 500, title: '备注' }))),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: CHECK_WRITERS });
      const { school } = await followUpInScope(user, request.params.code, request.params.id);
      let contactedAt: number | undefined;
      if (request.body.contactedAt !== undefined) {
        contactedAt = Date.parse(request.body.contactedAt);
        if (Number.isNaN(contactedAt)) throw new AppError('VALIDATION', { detail: `联系时间“${request.body.contactedAt}”无效，请写 ISO 8601 时间，例如 2026-12-07T09:30:00+08:00` });
      }
      const followUp = await addContact(ctx, actorOf(user), school.id, request.params.id, { contactedAt, result: request.body.result, note: request.body.note });
      await auditRequest(ctx, request, 'checks.follow_up.contact', request.params.id, { result: request.body.result }, { schoolId: school.id });
      return { followUp };
    },
  );

  app.post<{ Params: { code: string; id: string }; Body: { issuedOn: string; issuer?: string | null; note?: string | null } }>(
    '/schools/:code/follow-ups/:id/certificate',
    {
      schema: {
        tags: ['checks'],
        summary: 'Record the return-to-school certificate; closes the follow-up and lifts the gate hold',
        params: FollowUpParams,
        body: Type.Object({
          issuedOn: Type.String({ title: '证明开具日期', description: "Issue date 'YYYY-MM-DD'" }),
          issuer: Type.Optional(Nullable(Type.String({ maxLength: 200, title: '开具机构' }))),
          note: Type.Optional(Nullable(Type.String({ maxLength: 500, title: '备注' }))),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request);
      if (!(CERTIFICATE_RECORDERS as readonly string[]).includes(user.role)) throw new AppError('FORBIDDEN', { detail: '复课证明只能由校医或学校管理员登记' });
      const { school } = await followUpInScope(user, request.params.code, request.params.id);
      const followUp = await recordCertificate(ctx, actorOf(user), school.id, request.params.id, request.body);
      await auditRequest(ctx, request, 'checks.follow_up.certificate', request.params.id, { issuedOn: request.body.issuedOn }, { schoolId: school.id });
      return { followUp };
    },
  );

  app.get<{ Querystring: { school?: string; from?: string; to?: string } }>(
    '/cluster-alerts',
    {
      schema: {
        tags: ['checks'],
        summary: 'Cluster alerts: every school for the district, the own school for school staff',
        querystring: Type.Object({ school: Type.Optional(Type.String({ title: '学校代码', description: 'School code' })), from: Type.Optional(Day('开始日期')), to: Type.Optional(Day('结束日期')) }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: CHECK_WRITERS });
      const to = request.query.to ?? schoolDay(ctx.now());
      const from = request.query.from ?? addDays(to, -29);
      if (from > to) throw new AppError('VALIDATION', { detail: `开始日期“${from}”晚于结束日期“${to}”` });
      let schoolId: string | undefined;
      if (request.query.school) {
        const school = await getSchoolByCodeOrThrow(ctx, request.query.school);
        assertSchoolScope(user, school.id, { allowClassScoped: true });
        schoolId = school.id;
      } else if (user.role !== 'district_admin') {
        schoolId = user.schoolId ?? undefined;
      }
      if (user.role !== 'district_admin' && !schoolId) throw new AppError('FORBIDDEN', { detail: '账号未关联学校' });
      let alerts = await listClusterAlerts(ctx, { schoolId, from, to });
      const ownClass = classScopeOf(user);
      if (ownClass) alerts = alerts.filter((a) => a.classId === ownClass);
      return { from, to, alerts };
    },
  );

  app.post<{ Params: { code: string; id: string; action: 'acknowledge' | 'close' } }>(
    '/schools/:code/cluster-alerts/:id/:action',
    {
      schema: {
        tags: ['checks'],
        summary: 'Acknowledge or close a cluster alert',
        params: Type.Object({ code: SchoolCode(), id: Type.String({ title: '聚集性预警 ID' }), action: Type.Union([Type.Literal('acknowledge'), Type.Literal('close')], { title: '操作' }) }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin', 'school_admin', 'school_doctor'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      await setClusterAlertStatus(ctx, school.id, request.params.id, request.params.action === 'close' ? 'closed' : 'acknowledged');
      await auditRequest(ctx, request, `checks.cluster.${request.params.action}`, request.params.id, {}, { schoolId: school.id });
      return { ok: true };
    },
  );
}
