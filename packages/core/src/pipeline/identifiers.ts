/**
 * Iceberg table and column names Sluice derives from Airbyte stream and field names.
 *
 * Rule (documented in docs/pipeline.md): lower-case; every run of characters other than
 * a–z, 0–9 and `_` becomes one `_`; leading/trailing `_` trimmed; a name starting with a digit
 * gets a leading `_`; an empty result becomes `_`; at most 255 characters. Engines (Trino, Spark,
 * PyIceberg) then read the table without quoting.
 */
export function icebergTableName(stream: string): string {
  let name = stream
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (name === '') name = '_';
  if (/^[0-9]/.test(name)) name = `_${name}`;
  return name.slice(0, 255);
}

/**
 * Streams that would load one table (`Users` and `users`, `order-items` and `order_items`): the
 * first such pair, said as the reason a job cannot select them together; null when every stream
 * has a table of its own. One table for two streams would mix them, or, in overwrite mode, keep
 * only the last one loaded.
 */
export function tableNameCollision(streams: readonly string[]): string | null {
  const byTable = new Map<string, string>();
  for (const stream of streams) {
    const table = icebergTableName(stream);
    const other = byTable.get(table);
    if (other !== undefined && other !== stream) {
      return `streams "${other}" and "${stream}" would both load table "${table}" (table names are lower-case, other characters become _): select one of them`;
    }
    byTable.set(table, stream);
  }
  return null;
}

/** A valid Iceberg namespace for `schema_name`: letters, digits and `_`, starting with a letter or `_`, ≤ 255. */
export const NAMESPACE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/**
 * `base`, or `base_1`, `base_2`, …: a name none of `columns` has, compared as DuckDB compares
 * identifiers (without case), for a column of Sluice's own beside a stream's or table's (QA round
 * 57a F2/F3/F5: source columns named `rowid`, `filename` and `file_row_number` took the place of
 * the writer's own).
 */
export function unusedName(base: string, columns: readonly { name: string }[]): string {
  const taken = new Set(columns.map((c) => c.name.toLowerCase()));
  let name = base;
  for (let n = 1; taken.has(name.toLowerCase()); n += 1) name = `${base}_${n}`;
  return name;
}
