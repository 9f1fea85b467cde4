import { Type, type Static } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { ADMIN_ROLES } from '../auth/roles.js';
import { assertClassScope, assertSchoolScope, auditRequest, classScopeOf, requireUser } from '../auth/index.js';
import { getContacts, getSchoolByCodeOrThrow } from '../people/service.js';
import { AppError } from '../../shared/errors.js';
import * as service from './service.js';
import { getDistrictSyncSettings, setDistrictSyncEveryDay } from './district-sync-service.js';

const Color = Type.Union([Type.Literal('green'), Type.Literal('yellow'), Type.Literal('red'), Type.Literal('unknown')], { title: '健康码颜色' });
const SchoolParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 32, title: '学校代码' }) });
const Nullable = <T extends ReturnType<typeof Type.Number>>(schema: T) => Type.Union([schema, Type.Null()]);

const CodeEntry = Type.Object({
  personId: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('student'), Type.Literal('staff')]),
  classId: Type.Union([Type.String(), Type.Null()]),
  className: Type.Union([Type.String(), Type.Null()]),
  idNumberMasked: Type.Union([Type.String(), Type.Null()]),
  color: Color,
  isStale: Type.Boolean(),
  fetchedAt: Nullable(Type.Number()),
  bureauUpdatedAt: Nullable(Type.Number()),
  lastAttemptAt: Nullable(Type.Number()),
  reason: Type.Union([Type.String(), Type.Null()]),
  lastFailure: Type.Union([Type.String(), Type.Null()]),
});

const CodesQuery = Type.Object({
  color: Type.Optional(Color),
  stale: Type.Optional(
    Type.Boolean({
      title: '是否过期',
      description: 'true: fetched codes older than the school’s stale age; false: fetched codes within it. Never-synced codes match neither',
    }),
  ),
  unsynced: Type.Optional(Type.Boolean({ title: '是否未同步', description: 'true: codes the bureau never returned; false: fetched codes only' })),
  class: Type.Optional(Type.String({ title: '班级', description: 'Class id or name such as 二(3)班' })),
});

const ColorCounts = Type.Object({
  total: Type.Integer(),
  green: Type.Integer(),
  yellow: Type.Integer(),
  red: Type.Integer(),
  unknown: Type.Integer({ description: 'Unknown colour, never-synced codes included' }),
  stale: Type.Integer({ description: 'Fetched codes older than the school’s stale age, any colour' }),
  attention: Type.Integer({ description: 'Fetched codes not green, or green but stale' }),
  unsynced: Type.Integer({ description: 'Codes the bureau never returned' }),
});

const CodeCountsReply = Type.Object({
  school: ColorCounts,
  grades: Type.Array(Type.Object({ grade: Type.Integer(), counts: ColorCounts })),
  classes: Type.Array(Type.Object({ classId: Type.String(), className: Type.String(), grade: Type.Integer(), counts: ColorCounts })),
  unplaced: ColorCounts,
});

const SyncRun = Type.Object({
  id: Type.String(),
  trigger: Type.String(),
  status: Type.String(),
  startedAt: Type.Number(),
  finishedAt: Nullable(Type.Number()),
  heartbeatAt: Type.Number(),
  total: Type.Number(),
  processed: Type.Number(),
  failed: Type.Number(),
  changes: Type.Number(),
  failedBatches: Type.Number(),
  counts: Type.Record(Type.String(), Type.Number()),
  error: Type.Union([Type.String(), Type.Null()]),
  resumedFrom: Type.Union([Type.String(), Type.Null()]),
});

const Polling = Type.Object({
  enabled: Type.Boolean({ title: '是否开启' }),
  everyMinutes: Type.Integer({ title: '间隔（分钟）' }),
  from: Type.String({ title: '开始时间' }),
  to: Type.String({ title: '结束时间' }),
});

const Schedule = Type.Object({
  crons: Type.Array(Type.String()),
  preset: Type.Union([Type.String(), Type.Null()]),
  polling: Polling,
  everyDay: Type.Boolean({ description: "The school's own 每天同步" }),
  districtEveryDay: Type.Union([Type.Object({ enabledAt: Nullable(Type.Number()), enabledByName: Type.Union([Type.String(), Type.Null()]) }), Type.Null()], {
    description: '全区每天同步 while the district has it on (when and by whom), which makes the school sync every day; null while it is off',
  }),
  nextDayFrom: Type.Union([Type.String(), Type.Null()]),
  nextRuns: Type.Array(Type.Number()),
});

const ScheduleUpdate = Type.Object(
  {
    preset: Type.Optional(Type.String({ title: '同步方案' })),
    crons: Type.Optional(Type.Array(Type.String(), { maxItems: 24, title: '同步时间' })),
    // Other polling keys pass through, so the service can explain why `weekdays` is gone.
    polling: Type.Optional(Type.Partial(Polling, { title: '在校时段轮询', additionalProperties: true })),
    everyDay: Type.Optional(Type.Boolean({ title: '每天同步', description: 'true: scheduled syncs run every day; false: only for school days of the school calendar' })),
  },
  { additionalProperties: false },
);

const DistrictSyncSettings = Type.Object({
  districtId: Type.String(),
  everyDay: Type.Boolean({ description: '全区每天同步: every school of the district runs its scheduled syncs every day' }),
  changedAt: Nullable(Type.Number()),
  changedByName: Type.Union([Type.String(), Type.Null()]),
  schoolCount: Type.Integer(),
  ownEveryDaySchools: Type.Array(Type.Object({ code: Type.String(), name: Type.String() }), { description: 'Schools that sync every day by their own setting' }),
});
const DistrictQuery = Type.Object({ district: Type.Optional(Type.String({ title: '区县 ID', description: 'District id; the district of the first school by default' })) });

/** Only district admins read or switch 全区每天同步. The message names the user's role and who may. */
function requireDistrictAdmin(request: Parameters<typeof requireUser>[0]) {
  return requireUser(request, { roles: ['district_admin'] });
}

/** Health-code screens: current codes, history, sync runs, "sync now" and the schedule. */
export async function healthcodeRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.get(
    '/schools/:code/codes',
    { schema: { tags: ['healthcode'], params: SchoolParams, querystring: CodesQuery, response: { 200: Type.Object({ items: Type.Array(CodeEntry), total: Type.Number() }) } } },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });

      const { color, stale, unsynced, class: className } = request.query;
      const ownClass = classScopeOf(user);
      let items = await service.listSchoolCodes(ctx, school.code, { color, stale, unsynced, className });
      if (ownClass && className && items.some((item) => item.classId !== ownClass)) {
        throw new AppError('FORBIDDEN', { detail: '班主任只能查看和操作本班的数据' });
      }
      if (ownClass) items = items.filter((item) => item.classId === ownClass);
      await auditRequest(ctx, request, 'healthcode.codes.view', school.code, { color, stale, unsynced, className, count: items.length }, { schoolId: school.id });
      return { items, total: items.length };
    },
  );

  app.get(
    '/schools/:code/code-counts',
    {
      schema: {
        tags: ['healthcode'],
        summary: 'Counts of current code colours per class, per grade and for the school; no names',
        params: SchoolParams,
        response: { 200: CodeCountsReply },
      },
    },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      return service.countSchoolCodes(ctx, school.code, classScopeOf(user));
    },
  );

  app.get(
    '/persons/:id/code-history',
    {
      schema: {
        tags: ['healthcode'],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, title: '人员 ID' }) }),
        response: {
          200: Type.Object({
            current: Type.Omit(CodeEntry, ['personId', 'name', 'kind', 'classId', 'className', 'idNumberMasked']),
            changes: Type.Array(
              Type.Object({
                id: Type.String(),
                from: Type.Union([Color, Type.Null()]),
                to: Color,
                changedAt: Type.Number(),
                bureauUpdatedAt: Nullable(Type.Number()),
                reason: Type.Union([Type.String(), Type.Null()]),
                syncRunId: Type.Union([Type.String(), Type.Null()]),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const user = requireUser(request);
      const person = (await getContacts(ctx, [request.params.id])).get(request.params.id)?.person;
      if (!person) throw new AppError('NOT_FOUND', { what: '人员', value: request.params.id });
      if (person.class_id) assertClassScope(user, person.class_id, person.school_id);
      else assertSchoolScope(user, person.school_id);

      const history = await service.getCodeHistory(ctx, person.id);
      await auditRequest(ctx, request, 'healthcode.history.view', person.id, {}, { schoolId: person.school_id });
      return history;
    },
  );

  app.get(
    '/schools/:code/sync-runs',
    {
      schema: {
        tags: ['healthcode'],
        params: SchoolParams,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, title: '条数上限' })) }),
        response: { 200: Type.Object({ items: Type.Array(SyncRun) }) },
      },
    },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      return { items: await service.listSyncRuns(ctx, school.code, request.query.limit ?? 20) };
    },
  );

  app.post(
    '/schools/:code/sync',
    { schema: { tags: ['healthcode'], params: SchoolParams, response: { 202: Type.Object({ runId: Type.String(), message: Type.String() }) } } },
    async (request, reply) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);

      const { runId, done } = await service.startSync(ctx, school.id, 'manual');
      done.catch((error: unknown) => request.log.error({ err: error, runId }, 'background sync failed'));
      await auditRequest(ctx, request, 'healthcode.sync.start', school.code, { runId }, { schoolId: school.id });
      return reply.status(202).send({ runId, message: `已开始同步${school.name}的健康码` });
    },
  );

  app.get(
    '/schools/:code/sync-schedule',
    { schema: { tags: ['healthcode'], params: SchoolParams, response: { 200: Schedule } } },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      return service.getSyncSchedule(ctx, school.code);
    },
  );

  app.put(
    '/schools/:code/sync-schedule',
    { schema: { tags: ['healthcode'], params: SchoolParams, body: ScheduleUpdate, response: { 200: Schedule } } },
    async (request) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);

      const body = request.body as Static<typeof ScheduleUpdate>;
      const schedule = await service.setSyncSchedule(ctx, school.code, body);
      await auditRequest(ctx, request, 'healthcode.schedule.update', school.code, { crons: schedule.crons, polling: schedule.polling, everyDay: schedule.everyDay }, { schoolId: school.id });
      return schedule;
    },
  );

  app.get<{ Querystring: { district?: string } }>(
    '/district/sync-settings',
    { schema: { tags: ['healthcode'], summary: 'Whether every school of the district syncs every day (全区每天同步); district admins', querystring: DistrictQuery, response: { 200: DistrictSyncSettings } } },
    async (request) => {
      requireDistrictAdmin(request);
      return getDistrictSyncSettings(ctx, request.query.district);
    },
  );

  app.put<{ Querystring: { district?: string }; Body: { everyDay: boolean } }>(
    '/district/sync-settings',
    {
      schema: {
        tags: ['healthcode'],
        summary: 'Turn 全区每天同步 on or off for every school of the district; district admins',
        querystring: DistrictQuery,
        body: Type.Object(
          { everyDay: Type.Boolean({ title: '全区每天同步', description: 'true: every school runs its scheduled syncs every day; false: each school follows its own setting' }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ ...DistrictSyncSettings.properties, changed: Type.Boolean({ description: 'False when the switch already had this state' }) }) },
      },
    },
    async (request) => {
      const user = requireDistrictAdmin(request);
      return setDistrictSyncEveryDay(ctx, { user, name: user.displayName, ip: request.ip }, request.query.district, request.body.everyDay);
    },
  );
}
