/** Keys whose values are secrets wherever they appear in a log entry (case-insensitive, substring). */
export const DEFAULT_REDACTED_KEYS: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'token',
  'api_key',
  'apikey',
  'access_key',
  'private_key',
  'credentials',
  'authorization',
  'client_secret',
  'source_config',
  'sourceconfig',
];

export const REDACTED = '**********';

/**
 * Known secret values registered at run time (e.g. a job's `airbyte_secret` config values),
 * replaced wherever they appear inside any logged string.
 */
export class SecretRegistry {
  readonly #values = new Set<string>();

  add(value: string): void {
    // Very short values would mask unrelated text and are not worth hiding by value.
    if (value.length >= 4) this.#values.add(value);
  }

  remove(value: string): void {
    this.#values.delete(value);
  }

  mask(text: string): string {
    let out = text;
    for (const v of this.#values) {
      if (out.includes(v)) out = out.split(v).join(REDACTED);
    }
    return out;
  }
}

function keyIsSecret(key: string, keys: readonly string[]): boolean {
  const k = key.toLowerCase();
  return keys.some((s) => k.includes(s));
}

/** Returns a copy of `value` with secret-named keys replaced and registered secret values masked. */
export function redact(value: unknown, registry: SecretRegistry, keys: readonly string[] = DEFAULT_REDACTED_KEYS, depth = 0): unknown {
  if (typeof value === 'string') return registry.mask(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, registry, keys, depth + 1));
  if (value instanceof Error) {
    return { name: value.name, message: registry.mask(value.message), stack: value.stack ? registry.mask(value.stack) : undefined };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = keyIsSecret(k, keys) && v !== null && v !== undefined ? REDACTED : redact(v, registry, keys, depth + 1);
  }
  return out;
}
