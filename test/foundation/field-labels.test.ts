import { Type } from '@fastify/type-provider-typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, listRouteSchemas } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { fieldLabel, findUnlabelledFields, propertyLabel, type SchemaNode } from '../../src/shared/schema-labels.js';
import { explainFormatProblem } from '../../src/shared/text-formats.js';
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

  it('explains every pattern and format', () => {
    const unexplained: string[] = [];
    for (const route of listRouteSchemas(app)) {
      for (const part of ['body', 'querystring', 'params', 'headers'] as const) {
        for (const { path, node } of stringChecks(route[part])) {
          // A pattern's message shows the regular expression, which users cannot read.
          const explained = node.format !== undefined && node.pattern === undefined && explainFormatProblem(node.format, 'x', '“x”') !== undefined;
          if (!explained) unexplained.push(`${route.method} ${route.url} ${part}: ${path} (${node.pattern ?? node.format})`);
        }
      }
    }
    // Use a format that src/shared/text-formats.ts explains in Chinese, or add one there.
    expect(unexplained).toEqual([]);
  });

  it.each([
    ['2026.12.07', '格式不正确，应为 YYYY-MM-DD，例如 2026-12-07'],
    ['2026-02-30', '不是存在的日期，请检查月份和日期，应为 YYYY-MM-DD，例如 2026-12-07'],
    ['2026-13-01', '不是存在的日期，请检查月份和日期，应为 YYYY-MM-DD，例如 2026-12-07'],
  ])('rejects day %s on every route', async (bad, problem) => {
    const checked: string[] = [];
    for (const route of listRouteSchemas(app)) {
      if (route.method === 'HEAD') continue;
      for (const part of ['body', 'querystring', 'params'] as const) {
        for (const { path, node } of stringChecks(route[part])) {
          if (node.format !== 'date' || path.includes('.') || path.includes('[]')) continue;
          const url = route.url.replace(/:(\w+)/g, (_, name: string) => (part === 'params' && name === path ? bad : 'X1'));
          const response = await app.inject({
            method: route.method as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
            url: part === 'querystring' ? `${url}?${path}=${bad}` : url,
            payload: part === 'body' ? { [path]: bad } : undefined,
          });
          const where = `${route.method} ${route.url} ${part}.${path}`;
          expect(response.statusCode, where).toBe(400);
          expect(response.json().message, where).toContain(`${fieldLabel(route[part], [path])}（${path}）“${bad}”${problem}`);
          checked.push(where);
        }
      }
    }
    // The day fields of the checks, reports, gate and visitor routes.
    expect(checked.length).toBeGreaterThan(10);
  });

  it('labels the same field alike across the calendar routes', () => {
    const calendarRoutes = listRouteSchemas(app).filter((route) => route.url.includes('/calendar'));
    const labels = new Set(calendarRoutes.flatMap((route) => [route.body, route.querystring].map((schema) => fieldLabel(schema, ['from'])).filter(Boolean)));
    expect([...labels]).toEqual(['开始日期']);
  });
});

/** The keywords of a string schema this walk reads. */
interface StringCheck {
  pattern?: string;
  format?: string;
  properties?: Record<string, unknown>;
  items?: unknown;
  anyOf?: unknown[];
  oneOf?: unknown[];
  allOf?: unknown[];
}

/** List the properties of a request schema checked by a pattern or format, with their paths such as `windows[].from`. */
function stringChecks(schema: SchemaNode | undefined): Array<{ path: string; node: StringCheck }> {
  const found: Array<{ path: string; node: StringCheck }> = [];
  const walk = (value: unknown, path: string): void => {
    if (typeof value !== 'object' || value === null) return;
    const node = value as StringCheck;
    if (typeof node.pattern === 'string' || typeof node.format === 'string') found.push({ path, node });
    for (const [name, property] of Object.entries(node.properties ?? {})) walk(property, path ? `${path}.${name}` : name);
    for (const branch of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) walk(branch, path);
    for (const item of [node.items].flat()) walk(item, `${path}[]`);
  };
  walk(schema, '');
  return found;
}

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
