/**
 * Unknown properties in JSON request bodies. Ajv and TypeBox accept properties a schema does
 * not list unless the object sets `additionalProperties: false`, and a route then ignores
 * them: a client that misspells `hostName` as `hostname` gets 200 and loses what the user
 * typed. Every body schema therefore goes through `rejectUnknownProperties` when its route
 * is registered, and a schema that must accept extra properties (a vendor's device push)
 * sets `additionalProperties: true`.
 */

import type { SchemaNode } from './schema-labels.js';

/** Keywords whose value is one subschema. */
const SCHEMA_KEYWORDS = ['items', 'additionalItems', 'contains', 'not', 'if', 'then', 'else', 'additionalProperties', 'unevaluatedProperties'];
/** Keywords whose value is a list of subschemas. */
const SCHEMA_LIST_KEYWORDS = ['anyOf', 'oneOf', 'prefixItems'];
/** Keywords whose value maps names to subschemas. */
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];

/**
 * Copy an object with all its own properties, the non-enumerable ones too: TypeBox keeps
 * its kind and modifiers there.
 */
function copyNode(node: object): Record<string, unknown> {
  return Object.defineProperties({}, Object.getOwnPropertyDescriptors(node)) as Record<string, unknown>;
}

function strictCopy(value: unknown, insideAllOf: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => strictCopy(item, insideAllOf));
  if (typeof value !== 'object' || value === null) return value;

  const copy = copyNode(value);
  for (const keyword of SCHEMA_KEYWORDS) {
    if (keyword in copy) copy[keyword] = strictCopy(copy[keyword], false);
  }
  for (const keyword of SCHEMA_LIST_KEYWORDS) {
    if (Array.isArray(copy[keyword])) copy[keyword] = (copy[keyword] as unknown[]).map((item) => strictCopy(item, false));
  }
  for (const keyword of SCHEMA_MAP_KEYWORDS) {
    const members = copy[keyword];
    if (typeof members !== 'object' || members === null) continue;
    copy[keyword] = Object.fromEntries(Object.entries(members).map(([name, schema]) => [name, strictCopy(schema, false)]));
  }
  // Each branch of an intersection is checked against the whole value, so a strict branch
  // would reject the properties of the others.
  if (Array.isArray(copy.allOf)) copy.allOf = (copy.allOf as unknown[]).map((item) => strictCopy(item, true));

  const listsProperties = typeof copy.properties === 'object' && copy.properties !== null;
  if (listsProperties && !insideAllOf && copy.additionalProperties === undefined && copy.patternProperties === undefined) {
    copy.additionalProperties = false;
  }
  return copy;
}

/**
 * Return a copy of a JSON body schema in which every object that lists its properties
 * rejects any other property, unless it sets `additionalProperties` or
 * `patternProperties` itself or is a branch of an `allOf`. The schema passed in is not
 * changed, because modules share schema constants.
 */
export function rejectUnknownProperties(schema: SchemaNode): SchemaNode {
  return strictCopy(schema, false) as SchemaNode;
}
