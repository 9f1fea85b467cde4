import { Type } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { assertSchoolScope, requireUser } from '../auth/index.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { getEntryWindows, getGuardView, setEntryWindows } from './entry-window-service.js';

const SchoolParams = Type.Object({ code: Type.String({ title: '学校代码' }) });
const WindowBody = Type.Object(
  {
    grades: Type.Array(Type.Unknown(), { maxItems: 20, title: '年级', description: 'Grades 1 to 12' }),
    from: Type.String({ maxLength: 10, title: '开始时间', description: 'HH:MM, Asia/Shanghai' }),
    to: Type.String({ maxLength: 10, title: '结束时间', description: 'HH:MM, after from' }),
    lanes: Type.Optional(Type.Union([Type.Array(Type.Unknown(), { maxItems: 20 }), Type.Null()], { title: '通道', description: 'Lane names; empty means any lane' })),
    weekdays: Type.Optional(Type.Union([Type.Array(Type.Unknown(), { maxItems: 7 }), Type.Null()], { title: '星期', description: '0 Sunday to 6 Saturday; empty means every school day' })),
  },
  { additionalProperties: false },
);

/** Routes of staggered entry: read and replace the windows, and the guard's view of now. */
export async function entryWindowRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.get<{ Params: { code: string } }>(
    '/schools/:code/entry-windows',
    { schema: { tags: ['gate'], summary: 'Staggered entry windows of a school and the lanes they may name', params: SchoolParams } },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin', 'school_admin', 'guard'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      return getEntryWindows(ctx, school.code);
    },
  );

  app.put<{ Params: { code: string }; Body: { windows: unknown[] } }>(
    '/schools/:code/entry-windows',
    {
      schema: {
        tags: ['gate'],
        summary: 'Replace the staggered entry windows; overlaps for a grade, bad times and unknown lanes are refused',
        params: SchoolParams,
        body: Type.Object({ windows: Type.Array(WindowBody, { maxItems: 50, title: '入校时段' }) }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin', 'school_admin'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      return setEntryWindows(ctx, school.code, request.body.windows, { user, ip: request.ip });
    },
  );

  app.get<{ Params: { code: string } }>(
    '/schools/:code/entry-windows/now',
    { schema: { tags: ['gate'], summary: 'Today’s entry windows and which grades should be at which lane now', params: SchoolParams } },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin', 'school_admin', 'school_doctor', 'guard'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      return getGuardView(ctx, school.code);
    },
  );
}
