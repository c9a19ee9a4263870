import { decimalType } from './iceberg-types.ts';
import type { ColumnSpec, IcebergPrimitiveType } from './types.ts';

/** A JSON schema node as Airbyte catalogs write them (only what the mapping reads). */
export interface JsonSchemaNode {
  type?: string | string[];
  format?: string;
  airbyte_type?: string;
  properties?: Record<string, JsonSchemaNode>;
  items?: unknown;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  multipleOf?: number;
  /** Decimal columns: `{ "type": "number", "precision": P, "scale": S }` (also `x-precision`/`x-scale`). */
  precision?: number;
  scale?: number;
  'x-precision'?: number;
  'x-scale'?: number;
  description?: string;
  [key: string]: unknown;
}

function typesOf(node: JsonSchemaNode): string[] {
  const t = node.type;
  const list = Array.isArray(t) ? t : t ? [t] : [];
  return list.filter((x) => x !== 'null');
}

/**
 * The Iceberg type of one JSON-schema property (the rule the stage task applies):
 *
 * | JSON schema | Iceberg |
 * |---|---|
 * | `integer` (also `airbyte_type: integer`) | `long` |
 * | `number` | `double`; `decimal(P, S)` when the node gives `precision`/`scale` (or `x-precision`/`x-scale`) |
 * | `boolean` | `boolean` |
 * | `string` | `string` |
 * | `string`, `format: date` | `date` |
 * | `string`, `format: date-time` | `timestamptz`, unless `airbyte_type: timestamp_without_timezone` → `timestamp` |
 * | `string`, `format: time` | `string` (Iceberg `time` has no zone; Airbyte times often do) |
 * | `object`, `array`, a union of several non-null types, or no type | `string` holding the value's JSON text |
 *
 * `null` in a type list only makes the column optional (every column is optional anyway).
 */
export function icebergTypeFromJsonSchema(node: JsonSchemaNode): IcebergPrimitiveType {
  const alternatives = node.anyOf ?? node.oneOf;
  if (alternatives) {
    const nonNull = alternatives.filter((a) => typesOf(a).length > 0);
    return nonNull.length === 1 && nonNull[0] ? icebergTypeFromJsonSchema(nonNull[0]) : 'string';
  }
  const types = typesOf(node);
  if (types.length !== 1) return 'string';
  switch (types[0]) {
    case 'integer':
      return 'long';
    case 'number': {
      if (node.airbyte_type === 'integer') return 'long';
      const precision = node.precision ?? node['x-precision'];
      const scale = node.scale ?? node['x-scale'];
      if (typeof precision === 'number' && precision >= 1 && precision <= 38) {
        const s = typeof scale === 'number' ? scale : 0;
        if (s >= 0 && s <= precision) return decimalType(precision, s);
      }
      return 'double';
    }
    case 'boolean':
      return 'boolean';
    case 'string':
      if (node.format === 'date') return 'date';
      if (node.format === 'date-time') {
        return node.airbyte_type === 'timestamp_without_timezone' ? 'timestamp' : 'timestamptz';
      }
      return 'string';
    default:
      return 'string';
  }
}

/**
 * The columns of a stream from its JSON schema (an object schema with `properties`), in
 * property order, typed by {@link icebergTypeFromJsonSchema}. `json` marks columns whose values
 * are written as JSON text (objects, arrays, mixed unions).
 */
export function icebergSchemaFromJsonSchema(jsonSchema: JsonSchemaNode): Array<ColumnSpec & { json: boolean }> {
  const properties = jsonSchema.properties ?? {};
  return Object.entries(properties).map(([name, node]) => {
    const type = icebergTypeFromJsonSchema(node);
    const types = typesOf(node);
    const json = type === 'string' && !(types.length === 1 && types[0] === 'string');
    const column: ColumnSpec & { json: boolean } = { name, type, json };
    if (typeof node.description === 'string') column.doc = node.description;
    return column;
  });
}
