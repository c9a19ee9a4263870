/** Keys whose values are secrets wherever they appear in a log entry (case-insensitive, substring). */
export const DEFAULT_REDACTED_KEYS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
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

/** `scheme://user:password@`: the password of any URL in a logged string (group 1 is what precedes it, group 2 the password). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s/@]+)@/gi;

/**
 * `Password=…` or `PWD=…` in a connection string (ODBC, ADO.NET, JDBC properties, a URL's query):
 * the value up to `;`, `&`, a quote or white space, or an ODBC `{…}` value whole (group 1 is the
 * key and its `=`, group 2 the password).
 */
const KEYED_PASSWORD = /\b((?:password|pwd)\s*=\s*)(\{[^}]*\}|[^;&\s"']+)/gi;

/**
 * The text with the passwords written inside it as `**********`: each URL's
 * (`scheme://user:password@host`) and each connection string's (`Server=db;Password=…;`), which no
 * spec marks and no key names (QA round 55c F4).
 */
export function maskInlinePasswords(text: string): string {
  return maskText(text, []);
}

/** Whether `text` holds a password {@link maskInlinePasswords} masked: `**********` where a URL's or a connection string's password goes. */
export function holdsMaskedInlinePassword(text: string): boolean {
  return inlinePasswords(text).some((p) => p.value === REDACTED);
}

/** The passwords written inside `text` (a URL's, a connection string's), where each is. */
function inlinePasswords(text: string): { start: number; end: number; value: string }[] {
  const found: { start: number; end: number; value: string }[] = [];
  const add = (m: RegExpMatchArray): void => {
    const start = (m.index ?? 0) + (m[1] ?? '').length;
    const value = m[2] ?? '';
    found.push({ start, end: start + value.length, value });
  };
  if (text.includes('@')) for (const m of text.matchAll(URL_CREDENTIALS)) add(m);
  if (text.includes('=')) for (const m of text.matchAll(KEYED_PASSWORD)) add(m);
  return found;
}

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

  /** Where this registry's values occur in `text`, as [start, end) ranges. */
  ranges(text: string, into: [number, number][] = []): [number, number][] {
    for (const v of this.#values) {
      for (let at = text.indexOf(v); at >= 0; at = text.indexOf(v, at + 1)) into.push([at, at + v.length]);
    }
    return into;
  }

  mask(text: string): string {
    return maskText(text, [this]);
  }
}

/**
 * `text` with every registered value of `registries` and every inline password (a URL's, a
 * connection string's: {@link maskInlinePasswords}) masked. The places
 * are found in the text as given and masked together, so that no replacement hides part of a
 * value from another (a secret holding a shorter one, or a URL credential) and leaves the rest.
 */
export function maskText(text: string, registries: readonly SecretRegistry[]): string {
  const found: [number, number][] = [];
  for (const r of registries) r.ranges(text, found);
  for (const p of inlinePasswords(text)) found.push([p.start, p.end]);
  if (found.length === 0) return text;
  found.sort((a, b) => a[0] - b[0]);
  let out = '';
  let pos = 0;
  for (let i = 0; i < found.length; ) {
    const [start, firstEnd] = found[i] as [number, number];
    let end = firstEnd;
    // Overlapping or touching places are one masked span.
    for (i += 1; i < found.length && (found[i] as [number, number])[0] <= end; i += 1) end = Math.max(end, (found[i] as [number, number])[1]);
    out += text.slice(pos, start) + REDACTED;
    pos = end;
  }
  return out + text.slice(pos);
}

function keyIsSecret(key: string, keys: readonly string[]): boolean {
  const k = key.toLowerCase();
  return keys.some((s) => k.includes(s));
}

/** Returns a copy of `value` with secret-named keys replaced and the registries' values masked. */
export function redact(value: unknown, registries: readonly SecretRegistry[], keys: readonly string[] = DEFAULT_REDACTED_KEYS, depth = 0): unknown {
  if (typeof value === 'string') return maskText(value, registries);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, registries, keys, depth + 1));
  if (value instanceof Error) {
    return { name: value.name, message: maskText(value.message, registries), stack: value.stack ? maskText(value.stack, registries) : undefined };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = keyIsSecret(k, keys) && v !== null && v !== undefined ? REDACTED : redact(v, registries, keys, depth + 1);
  }
  return out;
}
