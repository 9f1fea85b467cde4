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
              // `count` and `items[].note` have no label, so their messages fall back to the path.
              body: Type.Object({
                eventId: Type.String({ minLength: 1, title: '事件编号' }),
                temperature: Type.Optional(Type.Union([Type.Number({ title: '体温' }), Type.Null()])),
                count: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
                kind: Type.Optional(Type.Union([Type.Literal('face'), Type.Literal('card')], { title: '识别方式' })),
                items: Type.Optional(Type.Array(Type.Object({ name: Type.String({ title: '名称' }), note: Type.Optional(Type.String()) }), { maxItems: 2, title: '物品' })),
                day: Type.Optional(Type.String({ format: 'date', title: '日期' })),
                returnOn: Type.Optional(Type.Union([Type.String({ format: 'date', title: '预计返校日期' }), Type.Null()])),
                code: Type.Optional(Type.String({ pattern: '^[A-Z]{2}\\d{2}$', title: '学校代码' })),
              }),
            },
          },
          async () => ({ ok: true }),
        );
        api.get('/validation-probe', { schema: { querystring: Type.Object({ day: Type.Optional(Type.String({ format: 'date', title: '日期' })) }) } }, async () => ({ ok: true }));
      },
    ]);
  });
  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  const cases: Array<[string, unknown, string]> = [
    ['a missing field', {}, '输入不正确：请求体有误：缺少必填字段 事件编号（eventId）'],
    ['a text temperature', { eventId: 'e', temperature: 'hot' }, '输入不正确：请求体有误：体温（temperature）应为数字或空值（null）'],
    ['an empty id and a count too high', { eventId: '', count: 9 }, '输入不正确：请求体有误：事件编号（eventId）不能为空；字段 count 不能大于 5'],
    ['a count too low', { eventId: 'e', count: 0 }, '输入不正确：请求体有误：字段 count 不能小于 1'],
    ['a value outside a union of literals', { eventId: 'e', kind: 'iris' }, '输入不正确：请求体有误：识别方式（kind）应为 "face"、"card" 之一'],
    ['a nested missing field', { eventId: 'e', items: [{}] }, '输入不正确：请求体有误：物品第 1 项（items[0]）中缺少必填字段 名称（name）'],
    ['a nested unlabelled field', { eventId: 'e', items: [{ name: 'a' }, { name: 'b', note: 5 }] }, '输入不正确：请求体有误：字段 items[1].note 应为文本'],
    ['several bad fields', { kind: 'iris', temperature: 'hot' }, '输入不正确：请求体有误：缺少必填字段 事件编号（eventId）；体温（temperature）应为数字或空值（null）；识别方式（kind）应为 "face"、"card" 之一'],
    // The test clock is 2026-12-07, the example day.
    ['a day in the wrong form', { eventId: 'e', day: '2026/12/07' }, '输入不正确：请求体有误：日期（day）“2026/12/07”格式不正确，应为 YYYY-MM-DD，例如 2026-12-07'],
    ['a nullable day in the wrong form', { eventId: 'e', returnOn: '12-07' }, '输入不正确：请求体有误：预计返校日期（returnOn）“12-07”格式不正确，应为 YYYY-MM-DD，例如 2026-12-07'],
    ['a day that does not exist', { eventId: 'e', day: '2026-02-30' }, '输入不正确：请求体有误：日期（day）“2026-02-30”不是存在的日期，请检查月份和日期，应为 YYYY-MM-DD，例如 2026-12-07'],
    ['an empty day', { eventId: 'e', day: '' }, '输入不正确：请求体有误：日期（day）“”格式不正确，应为 YYYY-MM-DD，例如 2026-12-07'],
    ['a long value', { eventId: 'e', day: '九'.repeat(50) }, `输入不正确：请求体有误：日期（day）“${'九'.repeat(40)}…”格式不正确，应为 YYYY-MM-DD，例如 2026-12-07`],
    ['a pattern without a description', { eventId: 'e', code: 'x1' }, '输入不正确：请求体有误：学校代码（code）“x1”格式不正确，应符合正则表达式 ^[A-Z]{2}\\d{2}$'],
  ];

  it.each(cases)('explains %s in Chinese', async (_case, payload, expected) => {
    const response = await app.inject({ method: 'POST', url: '/api/validation-probe', payload: payload as object });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('VALIDATION');
    expect(response.json().message).toBe(expected);
  });

  it('quotes a bad day in a query', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/validation-probe?day=7.12.2026' });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe('输入不正确：查询参数有误：日期（day）“7.12.2026”格式不正确，应为 YYYY-MM-DD，例如 2026-12-07');
  });

  it('takes the example day from the caller', () => {
    const schema = Type.Object({ day: Type.String({ format: 'date', title: '日期' }) });
    const issues = [{ keyword: 'format', instancePath: '/day', params: { format: 'date' } }];
    expect(describeSchemaIssues(issues, 'querystring', schema, { data: { day: 'today' }, today: '2027-03-01' })).toBe(
      '查询参数有误：日期（day）“today”格式不正确，应为 YYYY-MM-DD，例如 2027-03-01',
    );
  });

  it('describes a format without the value sent', () => {
    const issues = [{ keyword: 'format', instancePath: '/at', params: { format: 'date' } }];
    expect(describeSchemaIssues(issues, 'body')).toBe('请求体有误：字段 at 格式不正确，应为 YYYY-MM-DD，例如 2026-12-07');
  });

  it('names a format without an explanation', () => {
    const issues = [{ keyword: 'format', instancePath: '/mail', params: { format: 'email' } }];
    expect(describeSchemaIssues(issues, 'body', undefined, { data: { mail: 'wang' } })).toBe('请求体有误：字段 mail “wang”格式不正确，应为 email 格式');
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

  it('lists a repeated issue once', () => {
    const schema = Type.Object({ from: Type.String({ title: '开始日期' }), to: Type.String({ title: '结束日期' }) });
    const text = describeSchemaIssues(
      [
        { keyword: 'required', instancePath: '', params: { requiredProperties: ['to'] } },
        { keyword: 'required', instancePath: '', params: { missingProperty: 'to' } },
        { keyword: 'type', instancePath: '/from', params: { type: 'string' } },
        { keyword: 'type', instancePath: '/from', params: { type: 'string' } },
        { keyword: 'maxLength', instancePath: '/from', params: { limit: 20 } },
        { keyword: 'maxLength', instancePath: '/from', params: { limit: 20 } },
      ],
      'body',
      schema,
    );
    expect(text).toBe('请求体有误：缺少必填字段 结束日期（to）；开始日期（from）应为文本；开始日期（from）不能超过 20 个字符');
  });

  it('falls back to the path without a schema', () => {
    const text = describeSchemaIssues([{ keyword: 'required', instancePath: '', params: { requiredProperties: ['purpose'] } }], 'querystring');
    expect(text).toBe('查询参数有误：缺少必填字段 purpose');
  });

  it('names the request part and keeps unknown keywords', () => {
    const text = describeSchemaIssues([{ keyword: 'multipleOf', instancePath: '/step', params: {}, message: 'must be multiple of 5' }], 'querystring');
    expect(text).toBe('查询参数有误：字段 step 无效（must be multiple of 5）');
  });
});
