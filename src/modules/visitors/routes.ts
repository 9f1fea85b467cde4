import { Type } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { assertSchoolScope, auditRequest, requireUser, type UserRole } from '../auth/index.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { cancelVisitor, listVisitorsForUser, recordArrival, recordExit, recordWalkIn, registerVisitor } from './service.js';

const SchoolParams = Type.Object({ code: Type.String({ title: '学校代码' }) });
const VisitorParams = Type.Object({ code: Type.String({ title: '学校代码' }), id: Type.String({ title: '访客登记 ID' }) });
const ShownCode = Type.Optional(
  Type.Union([Type.Literal('green'), Type.Literal('yellow'), Type.Literal('red'), Type.Null()], {
    title: '出示的健康码',
    description:
      'Colour of the code the visitor showed. Required when the visitor has no ID number (on record, or in the walk-in request), because the bureau cannot be asked: without it the request is rejected with 400 and nothing is stored. Ignored when there is an ID number, since the bureau’s code decides',
  }),
);
const Text = (title: string, description: string, maxLength = 200) => Type.Optional(Type.Union([Type.String({ maxLength, title, description }), Type.Null()]));
const Temperature = Type.Union([Type.Number(), Type.String()], { title: '体温', description: 'Body temperature in °C, 34 to 43' });
const VisitDay = (title: string) => Type.String({ format: 'date', title });

/** Every school staff role may host a visitor. */
const HOST_ROLES: UserRole[] = ['district_admin', 'school_admin', 'head_teacher', 'teacher', 'school_doctor', 'guard'];
/** The roles that check visitors at the gate. */
const GATE_ROLES: UserRole[] = ['district_admin', 'school_admin', 'guard'];

/** Routes of visitors: registration by hosts, the guard's arrival, walk-in and exit, and the day's list. */
export async function visitorRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.get<{ Params: { code: string }; Querystring: { day?: string } }>(
    '/schools/:code/visitors',
    {
      schema: {
        tags: ['visitors'],
        summary: 'The visitors of a day with entry and exit times and counts; ID numbers masked',
        params: SchoolParams,
        querystring: Type.Object({ day: Type.Optional(VisitDay('日期')) }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: HOST_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      const result = await listVisitorsForUser(ctx, user, school.code, { day: request.query.day });
      await auditRequest(ctx, request, 'visitor.list.view', school.code, { day: result.day, count: result.visitors.length }, { schoolId: school.id });
      return result;
    },
  );

  // A POST, so the ID number the guard typed stays out of URLs and access logs.
  app.post<{ Params: { code: string }; Body: { idNumber: string; day?: string } }>(
    '/schools/:code/visitors/search',
    {
      schema: {
        tags: ['visitors'],
        summary: 'The visits of one ID number on a day; ID numbers masked',
        params: SchoolParams,
        body: Type.Object({
          idNumber: Type.String({ minLength: 1, maxLength: 40, title: '身份证号' }),
          day: Type.Optional(VisitDay('到访日期')),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: HOST_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      const result = await listVisitorsForUser(ctx, user, school.code, request.body);
      await auditRequest(ctx, request, 'visitor.search', school.code, { day: result.day, count: result.visitors.length }, { schoolId: school.id });
      return result;
    },
  );

  app.post<{ Params: { code: string }; Body: { name: string; idNumber?: string | null; phone?: string | null; purpose: string; day: string; from: string; to: string; hostName?: string | null } }>(
    '/schools/:code/visitors',
    {
      schema: {
        tags: ['visitors'],
        summary: 'Register a visitor in advance',
        params: SchoolParams,
        body: Type.Object({
          name: Type.String({ maxLength: 100, title: '姓名' }),
          idNumber: Text('身份证号', '18-character ID number', 40),
          phone: Text('手机号', 'Mainland mobile number', 40),
          purpose: Type.String({ maxLength: 400, title: '来访事由' }),
          day: Type.String({ title: '到访日期', description: 'YYYY-MM-DD', maxLength: 20 }),
          from: Type.String({ title: '预计到达时间', description: 'Expected arrival, HH:MM', maxLength: 10 }),
          to: Type.String({ title: '预计离开时间', description: 'Expected departure, HH:MM', maxLength: 10 }),
          hostName: Text('接待人', 'The host when not the signed-in user', 100),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: HOST_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      const visitor = await registerVisitor(ctx, user, school.code, request.body);
      await auditRequest(ctx, request, 'visitor.register', visitor.id, { day: visitor.day }, { schoolId: school.id });
      return visitor;
    },
  );

  app.post<{ Params: { code: string }; Body: { name: string; idNumber?: string | null; phone?: string | null; purpose: string; reason: string; hostName?: string | null; temperature: number | string; shownCode?: 'green' | 'yellow' | 'red' | null } }>(
    '/schools/:code/visitors/walk-in',
    {
      schema: {
        tags: ['visitors'],
        summary: 'Record a visitor who was not registered in advance, with the reason, and check them at once',
        params: SchoolParams,
        body: Type.Object({
          name: Type.String({ maxLength: 100, title: '姓名' }),
          idNumber: Text('身份证号', '18-character ID number', 40),
          phone: Text('手机号', 'Mainland mobile number', 40),
          purpose: Type.String({ maxLength: 400, title: '来访事由' }),
          reason: Type.String({ maxLength: 400, title: '未预约原因', description: 'Why the visitor was not registered' }),
          hostName: Text('接待人', 'Whom the visitor comes to see', 100),
          temperature: Temperature,
          shownCode: ShownCode,
        }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: GATE_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      const outcome = await recordWalkIn(ctx, user, school.code, request.body);
      await auditRequest(ctx, request, 'visitor.walk_in', outcome.visitor.id, { decision: outcome.decision, reason: outcome.reason }, { schoolId: school.id });
      return outcome;
    },
  );

  app.post<{ Params: { code: string; id: string }; Body: { temperature: number | string; shownCode?: 'green' | 'yellow' | 'red' | null } }>(
    '/schools/:code/visitors/:id/arrive',
    {
      schema: {
        tags: ['visitors'],
        summary: 'Check a registered visitor at the gate: temperature and health code; a pass records the entry',
        params: VisitorParams,
        body: Type.Object({ temperature: Temperature, shownCode: ShownCode }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: GATE_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      const outcome = await recordArrival(ctx, user, school.code, request.params.id, request.body);
      await auditRequest(ctx, request, 'visitor.arrive', request.params.id, { decision: outcome.decision, reason: outcome.reason }, { schoolId: school.id });
      return outcome;
    },
  );

  app.post<{ Params: { code: string; id: string }; Body: { at?: string | null } }>(
    '/schools/:code/visitors/:id/exit',
    {
      schema: {
        tags: ['visitors'],
        summary: 'Record a visitor’s exit, now or at an earlier time today',
        params: VisitorParams,
        body: Type.Optional(Type.Object({ at: Text('离校时间', 'HH:MM when the exit was earlier than now', 10) })),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: GATE_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      const visitor = await recordExit(ctx, user, school.code, request.params.id, { at: request.body?.at ?? null });
      await auditRequest(ctx, request, 'visitor.exit', visitor.id, {}, { schoolId: school.id });
      return visitor;
    },
  );

  app.post<{ Params: { code: string; id: string } }>(
    '/schools/:code/visitors/:id/cancel',
    { schema: { tags: ['visitors'], summary: 'Cancel a visit that has not reached the gate', params: VisitorParams } },
    async (request) => {
      const user = requireUser(request, { roles: HOST_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      const visitor = await cancelVisitor(ctx, user, school.code, request.params.id);
      await auditRequest(ctx, request, 'visitor.cancel', visitor.id, {}, { schoolId: school.id });
      return visitor;
    },
  );
}
