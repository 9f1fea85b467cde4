import multipart from '@fastify/multipart';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { AppError } from '../../shared/errors.js';
import { assertSchoolScope, auditRequest, requireUser } from '../auth/index.js';
import { ADMIN_ROLES } from '../auth/roles.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { consentRoutes } from './consent-routes.js';
import { deleteFaceEnrolment, enrollFace, identifyImage } from './service.js';

const PersonParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 32, title: '学校代码' }), id: Type.String({ minLength: 1, maxLength: 64, title: '人员 ID' }) });
const SchoolParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 32, title: '学校代码' }) });

const EnrolReply = Type.Object({
  descriptorId: Type.String(),
  personId: Type.String(),
  score: Type.Number({ description: 'Detector confidence of the enrolled face, 0 to 1' }),
  descriptorCount: Type.Integer({ description: 'Photos the person has enrolled now' }),
});

const DeleteReply = Type.Object({ deleted: Type.Integer({ description: 'Descriptors deleted' }) });

const IdentifyReply = Type.Object({
  decision: Type.Union([Type.Literal('match'), Type.Literal('ambiguous'), Type.Literal('unknown')]),
  personId: Type.Optional(Type.String()),
  distance: Type.Optional(Type.Number()),
  margin: Type.Optional(Type.Number()),
  secondPersonId: Type.Optional(Type.String()),
  masked: Type.Optional(Type.Boolean()),
  rejection: Type.Optional(Type.Object({ code: Type.String(), message: Type.String({ description: 'Why the photo gave no face, in Chinese' }) })),
});

/** Roles that may run a test identification: admins and the guards who check the gallery. */
const IDENTIFY_ROLES = [...ADMIN_ROLES, 'guard'] as const;

/**
 * Register face enrolment of a person (multipart field "image"), its deletion, and a test
 * identification against the school's gallery. A photo without one usable face gets 422
 * with the Chinese reason (照片中未检测到人脸, 检测到多张人脸, ...).
 */
export async function faceRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  const maxBytes = ctx.config.face.maxImageMb * 1024 * 1024;
  await consentRoutes(app, ctx);

  // Multipart parsing only inside this scope, so other modules keep their own body rules.
  await app.register(async (scope: HttpApp) => {
    await scope.register(multipart, { limits: { files: 1, fields: 2, fileSize: maxBytes } });

    scope.post(
      '/schools/:code/persons/:id/face',
      {
        schema: {
          tags: ['face'],
          summary: 'Enrol a face photo of a person (multipart field "image"); the photo is not kept',
          consumes: ['multipart/form-data'],
          params: PersonParams,
          response: { 200: EnrolReply },
        },
      },
      async (request) => {
        const user = requireUser(request, { roles: ADMIN_ROLES });
        const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
        assertSchoolScope(user, school.id);

        const image = await readUploadedImage(request, maxBytes);
        const result = await enrollFace(ctx, { schoolId: school.id, personId: request.params.id, image, source: 'api' });
        await auditRequest(ctx, request, 'face.enrol', request.params.id, { descriptorId: result.descriptorId }, { schoolId: school.id });
        return result;
      },
    );

    scope.post(
      '/schools/:code/identify',
      {
        schema: {
          tags: ['face'],
          summary: 'Identify the face in a photo (multipart field "image") against the school gallery, for testing',
          consumes: ['multipart/form-data'],
          params: SchoolParams,
          response: { 200: IdentifyReply },
        },
      },
      async (request) => {
        const user = requireUser(request, { roles: [...IDENTIFY_ROLES] });
        const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
        assertSchoolScope(user, school.id);

        const image = await readUploadedImage(request, maxBytes);
        const result = await identifyImage(ctx, school.id, image);
        await auditRequest(ctx, request, 'face.identify', school.code, { decision: result.decision, personId: result.personId ?? null }, { schoolId: school.id });
        return result;
      },
    );
  });

  app.delete(
    '/schools/:code/persons/:id/face',
    { schema: { tags: ['face'], summary: "Delete every enrolled face descriptor of a person", params: PersonParams, response: { 200: DeleteReply } } },
    async (request) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);

      const result = await deleteFaceEnrolment(ctx, { schoolId: school.id, personId: request.params.id });
      await auditRequest(ctx, request, 'face.delete', request.params.id, { deleted: result.deleted }, { schoolId: school.id });
      return result;
    },
  );
}

/** Read the one uploaded file. A missing or oversize file raises a 4xx AppError with a Chinese message. */
async function readUploadedImage(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  if (!request.isMultipart()) {
    throw new AppError('VALIDATION', { detail: '请以 multipart/form-data 上传照片，字段名为 image' });
  }
  const file = await request.file();
  if (!file) throw new AppError('VALIDATION', { detail: '请求中没有照片文件，请在字段 image 中上传照片' });

  const bytes = await file.toBuffer().catch((error: unknown) => {
    if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') return undefined;
    throw error;
  });
  if (bytes === undefined || file.file.truncated) {
    throw new AppError('FACE_REJECTED', { detail: `照片过大，上限为 ${maxBytes / 1024 / 1024} MB，请压缩后重新上传` }, { reason: 'IMAGE_TOO_LARGE' });
  }
  return bytes;
}
