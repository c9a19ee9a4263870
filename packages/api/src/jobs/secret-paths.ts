import { REDACTED } from '@sluice/logging';

/** A connector's `spec`: the JSON schema of its configuration (Airbyte's ConnectorSpecification). */
export interface ConnectorSpec {
  connectionSpecification: Record<string, unknown>;
}

/** Looks up a connector's spec; undefined when it cannot be had (not installed, no network). */
export type GetConnectorSpec = (sourceName: string) => Promise<ConnectorSpec | undefined>;

/** Key names treated as secrets where the connector's spec says nothing about the key. */
const SECRET_KEY = /pass(word|wd)?|token|secret|credential|key/i;

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function join(base: string, key: string | number): string {
  return base === '' ? String(key) : `${base}.${key}`;
}

/** Every leaf path under `value` (the value itself when it is a leaf). */
function leaves(value: Json, base: string, out: string[]): void {
  if (isObject(value)) for (const [k, v] of Object.entries(value)) leaves(v, join(base, k), out);
  else if (Array.isArray(value)) value.forEach((v, i) => leaves(v, join(base, i), out));
  else out.push(base);
}

/** Schemas that may describe `value` at a point: the schema itself and its oneOf/anyOf/allOf branches. */
function branches(schema: Json): Record<string, Json>[] {
  if (!isObject(schema)) return [];
  const out = [schema];
  for (const k of ['oneOf', 'anyOf', 'allOf']) {
    const list = schema[k];
    if (Array.isArray(list)) for (const s of list) out.push(...branches(s));
  }
  return out;
}

/** The schemas, among `schemas`' own `field` (`items`, `additionalProperties`), with their branches. */
function sub(schemas: readonly Record<string, Json>[], field: string): Record<string, Json>[] {
  return schemas.flatMap((s) => branches(s[field]));
}

/**
 * Walks `value` with the schemas that describe it (none where the spec says nothing). A value a
 * schema marks `airbyte_secret` is secret whole. A key that some schema declares in `properties`
 * is walked with those declarations, so the spec decides about it; a key no schema declares (the
 * spec allows additional properties, or there is no spec) is secret when named like one, and its
 * value is walked with the `additionalProperties` schemas, if any.
 */
function walk(schemas: readonly Record<string, Json>[], value: Json, base: string, out: string[]): void {
  if (base !== '' && schemas.some((s) => s['airbyte_secret'] === true)) {
    leaves(value, base, out);
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const declared = schemas.flatMap((s) => {
        const props = s['properties'];
        return isObject(props) && Object.hasOwn(props, k) ? branches(props[k]) : [];
      });
      if (declared.length > 0) walk(declared, v, join(base, k), out);
      else if (SECRET_KEY.test(k)) leaves(v, join(base, k), out);
      else walk(sub(schemas, 'additionalProperties'), v, join(base, k), out);
    }
  } else if (Array.isArray(value)) {
    const items = sub(schemas, 'items');
    value.forEach((v, i) => walk(items, v, join(base, i), out));
  }
}

/**
 * The dotted paths (array items by index) of the secret values in `config`: the fields the
 * connector's spec marks `airbyte_secret` (through nested objects, arrays and oneOf branches),
 * plus, for every key the spec does not declare (all keys when there is no spec), the values under
 * a key named like password, token, secret, credential or key. A key the spec declares without
 * `airbyte_secret` is not a secret, whatever its name.
 */
export function findSecretPaths(config: Record<string, unknown>, spec: ConnectorSpec | undefined): string[] {
  const out: string[] = [];
  walk(spec ? branches(spec.connectionSpecification) : [], config, '', out);
  return [...new Set(out)].sort();
}

function getAt(config: Json, path: string): Json {
  let cur = config;
  for (const seg of path.split('.')) {
    if (isObject(cur)) cur = cur[seg];
    else if (Array.isArray(cur)) cur = cur[Number(seg)];
    else return undefined;
  }
  return cur;
}

/** A copy of `config` with the value at every secret path replaced by `**********`. */
export function maskSecrets(config: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
  const copy = structuredClone(config);
  for (const path of paths) {
    const segs = path.split('.');
    const last = segs.pop();
    if (last === undefined) continue;
    const parent = segs.length === 0 ? copy : getAt(copy, segs.join('.'));
    if (isObject(parent) && parent[last] !== undefined && parent[last] !== null) parent[last] = REDACTED;
    else if (Array.isArray(parent) && parent[Number(last)] !== undefined && parent[Number(last)] !== null) parent[Number(last)] = REDACTED;
  }
  return copy;
}

/** The secret values themselves (as strings), to register with the log redactor. */
export function secretValues(config: Record<string, unknown>, paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const v = getAt(config, p);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') out.push(String(v));
  }
  return out;
}
