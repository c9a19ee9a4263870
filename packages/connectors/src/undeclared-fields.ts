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

/**
 * Top-level fields that records carry and their stream's schema does not declare, from each
 * stream's first SAMPLED_RECORDS records: how a column the source added shows while extract
 * reads with a stored catalog (stage loads declared columns only). A field that only some later
 * records carry can be missed; a column the source removed is not seen here (its values read NULL).
 */
export class UndeclaredFields {
  readonly #declared = new Map<string, Set<string>>();
  readonly #sampled = new Map<string, number>();
  readonly #found = new Map<string, Set<string>>();

  constructor(streams: readonly { name: string; jsonSchema: Record<string, unknown> }[]) {
    for (const s of streams) {
      const declared = declaredFields(s.jsonSchema);
      if (declared) this.#declared.set(s.name, declared);
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
    const undeclared = Object.keys(record).filter((key) => !declared.has(key));
    if (undeclared.length === 0) return;
    const found = this.#found.get(stream) ?? new Set<string>();
    for (const key of undeclared) if (found.size < KEPT_NAMES) found.add(key);
    this.#found.set(stream, found);
  }

  /** Per stream, the undeclared fields seen (streams with none are absent). */
  found(): Map<string, string[]> {
    return new Map([...this.#found].map(([stream, names]) => [stream, [...names].sort()]));
  }
}
