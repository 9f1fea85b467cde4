/**
 * Chinese messages for request-schema errors. Fastify's own message is English and lists
 * every branch of a union ("must be number, must be null, must match a schema in anyOf");
 * users get one sentence per field instead, naming the field by its Chinese label (the
 * schema's `title`, see schema-labels.ts) and what it should be.
 */

import { fieldLabel, propertyLabel, propertyNames, valueLabel, type SchemaNode } from './schema-labels.js';
import { explainFormatProblem } from './text-formats.js';

/** One schema error as the TypeBox validator compiler reports it (Ajv's shape). */
export interface SchemaIssue {
  keyword: string;
  instancePath: string;
  params?: Record<string, unknown>;
  message?: string;
}

const TYPE_NAMES: Record<string, string> = {
  number: '数字',
  integer: '整数',
  string: '文本',
  boolean: '布尔值（true 或 false）',
  null: '空值（null）',
  array: '数组',
  object: '对象',
};

const PART_NAMES: Record<string, string> = { body: '请求体', querystring: '查询参数', params: '路径参数', headers: '请求头' };

/** '/venues/0/name' → ['venues', '0', 'name']; '' → []. */
function segmentsOf(instancePath: string): string[] {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** ['venues', '0', 'name'] → 'venues[0].name'. */
function pathOf(segments: string[]): string {
  let path = '';
  for (const part of segments) {
    if (/^\d+$/.test(part)) path += `[${part}]`;
    else path = path ? `${path}.${part}` : part;
  }
  return path;
}

/**
 * Name a field for a message: its Chinese label with the path callers send, as in
 * 开始日期（from）, or 字段 from when the schema gives it no label.
 */
function nameField(schema: SchemaNode | undefined, segments: string[]): string {
  const label = fieldLabel(schema, segments);
  return label ? `${label}（${pathOf(segments)}）` : `字段 ${pathOf(segments)}`;
}

/** Join a subject and a predicate, with a space only after a Latin word (字段 step 无效, 开始日期（from）无效). */
function sentence(subject: string, predicate: string): string {
  return /[A-Za-z0-9\]_]$/.test(subject) ? `${subject} ${predicate}` : `${subject}${predicate}`;
}

/** List the property names a `required` or `additionalProperties` issue reports. */
function namesOf(issue: SchemaIssue, listKey: string, singleKey: string): string[] {
  const listed = issue.params?.[listKey];
  if (Array.isArray(listed)) return listed.map(String);
  return issue.params?.[singleKey] === undefined ? [] : [String(issue.params[singleKey])];
}

/** Return a property name in lower case without '_' and '-', so host_name and hostname compare equal to hostName. */
function comparableName(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

const COMPARISONS: Record<string, string> = { minimum: '不能小于', maximum: '不能大于', exclusiveMinimum: '应大于', exclusiveMaximum: '应小于' };

/** Maximum length, in characters, of a value that a message quotes whole. */
const MAX_QUOTED_LENGTH = 40;

/** Request data that the messages read besides the issues. */
export interface SchemaIssueContext {
  /** The request part as sent (body, query or path parameters), to quote a rejected value. */
  data?: unknown;
  /** Today, 'YYYY-MM-DD' in Asia/Shanghai, the example of a day's format. */
  today?: string;
}

/** Find the value at a path of property names and array indexes, or undefined. */
function valueAt(data: unknown, segments: string[]): unknown {
  let value = data;
  for (const segment of segments) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/** Quote a value for a message: “2026/12/07”, shortened with … past MAX_QUOTED_LENGTH characters. */
function quoteValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const characters = [...text];
  const shortened = characters.length > MAX_QUOTED_LENGTH ? `${characters.slice(0, MAX_QUOTED_LENGTH).join('')}…` : text;
  return `“${shortened}”`;
}

/**
 * Describe a value that failed a `pattern` or `format` check: the value, then the form
 * expected, such as "“2026/12/07”格式不正确，应为 YYYY-MM-DD，例如 2026-12-07". A format
 * without an explanation in text-formats.ts is named, and a pattern shown as the regular
 * expression.
 */
function describeFormatIssue(issue: SchemaIssue, value: unknown, today: string | undefined): string {
  const quoted = value === undefined ? '' : quoteValue(value);
  const pattern = issue.params?.pattern;
  const format = issue.params?.format;
  if (issue.keyword === 'format' && typeof format === 'string') {
    return explainFormatProblem(format, value, quoted, today) ?? `${quoted}格式不正确，应为 ${format} 格式`;
  }
  if (issue.keyword === 'pattern' && typeof pattern === 'string') return `${quoted}格式不正确，应符合正则表达式 ${pattern}`;
  return `${quoted}格式不正确`;
}

/**
 * Describe the issues of one field, merging the branches of a union into one sentence and
 * the missing or unsupported properties of an object into one list each.
 */
function describeField(segments: string[], issues: SchemaIssue[], part: string, schema: SchemaNode | undefined, context: SchemaIssueContext): string[] {
  const subject = segments.length > 0 ? nameField(schema, segments) : part;
  // Missing and unsupported properties are named relative to their object, which leads the sentence.
  const withinObject = (predicate: string) => (segments.length > 0 ? sentence(subject, `中${predicate}`) : predicate);
  const nameMember = (name: string) => {
    const label = propertyLabel(schema, segments, name);
    return label ? `${label}（${name}）` : name;
  };
  const types = issues.filter((i) => i.keyword === 'type').map((i) => TYPE_NAMES[String(i.params?.type)] ?? String(i.params?.type));
  const allowed = issues.filter((i) => i.keyword === 'const' || i.keyword === 'enum').flatMap((i) => (i.keyword === 'enum' ? ((i.params?.allowedValues as unknown[]) ?? []) : [i.params?.allowedValue]));
  const missing = new Set(issues.filter((i) => i.keyword === 'required').flatMap((i) => namesOf(i, 'requiredProperties', 'missingProperty')));
  const extra = new Set(issues.filter((i) => i.keyword === 'additionalProperties').flatMap((i) => namesOf(i, 'additionalProperties', 'additionalProperty')));
  // A pattern or format applies to strings only, so a string was sent and the type
  // issues of a union's other branches (such as null) would only confuse.
  const hasFormatIssue = issues.some((i) => i.keyword === 'pattern' || i.keyword === 'format');
  const lines = new Set<string>();

  // An allowed value whose schema branch has a title is shown with it: "guard"（门卫）.
  const nameValue = (value: unknown) => {
    const label = valueLabel(schema, segments, value);
    return label ? `${JSON.stringify(value)}（${label}）` : JSON.stringify(value);
  };
  if (allowed.length > 0) lines.add(sentence(subject, `应为 ${[...new Set(allowed.map(nameValue))].join('、')} 之一`));
  else if (types.length > 0 && !hasFormatIssue) lines.add(sentence(subject, `应为${[...new Set(types)].join('或')}`));
  if (missing.size > 0) lines.add(withinObject(`缺少必填字段 ${[...missing].map(nameMember).join('、')}`));
  if (extra.size > 0) {
    // A name that differs from a declared one only in case, '_' or '-' is most likely a typo of it.
    const declared = propertyNames(schema, segments);
    const corrections = [...extra].flatMap((name) => {
      const intended = declared.find((candidate) => comparableName(candidate) === comparableName(name));
      if (!intended) return [];
      const label = propertyLabel(schema, segments, intended);
      return [`${name} 应写作 ${intended}${label ? `（${label}）` : ''}`];
    });
    const advice = corrections.length > 0 ? `请删除或改正：${corrections.join('，')}` : '请删除';
    lines.add(withinObject(`不支持字段 ${[...extra].join('、')}，${advice}`));
  }

  for (const issue of issues) {
    const limit = issue.params?.limit;
    switch (issue.keyword) {
      case 'type':
      case 'const':
      case 'enum':
      case 'anyOf':
      case 'oneOf':
      case 'required':
      case 'additionalProperties':
        break;
      case 'minLength':
        lines.add(Number(limit) === 1 ? sentence(subject, '不能为空') : sentence(subject, `至少 ${limit} 个字符`));
        break;
      case 'maxLength':
        lines.add(sentence(subject, `不能超过 ${limit} 个字符`));
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        lines.add(sentence(subject, `${COMPARISONS[issue.keyword]} ${limit}`));
        break;
      case 'minItems':
        lines.add(sentence(subject, `至少需要 ${limit} 项`));
        break;
      case 'maxItems':
        lines.add(sentence(subject, `最多 ${limit} 项`));
        break;
      case 'pattern':
      case 'format':
        lines.add(sentence(subject, describeFormatIssue(issue, valueAt(context.data, segments), context.today)));
        break;
      default:
        lines.add(sentence(subject, `无效（${issue.message ?? issue.keyword}）`));
    }
  }
  return lines.size > 0 ? [...lines] : [sentence(subject, '无效')];
}

/**
 * Turn the schema errors of one request part (body, querystring, params, headers) into one
 * Chinese sentence that names each failing field once, for example
 * "请求体有误：缺少必填字段 事件编号（eventId）；体温（temperature）应为数字或空值（null）".
 * `schema` is the route's schema of that part; its property titles name the fields.
 * `issueContext` supplies the values sent, which format messages quote.
 */
export function describeSchemaIssues(issues: SchemaIssue[], context: string | undefined, schema?: SchemaNode, issueContext: SchemaIssueContext = {}): string {
  const part = PART_NAMES[context ?? ''] ?? '请求';
  const byField = new Map<string, { segments: string[]; issues: SchemaIssue[] }>();
  // A property the schema forbids is reported twice: once as a false schema on the property
  // and once as additionalProperties on its object. The second names it, so the first goes.
  const namesExtras = issues.some((issue) => issue.keyword === 'additionalProperties');
  for (const issue of issues) {
    if (namesExtras && issue.keyword === 'boolean') continue;
    const segments = segmentsOf(issue.instancePath ?? '');
    const key = pathOf(segments);
    const entry = byField.get(key) ?? { segments, issues: [] };
    entry.issues.push(issue);
    byField.set(key, entry);
  }
  const lines = new Set([...byField.values()].flatMap((entry) => describeField(entry.segments, entry.issues, part, schema, issueContext)));
  return `${part}有误：${[...lines].join('；')}`;
}
