import { Type } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { AppError } from '../../shared/errors.js';
import { schoolDay } from '../../shared/time.js';
import { assertSchoolScope, requireUser } from '../auth/index.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { dayInputProblem, notSchoolDayText } from './calendar-rules.js';
import {
  clearDistrictDays,
  clearSchoolDays,
  getDistrictCalendar,
  getSchoolCalendar,
  getSchoolDayStatus,
  markDistrictDays,
  markSchoolDays,
  setSchoolWeekdays,
  type MarkDaysInput,
} from './service.js';

// Days are plain strings here, so the service's Chinese message can name a malformed value.
const DayText = (title: string, description: string) => Type.String({ maxLength: 20, title, description });
const Span = Type.Object({ from: Type.Optional(DayText('开始日期', "First day, 'YYYY-MM-DD'")), to: Type.Optional(DayText('结束日期', "Last day, 'YYYY-MM-DD'")) });
const ClearSpan = Type.Object({
  from: DayText('开始日期', "First day, 'YYYY-MM-DD'"),
  to: Type.Optional(DayText('结束日期', "Last day, 'YYYY-MM-DD'; `from` alone when absent")),
});
const MarkBody = Type.Object({
  from: DayText('开始日期', "First day, 'YYYY-MM-DD' in Asia/Shanghai"),
  to: Type.Optional(DayText('结束日期', 'Last day, included; `from` alone when absent')),
  isSchoolDay: Type.Boolean({ title: '是否上学日', description: 'true: a day with school (调休上课); false: no school (放假, 停课)' }),
  reason: Type.String({ maxLength: 100, title: '原因', description: 'Why, as users read it: 国庆节, 流感停课' }),
});
const DistrictQuery = Type.Optional(Type.String({ title: '区县 ID', description: 'District id; the district of the first school by default' }));
const SchoolParams = Type.Object({ code: Type.String({ title: '学校代码' }) });

/** Roles that edit a school's own days and weekdays; the district admin may close any school. */
const SCHOOL_EDITORS = ['district_admin', 'school_admin'] as const;

/**
 * Routes of the school calendar (校历): the district's holidays and make-up days (district
 * admins), each school's closures and weekdays (its school admin, or the district), and
 * the decided days any user of the school may read.
 */
export async function calendarRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.get<{ Querystring: { from?: string; to?: string; district?: string } }>(
    '/district/calendar',
    { schema: { tags: ['calendar'], summary: "The district's holidays and make-up working days in a span (district admins)", querystring: Type.Object({ ...Span.properties, district: DistrictQuery }) } },
    async (request) => {
      requireUser(request, { roles: ['district_admin'] });
      return getDistrictCalendar(ctx, request.query.district, request.query);
    },
  );

  app.post<{ Querystring: { district?: string }; Body: MarkDaysInput }>(
    '/district/calendar/days',
    {
      schema: {
        tags: ['calendar'],
        summary: 'Mark district days as holidays or make-up working days for every school',
        querystring: Type.Object({ district: DistrictQuery }),
        body: MarkBody,
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin'] });
      const marked = await markDistrictDays(ctx, { user, name: user.displayName, ip: request.ip }, request.query.district, request.body);
      return { marked };
    },
  );

  app.delete<{ Querystring: { from: string; to?: string; district?: string } }>(
    '/district/calendar/days',
    { schema: { tags: ['calendar'], summary: "Remove the district's entries of a span", querystring: Type.Object({ ...ClearSpan.properties, district: DistrictQuery }) } },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin'] });
      const removed = await clearDistrictDays(ctx, { user, name: user.displayName, ip: request.ip }, request.query.district, request.query.from, request.query.to);
      return { removed };
    },
  );

  app.get<{ Params: { code: string }; Querystring: { from?: string; to?: string } }>(
    '/schools/:code/calendar',
    { schema: { tags: ['calendar'], summary: "A school's days in a span, each decided, with the district's and the school's entries", params: SchoolParams, querystring: Span } },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      return getSchoolCalendar(ctx, school, request.query);
    },
  );

  app.get<{ Params: { code: string; day: string } }>(
    '/schools/:code/calendar/days/:day',
    { schema: { tags: ['calendar'], summary: 'Whether a day is a school day for the school, and why', params: Type.Object({ code: Type.String({ title: '学校代码' }), day: DayText('日期', "'YYYY-MM-DD'") }) } },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      const problem = dayInputProblem(request.params.day, schoolDay(ctx.now()), '日期');
      if (problem) throw new AppError('VALIDATION', { detail: problem });
      const status = await getSchoolDayStatus(ctx, school, request.params.day);
      return { ...status, text: status.isSchoolDay ? `${status.day} 是上学日（${status.label}）` : notSchoolDayText(status) };
    },
  );

  app.post<{ Params: { code: string }; Body: MarkDaysInput }>(
    '/schools/:code/calendar/days',
    { schema: { tags: ['calendar'], summary: "Mark a school's own days: a closure (停课) or a day with school; they win over the district", params: SchoolParams, body: MarkBody } },
    async (request) => {
      const user = requireUser(request, { roles: SCHOOL_EDITORS });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      const marked = await markSchoolDays(ctx, { user, name: user.displayName, ip: request.ip }, school, request.body);
      return { marked };
    },
  );

  app.delete<{ Params: { code: string }; Querystring: { from: string; to?: string } }>(
    '/schools/:code/calendar/days',
    { schema: { tags: ['calendar'], summary: "Remove a school's own entries of a span", params: SchoolParams, querystring: ClearSpan } },
    async (request) => {
      const user = requireUser(request, { roles: SCHOOL_EDITORS });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      const removed = await clearSchoolDays(ctx, { user, name: user.displayName, ip: request.ip }, school, request.query.from, request.query.to);
      return { removed };
    },
  );

  app.put<{ Params: { code: string }; Body: { weekdays: number[] } }>(
    '/schools/:code/calendar/weekdays',
    {
      schema: {
        tags: ['calendar'],
        summary: 'Set the days of the week a school has school',
        params: SchoolParams,
        body: Type.Object({ weekdays: Type.Array(Type.Integer(), { maxItems: 7, title: '每周上学日', description: '0 Sunday to 6 Saturday' }) }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: SCHOOL_EDITORS });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      return { weekdays: await setSchoolWeekdays(ctx, { user, name: user.displayName, ip: request.ip }, school, request.body.weekdays) };
    },
  );
}
