import multipart from '@fastify/multipart';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { AppError } from '../../shared/errors.js';
import { assertSchoolScope, auditRequest, classScopeOf, requireUser } from '../auth/index.js';
import { ADMIN_ROLES } from '../auth/roles.js';
import { checkRosterSize, MEGABYTE } from './roster-read.js';
import { ROSTER_CONTENT_TYPES } from './roster-export.js';
import { writeRejectedRowsXlsx } from './roster-rejected.js';
import { MAX_ROSTER_ROWS } from './roster-rows.js';
import { createDingTalkLookup } from './dingtalk-lookup.js';
import { exportRoster, importRoster } from './roster-service.js';
import { consentActorOf } from './consents.js';
import { getSchoolByCodeOrThrow, getSchoolByIdOrThrow, listClassSummaries, listPersons, listSchools } from './service.js';

const SchoolParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 32, title: '学校代码' }) });

const RosterImportQuery = Type.Object({
  createClasses: Type.Optional(
    Type.Boolean({ default: false, title: '自动新建班级', description: 'Create classes the roster names that the school lacks; when false such rows are rejected' }),
  ),
});

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const RejectedRow = Type.Object({
  row: Type.Integer({ minimum: 1, title: '行号', description: 'Row number as Excel shows it' }),
  problems: Type.Array(
    Type.Object({
      column: Type.String({ title: '列', description: 'Column header as the file writes it' }),
      value: Type.String({ title: '内容', description: 'Value read; ID numbers and phones masked' }),
      reason: Type.String({ title: '原因', description: 'Why the row was rejected, in Chinese' }),
    }),
    { title: '问题' },
  ),
});

/** The rejected rows as the import reply lists them, sent back to get them as a file. */
const RejectedRowsBody = Type.Object({
  fileName: Type.Optional(Type.String({ maxLength: 255, title: '花名册文件名', description: 'Name of the uploaded roster; the download is named after it' })),
  rejected: Type.Array(RejectedRow, { maxItems: MAX_ROSTER_ROWS, title: '被拒绝的行', description: 'The `rejected` list of the import reply' }),
});

/** Request body limit of the rejected-rows download: MAX_ROSTER_ROWS rows at about 600 bytes each. */
const REJECTED_ROWS_BODY_LIMIT = 32 * MEGABYTE;

export const RosterImportReply = Type.Object({
  kind: Type.Union([Type.Literal('student'), Type.Literal('staff')]),
  format: Type.Union([Type.Literal('xlsx'), Type.Literal('csv')]),
  sheet: Type.String(),
  headerRow: Type.Integer(),
  counts: Type.Object({
    rows: Type.Integer(),
    created: Type.Integer(),
    updated: Type.Integer(),
    unchanged: Type.Integer(),
    rejected: Type.Integer(),
    classesCreated: Type.Integer(),
  }),
  rejected: Type.Array(RejectedRow),
  warnings: Type.Array(Type.String()),
  createdClasses: Type.Array(Type.String(), { description: 'Names of the classes the import created (only with createClasses=true)' }),
  dingtalk: Nullable(
    Type.Object({ lookedUp: Type.Integer(), found: Type.Integer(), notFound: Type.Integer(), failed: Type.Integer(), skipped: Type.Integer() }),
  ),
  updates: Type.Array(
    Type.Object({
      row: Type.Integer({ title: '行号' }),
      previousName: Type.String({ title: '原姓名', description: 'Name stored before the import' }),
      name: Type.String({ title: '姓名', description: 'Name after the import' }),
      changes: Type.Array(
        Type.Object({
          field: Type.String({ title: '项目', description: 'Changed field, as the roster header writes it' }),
          from: Nullable(Type.String({ description: 'Value before; null when the field is listed by name only. ID numbers and phones masked' })),
          to: Nullable(Type.String({ description: 'Value after; null when the field is listed by name only. ID numbers and phones masked' })),
        }),
      ),
    }),
    { title: '更新的人员', description: 'Every updated person with what changed, in row order' },
  ),
});

const PersonItem = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('student'), Type.Literal('staff')]),
  name: Type.String(),
  gender: Nullable(Type.String()),
  classId: Nullable(Type.String()),
  className: Nullable(Type.String()),
  studentNumber: Nullable(Type.String()),
  staffNumber: Nullable(Type.String()),
  staffRole: Nullable(Type.String()),
  idNumberMasked: Nullable(Type.String()),
  phoneMasked: Nullable(Type.String()),
  hasDingtalk: Type.Boolean(),
  healthCodeConsent: Type.Boolean(),
  guardians: Type.Array(
    Type.Object({ name: Type.String(), relation: Nullable(Type.String()), phoneMasked: Nullable(Type.String()), hasDingtalk: Type.Boolean() }),
  ),
});

const PersonsQuery = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 50, title: '姓名', description: 'Part of a name' })),
  class: Type.Optional(Type.String({ maxLength: 40, title: '班级', description: 'Class as rosters write it (一(1)班, 101, 1-1) or a class id' })),
  kind: Type.Optional(Type.Union([Type.Literal('student'), Type.Literal('staff')], { title: '人员类型' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, title: '每页条数' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0, title: '跳过条数' })),
});

const ClassItem = Type.Object({
  id: Type.String(),
  grade: Type.Integer(),
  number: Type.Integer(),
  name: Type.String(),
  headTeacher: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
  pupils: Type.Integer(),
});

const ExportQuery = Type.Object({ kind: Type.Optional(Type.Union([Type.Literal('student'), Type.Literal('staff')], { title: '花名册类型' })) });

const SchoolItem = Type.Object({ code: Type.String(), name: Type.String() });

/**
 * People screens: roster upload and download, the masked person list and the classes.
 * Roster import and export are for school and district admins; exports are audited
 * because they carry decrypted ID numbers.
 */
export async function peopleRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
const lookupDingTalkUserId = createDingTalkLookup(ctx);

  // Multipart parsing only inside this scope, so other modules keep JSON-only bodies.
  await app.register(async (scope: HttpApp) => {
    await scope.register(multipart, { limits: { files: 1, fields: 5, fileSize: ctx.config.roster.maxFileMb * MEGABYTE } });

    scope.post(
      '/schools/:code/roster',
      {
        schema: {
          tags: ['people'],
          summary: 'Import a pupil or staff roster (.xlsx or .csv) as multipart field "file"',
          consumes: ['multipart/form-data'],
          params: SchoolParams,
          querystring: RosterImportQuery,
          response: { 200: RosterImportReply },
        },
      },
      async (request) => {
        const user = requireUser(request, { roles: ADMIN_ROLES });
        const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
        assertSchoolScope(user, school.id);

        const bytes = await readUploadedFile(ctx, request);
        const createClasses = request.query.createClasses ?? false;
        const result = await importRoster(ctx, school.code, bytes, { lookupDingTalkUserId, createClasses, actor: consentActorOf(user) });
        await auditRequest(ctx, request, 'roster.import', school.code, { kind: result.kind, createClasses, ...result.counts }, { schoolId: school.id });
        return result;
      },
    );
  });

  for (const format of ['xlsx', 'csv'] as const) {
    app.get(
      `/schools/:code/roster.${format}`,
      { schema: { tags: ['people'], summary: `Export the roster as .${format} (kind=staff for staff)`, params: SchoolParams, querystring: ExportQuery } },
      async (request, reply) => {
        const user = requireUser(request, { roles: ADMIN_ROLES });
        const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
        assertSchoolScope(user, school.id);

        const kind = request.query.kind ?? 'student';
        const file = await exportRoster(ctx, school.code, { kind, format });
        await auditRequest(ctx, request, 'roster.export', school.code, { kind, format, rows: file.rows }, { schoolId: school.id });
        return sendFile(reply, file);
      },
    );
  }

  app.post(
    '/schools/:code/roster/rejected.xlsx',
    {
      bodyLimit: REJECTED_ROWS_BODY_LIMIT,
      schema: {
        tags: ['people'],
        summary: 'The rejected rows of a roster import as .xlsx: send back the `rejected` list of the import reply',
        params: SchoolParams,
        body: RejectedRowsBody,
      },
    },
    async (request, reply) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);

      const file = await writeRejectedRowsXlsx(request.body.rejected, request.body.fileName ?? '');
      await auditRequest(ctx, request, 'roster.rejected_export', school.code, { format: 'xlsx', rows: request.body.rejected.length, lines: file.lines }, { schoolId: school.id });
      return sendFile(reply, { fileName: file.fileName, contentType: ROSTER_CONTENT_TYPES.xlsx, bytes: file.bytes }, 'rejected-rows.xlsx');
    },
  );

  app.get(
    '/schools',
    {
      schema: {
        tags: ['people'],
        summary: 'Schools the user may open: every school for the district, the own school for school roles',
        response: { 200: Type.Object({ schools: Type.Array(SchoolItem) }) },
      },
    },
    async (request) => {
      const user = requireUser(request);
      if (user.role === 'district_admin') {
        const schools = await listSchools(ctx);
        return { schools: schools.map(({ code, name }) => ({ code, name })) };
      }
      if (!user.schoolId) return { schools: [] };
      const own = await getSchoolByIdOrThrow(ctx, user.schoolId);
      return { schools: [{ code: own.code, name: own.name }] };
    },
  );

  app.get(
    '/schools/:code/persons',
    { schema: { tags: ['people'], params: SchoolParams, querystring: PersonsQuery, response: { 200: Type.Object({ total: Type.Integer(), items: Type.Array(PersonItem) }) } } },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });

      const ownClass = classScopeOf(user);
      const { name, class: className, kind, limit = 50, offset = 0 } = request.query;
      if (ownClass && className !== undefined) {
        const own = (await listClassSummaries(ctx, school.id)).find((c) => c.id === ownClass);
        if (own && className !== own.id && className !== own.name) {
          throw new AppError('FORBIDDEN', { detail: '班主任只能查看和操作本班的数据' });
        }
      }

      const result = await listPersons(ctx, school.id, { name, className: ownClass ?? className, kind: ownClass ? 'student' : kind, limit, offset });
      await auditRequest(ctx, request, 'persons.view', school.code, { name, className: ownClass ?? className, kind, count: result.items.length }, { schoolId: school.id });
      return result;
    },
  );

  app.get(
    '/schools/:code/classes',
    { schema: { tags: ['people'], params: SchoolParams, response: { 200: Type.Object({ items: Type.Array(ClassItem) }) } } },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });

      const ownClass = classScopeOf(user);
      const items = await listClassSummaries(ctx, school.id);
      return { items: ownClass ? items.filter((c) => c.id === ownClass) : items };
    },
  );
}

/**
 * Read the bytes of the uploaded file. A declared Content-Length above the limit is
 * rejected before anything is read, and multipart cuts off a stream that runs past it.
 */
async function readUploadedFile(ctx: AppContext, request: FastifyRequest): Promise<Buffer> {
  const limitMb = ctx.config.roster.maxFileMb;
  const declared = Number(request.headers['content-length']);
  // Multipart adds a few hundred bytes of boundaries and part headers around the file.
  if (Number.isFinite(declared) && declared > limitMb * MEGABYTE + 64 * 1024) checkRosterSize(declared, limitMb);

  if (!request.isMultipart()) throw new AppError('VALIDATION', { detail: '请以 multipart/form-data 上传文件，字段名为 file' });
  let file;
  try {
    file = await request.file();
  } catch (error) {
    throw translateMultipartError(error, limitMb);
  }
  if (!file) throw new AppError('VALIDATION', { detail: '请求中没有文件，请以字段名 file 上传花名册' });

  try {
    return await file.toBuffer();
  } catch (error) {
    throw translateMultipartError(error, limitMb);
  }
}

function translateMultipartError(error: unknown, limitMb: number): unknown {
  const code = (error as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return new AppError('ROSTER_TOO_LARGE', { sizeMb: `超过 ${limitMb}`, limitMb });
  if (code === 'FST_FILES_LIMIT') return new AppError('VALIDATION', { detail: '一次只能上传一个文件' });
  return error;
}

function sendFile(reply: FastifyReply, file: { fileName: string; contentType: string; bytes: Buffer }, asciiName = file.fileName.endsWith('.csv') ? 'roster.csv' : 'roster.xlsx') {
  // RFC 6266: an ASCII fallback name plus the UTF-8 name for browsers that read filename*.
  return reply
    .header('content-type', file.contentType)
    .header('content-disposition', `attachment; filename="${asciiName}"; filename*=UTF-8''${encodeURIComponent(file.fileName)}`)
    .header('cache-control', 'no-store')
    .send(file.bytes);
}
