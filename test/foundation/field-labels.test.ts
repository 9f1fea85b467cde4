import { Type } from '@fastify/type-provider-typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, listRouteSchemas } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { fieldLabel, findUnlabelledFields, propertyLabel } from '../../src/shared/schema-labels.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

// The walk reads schemas only, so one dialect is enough.
describe('Chinese labels of request fields', () => {
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

  it('finds the registered routes', () => {
    const routes = listRouteSchemas(app);
    expect(routes.length).toBeGreaterThan(50);
    expect(routes.some((route) => route.method === 'POST' && route.url === '/api/schools/:code/calendar/days' && route.body)).toBe(true);
  });

  it('labels every body, query and path field', () => {
    const unlabelled: string[] = [];
    for (const route of listRouteSchemas(app)) {
      for (const part of ['body', 'querystring', 'params', 'headers'] as const) {
        for (const path of findUnlabelledFields(route[part])) unlabelled.push(`${route.method} ${route.url} ${part}: ${path}`);
      }
    }
    // A new field needs `title: '中文名称'` on its TypeBox schema; the validation messages name it by that title.
    expect(unlabelled).toEqual([]);
  });

  it('labels the same field alike across the calendar routes', () => {
    const calendarRoutes = listRouteSchemas(app).filter((route) => route.url.includes('/calendar'));
    const labels = new Set(calendarRoutes.flatMap((route) => [route.body, route.querystring].map((schema) => fieldLabel(schema, ['from'])).filter(Boolean)));
    expect([...labels]).toEqual(['开始日期']);
  });
});

describe('field label lookup', () => {
  const schema = Type.Object({
    entries: Type.Array(Type.Object({ temperature: Type.Union([Type.Number({ title: '体温' }), Type.Null()]), note: Type.String() }), { title: '检查记录' }),
    purpose: Type.String({ title: '查询事由' }),
  });

  it('names a top-level field', () => {
    expect(fieldLabel(schema, ['purpose'])).toBe('查询事由');
  });

  it('names a nested field through an array and a union', () => {
    expect(fieldLabel(schema, ['entries', '1', 'temperature'])).toBe('检查记录第 2 项的体温');
  });

  it('names a member by its own label', () => {
    expect(propertyLabel(schema, ['entries', '0'], 'temperature')).toBe('体温');
    expect(propertyLabel(schema, [], 'purpose')).toBe('查询事由');
    expect(propertyLabel(schema, ['entries', '0'], 'note')).toBeUndefined();
  });

  it('gives no label for an unlabelled or unknown field', () => {
    expect(fieldLabel(schema, ['entries', '0', 'note'])).toBeUndefined();
    expect(fieldLabel(schema, ['colour'])).toBeUndefined();
    expect(fieldLabel(undefined, ['purpose'])).toBeUndefined();
  });

  it('lists unlabelled fields with their paths', () => {
    expect(findUnlabelledFields(schema)).toEqual(['entries[].note']);
  });
});
