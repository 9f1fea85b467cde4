import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { AppError } from '../../shared/errors.js';
import { schoolDay } from '../../shared/time.js';
import { assertSchoolScope, auditRequest, classScopeOf, listClassScope, requireUser } from '../auth/index.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { listAlerts, recordRecheck, updateAlertStatus } from './alerts.js';
import { getAttendanceDay } from './attendance.js';
import { handleDeviceEvent } from './device-events.js';
import { entryWindowRoutes } from './entry-window-routes.js';
import { DEVICE_EVENT_FIELD_LABELS as LABELS, MAX_IMAGE_BYTES } from './device-event-input.js';
import { deviceAdminRoutes } from './device-admin-routes.js';
import { DIGEST_REALM, authenticateDevice, authenticateDigest, markDeviceSeen, parseDeviceBearer } from './devices.js';
import { readTerminalPush } from './hikvision.js';
import { subscribeDecisions, subscribePresenceChanges, type LiveDecision, type LivePresenceChange } from './live.js';
import { getSnapshotFileOrThrow, searchGateEvents } from './service.js';
import type { DeviceRow } from './store.js';
import { enqueueTerminalPush } from './terminal-events.js';
import { thresholdRoutes } from './threshold-routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The device that authenticated this request, on device and terminal routes. */
    gateDevice: DeviceRow | null;
  }
}

/** Base64 grows a 5 MB picture to 6.7 MB; the rest of the event is small. */
const DEVICE_BODY_LIMIT = Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 64 * 1024;
/** A terminal push: the event JSON and one picture, which terminals keep under 1 MB. */
const TERMINAL_BODY_LIMIT = 8 * 1024 * 1024;
/** Digest nonces are valid this long. */
const NONCE_TTL_MS = 5 * 60_000;
/** Server-sent-event comment interval, so proxies keep the stream open. */
const SSE_HEARTBEAT_MS = 15_000;

const DecisionReply = Type.Object({
  eventId: Type.String(),
  duplicate: Type.Boolean({ description: 'True when this eventId was already recorded; the stored decision is returned' }),
  decision: Type.Union([Type.Literal('pass'), Type.Literal('deny')]),
  reason: Type.String({ description: 'Reason code: ok, fever, sensor_error, code_red, code_yellow, code_unknown, code_stale, unknown_person, weak_match, ...' }),
  prompt: Type.String({ description: 'Chinese text for the lane screen and voice' }),
  flags: Type.Array(Type.String()),
  personId: Type.Union([Type.String(), Type.Null()]),
  personName: Type.Union([Type.String(), Type.Null()]),
  occurredAt: Type.Number(),
});

const DeviceEventBody = Type.Object(
  {
    eventId: Type.Union([Type.String(), Type.Integer()], { title: LABELS.eventId }),
    occurredAt: Type.Union([Type.Integer(), Type.String()], { title: LABELS.occurredAt }),
    temperature: Type.Optional(Type.Union([Type.Number(), Type.Null()], { title: LABELS.temperature })),
    descriptor: Type.Optional(Type.Array(Type.Unknown(), { title: LABELS.descriptor, description: '128 finite floats from the face model' })),
    imageBase64: Type.Optional(Type.String({ title: LABELS.imageBase64, description: 'JPEG, at most 5 MB before encoding' })),
    cardNumber: Type.Optional(Type.Union([Type.String(), Type.Number()], { title: LABELS.cardNumber })),
    idNumber: Type.Optional(Type.String({ title: LABELS.idNumber })),
    personId: Type.Optional(Type.String({ title: LABELS.personId, description: 'A person the guard identified by hand' })),
  },
  { additionalProperties: true },
);

const SchoolCode = () => Type.String({ title: '学校代码' });
const SchoolParams = Type.Object({ code: SchoolCode() });
/** Build the path parameters of a school and one of its alerts or gate events, the id labelled `idTitle`. */
const SchoolItemParams = (idTitle: string) => Type.Object({ code: SchoolCode(), id: Type.String({ title: idTitle }) });

function deviceUnauthorized(): AppError {
  return new AppError('UNAUTHORIZED', { detail: '设备认证失败：请在 Authorization 头中提供 Bearer <设备ID>.<设备密钥>' });
}

/**
 * Routes of the gate.
 *
 * Device API authentication: `Authorization: Bearer <deviceId>.<key>`, the key shown once
 * by `fangkong device add`. Bearer keys over TLS were chosen over request signing because
 * kiosks and lane controllers can send a static header but rarely keep a clock good
 * enough for signed timestamps. A missing or wrong key gives 401, is logged with the
 * device id and address (never the key), and records nothing.
 *
 * Hikvision terminals authenticate with the device key as the `token` query parameter
 * (the URL configured on the terminal), or with HTTP Digest (user name = device id,
 * password = device key, realm "fangkong"), which terminals send after a 401 challenge.
 */
export async function gateRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.decorateRequest('gateDevice', null);

  await app.register(async (scope) => deviceApiRoutes(scope as unknown as HttpApp, ctx));
  await app.register(async (scope) => terminalRoutes(scope as unknown as HttpApp, ctx));
  await schoolGateRoutes(app, ctx);
  await entryWindowRoutes(app, ctx);
  await deviceAdminRoutes(app, ctx);
  await thresholdRoutes(app, ctx);
}

function logRejectedDevice(request: FastifyRequest, deviceId: string | undefined, reason: string): void {
  request.log.warn({ deviceId: deviceId ?? null, ip: request.ip, url: request.routeOptions.url, reason }, 'device authentication failed');
}

async function deviceApiRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  // A bare NaN or Infinity is not JSON; name it, since that is what a broken descriptor looks like.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: DEVICE_BODY_LIMIT }, (_request, text, done) => {
    try {
      done(null, text === '' ? {} : JSON.parse(text as string));
    } catch {
      const detail = /\b(NaN|-?Infinity)\b/.test(text as string)
        ? '请求体含有 NaN 或 Infinity，不是有效的 JSON。人脸特征值（descriptor）的 128 个值都应为有限数，请检查人脸模型的输出后重发'
        : '请求体不是有效的 JSON，请检查引号、逗号和括号后重发';
      done(new AppError('VALIDATION', { detail }), undefined);
    }
  });

  // Authenticate before the body is read, so an unauthenticated upload is not parsed.
  app.addHook('onRequest', async (request) => {
    const credentials = parseDeviceBearer(request.headers.authorization);
    if (!credentials) {
      logRejectedDevice(request, undefined, 'missing or malformed bearer');
      throw deviceUnauthorized();
    }
    const device = await authenticateDevice(ctx, credentials.deviceId, credentials.key);
    if (!device) {
      logRejectedDevice(request, credentials.deviceId, 'unknown device or wrong key');
      throw deviceUnauthorized();
    }
    request.gateDevice = device;
  });

  app.post(
    '/devices/events',
    {
      bodyLimit: DEVICE_BODY_LIMIT,
      schema: { tags: ['gate'], summary: 'Decide one entry attempt of a lane', body: DeviceEventBody, response: { 200: DecisionReply } },
    },
    async (request) => {
      const outcome = await handleDeviceEvent(ctx, request.gateDevice!, request.body);
      return {
        eventId: outcome.eventId,
        duplicate: outcome.duplicate,
        decision: outcome.decision,
        reason: outcome.reason,
        prompt: outcome.prompt,
        flags: outcome.flags,
        personId: outcome.personId,
        personName: outcome.personName,
        occurredAt: outcome.occurredAt,
      };
    },
  );

  // Lanes send heartbeats all day (the kiosk page and the demo terminals every 30 s),
  // so routine heartbeats stay out of the info log.
  // Rejected keys are still logged, at warn, by the device authentication above.
  app.post('/devices/heartbeat', { logLevel: 'warn', schema: { tags: ['gate'], summary: 'Tell the platform the lane is alive' } }, async (request) => {
    await markDeviceSeen(ctx, request.gateDevice!);
    return { ok: true, serverTime: ctx.now() };
  });
}

/** Issue a stateless Digest nonce: the issue time and its keyed hash. */
function issueNonce(ctx: AppContext): string {
  const issuedAt = String(ctx.now());
  return `${issuedAt}.${ctx.cipher.hash(`digest-nonce:${issuedAt}`).slice(0, 32)}`;
}

function isNonceValid(ctx: AppContext, nonce: string): boolean {
  const [issuedAt, mac] = nonce.split('.');
  if (!issuedAt || !mac || !/^\d+$/.test(issuedAt)) return false;
  const expected = Buffer.from(ctx.cipher.hash(`digest-nonce:${issuedAt}`).slice(0, 32));
  const actual = Buffer.from(mac);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return false;
  const age = ctx.now() - Number(issuedAt);
  return age >= 0 && age <= NONCE_TTL_MS;
}

async function terminalRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  // This route reads the raw body itself (tolerant multipart, JSON or XML), bounded in size.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: TERMINAL_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.addHook('onRequest', async (request, reply) => {
    const deviceId = (request.params as { deviceId?: string }).deviceId ?? '';
    const token = (request.query as { token?: string }).token;
    const authorization = request.headers.authorization;

    let device: DeviceRow | undefined;
    if (typeof token === 'string' && token !== '') device = await authenticateDevice(ctx, deviceId, token);
    else if (authorization?.startsWith('Digest ')) device = await authenticateDigest(ctx, deviceId, request.method, authorization, (n) => isNonceValid(ctx, n));

    if (!device || device.kind !== 'hikvision') {
      let reason = 'no credentials';
      if (device) reason = 'not a hikvision device';
      else if (token) reason = 'wrong token';
      else if (authorization) reason = 'wrong digest';
      logRejectedDevice(request, deviceId, reason);
      await challenge(ctx, reply);
      return reply;
    }
    request.gateDevice = device;
    // Some firmware sends no Content-Type (or an empty one); the body is sniffed anyway.
    if (!request.headers['content-type']?.trim()) request.headers['content-type'] = 'application/octet-stream';
  });

  app.post<{ Params: { deviceId: string } }>(
    '/terminals/hikvision/:deviceId/events',
    { schema: { tags: ['gate'], summary: 'Hikvision ISAPI event push (listening mode)', hide: false } },
    async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const push = readTerminalPush(body, request.headers['content-type']);
      enqueueTerminalPush(ctx, request.gateDevice!, push);
      return reply.status(200).send({ statusCode: 1, statusString: 'OK', subStatusCode: 'ok' });
    },
  );
}

async function challenge(ctx: AppContext, reply: FastifyReply): Promise<void> {
  const error = new AppError('UNAUTHORIZED', { detail: '终端认证失败：请在终端的监听地址末尾加上 ?token=<设备密钥>，或设置 HTTP Digest 认证（用户名为设备ID，密码为设备密钥）' });
  reply.header('WWW-Authenticate', `Digest realm="${DIGEST_REALM}", qop="auth", algorithm=MD5, nonce="${issueNonce(ctx)}"`);
  await reply.status(401).send({ error: error.code, message: error.userMessage });
}

async function schoolGateRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  // Open streams never go idle, so they are ended before the server closes or it would wait for them.
  const openStreams = new Set<FastifyReply['raw']>();
  app.addHook('preClose', async () => {
    for (const stream of openStreams) stream.end();
    openStreams.clear();
  });

  app.get<{ Params: { code: string } }>(
    '/schools/:code/gate/stream',
    {
      schema: {
        tags: ['gate'],
        summary: 'Live gate decisions (event "decision") and presence changes such as saved class checks (event "presence"), as server-sent events',
        params: SchoolParams,
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      const classScope = classScopeOf(user);

      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      reply.raw.write('retry: 3000\n\n');

      const send = (decision: LiveDecision) => {
        if (classScope && decision.classId !== classScope) return;
        reply.raw.write(`event: decision\nid: ${decision.eventId}\ndata: ${JSON.stringify(decision)}\n\n`);
      };
      // Without an id line, so the browser's Last-Event-ID stays the last decision's.
      const sendPresence = (change: LivePresenceChange) => {
        if (classScope && change.classId !== classScope) return;
        reply.raw.write(`event: presence\ndata: ${JSON.stringify(change)}\n\n`);
      };
      const unsubscribe = subscribeDecisions(ctx, school.id, send);
      const unsubscribePresence = subscribePresenceChanges(ctx, school.id, sendPresence);
      const heartbeat = setInterval(() => reply.raw.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
      openStreams.add(reply.raw);
      request.raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        unsubscribePresence();
        openStreams.delete(reply.raw);
      });
    },
  );

  app.get<{ Params: { code: string }; Querystring: { day?: string; classId?: string; personId?: string; decision?: 'pass' | 'deny'; reason?: string; before?: number; limit?: number } }>(
    '/schools/:code/gate/events',
    {
      schema: {
        tags: ['gate'],
        summary: 'Search gate events',
        params: SchoolParams,
        querystring: Type.Object({
          day: Type.Optional(Type.String({ format: 'date', title: '日期' })),
          classId: Type.Optional(Type.String({ title: '班级 ID' })),
          personId: Type.Optional(Type.String({ title: '人员 ID' })),
          decision: Type.Optional(Type.Union([Type.Literal('pass'), Type.Literal('deny')], { title: '通行结果' })),
          reason: Type.Optional(Type.String({ title: '原因代码' })),
          before: Type.Optional(Type.Integer({ title: '翻页时间点', description: 'Epoch ms; events before it, for the next page' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, title: '条数上限' })),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      const query = request.query;
      const events = await searchGateEvents(ctx, {
        schoolId: school.id,
        day: query.day,
        classId: listClassScope(user, query.classId),
        personId: query.personId,
        decision: query.decision,
        reason: query.reason,
        before: query.before,
        limit: query.limit,
      });
      await auditRequest(ctx, request, 'gate.events.view', school.code, { day: query.day ?? null, personId: query.personId ?? null, count: events.length }, { schoolId: school.id });
      return { events };
    },
  );

  app.get<{ Params: { code: string }; Querystring: { day?: string; classId?: string } }>(
    '/schools/:code/attendance',
    {
      schema: {
        tags: ['gate'],
        summary: 'Arrived and not-arrived pupils per class on a day',
        params: SchoolParams,
        querystring: Type.Object({
          day: Type.Optional(Type.String({ format: 'date', title: '日期' })),
          classId: Type.Optional(Type.String({ title: '班级 ID' })),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request);
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id, { allowClassScoped: true });
      const day = request.query.day ?? schoolDay(ctx.now());
      return getAttendanceDay(ctx, school.id, day, listClassScope(user, request.query.classId));
    },
  );

  app.get<{ Params: { code: string }; Querystring: { status?: 'open' | 'acknowledged' | 'closed'; kind?: 'fever' | 'code' | 'unknown_face' | 'device_offline' } }>(
    '/schools/:code/alerts',
    {
      schema: {
        tags: ['gate'],
        summary: 'Gate alerts of a school, newest first',
        params: SchoolParams,
        querystring: Type.Object({
          status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('acknowledged'), Type.Literal('closed')], { title: '预警状态' })),
          kind: Type.Optional(Type.Union([Type.Literal('fever'), Type.Literal('code'), Type.Literal('unknown_face'), Type.Literal('device_offline')], { title: '预警类型' })),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin', 'school_admin', 'school_doctor', 'guard'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      return { alerts: await listAlerts(ctx, school.id, request.query) };
    },
  );

  app.post<{ Params: { code: string; id: string }; Body: { temperature: number; note?: string } }>(
    '/schools/:code/alerts/:id/recheck',
    {
      schema: {
        tags: ['gate'],
        summary: 'Record a re-check at the observation point for a fever alert',
        params: SchoolItemParams('预警 ID'),
        body: Type.Object({
          temperature: Type.Number({ title: '复测体温', description: 'Degrees Celsius' }),
          note: Type.Optional(Type.String({ maxLength: 500, title: '备注' })),
        }),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin', 'school_admin', 'school_doctor'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      const outcome = await recordRecheck(ctx, school.code, request.params.id, {
        temperature: request.body.temperature,
        measuredBy: user.displayName,
        note: request.body.note ?? null,
      });
      await auditRequest(ctx, request, 'gate.recheck', request.params.id, { result: outcome.result }, { schoolId: school.id });
      return outcome;
    },
  );

  app.post<{ Params: { code: string; id: string; action: 'acknowledge' | 'close' }; Body: { note?: string } }>(
    '/schools/:code/alerts/:id/:action',
    {
      schema: {
        tags: ['gate'],
        summary: 'Acknowledge a gate alert (with an optional handling note) or close it with a note',
        params: Type.Object({ ...SchoolItemParams('预警 ID').properties, action: Type.Union([Type.Literal('acknowledge'), Type.Literal('close')], { title: '操作' }) }),
        body: Type.Optional(Type.Object({ note: Type.Optional(Type.String({ maxLength: 500, title: '处理说明' })) })),
      },
    },
    async (request) => {
      const user = requireUser(request, { roles: ['district_admin', 'school_admin', 'school_doctor', 'guard'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      const alert = await updateAlertStatus(ctx, school.code, request.params.id, { action: request.params.action, note: request.body?.note ?? null, role: user.role, actorName: user.displayName });
      await auditRequest(ctx, request, `gate.alert.${request.params.action}`, alert.id, {}, { schoolId: school.id });
      return alert;
    },
  );

  app.get<{ Params: { code: string; id: string } }>(
    '/schools/:code/gate/events/:id/snapshot',
    { schema: { tags: ['gate'], summary: 'The snapshot of a denied entry (JPEG)', params: SchoolItemParams('通行记录 ID') } },
    async (request, reply) => {
      const user = requireUser(request, { roles: ['district_admin', 'school_admin', 'school_doctor', 'guard'] });
      const school = await getSchoolByCodeOrThrow(ctx, request.params.code);
      assertSchoolScope(user, school.id);
      const file = await getSnapshotFileOrThrow(ctx, school.id, request.params.id);
      const image = await readFile(file).catch(() => {
        throw new AppError('NOT_FOUND', { what: '抓拍图', value: request.params.id });
      });
      await auditRequest(ctx, request, 'gate.snapshot.view', request.params.id, {}, { schoolId: school.id });
      return reply.header('cache-control', 'private, no-store').type('image/jpeg').send(image);
    },
  );
}
