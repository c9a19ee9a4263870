import type { SchemaFieldDataType } from './aspects.ts';

/**
 * DataHub's field type for an Iceberg type, written as the Iceberg spec writes types
 * (`long`, `decimal(10,2)`, `fixed[16]`, `timestamptz`, `list<string>`, `map<string, long>`,
 * `struct<…>`). Timestamps are DataHub's TimeType, as DataHub's own Iceberg source maps them;
 * a type it does not know becomes NullType, DataHub's "unknown".
 */
export function icebergFieldType(icebergType: string): SchemaFieldDataType {
  const t = icebergType.trim().toLowerCase();
  switch (t) {
    case 'boolean':
      return { type: { 'com.linkedin.schema.BooleanType': {} } };
    case 'int':
    case 'integer':
    case 'long':
    case 'float':
    case 'double':
      return { type: { 'com.linkedin.schema.NumberType': {} } };
    case 'date':
      return { type: { 'com.linkedin.schema.DateType': {} } };
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return { type: { 'com.linkedin.schema.TimeType': {} } };
    case 'string':
    case 'uuid':
      return { type: { 'com.linkedin.schema.StringType': {} } };
    case 'binary':
      return { type: { 'com.linkedin.schema.BytesType': {} } };
    default:
      break;
  }
  if (/^decimal\s*\(\s*\d+\s*,\s*\d+\s*\)$/.test(t)) return { type: { 'com.linkedin.schema.NumberType': {} } };
  if (/^fixed\s*\[\s*\d+\s*\]$/.test(t)) return { type: { 'com.linkedin.schema.FixedType': {} } };
  const list = /^list\s*<(.*)>$/.exec(t);
  if (list?.[1] !== undefined) return { type: { 'com.linkedin.schema.ArrayType': { nestedType: [list[1].trim()] } } };
  const map = /^map\s*<(.*)>$/.exec(t);
  if (map?.[1] !== undefined) {
    const [key, value] = splitTopLevel(map[1]);
    if (key !== undefined && value !== undefined) {
      return { type: { 'com.linkedin.schema.MapType': { keyType: key, valueType: value } } };
    }
  }
  if (/^struct\s*<.*>$/.test(t) || t === 'struct') return { type: { 'com.linkedin.schema.RecordType': {} } };
  return { type: { 'com.linkedin.schema.NullType': {} } };
}

/** Splits `a, b<c, d>` at its one top-level comma; anything else answers []. */
function splitTopLevel(s: string): string[] {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '<' || c === '(' || c === '[') depth++;
    else if (c === '>' || c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      const rest = s.slice(i + 1);
      return [s.slice(0, i).trim(), rest.trim()];
    }
  }
  return [];
}
