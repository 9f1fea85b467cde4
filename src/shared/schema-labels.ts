/**
 * Chinese labels of request fields. Each property of a route's body, query or path schema
 * carries its label as the JSON Schema `title` (`Type.String({ title: '开始日期' })`), so a
 * validation message can name 开始日期 instead of `from`, and a test can find every
 * property that still lacks one.
 */

/** A JSON Schema, such as a TypeBox schema. The lookup reads only the keywords of Node. */
export type SchemaNode = object;

/** The JSON Schema keywords the label lookup reads. */
interface Node {
  title?: unknown;
  const?: unknown;
  properties?: Record<string, unknown>;
  items?: unknown;
  anyOf?: unknown[];
  oneOf?: unknown[];
  allOf?: unknown[];
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null;
}

/** List the node and, depth first, every branch of its unions and intersections. */
function branchesOf(node: Node): Node[] {
  const nested = [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])].filter(isNode);
  return [node, ...nested.flatMap(branchesOf)];
}

/**
 * Find the label of a schema node: its own title, or the title of the first union branch
 * that has one, so that `Nullable(Type.Number({ title: '体温' }))` is labelled 体温. The
 * title of a `const` branch names that value (see valueLabel), not the field.
 */
function labelOf(node: Node): string | undefined {
  for (const branch of branchesOf(node)) {
    if (branch !== node && Object.hasOwn(branch, 'const')) continue;
    if (typeof branch.title === 'string' && branch.title.trim() !== '') return branch.title;
  }
  return undefined;
}

/** Find the schema of a named property of an object node, looking inside union branches. */
function propertyOf(node: Node, name: string): Node | undefined {
  for (const branch of branchesOf(node)) {
    const property = branch.properties && Object.hasOwn(branch.properties, name) ? branch.properties[name] : undefined;
    if (isNode(property)) return property;
  }
  return undefined;
}

/** Find the schema of the items of an array node (the first item schema of a tuple). */
function itemsOf(node: Node): Node | undefined {
  for (const branch of branchesOf(node)) {
    const items = Array.isArray(branch.items) ? branch.items[0] : branch.items;
    if (isNode(items)) return items;
  }
  return undefined;
}

/**
 * Name the field at a path of property names and array indexes in Chinese, such as
 * 检查记录第 2 项的体温 for ['entries', '1', 'temperature']. Returns undefined when the
 * schema is missing, a property on the way is not in it, or has no label.
 */
export function fieldLabel(schema: SchemaNode | undefined, segments: string[]): string | undefined {
  if (!isNode(schema) || segments.length === 0) return undefined;
  let node: Node = schema;
  let label = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) {
      const items = itemsOf(node);
      if (!items || !label) return undefined;
      label += `第 ${Number(segment) + 1} 项`;
      node = items;
      continue;
    }
    const property = propertyOf(node, segment);
    const title = property && labelOf(property);
    if (!property || !title) return undefined;
    label = label ? `${label}的${title}` : title;
    node = property;
  }
  return label;
}

/**
 * Name a property of the object at `segments` by its own label, such as 名称 for `name`
 * of ['items', '0']; undefined when the schema has no such labelled property.
 */
export function propertyLabel(schema: SchemaNode | undefined, segments: string[], name: string): string | undefined {
  if (!isNode(schema)) return undefined;
  let node: Node | undefined = schema;
  for (const segment of segments) {
    node = /^\d+$/.test(segment) ? itemsOf(node) : propertyOf(node, segment);
    if (!node) return undefined;
  }
  const property = propertyOf(node, name);
  return property && labelOf(property);
}

/** Find the schema node at a path of property names and array indexes, or undefined. */
function nodeAt(schema: SchemaNode | undefined, segments: string[]): Node | undefined {
  let node: Node | undefined = isNode(schema) ? schema : undefined;
  for (const segment of segments) {
    if (!node) return undefined;
    node = /^\d+$/.test(segment) ? itemsOf(node) : propertyOf(node, segment);
  }
  return node;
}

/**
 * Name an allowed value of the field at `segments` by the title of its `const` branch,
 * such as 门卫 for 'guard' of `Type.Union([Type.Literal('guard', { title: '门卫' }), …])`.
 * Returns undefined when that branch has no title.
 */
export function valueLabel(schema: SchemaNode | undefined, segments: string[], value: unknown): string | undefined {
  const node = nodeAt(schema, segments);
  if (!node) return undefined;
  for (const branch of branchesOf(node)) {
    if (Object.hasOwn(branch, 'const') && branch.const === value && typeof branch.title === 'string' && branch.title.trim() !== '') return branch.title;
  }
  return undefined;
}

/** List the property names that the object at `segments` declares, in all its union branches. */
export function propertyNames(schema: SchemaNode | undefined, segments: string[]): string[] {
  const node = nodeAt(schema, segments);
  if (!node) return [];
  return [...new Set(branchesOf(node).flatMap((branch) => Object.keys(branch.properties ?? {})))];
}

/**
 * List the properties of a request schema that have no label, as paths such as
 * `entries[].note`. Properties of records (`patternProperties`) have no fixed name and
 * are not listed.
 */
export function findUnlabelledFields(schema: SchemaNode | undefined): string[] {
  const missing: string[] = [];
  const seen = new Set<Node>();

  const walk = (node: Node, prefix: string): void => {
    if (seen.has(node)) return;
    seen.add(node);
    for (const branch of branchesOf(node)) {
      for (const [name, property] of Object.entries(branch.properties ?? {})) {
        if (!isNode(property)) continue;
        const path = prefix ? `${prefix}.${name}` : name;
        if (!labelOf(property) && !missing.includes(path)) missing.push(path);
        walk(property, path);
      }
      const items: unknown[] = Array.isArray(branch.items) ? branch.items : [branch.items];
      for (const item of items.filter(isNode)) walk(item, `${prefix}[]`);
    }
  };

  if (isNode(schema)) walk(schema, '');
  return missing;
}
