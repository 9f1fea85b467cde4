import { Type } from '@fastify/type-provider-typebox';
import { describe, expect, it } from 'vitest';
import { fieldLabel, valueLabel } from '../../src/shared/schema-labels.js';
import { describeSchemaIssues, type SchemaIssue } from '../../src/shared/validation-messages.js';

const Body = Type.Object({
  role: Type.Union([Type.Literal('guard', { title: '门卫' }), Type.Literal('teacher', { title: '教师' })], { title: '角色' }),
  size: Type.Union([Type.Literal('a4'), Type.Literal('bus')]),
  rows: Type.Array(Type.Object({ kind: Type.Union([Type.Literal('bus', { title: '公交车' }), Type.Literal('other', { title: '其他场所' })]) }), { title: '场所列表' }),
});

/** Build the issues the validator reports for a value outside a union of literals. */
function literalIssues(instancePath: string, values: string[]): SchemaIssue[] {
  return [...values.map((value) => ({ keyword: 'const', instancePath, params: { allowedValue: value } })), { keyword: 'anyOf', instancePath, params: {} }];
}

describe('labels of allowed values', () => {
  it('finds a literal title by value', () => {
    expect(valueLabel(Body, ['role'], 'guard')).toBe('门卫');
    expect(valueLabel(Body, ['rows', '0', 'kind'], 'other')).toBe('其他场所');
  });

  it('returns undefined without a title', () => {
    expect(valueLabel(Body, ['size'], 'a4')).toBeUndefined();
    expect(valueLabel(Body, ['role'], 'principal')).toBeUndefined();
    expect(valueLabel(Body, ['missing'], 'guard')).toBeUndefined();
  });

  it('keeps literal titles out of field labels', () => {
    expect(fieldLabel(Body, ['role'])).toBe('角色');
    // The union has no title of its own, and its branches name values, not the field.
    expect(fieldLabel(Body, ['rows', '0', 'kind'])).toBeUndefined();
  });

  it('shows titled values beside their keys', () => {
    const message = describeSchemaIssues(literalIssues('/role', ['guard', 'teacher']), 'body', Body);
    expect(message).toBe('请求体有误：角色（role）应为 "guard"（门卫）、"teacher"（教师） 之一');
  });

  it('shows untitled values alone', () => {
    const message = describeSchemaIssues(literalIssues('/size', ['a4', 'bus']), 'body', Body);
    expect(message).toBe('请求体有误：字段 size 应为 "a4"、"bus" 之一');
  });
});
