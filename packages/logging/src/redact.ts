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

/** `scheme://user:password@`: the password of any URL in a logged string. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s/@]+@/gi;

/**
 * Known secret values registered at run time (e.g. a job's `airbyte_secret` config values),
 * replaced wherever they appear inside any logged string.
 */
export class SecretRegistry {
  readonly #values = new Set<string>();

  /** Registers a value; answers whether it was not registered before (and is long enough to be). */
  add(value: string): boolean {
    // Very short values would mask unrelated text and are not worth hiding by value.
    if (value.length < 4 || this.#values.has(value)) return false;
    this.#values.add(value);
    return true;
  }

  /**
   * Hides the password of a service URL (DATABASE_URL, REDIS_URL) by value. Not when it equals the
   * URL's user name, which is no secret from a reader of the logs (compose's `sluice:sluice` would
   * otherwise mask every "sluice"); credentials inside a logged URL are masked in any case.
   */
  addUrlPassword(url: string): void {
    let user: string;
    let password: string;
    try {
      const u = new URL(url);
      user = decodeURIComponent(u.username);
      password = decodeURIComponent(u.password);
    } catch {
      return; // not a URL: nothing to hide
    }
    if (password !== '' && password !== user) this.add(password);
  }

  remove(value: string): void {
    this.#values.delete(value);
  }

  mask(text: string): string {
    let out = text.includes('@') ? text.replace(URL_CREDENTIALS, `$1${REDACTED}@`) : text;
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
