/** How many records of each stream are looked at (the first ones). */
const SAMPLED_RECORDS = 1_000;
/** How many undeclared field names are kept per stream. */
const KEPT_NAMES = 20;

/** The top-level fields a stream's JSON schema declares, or null when it declares none (a schemaless stream). */
export function declaredFields(jsonSchema: Record<string, unknown>): Set<string> | null {
  const props = jsonSchema['properties'];
  if (props === null || typeof props !== 'object' || Array.isArray(props)) return null;
  const names = Object.keys(props);
  return names.length === 0 ? null : new Set(names);
}

/** The JSON types a field's values must have to fit its column: null fits every field. */
type Fits = (value: unknown) => boolean;

const FITS: Record<string, Fits> = {
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  number: (v) => typeof v === 'number',
  boolean: (v) => typeof v === 'boolean',
  object: (v) => typeof v === 'object' && !Array.isArray(v),
  array: (v) => Array.isArray(v),
};

/**
 * How a declared field's values are checked: by its one JSON type besides null, when that is one
 * whose column takes only such values (a string column takes any value, as text).
 */
function fitsOf(schema: unknown): Fits | null {
  if (schema === null || typeof schema !== 'object') return null;
  const type = (schema as { type?: unknown }).type;
  const types = (Array.isArray(type) ? (type as unknown[]) : [type]).filter((t) => t !== 'null');
  const [only] = types;
  return types.length === 1 && typeof only === 'string' ? (FITS[only] ?? null) : null;
}

/**
 * Top-level fields that records carry and their stream's schema does not declare, and declared
 * fields whose values do not have the declared type, from each stream's first SAMPLED_RECORDS
 * records: how a column the source added, or one whose type it changed, shows while extract reads
 * with a stored catalog (stage loads declared columns only, and a value that does not fit as
 * NULL). A field that only some later records carry can be missed; a column the source removed is
 * not seen here (its values read NULL).
 */
export class UndeclaredFields {
  readonly #declared = new Map<string, Set<string>>();
  readonly #fits = new Map<string, Map<string, Fits>>();
  readonly #sampled = new Map<string, number>();
  readonly #found = new Map<string, Set<string>>();
  readonly #misfits = new Map<string, Set<string>>();

  constructor(streams: readonly { name: string; jsonSchema: Record<string, unknown> }[]) {
    for (const s of streams) {
      const declared = declaredFields(s.jsonSchema);
      if (!declared) continue;
      this.#declared.set(s.name, declared);
      const props = s.jsonSchema['properties'] as Record<string, unknown>;
      const fits = new Map<string, Fits>();
      for (const name of declared) {
        const f = fitsOf(props[name]);
        if (f) fits.set(name, f);
      }
      this.#fits.set(s.name, fits);
    }
  }

  /** Looks at one record's data (its JSON text) while the stream's sample lasts. */
  sample(stream: string, data: string): void {
    const declared = this.#declared.get(stream);
    if (!declared) return;
    const n = this.#sampled.get(stream) ?? 0;
    if (n >= SAMPLED_RECORDS) return;
    this.#sampled.set(stream, n + 1);
    let record: unknown;
    try {
      record = JSON.parse(data);
    } catch {
      return; // the stager keeps the line as it came; stage reports what it cannot read
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return;
    const fields = record as Record<string, unknown>;
    const undeclared = Object.keys(fields).filter((key) => !declared.has(key));
    if (undeclared.length > 0) keep(this.#found, stream, undeclared);
    const misfits: string[] = [];
    for (const [name, fits] of this.#fits.get(stream) ?? []) {
      const value = fields[name];
      if (value !== undefined && value !== null && !fits(value)) misfits.push(name);
    }
    if (misfits.length > 0) keep(this.#misfits, stream, misfits);
  }

  /** Per stream, the undeclared fields seen (streams with none are absent). */
  found(): Map<string, string[]> {
    return sorted(this.#found);
  }

  /** Per stream, the declared fields some of whose values did not have the declared type (streams with none are absent). */
  misfits(): Map<string, string[]> {
    return sorted(this.#misfits);
  }
}

function keep(into: Map<string, Set<string>>, stream: string, names: readonly string[]): void {
  const kept = into.get(stream) ?? new Set<string>();
  for (const name of names) if (kept.size < KEPT_NAMES) kept.add(name);
  into.set(stream, kept);
}

function sorted(m: Map<string, Set<string>>): Map<string, string[]> {
  return new Map([...m].map(([stream, names]) => [stream, [...names].sort()]));
}
