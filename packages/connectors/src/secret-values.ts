import { DEFAULT_REDACTED_KEYS } from '@sluice/logging';
import type { ConnectorConfig, ConnectorSpecification } from './protocol.ts';

/** Config keys whose values are secrets even when the spec does not mark them (case-insensitive, substring). */
export const SECRET_KEY_PARTS: readonly string[] = [...new Set([...DEFAULT_REDACTED_KEYS, 'pass', 'key', 'auth', 'session', 'cookie'])];

/**
 * The secret values in a connector config: every value at a spec field marked `airbyte_secret`
 * (through nested objects, arrays and oneOf/anyOf/allOf branches), and every string under a key
 * that looks like a secret (password, token, secret, key, ...). Each value also appears in its
 * JSON-escaped form, the way it shows up inside a JSON log line.
 */
export function collectSecretValues(spec: ConnectorSpecification | undefined, config: ConnectorConfig): string[] {
  const found = new Set<string>();
  if (spec) fromSchema(spec.connectionSpecification, config, found, 0);
  fromKeys(config, false, found, 0);
  for (const v of [...found]) {
    const escaped = JSON.stringify(v).slice(1, -1);
    if (escaped !== v) found.add(escaped);
  }
  return [...found];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function addScalars(value: unknown, out: Set<string>, depth: number): void {
  if (depth > 16) return;
  if (typeof value === 'string' && value !== '') out.add(value);
  else if (typeof value === 'number' || typeof value === 'bigint') out.add(String(value));
  else if (Array.isArray(value)) for (const v of value) addScalars(v, out, depth + 1);
  else if (isObject(value)) for (const v of Object.values(value)) addScalars(v, out, depth + 1);
}

function fromSchema(schema: unknown, value: unknown, out: Set<string>, depth: number): void {
  if (!isObject(schema) || value === undefined || value === null || depth > 16) return;
  if (schema['airbyte_secret'] === true) {
    addScalars(value, out, 0);
    return;
  }
  const properties = schema['properties'];
  if (isObject(properties) && isObject(value)) {
    for (const [key, sub] of Object.entries(properties)) fromSchema(sub, value[key], out, depth + 1);
  }
  for (const branch of ['oneOf', 'anyOf', 'allOf'] as const) {
    const alternatives = schema[branch];
    if (Array.isArray(alternatives)) for (const alt of alternatives) fromSchema(alt, value, out, depth + 1);
  }
  if (Array.isArray(value) && schema['items'] !== undefined) {
    for (const item of value) fromSchema(schema['items'], item, out, depth + 1);
  }
}

function keyLooksSecret(key: string): boolean {
  const k = key.toLowerCase();
  return SECRET_KEY_PARTS.some((part) => k.includes(part));
}

function fromKeys(value: unknown, underSecretKey: boolean, out: Set<string>, depth: number): void {
  if (depth > 16) return;
  if (underSecretKey) {
    addScalars(value, out, 0);
    return;
  }
  if (Array.isArray(value)) for (const v of value) fromKeys(v, false, out, depth + 1);
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) fromKeys(v, keyLooksSecret(k), out, depth + 1);
}
