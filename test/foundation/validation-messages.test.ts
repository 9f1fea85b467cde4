import { Type } from '@fastify/type-provider-typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { describeSchemaIssues } from '../../src/shared/validation-messages.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

describe('schema error messages', () => {
  let t: TestDb;
  let app: HttpApp;

  beforeAll(async () => {
    t = await createTestDb('sqlite');
    // A throwaway route with the shapes the API uses: required fields, unions, limits.
    app = await buildApp(t.ctx, [
      (api) => {
        api.post(
          '/validation-probe',
          {
            schema: {
              body: Type.Object({
                eventId: Type.String({ minLength: 1 }),
                temperature: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
                count: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
                kind: Type.Optional(Type.Union([Type.Literal('face'), Type.Literal('card')])),
                items: Type.Optional(Type.Array(Type.Object({ name: Type.String() }), { maxItems: 2 })),
              }),
            },
          },
          async () => ({ ok: true }),
        );
      },
    ]);
  });
  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  const cases: Array<[string, unknown, string]> = [
    ['a missing field', {}, '输入不正确：请求体有误：缺少必填字段 eventId'],
    ['a text temperature', { eventId: 'e', temperature: 'hot' }, '输入不正确：请求体有误：字段 temperature 应为数字或空值（null）'],
    ['an empty id and a count too high', { eventId: '', count: 9 }, '输入不正确：请求体有误：字段 eventId 不能为空；字段 count 应 <= 5'],
    ['a value outside a union of literals', { eventId: 'e', kind: 'iris' }, '输入不正确：请求体有误：字段 kind 应为 "face"、"card" 之一'],
    ['a nested missing field', { eventId: 'e', items: [{}] }, '输入不正确：请求体有误：字段 items[0] 中缺少必填字段 name'],
  ];

  it.each(cases)('explains %s in Chinese', async (_case, payload, expected) => {
    const response = await app.inject({ method: 'POST', url: '/api/validation-probe', payload: payload as object });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('VALIDATION');
    expect(response.json().message).toBe(expected);
  });

  it('names a forbidden field once', () => {
    const text = describeSchemaIssues(
      [
        { keyword: 'boolean', instancePath: '/mode', params: {}, message: 'schema is false' },
        { keyword: 'additionalProperties', instancePath: '', params: { additionalProperties: ['mode', 'times'] }, message: 'must not have additional properties' },
      ],
      'body',
    );
    expect(text).toBe('请求体有误：不支持字段 mode、times，请删除');
  });

  it('names the request part and keeps unknown keywords', () => {
    const text = describeSchemaIssues([{ keyword: 'multipleOf', instancePath: '/step', params: {}, message: 'must be multiple of 5' }], 'querystring');
    expect(text).toBe('查询参数有误：字段 step 无效（must be multiple of 5）');
  });
});
