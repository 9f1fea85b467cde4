import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import type { VenueKind, VenueStatus } from '../../db/schema.js';
import type { HttpApp } from '../../http.js';
import { AppError } from '../../shared/errors.js';
import { readLocalDateTime } from '../../shared/text-formats.js';
import { formatLocalDateTime, schoolDay } from '../../shared/time.js';
import { requireUser, type UserRole } from '../auth/index.js';
import { busLineLabel, normalizeBusLine } from './bus-fields.js';
import { checkIdentity, checkinWithCard, recordCheckin, type CheckinOutcome } from './checkin.js';
import { KIND_LABELS, maskName, verdictOfCheckin } from './checkin-display.js';
import { venueHeadline } from './pages.js';
import { posterDocument, qrPng, qrSvg, type PosterSize } from './posters.js';
import { purgeExpiredCheckins } from './retention.js';
import * as service from './service.js';
import type { VenueDeviceRow, VenueRow } from './store.js';
import { XLSX_CONTENT_TYPE, traceVenue, tracePerson, writeTraceXlsx, type TraceResult } from './tracing.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The card reader or staff phone that authenticated this request, on /venue-devices/* routes. */
    venueDevice: VenueDeviceRow | null;
  }
}

const MANAGER_ROLES: readonly UserRole[] = ['district_admin', 'school_admin'];
const TRACE_ROLES: readonly UserRole[] = ['task_force', 'district_admin'];

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
// Each value carries its Chinese name, which validation messages show beside the key.
const VenueKindSchema = Type.Union(
  service.VENUE_KINDS.map((kind) => Type.Literal(kind, { title: KIND_LABELS[kind] })),
  { title: '场所类型' },
);

const NewVenueBody = Type.Object({
  kind: Type.String({ title: '场所类型', description: 'bus, shop, school_gate, hall or other' }),
  name: Type.String({ title: '场所名称' }),
  operator: Type.String({ title: '运营单位', description: 'The organisation that runs the venue' }),
  address: Type.Optional(Nullable(Type.String({ title: '地址' }))),
  line: Type.Optional(Nullable(Type.String({ title: '线路', description: 'Bus line, buses only' }))),
  plate: Type.Optional(Nullable(Type.String({ title: '车牌', description: 'Licence plate, buses only' }))),
  schoolCode: Type.Optional(Nullable(Type.String({ title: '学校代码' }))),
  latitude: Type.Optional(Type.Union([Type.Number(), Type.Null()], { title: '纬度' })),
  longitude: Type.Optional(Type.Union([Type.Number(), Type.Null()], { title: '经度' })),
});

const VenueReply = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  address: Type.Union([Type.String(), Type.Null()]),
  operator: Type.String(),
  line: Type.Union([Type.String(), Type.Null()]),
  plate: Type.Union([Type.String(), Type.Null()]),
  schoolId: Type.Union([Type.String(), Type.Null()]),
  latitude: Type.Union([Type.Number(), Type.Null()]),
  longitude: Type.Union([Type.Number(), Type.Null()]),
  status: Type.String(),
  codeVersion: Type.Integer(),
  codeIssuedAt: Type.Number(),
  codeUrl: Type.String({ description: 'The URL in the QR code' }),
  createdAt: Type.Number(),
  retiredAt: Type.Union([Type.Number(), Type.Null()]),
});

/** The `:id` of a venue, venue device or far-apart flag, labelled by `title`. */
const IdParams = (title: string) => Type.Object({ id: Type.String({ title }) });
const VenueIdParams = IdParams('场所 ID');

const Instant = (title: string) => Type.Union([Type.Number(), Type.String()], { title, description: "Epoch ms, or 'YYYY-MM-DD HH:MM' Beijing time" });
const VenueId = () => Type.String({ title: '场所 ID' });
const TracePurpose = () => Type.String({ title: '查询目的', description: 'Why the task force asks; stored in the audit log' });
const TraceFormat = () => Type.Union([Type.Literal('json'), Type.Literal('xlsx')], { title: '导出格式' });
const PosterSize = () => Type.Union([Type.Literal('a4'), Type.Literal('bus')], { title: '海报尺寸' });

const TraceVenueBody = Type.Object({
  venueId: Type.Optional(VenueId()),
  line: Type.Optional(Type.String({ title: '线路' })),
  operator: Type.Optional(Type.String({ title: '运营单位' })),
  from: Instant('开始时间'),
  to: Instant('结束时间'),
  purpose: TracePurpose(),
  format: Type.Optional(TraceFormat()),
});

const TracePersonBody = Type.Object({
  idNumber: Type.Optional(Type.String({ title: '身份证号' })),
  phone: Type.Optional(Type.String({ title: '手机号' })),
  from: Instant('开始时间'),
  to: Instant('结束时间'),
  purpose: TracePurpose(),
  format: Type.Optional(TraceFormat()),
});

const ColorSchema = Type.Union([Type.Literal('green'), Type.Literal('yellow'), Type.Literal('red')], { title: '健康码颜色' });

const ManualCheckinBody = Type.Object({
  venueId: Type.Optional(VenueId()),
  name: Type.String({ title: '姓名' }),
  idNumber: Type.Optional(Type.String({ title: '身份证号' })),
  phone: Type.Optional(Type.String({ title: '手机号' })),
  codeSeen: Type.Boolean({ title: '是否已查看健康码', description: 'The staff saw the person’s health code' }),
  seenColor: Type.Optional(ColorSchema),
});

const CardCheckinBody = Type.Object({
  venueId: Type.Optional(VenueId()),
  cardNumber: Type.Union([Type.String(), Type.Number()], { title: '卡号' }),
  typed: Type.Optional(Type.Boolean({ title: '是否手工输入卡号', description: 'True when staff typed the number instead of swiping' })),
});

/**
 * Read an instant given as epoch ms or as 'YYYY-MM-DD HH:MM' in Beijing time. `field` names
 * the field in the message, as in 开始时间（from）, and `today` is the example day.
 */
function parseInstant(value: number | string, field: string, today: string): number {
  if (typeof value === 'number') return value;
  const reading = readLocalDateTime(value, `“${value}”`, today);
  if (!reading.ok) throw new AppError('VALIDATION', { detail: `${field}${reading.problem}` });
  return reading.instant;
}

/** Build the reply of a check-in for a device or a JSON client. */
export function checkinReply(venue: VenueRow, outcome: CheckinOutcome) {
  const verdict = verdictOfCheckin(outcome.checkin);
  return {
    checkinId: outcome.checkin.id,
    duplicate: outcome.duplicate,
    // What the bureau lookup returned; the verdict may show the colour the staff saw instead.
    codeColor: outcome.checkin.code_color,
    seenColor: outcome.checkin.seen_color,
    verifiedBy: verdict.source,
    verdict: verdict.verdict,
    symbol: verdict.symbol,
    label: verdict.label,
    advice: verdict.advice,
    color: verdict.color,
    maskedName: maskName(outcome.checkin.name),
    method: outcome.checkin.method,
    venue: venueHeadline(venue),
    checkedInAt: outcome.checkin.checked_in_at,
  };
}

async function sendTrace(reply: import('fastify').FastifyReply, result: TraceResult, format: 'json' | 'xlsx' | undefined, title: string) {
  if (format === 'xlsx') {
    const file = await writeTraceXlsx(title, result);
    return reply
      .header('content-type', XLSX_CONTENT_TYPE)
      .header('content-disposition', `attachment; filename="venue-trace.xlsx"; filename*=UTF-8''${encodeURIComponent(title)}.xlsx`)
      .header('cache-control', 'no-store')
      .send(file);
  }
  return reply.header('cache-control', 'no-store').send(result);
}

/**
 * Routes of venue codes under /api: venues and their codes and posters, card readers and
 * staff phones (device API), cards, tracing, review flags and retention runs. The phone
 * pages are in page-routes.ts.
 */
export async function venueRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.decorateRequest('venueDevice', null);
  await app.register(async (scope) => venueDeviceRoutes(scope as unknown as HttpApp, ctx));

  app.post('/venues', { schema: { tags: ['venues'], summary: 'Register a venue', body: NewVenueBody, response: { 200: VenueReply } } }, async (request) => {
    const user = requireUser(request, { roles: MANAGER_ROLES });
    const [venue] = await service.createVenues(ctx, user, [request.body], request.ip);
    return venue;
  });

  app.post(
    '/venues/batch',
    { schema: { tags: ['venues'], summary: 'Register many venues at once, for example a bus fleet', body: Type.Object({ venues: Type.Array(NewVenueBody, { maxItems: service.MAX_VENUE_BATCH, title: '场所列表' }) }), response: { 200: Type.Object({ venues: Type.Array(VenueReply) }) } } },
    async (request) => {
      const user = requireUser(request, { roles: MANAGER_ROLES });
      return { venues: await service.createVenues(ctx, user, request.body.venues, request.ip) };
    },
  );

  app.get(
    '/venues',
    {
      schema: {
        tags: ['venues'],
        summary: 'List venues',
        querystring: Type.Object({
          operator: Type.Optional(Type.String({ title: '运营单位' })),
          line: Type.Optional(Type.String({ title: '线路' })),
          kind: Type.Optional(VenueKindSchema),
          status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('retired')], { title: '状态' })),
          search: Type.Optional(Type.String({ title: '搜索词' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, title: '每页条数' })),
          offset: Type.Optional(Type.Integer({ minimum: 0, title: '跳过条数' })),
        }),
        response: { 200: Type.Object({ venues: Type.Array(VenueReply), total: Type.Integer() }) },
      },
    },
    async (request) => {
      // The task force lists venues to pick one to trace; it cannot change them.
      const user = requireUser(request, { roles: [...MANAGER_ROLES, 'task_force'] });
      const query = request.query as { kind?: VenueKind; status?: VenueStatus } & Record<string, unknown>;
      return service.listVenues(ctx, user, { ...(request.query as object), kind: query.kind, status: query.status });
    },
  );

  app.get('/venues/:id', { schema: { tags: ['venues'], summary: 'One venue', params: VenueIdParams, response: { 200: VenueReply } } }, async (request) => {
    const user = requireUser(request, { roles: MANAGER_ROLES });
    const venue = await service.getVenueOrThrow(ctx, request.params.id);
    service.assertVenueScope(user, venue);
    return service.toVenueView(ctx, venue);
  });

  app.patch(
    '/venues/:id',
    {
      schema: {
        tags: ['venues'],
        summary: 'Change a venue’s details (the code stays valid)',
        params: VenueIdParams,
        body: Type.Partial(Type.Omit(NewVenueBody, ['kind', 'schoolCode'])),
        response: { 200: VenueReply },
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: MANAGER_ROLES });
      return service.updateVenue(ctx, user, request.params.id, request.body, request.ip);
    },
  );

  app.post(
    '/venues/:id/reissue',
    { schema: { tags: ['venues'], summary: 'Issue a new code version; the old posters stop working', params: VenueIdParams, body: Type.Object({ reason: Type.Optional(Type.String({ title: '换码原因' })) }), response: { 200: VenueReply } } },
    async (request) => {
      const user = requireUser(request, { roles: MANAGER_ROLES });
      return service.reissueVenueCode(ctx, user, request.params.id, request.body.reason ?? '', request.ip);
    },
  );

  app.post('/venues/:id/retire', { schema: { tags: ['venues'], summary: 'Retire a venue and its code', params: VenueIdParams, response: { 200: VenueReply } } }, async (request) => {
    const user = requireUser(request, { roles: MANAGER_ROLES });
    return service.retireVenue(ctx, user, request.params.id, request.ip);
  });

  app.get(
    '/venues/:id/qr.png',
    { schema: { tags: ['venues'], summary: 'The venue’s QR code as PNG', params: VenueIdParams, querystring: Type.Object({ width: Type.Optional(Type.Integer({ minimum: 128, maximum: 4096, title: '图片宽度（像素）' })) }) } },
    async (request, reply) => {
      const venue = await managedVenue(ctx, request, request.params.id);
      const png = await qrPng(service.codeUrlOf(ctx, venue), (request.query as { width?: number }).width);
      return reply.header('content-type', 'image/png').header('content-disposition', `inline; filename="venue-${venue.id}-v${venue.code_version}.png"`).send(png);
    },
  );

  app.get('/venues/:id/qr.svg', { schema: { tags: ['venues'], summary: 'The venue’s QR code as SVG', params: VenueIdParams } }, async (request, reply) => {
    const venue = await managedVenue(ctx, request, request.params.id);
    return reply.header('content-type', 'image/svg+xml; charset=utf-8').header('content-disposition', `inline; filename="venue-${venue.id}-v${venue.code_version}.svg"`).send(await qrSvg(service.codeUrlOf(ctx, venue)));
  });

  const PosterQuery = Type.Object({ size: Type.Optional(PosterSize()) });

  app.get('/venues/:id/poster', { schema: { tags: ['venues'], summary: 'Printable poster (HTML, A4 or bus window)', params: VenueIdParams, querystring: PosterQuery } }, async (request, reply) => {
    const venue = await managedVenue(ctx, request, request.params.id);
    if (venue.status === 'retired') throw new AppError('CONFLICT', { detail: `场所“${venue.name}”已停用，不能打印场所码` });
    const size: PosterSize = (request.query as { size?: PosterSize }).size ?? (venue.kind === 'bus' ? 'bus' : 'a4');
    return reply.type('text/html; charset=utf-8').send(await posterDocument(ctx, [venue], size, `场所码 ${venueHeadline(venue)}`));
  });

  app.get(
    '/venue-posters',
    {
      schema: {
        tags: ['venues'],
        summary: 'Posters of every active vehicle of a bus line, one per page',
        querystring: Type.Object({ line: Type.String({ title: '线路' }), operator: Type.Optional(Type.String({ title: '运营单位' })), size: Type.Optional(PosterSize()) }),
      },
    },
    async (request, reply) => {
      const user = requireUser(request, { roles: MANAGER_ROLES });
      const query = request.query as { line: string; operator?: string; size?: PosterSize };
      const { venues } = await service.listVenues(ctx, user, { line: query.line, operator: query.operator, status: 'active', limit: 1000 });
      if (venues.length === 0) throw new AppError('NOT_FOUND', { what: '线路的在用车辆', value: query.line });
      const rows = await Promise.all(venues.map((v) => service.getVenueOrThrow(ctx, v.id)));
      const title = `场所码 ${busLineLabel(normalizeBusLine(query.line) || query.line)} 共 ${rows.length} 辆`;
      return reply.type('text/html; charset=utf-8').send(await posterDocument(ctx, rows, query.size ?? 'bus', title));
    },
  );

  // --- device registration ---

  app.post(
    '/venue-devices',
    {
      schema: {
        tags: ['venues'],
        summary: 'Register a card reader or a staff phone; the key is shown once',
        body: Type.Object({
          kind: Type.String({ title: '设备类型', description: 'card_reader or staff_phone' }),
          name: Type.String({ title: '设备名称' }),
          venueId: Type.Optional(VenueId()),
          operator: Type.Optional(Type.String({ title: '运营单位' })),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: MANAGER_ROLES });
      const { device, key } = await service.createVenueDevice(ctx, user, request.body, request.ip);
      return venueDeviceKeyReply(ctx, device, key);
    },
  );

  app.get(
    '/venue-devices',
    {
      schema: {
        tags: ['venues'],
        summary: 'List card readers and staff phones: one venue’s for its managers, all for the district',
        querystring: Type.Object({ operator: Type.Optional(Type.String({ title: '运营单位' })), venueId: Type.Optional(VenueId()) }),
      },
    },
    async (request) => {
      const query = request.query as { operator?: string; venueId?: string };
      if (query.venueId) {
        const user = requireUser(request, { roles: MANAGER_ROLES });
        return { devices: (await service.listDevicesOfVenue(ctx, user, query.venueId)).map(venueDeviceView) };
      }
      requireUser(request, { roles: ['district_admin'] });
      return { devices: (await service.listVenueDevices(ctx, query.operator)).map(venueDeviceView) };
    },
  );

  app.post('/venue-devices/:id/rotate-key', { schema: { tags: ['venues'], summary: 'Give a card reader or staff phone a new key; the old key stops working', params: IdParams('登记设备 ID') } }, async (request) => {
    const user = requireUser(request, { roles: MANAGER_ROLES });
    const { device, key } = await service.rotateVenueDeviceKey(ctx, user, request.params.id, request.ip);
    return venueDeviceKeyReply(ctx, device, key);
  });

  app.post('/venue-devices/:id/retire', { schema: { tags: ['venues'], summary: 'Retire a card reader or staff phone', params: IdParams('登记设备 ID') } }, async (request) => {
    const user = requireUser(request, { roles: MANAGER_ROLES });
    await service.retireVenueDevice(ctx, user, request.params.id, request.ip);
    return { ok: true };
  });

  // --- cards ---

  app.post(
    '/venue-cards',
    {
      schema: {
        tags: ['venues'],
        summary: 'Register a senior, student or citizen card with its holder',
        body: Type.Object({
          kind: Type.String({ title: '卡类型' }),
          cardNumber: Type.String({ title: '卡号' }),
          holderName: Type.String({ title: '持卡人姓名' }),
          idNumber: Type.String({ title: '身份证号' }),
          phone: Type.Optional(Type.String({ title: '手机号' })),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin'] });
      return service.registerCard(ctx, user, request.body, request.ip);
    },
  );

  app.post('/venue-cards/lost', { schema: { tags: ['venues'], summary: 'Report a card lost', body: Type.Object({ cardNumber: Type.String({ title: '卡号' }) }) } }, async (request) => {
    const user = requireUser(request, { roles: ['district_admin'] });
    return service.reportCardLost(ctx, user, request.body.cardNumber, request.ip);
  });

  // --- tracing ---

  app.post('/venue-tracing/venue', { schema: { tags: ['venues'], summary: 'Everyone at a venue or on a bus line between two times', body: TraceVenueBody } }, async (request, reply) => {
    const user = requireUser(request, { roles: TRACE_ROLES });
    const body = request.body;
    const from = parseInstant(body.from, '开始时间（from）', schoolDay(ctx.now()));
    const to = parseInstant(body.to, '结束时间（to）', schoolDay(ctx.now()));
    const result = await traceVenue(ctx, user, { ...body, from, to }, { ip: request.ip, export: body.format === 'xlsx' });
    const what = body.venueId ? (result.entries[0]?.venueName ?? '场所') : busLineLabel(normalizeBusLine(body.line ?? ''));
    return sendTrace(reply, result, body.format, `${what} ${formatLocalDateTime(from)} 至 ${formatLocalDateTime(to)} 登记记录`);
  });

  app.post('/venue-tracing/person', { schema: { tags: ['venues'], summary: 'Every venue one person checked in at in a period', body: TracePersonBody } }, async (request, reply) => {
    const user = requireUser(request, { roles: TRACE_ROLES });
    const body = request.body;
    const from = parseInstant(body.from, '开始时间（from）', schoolDay(ctx.now()));
    const to = parseInstant(body.to, '结束时间（to）', schoolDay(ctx.now()));
    const result = await tracePerson(ctx, user, { ...body, from, to }, { ip: request.ip, export: body.format === 'xlsx' });
    return sendTrace(reply, result, body.format, `个人行程 ${formatLocalDateTime(from)} 至 ${formatLocalDateTime(to)}`);
  });

  // --- flags and retention ---

  app.get('/venue-flags', { schema: { tags: ['venues'], summary: 'Far-apart check-ins for review', querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('reviewed')], { title: '核查状态' })) }) } }, async (request) => {
    requireUser(request, { roles: TRACE_ROLES });
    const flags = await service.listFlags(ctx, (request.query as { status?: 'open' | 'reviewed' }).status);
    return {
      flags: flags.map((f) => ({ id: f.id, checkinId: f.checkin_id, previousCheckinId: f.previous_checkin_id, distanceM: f.distance_m, minutes: f.minutes, status: f.status, createdAt: f.created_at, reviewedBy: f.reviewed_by, reviewedAt: f.reviewed_at, reviewNote: f.review_note })),
    };
  });

  app.post('/venue-flags/:id/review', { schema: { tags: ['venues'], summary: 'Mark a far-apart flag reviewed', params: IdParams('异地登记核查 ID'), body: Type.Object({ note: Type.Optional(Type.String({ title: '核查说明' })) }) } }, async (request) => {
    const user = requireUser(request, { roles: TRACE_ROLES });
    const flag = await service.reviewFlag(ctx, user, request.params.id, request.body.note ?? '', request.ip);
    return { id: flag.id, status: flag.status, reviewedBy: flag.reviewed_by, reviewedAt: flag.reviewed_at };
  });

  app.get('/venue-retention-runs', { schema: { tags: ['venues'], summary: 'Recent check-in retention runs with their counts' } }, async (request) => {
    requireUser(request, { roles: ['district_admin'] });
    const runs = await service.listRetentionRuns(ctx);
    return { retentionDays: ctx.config.venues.retentionDays, runs: runs.map((r) => ({ id: r.id, ranAt: r.ran_at, cutoff: r.cutoff, retentionDays: r.retention_days, checkinsDeleted: r.checkins_deleted, flagsDeleted: r.flags_deleted, durationMs: r.duration_ms })) };
  });

  app.post('/venue-retention-runs', { schema: { tags: ['venues'], summary: 'Run check-in retention now' } }, async (request) => {
    requireUser(request, { roles: ['district_admin'] });
    return purgeExpiredCheckins(ctx);
  });
}

function venueDeviceView(device: VenueDeviceRow) {
  return { id: device.id, kind: device.kind, name: device.name, operator: device.operator, venueId: device.venue_id, active: device.active === 1, lastSeenAt: device.last_seen_at };
}

/** Build the reply that carries a device's credential `<id>.<key>`, the only time it is shown. */
function venueDeviceKeyReply(ctx: AppContext, device: VenueDeviceRow, key: string) {
  const credential = `${device.id}.${key}`;
  return {
    id: device.id,
    kind: device.kind,
    name: device.name,
    operator: device.operator,
    venueId: device.venue_id,
    key: credential,
    setupUrl: device.kind === 'staff_phone' ? `${ctx.config.venues.publicUrl}/v/staff#key=${credential}` : null,
  };
}

async function managedVenue(ctx: AppContext, request: FastifyRequest, id: string): Promise<VenueRow> {
  const user = requireUser(request, { roles: MANAGER_ROLES });
  const venue = await service.getVenueOrThrow(ctx, id);
  service.assertVenueScope(user, venue);
  return venue;
}

function deviceUnauthorized(): AppError {
  return new AppError('UNAUTHORIZED', { detail: '设备认证失败：请在 Authorization 头中提供 Bearer <设备ID>.<设备密钥>，或用管理员发的设置链接重新打开' });
}

/**
 * Register the device API of card readers and staff phones, which authenticate with
 * `Authorization: Bearer <id>.<key>`. A card reader may only report swipes. A staff
 * phone may register people by hand and type card numbers.
 */
async function venueDeviceRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.addHook('onRequest', async (request) => {
    const credentials = service.parseVenueDeviceBearer(request.headers.authorization);
    const device = credentials ? await service.authenticateVenueDevice(ctx, credentials.deviceId, credentials.key) : undefined;
    if (!device) {
      request.log.warn({ deviceId: credentials?.deviceId ?? null, ip: request.ip }, 'venue device authentication failed');
      throw deviceUnauthorized();
    }
    request.venueDevice = device;
  });

  app.get('/venue-devices/me', { schema: { tags: ['venues'], summary: 'The calling device, its venues and today’s frame colour' } }, async (request) => {
    const device = request.venueDevice!;
    const venues = await service.venuesOfDevice(ctx, device);
    return {
      device: { id: device.id, kind: device.kind, name: device.name, operator: device.operator },
      venues: venues.map((v) => ({ id: v.id, label: venueHeadline(v), kind: v.kind, operator: v.operator })),
      today: service.frameColorOf(ctx),
    };
  });

  app.post('/venue-devices/card-checkins', { schema: { tags: ['venues'], summary: 'Check in with a card swiped at a reader or typed by staff', body: CardCheckinBody } }, async (request) => {
    const device = request.venueDevice!;
    const typed = request.body.typed === true;
    if (typed && device.kind !== 'staff_phone') throw new AppError('FORBIDDEN', { detail: '读卡器只能上报刷卡，手工输入卡号请用工作人员手机' });
    if (!typed && device.kind !== 'card_reader') throw new AppError('FORBIDDEN', { detail: '工作人员手机输入卡号时请标明 typed: true' });
    const venue = await service.venueForDevice(ctx, device, request.body.venueId);
    const outcome = await checkinWithCard(ctx, venue, String(request.body.cardNumber), typed ? 'card_typed' : 'card_reader', device.id);
    return checkinReply(venue, outcome);
  });

  app.post('/venue-devices/manual-checkins', { schema: { tags: ['venues'], summary: 'Register a person by hand on a staff phone', body: ManualCheckinBody } }, async (request) => {
    const device = request.venueDevice!;
    if (device.kind !== 'staff_phone') throw new AppError('FORBIDDEN', { detail: '只有工作人员手机可以代为登记' });
    const venue = await service.venueForDevice(ctx, device, request.body.venueId);
    const identity = checkIdentity(ctx, request.body);
    const outcome = await recordCheckin(ctx, { venue, method: 'manual', identity, deviceId: device.id, codeSeen: request.body.codeSeen, seenColor: request.body.seenColor });
    return checkinReply(venue, outcome);
  });
}
