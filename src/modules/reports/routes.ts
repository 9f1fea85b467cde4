import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { schoolDay } from '../../shared/time.js';
import { assertSchoolScope, auditRequest, requireUser, type AuthUser } from '../auth/index.js';
import { DISTRICT_ROLES } from '../auth/roles.js';
import { getSchoolByCodeOrThrow, updateSchoolSettings } from '../people/service.js';
import { getDeadline, getDistrictDay, getDistrictTrend, resolveDistrict, setDeadline } from './district.js';
import { XLSX_CONTENT_TYPE, chineseDate, districtSheets, schoolReportSheets, writeSheets } from './excel.js';
import { parseBuildAt, readSchoolReportSettings } from './report-settings.js';
import { buildReport, checkDraftFreshness, getReportOrThrow, listReportDays, submitReport, type ReportActor } from './service.js';

/** District users read only submitted versions; drafts stay with the school. */
function isDistrictRole(user: AuthUser): boolean {
  return DISTRICT_ROLES.includes(user.role);
}

const Day = (title: string) => Type.String({ format: 'date', title, description: 'School day, YYYY-MM-DD in Asia/Shanghai' });
const SchoolCode = () => Type.String({ title: '学校代码' });
const DistrictId = (description = 'District id; the first district by default') => Type.Optional(Type.String({ title: '区县 ID', description }));
const SchoolParams = Type.Object({ code: SchoolCode() });
const SchoolDayParams = Type.Object({ code: SchoolCode(), day: Day('日报日期') });
const VersionQuery = Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1, title: '版本号' })) });

/** Roles that read a school's whole report; head teachers, teachers and guards do not. */
const READERS = ['district_admin', 'school_admin', 'school_doctor'] as const;
/** Roles that build a draft. */
const BUILDERS = ['school_admin', 'school_doctor'] as const;
/** Only the school admin submits to the district. */
const SUBMITTERS = ['school_admin'] as const;

function actorOf(user: AuthUser): ReportActor {
  return { userId: user.id, name: user.displayName };
}

async function sendXlsx(reply: FastifyReply, file: Buffer, asciiName: string, title: string) {
  return reply
    .header('content-type', XLSX_CONTENT_TYPE)
    .header('content-disposition', `attachment; filename="${asciiName}"; filename*=UTF-8''${encodeURIComponent(title)}.xlsx`)
    .header('cache-control', 'no-store')
    .send(file);
}

/** Routes of the daily report: a school's report and its versions, and the district's view. */
export async function reportRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  async function schoolFor(code: string, user: AuthUser) {
    const school = await getSchoolByCodeOrThrow(ctx, code);
    assertSchoolScope(user, school.id);
    return school;
  }

  app.get<{ Params: { code: string }; Querystring: { from?: string; to?: string } }>(
    '/schools/:code/reports',
    {
      schema: {
        tags: ['reports'],
        summary: 'Reported days of a school with the newest version of each',
        params: SchoolParams,
        querystring: Type.Object({ from: Type.Optional(Day('开始日期')), to: Type.Optional(Day('结束日期')) }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: [...READERS] });
      const school = await schoolFor(request.params.code, user);
      const to = request.query.to ?? schoolDay(ctx.now());
      const from = request.query.from ?? schoolDay(ctx.now() - 30 * 86_400_000);
      return { items: await listReportDays(ctx, school, from, to), settings: readSchoolReportSettings(school.settings) };
    },
  );

  app.get<{ Params: { code: string; day: string }; Querystring: { version?: number } }>(
    '/schools/:code/reports/:day',
    {
      schema: {
        tags: ['reports'],
        summary: 'One version of a school’s daily report (the newest by default) and its version list',
        params: SchoolDayParams,
        querystring: VersionQuery,
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: [...READERS] });
      const school = await schoolFor(request.params.code, user);
      const districtReader = isDistrictRole(user);
      const report = await getReportOrThrow(ctx, school, request.params.day, request.query.version, { submittedOnly: districtReader });
      if (districtReader) return report;
      const sinceBuild = await checkDraftFreshness(ctx, school, report);
      return sinceBuild ? { ...report, sinceBuild } : report;
    },
  );

  app.post<{ Params: { code: string; day: string } }>(
    '/schools/:code/reports/:day/build',
    { schema: { tags: ['reports'], summary: 'Build the day’s report now: rebuild the draft, or start the next version after a submission', params: SchoolDayParams } },
    async (request) => {
      const user = requireUser(request, { roles: [...BUILDERS] });
      const school = await schoolFor(request.params.code, user);
      const report = await buildReport(ctx, school, request.params.day, actorOf(user));
      await auditRequest(ctx, request, 'report.build', `${school.code}:${request.params.day}`, { version: report.version }, { schoolId: school.id });
      return report;
    },
  );

  app.post<{ Params: { code: string; day: string }; Body: { note?: string } }>(
    '/schools/:code/reports/:day/submit',
    {
      schema: {
        tags: ['reports'],
        summary: 'Submit the newest draft to the district; a correction needs a note',
        params: SchoolDayParams,
        body: Type.Optional(Type.Object({ note: Type.Optional(Type.String({ maxLength: 500, title: '更正说明', description: 'What the correction changes (更正说明); required from version 2' })) })),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: [...SUBMITTERS] });
      const school = await schoolFor(request.params.code, user);
      const report = await submitReport(ctx, school, request.params.day, actorOf(user), request.body?.note);
      await auditRequest(ctx, request, 'report.submit', `${school.code}:${request.params.day}`, { version: report.version, changes: report.changes.length }, { schoolId: school.id });
      return report;
    },
  );

  app.get<{ Params: { code: string; day: string }; Querystring: { version?: number } }>(
    '/schools/:code/reports/:day/export',
    {
      schema: {
        tags: ['reports'],
        summary: 'One version of the daily report as .xlsx in the district layout',
        params: SchoolDayParams,
        querystring: VersionQuery,
      },
    },
    async (request, reply) => {
      const user = requireUser(request, { roles: [...READERS] });
      const school = await schoolFor(request.params.code, user);
      const report = await getReportOrThrow(ctx, school, request.params.day, request.query.version, { submittedOnly: isDistrictRole(user) });
      const file = await writeSheets(schoolReportSheets(report.content, report));
      await auditRequest(ctx, request, 'report.export', `${school.code}:${request.params.day}`, { version: report.version }, { schoolId: school.id });
      return sendXlsx(reply, file, `daily-report-${school.code}-${request.params.day}.xlsx`, `${school.name}${chineseDate(request.params.day)}日报（第${report.version}版）`);
    },
  );

  app.put<{ Params: { code: string }; Body: { buildAt: string } }>(
    '/schools/:code/report-settings',
    {
      schema: {
        tags: ['reports'],
        summary: 'Set when the school’s report is built by itself each day',
        params: SchoolParams,
        body: Type.Object({ buildAt: Type.String({ title: '日报生成时间', description: 'HH:MM in Asia/Shanghai' }) }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ['school_admin'] });
      const school = await schoolFor(request.params.code, user);
      const settings = { buildAt: parseBuildAt(request.body.buildAt) };
      await updateSchoolSettings(ctx, school.id, { ...school.settings, reports: settings } as typeof school.settings);
      await auditRequest(ctx, request, 'report.settings', school.code, { buildAt: settings.buildAt }, { schoolId: school.id });
      return settings;
    },
  );

  app.get<{ Querystring: { day?: string; district?: string } }>(
    '/district/reports',
    {
      schema: {
        tags: ['reports'],
        summary: 'Every school’s report state and figures of a day, with the totals (district admins only)',
        querystring: Type.Object({ day: Type.Optional(Day('日期')), district: DistrictId() }),
      },
    },
    async (request) => {
      requireUser(request, { roles: ['district_admin'] });
      return getDistrictDay(ctx, request.query.district, request.query.day ?? schoolDay(ctx.now()));
    },
  );

  app.get<{ Querystring: { to?: string; days?: number; district?: string } }>(
    '/district/reports/trend',
    {
      schema: {
        tags: ['reports'],
        summary: 'Daily sums of the submitted reports over the last days (district admins only)',
        querystring: Type.Object({
          to: Type.Optional(Day('结束日期')),
          days: Type.Optional(Type.Integer({ minimum: 1, maximum: 90, title: '天数', description: 'Days ending with `to`; 30 by default' })),
          district: DistrictId(),
        }),
      },
    },
    async (request) => {
      requireUser(request, { roles: ['district_admin'] });
      return { points: await getDistrictTrend(ctx, request.query.district, request.query.to ?? schoolDay(ctx.now()), request.query.days ?? 30) };
    },
  );

  app.get<{ Querystring: { day?: string; district?: string } }>(
    '/district/reports/export',
    {
      schema: {
        tags: ['reports'],
        summary: 'Every school’s report of a day as .xlsx, one row per school and a totals row',
        querystring: Type.Object({ day: Type.Optional(Day('日期')), district: DistrictId() }),
      },
    },
    async (request, reply) => {
      requireUser(request, { roles: ['district_admin'] });
      const view = await getDistrictDay(ctx, request.query.district, request.query.day ?? schoolDay(ctx.now()));
      const file = await writeSheets(districtSheets(view));
      await auditRequest(ctx, request, 'report.district.export', view.day, { schools: view.totals.schools });
      return sendXlsx(reply, file, `district-reports-${view.day}.xlsx`, `全区日报汇总${chineseDate(view.day)}`);
    },
  );

  app.get<{ Querystring: { district?: string } }>(
    '/district/report-settings',
    { schema: { tags: ['reports'], summary: 'The district’s report deadline', querystring: Type.Object({ district: DistrictId() }) } },
    async (request) => {
      requireUser(request, { roles: ['district_admin'] });
      const { districtId } = await resolveDistrict(ctx, request.query.district);
      return { districtId, deadline: await getDeadline(ctx, districtId) };
    },
  );

  app.put<{ Querystring: { district?: string }; Body: { deadline: string } }>(
    '/district/report-settings',
    {
      schema: {
        tags: ['reports'],
        summary: 'Set the district’s daily report deadline',
        querystring: Type.Object({ district: DistrictId() }),
        body: Type.Object({ deadline: Type.String({ title: '上报截止时间', description: 'HH:MM in Asia/Shanghai' }) }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin'] });
      const { districtId } = await resolveDistrict(ctx, request.query.district);
      const deadline = await setDeadline(ctx, districtId, request.body.deadline, user.id);
      await auditRequest(ctx, request, 'report.deadline', districtId, { deadline });
      return { districtId, deadline };
    },
  );
}
