import { Type } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { AppError } from '../../shared/errors.js';
import { assertClassScope, assertSchoolScope, auditRequest, requireUser, type AuthUser } from '../auth/index.js';
import { ADMIN_ROLES } from '../auth/roles.js';
import { consentActorOf, grantConsent, listPersonConsents, revokePersonConsent } from '../people/consents.js';
import { findPerson, getSchoolByCodeOrThrow } from '../people/service.js';
import { listGuardiansOfPersons } from '../people/store.js';
import { deleteFaceEnrolment } from './service.js';
import { countDescriptorsOfPerson } from './store.js';

const PersonParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 32, title: '学校代码' }), id: Type.String({ minLength: 1, maxLength: 64, title: '人员 ID' }) });
const Purpose = Type.Union([Type.Literal('health_code'), Type.Literal('face')], { title: '授权用途' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T, options?: { description: string }) => Type.Union([schema, Type.Null()], options);

const ConsentActor = Type.Object({
  userId: Type.String(),
  username: Type.String(),
  displayName: Type.String({ description: 'Display name of the account at the time' }),
});

const ConsentItem = Type.Object({
  id: Type.String(),
  purpose: Purpose,
  givenBy: Type.Union([Type.Literal('self'), Type.Literal('guardian')]),
  guardianId: Nullable(Type.String()),
  guardianName: Nullable(Type.String()),
  givenAt: Type.Number({ description: 'Epoch ms' }),
  revokedAt: Nullable(Type.Number({ description: 'Epoch ms; null while the consent is in force' })),
  note: Nullable(Type.String()),
  recordedBy: Nullable(ConsentActor, { description: 'Console account that recorded the consent; null for older records and command-line imports' }),
  revokedBy: Nullable(ConsentActor, { description: 'Console account that revoked the consent; null while in force or when not stored' }),
});

const ConsentsReply = Type.Object({
  items: Type.Array(ConsentItem),
  guardians: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), relation: Nullable(Type.String()) })),
  faceDescriptors: Type.Integer({ description: 'Face photos enrolled now' }),
});

const GrantBody = Type.Object({
  purpose: Purpose,
  givenBy: Type.Union([Type.Literal('self'), Type.Literal('guardian')], { title: '授权人' }),
  guardianId: Type.Optional(Type.String({ maxLength: 64, title: '监护人 ID' })),
  note: Type.Optional(Type.String({ maxLength: 200, title: '备注', description: 'Where the signed form is kept, say' })),
});

const RevokeQuery = Type.Object({ purpose: Purpose });

/**
 * Consent records of a person (stored by the people module): list, grant, revoke. They
 * sit in the face module because revoking a face consent must also delete the person's
 * enrolled descriptors, and face already depends on people (never the other way).
 * Listing follows the person's scope (a head teacher their class); granting and revoking
 * are for school and district admins. Every call is audited.
 */
export async function consentRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  /** Load the person of the school in the URL and check the caller's scope over them. */
  const scopedPerson = async (user: AuthUser, code: string, personId: string) => {
    const school = await getSchoolByCodeOrThrow(ctx, code);
    const person = await findPerson(ctx, personId);
    if (!person || person.school_id !== school.id) throw new AppError('NOT_FOUND', { what: '人员', value: personId });
    if (person.class_id) assertClassScope(user, person.class_id, school.id);
    else assertSchoolScope(user, school.id);
    return { school, person };
  };

  app.get(
    '/schools/:code/persons/:id/consents',
    { schema: { tags: ['people'], summary: "A person's consent records, guardians and enrolled face count", params: PersonParams, response: { 200: ConsentsReply } } },
    async (request) => {
      const user = requireUser(request);
      const { school, person } = await scopedPerson(user, request.params.code, request.params.id);
      const [items, guardians, faceDescriptors] = await Promise.all([
        listPersonConsents(ctx, person.id),
        listGuardiansOfPersons(ctx.db, [person.id]),
        countDescriptorsOfPerson(ctx.db, person.id),
      ]);
      await auditRequest(ctx, request, 'consent.view', person.id, { count: items.length }, { schoolId: school.id });
      return {
        items,
        guardians: guardians.sort((a, b) => a.created_at - b.created_at).map((g) => ({ id: g.id, name: g.name, relation: g.relation })),
        faceDescriptors,
      };
    },
  );

  app.post(
    '/schools/:code/persons/:id/consents',
    { schema: { tags: ['people'], summary: 'Record a consent given by the person or a guardian', params: PersonParams, body: GrantBody, response: { 200: ConsentItem } } },
    async (request) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const { school, person } = await scopedPerson(user, request.params.code, request.params.id);
      const consent = await grantConsent(ctx, person.id, request.body, consentActorOf(user));
      await auditRequest(ctx, request, 'consent.grant', person.id, { consentId: consent.id, purpose: consent.purpose, givenBy: consent.givenBy }, { schoolId: school.id });
      return consent;
    },
  );

  app.delete(
    '/schools/:code/persons/:id/consents',
    {
      schema: {
        tags: ['people'],
        summary: 'Revoke the active consent for a purpose; revoking face consent also deletes the enrolled face photos',
        params: PersonParams,
        querystring: RevokeQuery,
        response: { 200: Type.Object({ revoked: Type.Integer(), faceDescriptorsDeleted: Type.Integer() }) },
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const { school, person } = await scopedPerson(user, request.params.code, request.params.id);
      const { purpose } = request.query;
      const { revoked } = await revokePersonConsent(ctx, person.id, purpose, consentActorOf(user));
      const faceDescriptorsDeleted = purpose === 'face' ? (await deleteFaceEnrolment(ctx, { schoolId: school.id, personId: person.id })).deleted : 0;
      await auditRequest(ctx, request, 'consent.revoke', person.id, { purpose, revoked, faceDescriptorsDeleted }, { schoolId: school.id });
      return { revoked, faceDescriptorsDeleted };
    },
  );
}
