/**
 * How a stream's JSON schema becomes typed columns (the stage task's rule; docs/pipeline.md).
 *
 * Each top-level property is one column, in the schema's order. Its type comes from the JSON
 * schema `type` (ignoring "null") with Airbyte's `format` / `airbyte_type` hints:
 *
 * | JSON schema | column type |
 * |---|---|
 * | integer; number + airbyte_type integer | long |
 * | number | double |
 * | boolean | boolean |
 * | string + format date | date |
 * | string + format date-time (airbyte_type timestamp_with_timezone or none) | timestamptz |
 * | string + airbyte_type timestamp_without_timezone | timestamp |
 * | string (any other format) | string |
 * | several non-null types among string, integer, number and boolean | string: a string's text, another value's JSON text |
 * | object | object: string holding the object's JSON text |
 * | array | array: string holding the array's JSON text |
 * | several non-null types with object or array among them, or no type | json: string holding the value's JSON text |
 *
 * A value that does not fit its column's type is not dropped silently: the column gets NULL, and
 * the whole original record is written to the run's rejects file and counted (see stage). A
 * string in an `object` column does not fit (as Airbyte's typed destinations null it): stored as
 * JSON text it would keep its quotes, and once the source's catalog is discovered again with the
 * field as a string, the same value would be stored without them (QA round 31a).
 */
export type ColumnType = 'long' | 'double' | 'boolean' | 'date' | 'timestamptz' | 'timestamp' | 'string' | 'object' | 'array' | 'json';

export interface StreamColumn {
  name: string;
  /** `object`, `array` and `json` (any JSON value) are stored as a string column holding JSON text. */
  type: ColumnType;
}

type JsonSchemaNode = Record<string, unknown>;

function typesOf(node: JsonSchemaNode): string[] {
  const t = node['type'];
  const list = Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : typeof t === 'string' ? [t] : [];
  if (list.length === 0) {
    // anyOf / oneOf of simple types, as some connectors write. Their `format` / `airbyte_type` are
    // not read (a null-or-date-time is a string): tables loaded before hold those columns as the
    // source's text, which a timestamp column would change under them (QA round 49b D5; docs/pipeline.md).
    const alts = node['anyOf'] ?? node['oneOf'];
    if (Array.isArray(alts)) {
      return alts.flatMap((a) => (a && typeof a === 'object' ? typesOf(a as JsonSchemaNode) : []));
    }
  }
  return list;
}

const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

export function columnTypeOf(node: JsonSchemaNode): ColumnType {
  const types = [...new Set(typesOf(node).filter((t) => t !== 'null'))];
  if (types.length !== 1) {
    // integer + number together is a number.
    if (types.length === 2 && types.includes('integer') && types.includes('number')) return 'double';
    // A string that may also be a number or a boolean stays text, as Airbyte's destinations type a
    // union with string: a source that widens a string column so keeps its values as they were
    // (QA round 27: as JSON text, "abc" became "\"abc\"", and merge keys stopped matching).
    if (types.includes('string') && types.every((t) => SCALARS.has(t))) return 'string';
    return 'json';
  }
  const airbyteType = typeof node['airbyte_type'] === 'string' ? node['airbyte_type'] : undefined;
  const format = typeof node['format'] === 'string' ? node['format'] : undefined;
  switch (types[0]) {
    case 'integer':
      return 'long';
    case 'number':
      return airbyteType === 'integer' ? 'long' : 'double';
    case 'boolean':
      return 'boolean';
    case 'string':
      if (format === 'date' || airbyteType === 'date') return 'date';
      if (airbyteType === 'timestamp_without_timezone') return 'timestamp';
      if (format === 'date-time' || airbyteType === 'timestamp_with_timezone') return 'timestamptz';
      return 'string';
    case 'object':
      return 'object';
    case 'array':
      return 'array';
    default:
      return 'json';
  }
}

/** The columns of a stream, from its JSON schema's top-level properties. */
export function columnsFromJsonSchema(jsonSchema: JsonSchemaNode): StreamColumn[] {
  const props = jsonSchema['properties'];
  if (!props || typeof props !== 'object') return [];
  return Object.entries(props as Record<string, unknown>).map(([name, node]) => ({
    name,
    type: node && typeof node === 'object' ? columnTypeOf(node as JsonSchemaNode) : 'json',
  }));
}
