import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { AppError, isAppError } from '../../shared/errors.js';
import { checkIdentity, findCheckin, recordCheckin } from './checkin.js';
import { newNonce, pagePolicy } from './html.js';
import { checkinFormPage, messagePage, refusalPage, resultPage, type FormValues } from './pages.js';
import { checkinReply } from './routes.js';
import { REFUSAL_TEXT, codeUrlOf, frameColorOf, getVenueOrThrow, resolveVenueCode, venueCodeKey } from './service.js';
import { staffPage } from './staff-page.js';

/**
 * The phone pages at the root (outside /api), because the printed QR carries their URL
 * and a short URL makes a QR that scans from further away:
 *
 *   GET  /v/<token>        the check-in form of the venue, or a page saying why the code is refused
 *   POST /v/<token>        check in; a browser is redirected to its result page, a client
 *                          that accepts JSON gets the result as JSON
 *   GET  /v/r/<result>     the live result page of a check-in, valid for RESULT_VALID_MS
 *   GET  /v/staff          the staff phone page
 *
 * Check-ins are limited per IP address and per phone (a random cookie set with the form);
 * both limits come from the settings.
 */

/** A result page is a pass for this long after the check-in. Afterwards it shows that it has expired. */
export const RESULT_VALID_MS = 30 * 60_000;
const DEVICE_COOKIE = 'fk_vdev';
const FORM_BODY_LIMIT = 4096;

function resultToken(key: Buffer, checkinId: string): string {
  return `${checkinId}.${createHmac('sha256', key).update(`result|${checkinId}`).digest().subarray(0, 12).toString('base64url')}`;
}

function checkResultToken(key: Buffer, token: string): string | undefined {
  const match = /^([0-9A-HJKMNP-TV-Z]{26})\.([A-Za-z0-9_-]{16})$/.exec(token);
  if (!match) return undefined;
  const expected = Buffer.from(resultToken(key, match[1]).slice(27), 'base64url');
  const given = Buffer.from(match[2], 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected) ? match[1] : undefined;
}

function sendPage(reply: FastifyReply, status: number, html: string, nonce: string, cache = 'no-store'): FastifyReply {
  return reply
    .status(status)
    .header('content-security-policy', pagePolicy(nonce))
    .header('cache-control', cache)
    .header('x-content-type-options', 'nosniff')
    .type('text/html; charset=utf-8')
    .send(html);
}

function wantsJson(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('application/json');
}

/** Return the token part of /v/<token> as the browser sent it (a doubled URL keeps its slashes). */
function tokenOf(request: FastifyRequest): string {
  const raw = request.url.split('?', 1)[0].slice('/v/'.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export async function venuePageRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  await app.register(rateLimit, { global: false });
  const perIp = app.createRateLimit({ max: ctx.config.venues.checkinsPerIpPerMinute, timeWindow: 60_000, keyGenerator: (request) => `ip:${request.ip}` });
  const perPhone = app.createRateLimit({
    max: ctx.config.venues.checkinsPerPhonePerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `phone:${request.cookies[DEVICE_COOKIE] ?? ''}`,
    // Without the cookie (first request, cookies off) only the IP limit applies.
    allowList: (request) => !request.cookies[DEVICE_COOKIE],
  });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.setErrorHandler((error, request, reply) => {
    const nonce = newNonce();
    const appError = isAppError(error) ? error : undefined;
    const status = appError?.status ?? ((error as { statusCode?: number }).statusCode && (error as { statusCode: number }).statusCode < 500 ? (error as { statusCode: number }).statusCode : 500);
    if (status >= 500) request.log.error({ err: error }, 'venue page failed');
    const message = appError?.userMessage ?? (status >= 500 ? '服务器暂时无法处理，请向工作人员出示健康码登记' : '请求无效，请重新扫码');
    if (wantsJson(request)) return reply.status(status).send({ error: appError?.code ?? 'BAD_REQUEST', message, details: appError?.details });
    return sendPage(reply, status, messagePage(status === 429 ? '操作太频繁' : '无法完成登记', message, nonce), nonce);
  });

  app.get('/v/staff', { schema: { hide: true } }, async (_request, reply) => {
    const nonce = newNonce();
    return sendPage(reply, 200, staffPage(nonce), nonce, 'no-cache');
  });

  app.get<{ Params: { result: string } }>('/v/r/:result', { schema: { hide: true } }, async (request, reply) => {
    const nonce = newNonce();
    const key = venueCodeKey(ctx);
    const checkinId = checkResultToken(key, request.params.result);
    const checkin = checkinId ? await findCheckin(ctx, checkinId) : undefined;
    if (!checkin) return sendPage(reply, 404, messagePage('登记结果不存在', '链接无效或登记记录已过保存期限，请重新扫描场所码。', nonce), nonce);

    const venue = await getVenueOrThrow(ctx, checkin.venue_id);
    const now = ctx.now();
    const html = resultPage({
      venue,
      checkin,
      duplicate: (request.query as { d?: string }).d === '1',
      frame: frameColorOf(ctx),
      now,
      nonce,
      expired: now - checkin.checked_in_at > RESULT_VALID_MS,
      formUrl: venue.status === 'active' ? new URL(codeUrlOf(ctx, venue)).pathname : null,
    });
    return sendPage(reply, 200, html, nonce);
  });

  app.get('/v/*', { schema: { hide: true } }, async (request, reply) => {
    const nonce = newNonce();
    const resolved = await resolveVenueCode(ctx, tokenOf(request));
    if (!resolved.ok) return sendPage(reply, 400, refusalPage(resolved.refusal, nonce, resolved.venue), nonce);

    if (!request.cookies[DEVICE_COOKIE]) {
      reply.setCookie(DEVICE_COOKIE, randomBytes(16).toString('base64url'), { path: '/v', httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https', maxAge: 365 * 86_400 });
    }
    return sendPage(reply, 200, checkinFormPage({ venue: resolved.venue, token: tokenOf(request), nonce }), nonce, 'private, no-cache');
  });

  app.post('/v/*', { schema: { hide: true }, bodyLimit: FORM_BODY_LIMIT }, async (request, reply) => {
    for (const limiter of [perIp, perPhone]) {
      const limit = await limiter(request);
      if (!limit.isAllowed && limit.isExceeded) {
        request.log.warn({ key: limit.key.startsWith('ip:') ? 'ip' : 'phone', ip: request.ip }, 'check-in rate limit reached');
        reply.header('retry-after', String(limit.ttlInSeconds));
        throw new AppError('RATE_LIMITED', { seconds: limit.ttlInSeconds });
      }
    }

    const token = tokenOf(request);
    const resolved = await resolveVenueCode(ctx, token);
    if (!resolved.ok) {
      if (wantsJson(request)) throw new AppError('VENUE_CODE_INVALID', REFUSAL_TEXT[resolved.refusal], { refusal: resolved.refusal });
      const nonce = newNonce();
      return sendPage(reply, 400, refusalPage(resolved.refusal, nonce, resolved.venue), nonce);
    }

    const body = (request.body ?? {}) as Record<string, unknown>;
    const values: FormValues = { name: text(body.name), idNumber: text(body.idNumber), phone: text(body.phone), remember: body.remember === '1' || body.remember === true };
    let identity;
    try {
      identity = checkIdentity(ctx, values as { name: string });
    } catch (error) {
      if (!isAppError(error) || wantsJson(request)) throw error;
      const nonce = newNonce();
      return sendPage(reply, error.status, checkinFormPage({ venue: resolved.venue, token, nonce, values, error: error.userMessage }), nonce);
    }

    const outcome = await recordCheckin(ctx, { venue: resolved.venue, method: 'scan', identity });
    const resultUrl = `/v/r/${resultToken(venueCodeKey(ctx), outcome.checkin.id)}${outcome.duplicate ? '?d=1' : ''}`;
    if (wantsJson(request)) return reply.header('cache-control', 'no-store').send({ ...checkinReply(resolved.venue, outcome), resultUrl });
    return reply.header('cache-control', 'no-store').redirect(resultUrl, 303);
  });
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
