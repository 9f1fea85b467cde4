import { Type } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { ADMIN_ROLES } from '../auth/roles.js';
import { assertSchoolScope, requireUser } from '../auth/index.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { getGateThresholds, updateGateThresholds } from './thresholds-service.js';

const SchoolParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 32, title: '学校代码' }) });
const Action = Type.Union([Type.Literal('allow_and_flag'), Type.Literal('deny')]);

const Thresholds = Type.Object({
  feverThresholdC: Type.Number({ description: 'A reading at or above this is a fever, ℃ (37.0-38.5, one decimal)' }),
  sensorMinC: Type.Number({ description: 'Readings below this are sensor errors, ℃ (0-40)' }),
  sensorMaxC: Type.Number({ description: 'Readings above this are sensor errors, ℃ (38-60)' }),
  staleGreenCode: Action,
  missingTemperature: Action,
  codeStaleHours: Type.Union([Type.Integer({ description: 'Hours after which a code is stale (1-168)' }), Type.Null({ description: 'The installation’s stale age' })]),
  snapshotRetentionDays: Type.Integer({ description: 'Denial snapshots are deleted after this many days (1-365)' }),
  deviceOfflineMinutes: Type.Integer({ description: 'A device silent this long is offline (1-1440)' }),
});

const ThresholdsReply = Type.Object({
  thresholds: Thresholds,
  installation: Type.Object({
    codeStaleHours: Type.Number({ description: 'Stale age while the school sets none (FANGKONG_CODE_STALE_MINUTES / 60)' }),
    venueCheckinRetentionDays: Type.Integer({ description: 'Venue check-ins are deleted after this many days, district-wide (FANGKONG_VENUE_RETENTION_DAYS)' }),
  }),
});

// Values are checked by applyThresholdUpdate, which names each bad field in Chinese; the
// schema's own messages would be English.
const ThresholdsUpdate = Type.Record(Type.String(), Type.Unknown(), { description: 'Any subset of the thresholds' });

/** Register the routes that read and change a school's gate thresholds, stale age and snapshot retention (admins only). */
export async function thresholdRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.get(
    '/schools/:code/gate-settings',
    { schema: { tags: ['gate'], summary: 'Gate thresholds, code stale age and snapshot retention of a school', params: SchoolParams, response: { 200: ThresholdsReply } } },
    async (request) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      return getGateThresholds(ctx, school.code);
    },
  );

  app.put(
    '/schools/:code/gate-settings',
    {
      schema: {
        tags: ['gate'],
        summary: 'Change some gate thresholds; every bad field is named in the error, and the change is audit-logged',
        params: SchoolParams,
        body: ThresholdsUpdate,
        response: { 200: ThresholdsReply },
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      return updateGateThresholds(ctx, school.code, request.body, { user, ip: request.ip });
    },
  );
}
