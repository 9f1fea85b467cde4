import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from './context.js';
import type { HttpApp } from './http.js';
import { AppError, isAppError } from './shared/errors.js';
import { healthRoutes } from './modules/system/routes.js';
import { registerAuth } from './modules/auth/plugin.js';
import { authRoutes } from './modules/auth/routes.js';
import { healthcodeRoutes } from './modules/healthcode/routes.js';
import { peopleRoutes } from './modules/people/routes.js';
import { venueRoutes } from './modules/venues/routes.js';
import { venuePageRoutes } from './modules/venues/page-routes.js';
import { registerWebApp } from './web-app.js';
import { describeSchemaIssues, type SchemaIssue } from './shared/validation-messages.js';
import { schoolDay } from './shared/time.js';
import type { SchemaNode } from './shared/schema-labels.js';
import { rejectUnknownProperties } from './shared/strict-body.js';
import { notifyRoutes } from './modules/notify/routes.js';
import { faceRoutes } from './modules/face/routes.js';
import { gateRoutes } from './modules/gate/routes.js';
import { reportRoutes } from './modules/reports/routes.js';
import { visitorRoutes } from './modules/visitors/routes.js';
import { checksRoutes } from './modules/checks/routes.js';
import { calendarRoutes } from './modules/calendar/routes.js';
import { describeClientError, replyToUnparsableRequest } from './shared/client-errors.js';

/** A module's HTTP surface: registered under /api with the shared context. */
export type RouteModule = (app: HttpApp, ctx: AppContext) => Promise<void> | void;

/** The request schemas of one route, as registered. */
export interface RouteSchemas {
  method: string;
  url: string;
  body?: SchemaNode;
  querystring?: SchemaNode;
  params?: SchemaNode;
  headers?: SchemaNode;
}

/** Request schemas of every route each app registered, for checks over the whole API. */
const routeSchemasByApp = new WeakMap<object, RouteSchemas[]>();

/** List the request schemas of every route the app registered. */
export function listRouteSchemas(app: HttpApp): RouteSchemas[] {
  return routeSchemasByApp.get(app) ?? [];
}

/** Find the route's schema of the request part a validation error names ('body', 'querystring', ...). */
function requestPartSchema(schema: Record<string, unknown> | undefined, part: string | undefined): SchemaNode | undefined {
  if (!schema || !part) return undefined;
  const found = schema[part] ?? (part === 'querystring' ? schema.query : undefined);
  return typeof found === 'object' && found !== null ? (found as SchemaNode) : undefined;
}

/**
 * Return the request part that a validation error names, as the client sent it. Headers
 * are left out, so a message never repeats a credential.
 */
function requestPartData(request: FastifyRequest, part: string | undefined): unknown {
  if (part === 'body') return request.body;
  if (part === 'querystring') return request.query;
  if (part === 'params') return request.params;
  return undefined;
}

/** Route modules in dependency order; each file only registers routes. */
const ROUTE_MODULES: RouteModule[] = [healthRoutes, authRoutes, healthcodeRoutes, peopleRoutes, calendarRoutes, notifyRoutes, faceRoutes, gateRoutes, venueRoutes, visitorRoutes, checksRoutes, reportRoutes];

/**
 * Build the Fastify app with every module's routes. Background workers (the scheduler and
 * the notice dispatcher) are not started here; `serve` starts them, so tests can drive
 * them step by step.
 */
export async function buildApp(ctx: AppContext, extraModules: RouteModule[] = []): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: ctx.log,
    bodyLimit: 6 * 1024 * 1024,
    trustProxy: false,
    // A URL that cannot be decoded fails before routing, so it never reaches the error handler.
    frameworkErrors: (error, request, reply) => {
      void (reply as FastifyReply).status(400).send({ error: error.code ?? 'BAD_REQUEST', message: describeClientError(error, request) });
    },
    // A request line or header Node's parser cannot read never becomes a request at all.
    clientErrorHandler: (error, socket) => replyToUnparsableRequest(error, socket, ctx.log),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(TypeBoxValidatorCompiler);

  const routeSchemas: RouteSchemas[] = [];
  routeSchemasByApp.set(app, routeSchemas);
  app.addHook('onRoute', (route) => {
    let schema = route.schema as Record<string, SchemaNode | undefined> | undefined;
    if (!schema) return;
    // An unknown body property gets a 400 that names it instead of being ignored (strict-body.ts).
    if (schema.body) {
      schema = { ...schema, body: rejectUnknownProperties(schema.body) };
      route.schema = schema;
    }
    for (const method of [route.method].flat()) {
      routeSchemas.push({ method, url: route.url, body: schema.body, querystring: schema.querystring ?? schema.query, params: schema.params, headers: schema.headers });
    }
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Fangkong API', version: '0.1.0', description: '智慧防控平台 HTTP API' },
    },
  });

  app.setErrorHandler((error, request, reply) => {
    if (isAppError(error)) {
      if (error.status >= 500) request.log.error({ err: error, code: error.code }, 'request failed');
      return reply.status(error.status).send({ error: error.code, message: error.userMessage, details: error.details });
    }

    const fastifyError = error as { validation?: SchemaIssue[]; validationContext?: string; statusCode?: number; message: string; code?: string };
    if (fastifyError.validation) {
      const part = fastifyError.validationContext;
      const partSchema = requestPartSchema(request.routeOptions.schema as Record<string, unknown> | undefined, part);
      const issueContext = { data: requestPartData(request, part), today: schoolDay(ctx.now()) };
      const problem = new AppError('VALIDATION', { detail: describeSchemaIssues(fastifyError.validation, part, partSchema, issueContext) });
      return reply.status(400).send({ error: problem.code, message: problem.userMessage });
    }
    if (fastifyError.statusCode && fastifyError.statusCode < 500) {
      return reply.status(fastifyError.statusCode).send({ error: fastifyError.code ?? 'BAD_REQUEST', message: describeClientError(fastifyError, request) });
    }

    request.log.error({ err: error }, 'unhandled error');
    const internal = new AppError('INTERNAL');
    return reply.status(500).send({ error: internal.code, message: internal.userMessage });
  });

  // Sessions for every route: sets request.user, rejects nothing by itself.
  await registerAuth(app as unknown as HttpApp, ctx);

  await app.register(
    async (api) => {
      for (const register of [...ROUTE_MODULES, ...extraModules]) await register(api as unknown as HttpApp, ctx);
    },
    { prefix: '/api' },
  );

  // Phone pages of venue codes live outside /api: the printed QR carries their short URL.
  await app.register(async (pages) => venuePageRoutes(pages as unknown as HttpApp, ctx));

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // The console's files and deep links; skipped with a log line when web/dist is missing.
  await registerWebApp(app as unknown as HttpApp, ctx);

  return app as unknown as HttpApp;
}
