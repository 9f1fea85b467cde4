import { Type } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { AppError } from '../../shared/errors.js';
import { schoolDay } from '../../shared/time.js';
import { ADMIN_ROLES } from '../auth/roles.js';
import { assertSchoolScope, auditRequest, requireUser } from '../auth/index.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { createDevice, getDeviceOfSchoolOrThrow, listDevices, rotateDeviceKey, setDeviceActive } from './devices.js';
import { schoolGateSettings } from './service.js';
import * as store from './store.js';

/** How far back the device list looks for each device's last event. */
const LAST_EVENT_LOOKBACK_DAYS = 30;
const MAX_NAME_LENGTH = 40;

const SchoolCode = () => Type.String({ minLength: 1, maxLength: 32, title: '学校代码' });
const DeviceId = () => Type.String({ minLength: 1, maxLength: 64, title: '设备 ID' });
const SchoolParams = Type.Object({ code: SchoolCode() });
const DeviceParams = Type.Object({ code: SchoolCode(), id: DeviceId() });

const DeviceView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String({ description: 'hikvision, api or kiosk' }),
  lane: Type.Union([Type.String(), Type.Null()]),
  direction: Type.String({ description: 'in or out' }),
  active: Type.Boolean(),
  lastSeenAt: Type.Union([Type.Number(), Type.Null()]),
  online: Type.Boolean({ description: 'Active and heard from within the school’s device-offline minutes' }),
  lastEvent: Type.Union([
    Type.Object({ occurredAt: Type.Number(), decision: Type.String(), reason: Type.String() }),
    Type.Null({ description: `No event in the last ${LAST_EVENT_LOOKBACK_DAYS} days` }),
  ]),
});

const KeyReply = Type.Object({
  device: DeviceView,
  key: Type.String({ description: 'The device key; shown in this reply only, never again' }),
  setup: Type.String({ description: 'How to configure the device with the key, in Chinese' }),
});

const NewDeviceBody = Type.Object({
  name: Type.Optional(Type.Unknown({ title: '设备名称', description: `Name shown on the console, at most ${MAX_NAME_LENGTH} characters` })),
  kind: Type.Optional(Type.Unknown({ title: '设备类型', description: 'hikvision, api or kiosk' })),
  lane: Type.Optional(Type.Unknown({ title: '通道', description: 'Lane name such as 东门; optional' })),
  direction: Type.Optional(Type.Unknown({ title: '通行方向', description: 'in (default) or out' })),
});

type DeviceViewValue = {
  id: string;
  name: string;
  kind: string;
  lane: string | null;
  direction: string;
  active: boolean;
  lastSeenAt: number | null;
  online: boolean;
  lastEvent: { occurredAt: number; decision: string; reason: string } | null;
};

async function viewOf(ctx: AppContext, device: store.DeviceRow, offlineAfterMs: number, sinceDay: string): Promise<DeviceViewValue> {
  const last = await store.findLastEventOfDevice(ctx.db, device.school_id, device.id, sinceDay);
  return {
    id: device.id,
    name: device.name,
    kind: device.kind,
    lane: device.lane,
    direction: device.direction,
    active: device.active === 1,
    lastSeenAt: device.last_seen_at,
    online: device.active === 1 && device.last_seen_at !== null && ctx.now() - device.last_seen_at <= offlineAfterMs,
    lastEvent: last ? { occurredAt: last.occurred_at, decision: last.decision, reason: last.reason } : null,
  };
}

async function viewContext(ctx: AppContext, schoolId: string): Promise<{ offlineAfterMs: number; sinceDay: string }> {
  const { settings } = await schoolGateSettings(ctx, schoolId);
  return { offlineAfterMs: settings.deviceOfflineMinutes * 60_000, sinceDay: schoolDay(ctx.now() - LAST_EVENT_LOOKBACK_DAYS * 24 * 60 * 60_000) };
}

/** Chinese instructions for putting the key on a device of this kind. */
function setupText(device: store.DeviceRow): string {
  if (device.kind === 'hikvision') {
    return `在终端的事件推送（监听）地址中填写 http(s)://<服务器地址>/api/terminals/hikvision/${device.id}/events?token=<设备密钥>，或用摘要认证：用户名为设备 ID，密码为设备密钥。`;
  }
  if (device.kind === 'kiosk') return '在平板上打开 /kiosk 页面，输入设备 ID 和设备密钥后保存。';
  return `设备每次请求带上请求头 Authorization: Bearer ${device.id}.<设备密钥>。`;
}

function optionalText(value: unknown, label: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AppError('VALIDATION', { detail: `${label}应为文字` });
  if (value.trim().length > MAX_NAME_LENGTH) throw new AppError('VALIDATION', { detail: `${label}“${value.trim().slice(0, 10)}…”过长，最多 ${MAX_NAME_LENGTH} 个字` });
  return value;
}

/**
 * Gate devices on the console: the list with online state and last event for admins and
 * guards, and for admins registration, key rotation, disabling and enabling. A key
 * appears only in the reply that created it; every change is audit-logged.
 */
export async function deviceAdminRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.get(
    '/schools/:code/devices',
    {
      schema: {
        tags: ['gate'],
        summary: 'Gate devices of a school with online state and last event',
        params: SchoolParams,
        response: { 200: Type.Object({ devices: Type.Array(DeviceView) }) },
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin', 'school_admin', 'guard'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      const { offlineAfterMs, sinceDay } = await viewContext(ctx, school.id);
      const devices = await listDevices(ctx, school.code);
      return { devices: await Promise.all(devices.map((device) => viewOf(ctx, device, offlineAfterMs, sinceDay))) };
    },
  );

  app.post(
    '/schools/:code/devices',
    { schema: { tags: ['gate'], summary: 'Register a gate device; the reply carries its key once', params: SchoolParams, body: NewDeviceBody, response: { 201: KeyReply } } },
    async (request, reply) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);

      const body = request.body ?? {};
      const name = optionalText(body.name, '设备名称');
      if (!name?.trim()) throw new AppError('VALIDATION', { detail: '设备名称不能为空，例如“东门 1 号通道”' });
      if (typeof body.kind !== 'string') throw new AppError('VALIDATION', { detail: '请选择设备类型：hikvision（海康测温终端）、api（通道设备）或 kiosk（平板闸机）' });
      const lane = optionalText(body.lane, '通道');
      if (body.direction !== undefined && typeof body.direction !== 'string') throw new AppError('VALIDATION', { detail: '通行方向应为 in（入校）或 out（离校）' });

      const { device, key } = await createDevice(ctx, { schoolCode: school.code, kind: body.kind, name, lane, direction: body.direction as string | undefined });
      await auditRequest(ctx, request, 'device.create', device.id, { name: device.name, kind: device.kind, lane: device.lane }, { schoolId: school.id });
      const { offlineAfterMs, sinceDay } = await viewContext(ctx, school.id);
      return reply.status(201).send({ device: await viewOf(ctx, device, offlineAfterMs, sinceDay), key, setup: setupText(device) });
    },
  );

  app.post(
    '/schools/:code/devices/:id/rotate-key',
    { schema: { tags: ['gate'], summary: 'Replace a device key; the old key stops working; the reply carries the new key once', params: DeviceParams, response: { 200: KeyReply } } },
    async (request) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);

      const device = await getDeviceOfSchoolOrThrow(ctx, school.id, request.params.id);
      const key = await rotateDeviceKey(ctx, device);
      await auditRequest(ctx, request, 'device.rotate_key', device.id, { name: device.name }, { schoolId: school.id });
      const { offlineAfterMs, sinceDay } = await viewContext(ctx, school.id);
      return { device: await viewOf(ctx, device, offlineAfterMs, sinceDay), key, setup: setupText(device) };
    },
  );

  app.post(
    '/schools/:code/devices/:id/:action',
    {
      schema: {
        tags: ['gate'],
        summary: 'Disable a device (its key is refused) or enable it again',
        params: Type.Object({ code: SchoolCode(), id: DeviceId(), action: Type.Union([Type.Literal('disable'), Type.Literal('enable')], { title: '操作' }) }),
        response: { 200: DeviceView },
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ADMIN_ROLES });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);

      const device = await getDeviceOfSchoolOrThrow(ctx, school.id, request.params.id);
      const updated = await setDeviceActive(ctx, device, request.params.action === 'enable');
      await auditRequest(ctx, request, `device.${request.params.action}`, device.id, { name: device.name }, { schoolId: school.id });
      const { offlineAfterMs, sinceDay } = await viewContext(ctx, school.id);
      return viewOf(ctx, updated, offlineAfterMs, sinceDay);
    },
  );
}
