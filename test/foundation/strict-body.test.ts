import { Type } from '@fastify/type-provider-typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, listRouteSchemas } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { rejectUnknownProperties } from '../../src/shared/strict-body.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

/** Bodies that accept properties they do not list, each for a stated reason. */
const OPEN_BODIES: Record<string, string> = {
  // Gate terminals of several vendors push their own extra fields; the route reads only its own.
  'POST /api/devices/events': 'device push',
};

type Json = Record<string, unknown>;

/** Return a value that passes the path parameter's schema: its first allowed value, a day, or any text. */
function validParam(params: unknown, name: string): string {
  const property = ((params as Json | undefined)?.properties as Record<string, Json> | undefined)?.[name];
  const allowed = (property?.anyOf as Json[] | undefined)?.find((branch) => typeof branch.const === 'string');
  if (allowed) return String(allowed.const);
  if (property?.format === 'date') return '2026-12-07';
  return 'X1';
}

describe('rejectUnknownProperties', () => {
  it('closes every listed object', () => {
    const schema = Type.Object({
      name: Type.String(),
      guardian: Type.Optional(Type.Object({ phone: Type.String() })),
      entries: Type.Array(Type.Object({ note: Type.String() })),
      shown: Type.Union([Type.Object({ colour: Type.String() }), Type.Null()]),
    });
    const strict = rejectUnknownProperties(schema) as Json;
    const properties = strict.properties as Record<string, Json>;

    expect(strict.additionalProperties).toBe(false);
    expect(properties.guardian!.additionalProperties).toBe(false);
    expect((properties.entries!.items as Json).additionalProperties).toBe(false);
    expect(((properties.shown!.anyOf as Json[])[0] as Json).additionalProperties).toBe(false);
  });

  it('keeps an explicit setting and records', () => {
    const schema = Type.Object({
      polling: Type.Object({ from: Type.String() }, { additionalProperties: true }),
      thresholds: Type.Record(Type.String(), Type.Number()),
    });
    const properties = (rejectUnknownProperties(schema) as Json).properties as Record<string, Json>;

    expect(properties.polling!.additionalProperties).toBe(true);
    expect(properties.thresholds!.additionalProperties).toBeUndefined();
  });

  it('leaves intersection branches open', () => {
    const schema = { allOf: [Type.Object({ a: Type.String() }), Type.Object({ b: Type.String() })] };
    const branches = (rejectUnknownProperties(schema) as Json).allOf as Json[];

    expect(branches[0]!.additionalProperties).toBeUndefined();
    expect(branches[1]!.additionalProperties).toBeUndefined();
  });

  it('leaves the input schema unchanged', () => {
    const schema = Type.Object({ inner: Type.Object({ a: Type.String() }) });
    const before = JSON.stringify(schema);
    rejectUnknownProperties(schema);

    expect(JSON.stringify(schema)).toBe(before);
    expect((schema as unknown as Json).additionalProperties).toBeUndefined();
  });

  it('keeps values of const and default', () => {
    const schema = Type.Object({ mode: Type.Literal('x'), options: Type.Object({ a: Type.String() }, { default: { a: 'y', extra: 1 } }) });
    const properties = (rejectUnknownProperties(schema) as Json).properties as Record<string, Json>;

    expect(properties.mode!.const).toBe('x');
    expect(properties.options!.default).toEqual({ a: 'y', extra: 1 });
  });
});

// The walk sends requests that fail validation before any handler runs, so one dialect is enough.
describe('unknown body properties on every route', () => {
  let t: TestDb;
  let app: HttpApp;

  beforeAll(async () => {
    t = await createTestDb('sqlite');
    app = await buildApp(t.ctx);
  });
  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('rejects an unknown property by name', async () => {
    const checked: string[] = [];
    for (const route of listRouteSchemas(app)) {
      const where = `${route.method} ${route.url}`;
      // A record body (PUT gate-settings) lists no properties, and its service names an unknown key.
      if (!route.body || !(route.body as Json).properties || OPEN_BODIES[where]) continue;
      expect((route.body as Json).additionalProperties, where).toBe(false);
      const response = await app.inject({
        method: route.method as 'POST' | 'PUT' | 'PATCH' | 'DELETE',
        url: route.url.replace(/:(\w+)/g, (_, name: string) => validParam(route.params, name)),
        payload: { colour: 'red' },
      });

      // Card readers and staff phones sign in before validation, so without a key they get 401.
      if (route.url.startsWith('/api/venue-devices/') && response.statusCode === 401) continue;
      expect(response.statusCode, where).toBe(400);
      expect(response.json().message, where).toContain('不支持字段 colour，请删除');
      checked.push(where);
    }
    expect(checked).toContain('POST /api/schools/:code/visitors');
    expect(checked.length).toBeGreaterThan(30);
  });

  it('keeps the open bodies open', () => {
    for (const where of Object.keys(OPEN_BODIES)) {
      const route = listRouteSchemas(app).find((candidate) => `${candidate.method} ${candidate.url}` === where);

      expect(route, where).toBeDefined();
      expect((route!.body as Json).additionalProperties, where).toBe(true);
    }
  });

  it('names an unknown nested property', async () => {
    const response = await app.inject({ method: 'PUT', url: '/api/schools/X1/classes/C1/checks', payload: { day: '2026-12-07', session: 'morning', entries: [{ personId: 'p', status: 'present', temprature: 36.5 }] } });

    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe('输入不正确：请求体有误：检查记录第 1 项（entries[0]）中不支持字段 temprature，请删除');
  });

  it('suggests the declared spelling', async () => {
    const response = await app.inject({ method: 'PUT', url: '/api/schools/X1/classes/C1/checks', payload: { day: '2026-12-07', session: 'morning', entries: [{ person_id: 'p', status: 'present' }] } });

    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe('输入不正确：请求体有误：检查记录第 1 项（entries[0]）中缺少必填字段 学生 ID（personId）；检查记录第 1 项（entries[0]）中不支持字段 person_id，请删除或改正：person_id 应写作 personId（学生 ID）');
  });
});
