/**
 * Chinese messages for request-schema errors. Fastify's own message is English and lists
 * every branch of a union ("must be number, must be null, must match a schema in anyOf");
 * users get one sentence per field instead, naming the field and what it should be.
 */

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
  boolean: 'true 或 false',
  null: '空值（null）',
  array: '数组',
  object: '对象',
};

const PART_NAMES: Record<string, string> = { body: '请求体', querystring: '查询参数', params: '路径参数', headers: '请求头' };

/** '/venues/0/name' → 'venues[0].name'; '' → ''. */
function fieldOf(instancePath: string): string {
  let path = '';
  for (const segment of instancePath.split('/').filter(Boolean)) {
    const part = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) path += `[${part}]`;
    else path = path ? `${path}.${part}` : part;
  }
  return path;
}

/** Describe the issues of one field, merging the branches of a union into one sentence. */
function describeField(field: string, issues: SchemaIssue[], part: string): string[] {
  const subject = field ? `字段 ${field}` : part;
  const types = issues.filter((i) => i.keyword === 'type').map((i) => TYPE_NAMES[String(i.params?.type)] ?? String(i.params?.type));
  const allowed = issues.filter((i) => i.keyword === 'const' || i.keyword === 'enum').flatMap((i) => (i.keyword === 'enum' ? ((i.params?.allowedValues as unknown[]) ?? []) : [i.params?.allowedValue]));
  const lines: string[] = [];

  if (allowed.length > 0) lines.push(`${subject} 应为 ${allowed.map((v) => JSON.stringify(v)).join('、')} 之一`);
  else if (types.length > 0) lines.push(`${subject} 应为${[...new Set(types)].join('或')}`);

  for (const issue of issues) {
    const limit = issue.params?.limit;
    switch (issue.keyword) {
      case 'type':
      case 'const':
      case 'enum':
      case 'anyOf':
      case 'oneOf':
        break;
      case 'required': {
        const missing = (issue.params?.requiredProperties as string[] | undefined) ?? [String(issue.params?.missingProperty)];
        lines.push(`${field ? `${subject} 中` : ''}缺少必填字段 ${missing.join('、')}`);
        break;
      }
      case 'additionalProperties': {
        const extra = (issue.params?.additionalProperties as string[] | undefined) ?? [String(issue.params?.additionalProperty)];
        lines.push(`${field ? `${subject} 中` : ''}不支持字段 ${extra.join('、')}，请删除`);
        break;
      }
      case 'minLength':
        lines.push(Number(limit) === 1 ? `${subject} 不能为空` : `${subject} 至少 ${limit} 个字符`);
        break;
      case 'maxLength':
        lines.push(`${subject} 不能超过 ${limit} 个字符`);
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        lines.push(`${subject} 应 ${String(issue.params?.comparison ?? (issue.keyword.includes('in') ? '>=' : '<='))} ${limit}`);
        break;
      case 'minItems':
        lines.push(`${subject} 至少需要 ${limit} 项`);
        break;
      case 'maxItems':
        lines.push(`${subject} 最多 ${limit} 项`);
        break;
      case 'pattern':
      case 'format':
        lines.push(`${subject} 格式不正确`);
        break;
      default:
        lines.push(`${subject} 无效（${issue.message ?? issue.keyword}）`);
    }
  }
  return lines.length > 0 ? lines : [`${subject} 无效`];
}

/**
 * Turn the schema errors of one request part (body, querystring, params, headers) into one
 * Chinese sentence, for example "缺少必填字段 eventId；字段 temperature 应为数字或空值（null）".
 */
export function describeSchemaIssues(issues: SchemaIssue[], context: string | undefined): string {
  const part = PART_NAMES[context ?? ''] ?? '请求';
  const byField = new Map<string, SchemaIssue[]>();
  // A property the schema forbids is reported twice: once as a false schema on the property
  // and once as additionalProperties on its object. The second names it, so the first goes.
  const namesExtras = issues.some((issue) => issue.keyword === 'additionalProperties');
  for (const issue of issues) {
    if (namesExtras && issue.keyword === 'boolean') continue;
    const field = fieldOf(issue.instancePath ?? '');
    byField.set(field, [...(byField.get(field) ?? []), issue]);
  }
  const lines = [...byField].flatMap(([field, fieldIssues]) => describeField(field, fieldIssues, part));
  return `${part}有误：${lines.join('；')}`;
}
