/**
 * Which values of a connector configuration are secrets: one rule for the API's masking, the
 * runner's log redaction and the UI's second guard.
 */

/** A connector's `spec`: the JSON schema of its configuration (Airbyte's ConnectorSpecification). */
export interface ConnectorSpec {
  connectionSpecification: Record<string, unknown>;
}

/** Parts of a key's name (case-insensitive) that make the key's value a secret where no spec says otherwise. */
const SECRET_KEY_PARTS = ['pass', 'pwd', 'secret', 'token', 'key', 'credential', 'authorization', 'session', 'cookie', 'jwt'] as const;

/**
 * A configuration key named like a secret (password, api_key, client_secret, Authorization,
 * session_cookie …). Not `auth` alone: `oauth` or `auth_method` name a block or a choice, and a
 * secret-named key hides everything under it.
 */
export function looksLikeSecretKey(name: string): boolean {
  const k = name.toLowerCase();
  return SECRET_KEY_PARTS.some((part) => k.includes(part));
}

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
      else if (looksLikeSecretKey(k)) leaves(v, join(base, k), out);
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
 * a key named like a secret ({@link looksLikeSecretKey}). A key the spec declares without
 * `airbyte_secret` is not a secret, whatever its name.
 */
export function findSecretPaths(config: Record<string, unknown>, spec: ConnectorSpec | undefined): string[] {
  const out: string[] = [];
  walk(spec ? branches(spec.connectionSpecification) : [], config, '', out);
  return [...new Set(out)].sort();
}

/**
 * The paths whose values answers show as `**********`: the secret paths, when the connector's spec
 * was read for this config (`specSecretsKnown`); otherwise every string of the config too, as only
 * that spec can say which of them are secrets (a field it alone marks `airbyte_secret`, named like
 * no secret). Numbers and booleans keep their type (a port, a count, a switch).
 */
export function pathsToMask(config: Record<string, unknown>, job: { secretPaths: readonly string[]; specSecretsKnown: boolean }): string[] {
  if (job.specSecretsKnown) return [...job.secretPaths];
  const all: string[] = [];
  leaves(config, '', all);
  const strings = all.filter((p) => typeof valueAt(config, p) === 'string');
  return [...new Set([...job.secretPaths, ...strings])].sort();
}

/** The value at a dotted path (array items by index) of `config`; undefined where there is none. */
export function valueAt(config: unknown, path: string): unknown {
  let cur = config;
  for (const seg of path.split('.')) {
    if (isObject(cur)) cur = cur[seg];
    else if (Array.isArray(cur)) cur = cur[Number(seg)];
    else return undefined;
  }
  return cur;
}

/** The secret values themselves (as strings), to register with the log redactor. */
export function secretValues(config: Record<string, unknown>, paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const v = valueAt(config, p);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') out.push(String(v));
  }
  return out;
}

/**
 * The top-level properties a connector's spec declares, and the config's keys it does not (most
 * often a misspelt key, which the connector ignores); null when the spec declares no properties.
 */
export function undeclaredConfigKeys(config: Record<string, unknown>, spec: ConnectorSpec): { declared: Record<string, unknown>; undeclared: string[] } | null {
  const props = spec.connectionSpecification['properties'];
  if (props === null || typeof props !== 'object' || Array.isArray(props)) return null;
  const declared = props as Record<string, unknown>;
  return { declared, undeclared: Object.keys(config).filter((k) => !(k in declared)) };
}
