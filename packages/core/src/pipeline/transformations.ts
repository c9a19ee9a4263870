import { ValidationError, type FieldIssue } from '../errors/index.ts';

/** Target types a `cast` transformation may name. */
export const CAST_TYPES = ['string', 'long', 'int', 'double', 'float', 'boolean', 'date', 'timestamptz', 'timestamp'] as const;
export type CastType = (typeof CAST_TYPES)[number];
/** Whether a type (an Iceberg column's, say) is one a `cast` transformation may name. */
export function isCastType(t: string): t is CastType {
  return (CAST_TYPES as readonly string[]).includes(t);
}

/** One column transformation, normalised from either form the contract accepts. */
export interface ColumnTransformation {
  column: string;
  /** The stream it targets; null = every selected stream that has the column. */
  stream: string | null;
  newName: string | null;
  encryptionKeyName: string | null;
  castTo: CastType | null;
  drop: boolean;
}

/** What happens to one source column of one stream. */
export interface ColumnPlan {
  source: string;
  /** The output column name (the source name unless renamed). */
  target: string;
  encryptionKeyName: string | null;
  castTo: CastType | null;
}

export interface StreamPlan {
  stream: string;
  /** Output columns in source order; dropped columns are absent. */
  columns: ColumnPlan[];
}

/** What a column's transformations make of it, together. */
export interface ColumnChange {
  newName: string | null;
  encryptionKeyName: string | null;
  castTo: CastType | null;
  drop: boolean;
}

/**
 * The transformations of one column that apply in one place (`where`: "in stream …", "in every
 * stream"), taken together: a rename and an encryption and a cast all apply; the same one given
 * twice is one. What contradicts an earlier one is an issue at the later entry, not a silent
 * winner: a second, different name, key or cast; a drop beside any other change.
 */
export function mergeColumnTransformations(column: string, entries: readonly { t: ColumnTransformation; i: number }[], where: string): { change: ColumnChange; issues: FieldIssue[] } {
  const change: ColumnChange = { newName: null, encryptionKeyName: null, castTo: null, drop: false };
  const by: { newName?: number; encryptionKeyName?: number; castTo?: number; drop?: number; changed?: number } = {};
  const issues: FieldIssue[] = [];
  for (const { t, i } of entries) {
    const at = `column_transformations[${i}]`;
    const changes = t.newName !== null || t.encryptionKeyName !== null || t.castTo !== null;
    if (t.drop && by.changed !== undefined) {
      issues.push({ path: `${at}.drop`, message: `column "${column}" is renamed, encrypted or cast by column_transformations[${by.changed}] ${where}: it cannot also be dropped` });
      continue;
    }
    if (changes && by.drop !== undefined) {
      issues.push({ path: at, message: `column "${column}" is dropped by column_transformations[${by.drop}] ${where}: it cannot also be renamed, encrypted or cast` });
      continue;
    }
    if (t.newName !== null && change.newName !== null && change.newName !== t.newName) {
      issues.push({ path: `${at}.new_name`, message: `column "${column}" is already renamed to "${change.newName}" by column_transformations[${by.newName ?? 0}] ${where}` });
      continue;
    }
    if (t.encryptionKeyName !== null && change.encryptionKeyName !== null && change.encryptionKeyName !== t.encryptionKeyName) {
      issues.push({ path: `${at}.encryption_key_name`, message: `column "${column}" is already encrypted with key "${change.encryptionKeyName}" by column_transformations[${by.encryptionKeyName ?? 0}] ${where}` });
      continue;
    }
    if (t.castTo !== null && change.castTo !== null && change.castTo !== t.castTo) {
      issues.push({ path: `${at}.target_type`, message: `column "${column}" is already cast to ${change.castTo} by column_transformations[${by.castTo ?? 0}] ${where}` });
      continue;
    }
    if (t.newName !== null && change.newName === null) [change.newName, by.newName] = [t.newName, i];
    if (t.encryptionKeyName !== null && change.encryptionKeyName === null) [change.encryptionKeyName, by.encryptionKeyName] = [t.encryptionKeyName, i];
    if (t.castTo !== null && change.castTo === null) [change.castTo, by.castTo] = [t.castTo, i];
    if (t.drop && !change.drop) [change.drop, by.drop] = [true, i];
    if (changes) by.changed ??= i;
  }
  return { change, issues };
}

/**
 * Applies a job's transformations to one stream's columns. Several transformations may target
 * the same column (rename + encrypt both apply). Fails when a transformation names the stream but
 * a column it does not have, or when two output columns would share a name, compared without
 * case (DuckDB, Trino and Spark take `name` and `NAME` for one column).
 */
export function planStreamColumns(stream: string, columns: readonly string[], transformations: readonly ColumnTransformation[]): StreamPlan {
  const collision = sourceCaseCollision(stream, columns);
  if (collision) throw new ValidationError([{ path: 'streams', message: collision }]);
  const issues: FieldIssue[] = [];
  const applying = transformations.map((t, i) => ({ t, i })).filter(({ t }) => t.stream === null || t.stream === stream);
  for (const { t, i } of applying) {
    // A transformation aimed at every stream applies only where the column exists.
    if (t.stream !== null && !columns.includes(t.column)) {
      issues.push({
        path: `column_transformations[${i}].column`,
        message: `stream "${stream}" has no column "${t.column}" (its columns: ${columns.join(', ') || 'none'})`,
      });
    }
  }
  const byColumn = new Map<string, ColumnPlan & { dropped: boolean }>();
  for (const c of columns) {
    const merged = mergeColumnTransformations(c, applying.filter(({ t }) => t.column === c), `in stream "${stream}"`);
    issues.push(...merged.issues);
    const { newName, encryptionKeyName, castTo, drop } = merged.change;
    byColumn.set(c, { source: c, target: newName ?? c, encryptionKeyName, castTo, dropped: drop });
  }

  const kept = [...byColumn.values()].filter((p) => !p.dropped);
  // Keyed by the lower-cased name: DuckDB, Trino and Spark match column names case-insensitively.
  const seen = new Map<string, { source: string; target: string }>();
  for (const p of kept) {
    const other = seen.get(p.target.toLowerCase());
    if (other !== undefined) {
      // The entry whose rename made the clash, the later one when both renamed (QA round 54a F4: none was named).
      const renaming = applying.filter(({ t }) => t.newName !== null && (t.column === p.source || t.column === other.source)).at(-1);
      issues.push({
        path: renaming === undefined ? 'column_transformations' : `column_transformations[${renaming.i}].new_name`,
        message:
          other.target === p.target
            ? `stream "${stream}": columns "${other.source}" and "${p.source}" would both be named "${p.target}"`
            : `stream "${stream}": columns "${other.source}" and "${p.source}" would be named "${other.target}" and "${p.target}", ` +
              'one name to DuckDB, Trino and Spark, which ignore the case of column names',
      });
    }
    seen.set(p.target.toLowerCase(), { source: p.source, target: p.target });
  }
  // Dropping every column leaves nothing to load (ingestion metadata columns alone say nothing).
  if (kept.length === 0 && columns.length > 0) {
    issues.push({
      path: 'column_transformations',
      message: `stream "${stream}": the drops remove every one of its columns (${columns.join(', ')}), leaving nothing to load; leave the stream out of streams instead`,
    });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return {
    stream,
    columns: kept.map(({ source, target, encryptionKeyName, castTo }) => ({ source, target, encryptionKeyName, castTo })),
  };
}

/**
 * Why a merge key is ambiguous, or null: it is the new name of one column and the source name of
 * another (`id` renamed to `user_id`, `age` renamed to `id`: `merge: "id"` names both). Keys name
 * an output column or a renamed column by its source name; each of the two has another name that
 * says which is meant, and the message gives both.
 */
export function ambiguousMergeKey(stream: string, key: string, columns: readonly { source: string | null; target: string }[]): string | null {
  const byNewName = columns.find((c) => c.target === key && c.source !== key);
  const bySourceName = columns.find((c) => c.source === key && c.target !== key);
  if (byNewName === undefined || bySourceName === undefined) return null;
  const other = byNewName.source === null ? `the column "${key}"` : `"${byNewName.source}" renamed to "${key}"`;
  return (
    `merge key "${key}" of stream "${stream}" names two columns: ${other}, and "${key}" renamed to "${bySourceName.target}"; ` +
    `name the key ${byNewName.source === null ? '' : `"${byNewName.source}" (the first) or `}"${bySourceName.target}" (the second)`
  );
}

/**
 * Whether the job's transformations encrypt a column of this stream: one names the stream, or
 * names every stream (`stream` null) and the stream has the column. Its staging then holds that
 * column's plaintext.
 */
export function encryptsColumnOf(stream: string, columns: readonly string[], transformations: readonly ColumnTransformation[]): boolean {
  return transformations.some((t) => t.encryptionKeyName !== null && (t.stream === null ? columns.includes(t.column) : t.stream === stream));
}

/**
 * Why a stream cannot be loaded when its source has two columns whose names differ only in case
 * (`name` and `Name`), or null. Stage reads records with DuckDB, which takes them for one column,
 * before any transformation applies: no rename or drop helps, only leaving the stream out.
 */
export function sourceCaseCollision(stream: string, columns: readonly string[]): string | null {
  const seen = new Map<string, string>();
  for (const c of columns) {
    const other = seen.get(c.toLowerCase());
    if (other !== undefined) {
      return (
        `stream "${stream}": the source's columns "${other}" and "${c}" differ only in case; Sluice reads records with DuckDB, ` +
        'which takes them for one column (as Trino and Spark would), so this stream cannot be loaded: leave it out of streams'
      );
    }
    seen.set(c.toLowerCase(), c);
  }
  return null;
}

/**
 * Issues for transformations without `stream` that name a column no selected stream has: planned
 * per stream, such a transformation does nothing anywhere (an encryption of a misspelt column
 * would leave the real one in plaintext). `streams` must hold every selected stream with its
 * columns; a transformation with `stream` is planStreamColumns' to check.
 */
export function columnsNoStreamHas(streams: readonly { stream: string; columns: readonly string[] }[], transformations: readonly ColumnTransformation[]): FieldIssue[] {
  if (streams.length === 0) return [];
  const issues: FieldIssue[] = [];
  transformations.forEach((t, i) => {
    if (t.stream !== null || streams.some((s) => s.columns.includes(t.column))) return;
    issues.push({
      path: `column_transformations[${i}].column`,
      message: `no selected stream has a column "${t.column}" (${streams.map((s) => `${s.stream}: ${s.columns.join(', ') || 'no columns'}`).join('; ')})`,
    });
  });
  return issues;
}
