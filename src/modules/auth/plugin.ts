import { timingSafeEqual } from 'node:crypto';
import cookie from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';
import { AppError } from '../../shared/errors.js';
import { audit } from './audit.js';
import type { UserRole } from './roles.js';
import { assertRole, type AuthUser } from './scope.js';
import { resolveSession } from './service.js';
import { SESSION_MAX_AGE_MS } from './session-rules.js';

export const SESSION_COOKIE = 'fk_session';
export const CSRF_COOKIE = 'fk_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** Reason a request that carried a session cookie has no user. */
export type AuthProblem = 'idle' | 'expired' | 'unknown' | 'csrf';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user, set by the auth hook when the session cookie is valid. */
    user: AuthUser | null;
    /** Set when a session cookie came but gave no user. requireUser turns it into the error. */
    authProblem: AuthProblem | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Compute the CSRF token of a session, a keyed hash of the cookie token. A page reads it
 * from the non-HttpOnly csrf cookie and sends it back in X-CSRF-Token. Another site can
 * neither read the cookie nor compute the hash.
 */
export function csrfTokenFor(ctx: AppContext, sessionToken: string): string {
  return ctx.cipher.hash(`csrf:${sessionToken}`);
}

function tokensEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** True when an unsafe request carries the session's token in both the header and the csrf cookie. */
function hasValidCsrfToken(ctx: AppContext, request: FastifyRequest, sessionToken: string): boolean {
  const header = request.headers[CSRF_HEADER];
  const cookieValue = request.cookies[CSRF_COOKIE];
  if (typeof header !== 'string' || !cookieValue) return false;
  const expected = csrfTokenFor(ctx, sessionToken);
  return tokensEqual(header, cookieValue) && tokensEqual(header, expected);
}

function cookieOptions(request: FastifyRequest, httpOnly: boolean) {
  return {
    path: '/',
    httpOnly,
    sameSite: 'strict' as const,
    secure: request.protocol === 'https',
    maxAge: Math.floor(SESSION_MAX_AGE_MS / 1000),
  };
}

/** Set the session cookie (HttpOnly) and the csrf cookie (readable by the page) after sign-in. */
export function setSessionCookies(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, token: string): string {
  const csrfToken = csrfTokenFor(ctx, token);
  reply.setCookie(SESSION_COOKIE, token, cookieOptions(request, true));
  reply.setCookie(CSRF_COOKIE, csrfToken, cookieOptions(request, false));
  return csrfToken;
}

export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
  reply.clearCookie(CSRF_COOKIE, { path: '/' });
}

/**
 * Register cookies and the session hook on the whole app. The hook sets `request.user`
 * when the session cookie is valid and, for POST, PUT, PATCH and DELETE, the CSRF token
 * matches; it rejects nothing itself. Routes call `requireUser` to demand a user.
 * Every 403 response is logged, and audited when a user made the request.
 */
export async function registerAuth(app: HttpApp, ctx: AppContext): Promise<void> {
  await app.register(cookie);
  app.decorateRequest('user', null);
  app.decorateRequest('authProblem', null);

  const signIn = async (request: FastifyRequest, reply: FastifyReply, token: string) => {
    const found = await resolveSession(ctx, token);
    if ('problem' in found) {
      request.authProblem = found.problem;
      clearSessionCookies(reply);
      return;
    }
    if (!SAFE_METHODS.has(request.method) && !hasValidCsrfToken(ctx, request, token)) {
      request.authProblem = 'csrf';
      return;
    }
    request.user = found.user;
  };

  // Both hooks run on every request, the phones' check-ins too, so they take Fastify's
  // callback form and return at once when there is nothing to do instead of making a promise.
  app.addHook('onRequest', (request, reply, done) => {
    const token = request.cookies[SESSION_COOKIE];
    if (!token) return done();
    signIn(request, reply, token).then(() => done(), done);
  });

  // onSend rather than onResponse, so the audit entry exists once the client has the reply.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode !== 403) return done(null, payload);
    const userId = request.user?.id ?? null;
    request.log.warn({ userId, method: request.method, url: request.url, authProblem: request.authProblem }, 'request forbidden');
    if (!request.user) return done(null, payload);
    audit(ctx, request.user, 'access.denied', `${request.method} ${request.routeOptions.url ?? request.url}`, { url: request.url }, { ip: request.ip }).then(
      () => done(null, payload),
      (error: Error) => done(error),
    );
  });
}

export interface RequireUserOptions {
  /** Roles allowed; any signed-in user when omitted. */
  roles?: readonly UserRole[];
}

/**
 * The signed-in user of the request, or throw: CSRF_REJECTED when an unsafe request
 * lacked the token, UNAUTHORIZED when no user is signed in or the session ran out,
 * FORBIDDEN when the user's role is not in `options.roles`.
 */
export function requireUser(request: FastifyRequest, options: RequireUserOptions = {}): AuthUser {
  if (request.authProblem === 'csrf') throw new AppError('CSRF_REJECTED');
  if (!request.user) {
    const timedOut = request.authProblem === 'idle' || request.authProblem === 'expired';
    throw new AppError('UNAUTHORIZED', { detail: timedOut ? '登录已超时，请重新登录' : '请先登录' });
  }
  if (options.roles) assertRole(request.user, options.roles);
  return request.user;
}

/**
 * Reject a cross-site POST to sign-in or setup: when the browser sends an Origin
 * header, its host must be the Host the request came to. Clients that send no Origin
 * (curl, devices) pass.
 */
export function assertSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (!origin) return;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw new AppError('CSRF_REJECTED');
  }
  if (originHost !== request.headers.host) throw new AppError('CSRF_REJECTED');
}
