import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBScalarFunction, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { NonRetryableTaskError, ValidationError, assertNever } from '@sluice/core';
import {
  CAST_TYPES,
  INGESTION_METADATA_COLUMNS,
  metadataColumnCollision,
  planStreamColumns,
  type CastType,
  type ColumnTransformation,
  type ColumnType,
  type IngestionMetadataValues,
} from '@sluice/core/pipeline';
import type { ColumnCipher, ColumnEncryptionMode } from '@sluice/crypto';
import {
  ColumnCaseCollisionError,
  IncompatibleSchemaError,
  copiedDataFiles,
  dataFileCopyOptions,
  rowGroupRowsOf,
  orderedDataFileCopyOptions,
  duckdbType,
  readDataFileMetrics,
  type ColumnSpec,
  type DataFileMetricsJson,
  type IcebergField,
} from '@sluice/iceberg';
import type { ObjectStore } from '@sluice/storage';
import { ident, lit, readableFiles, withDuckDb, type TaskDuckDbSettings } from './duckdb-session.ts';
import { readStagedManifest } from './stage-stream.ts';
import { ensureCurrent, transformedDir, transformedManifestKey, tryFileKey, type TryWrites } from './staging-layout.ts';
import { instantInRange, textHasShapeOf, timestampText } from './value-shapes.ts';

/** Iceberg types of the columns a transform writes. */
export const outputTypes = ['long', 'int', 'double', 'float', 'boolean', 'date', 'timestamptz', 'timestamp', 'string'] as const;
export type OutputType = (typeof outputTypes)[number];

/** [Iceberg field id, value] pairs of a data file's metrics (see @sluice/iceberg's DataFileMetricsJson). */
const byFieldId = z.array(z.tuple([z.number().int(), z.string()])).nullable();
const dataFileMetricsSchema = z.object({
  record_count: z.string(),
  file_size_in_bytes: z.string(),
  column_sizes: byFieldId,
  value_counts: byFieldId,
  null_value_counts: byFieldId,
  nan_value_counts: byFieldId,
  lower_bounds: byFieldId,
  upper_bounds: byFieldId,
  split_offsets: z.array(z.string()).nullable(),
  sort_order_id: z.number().int().nullable(),
}) satisfies z.ZodType<DataFileMetricsJson>;

export const transformedManifestSchema = z.object({
  version: z.literal(1),
  stream: z.string(),
  columns: z.array(
    z.object({
      name: z.string(),
      type: z.enum(outputTypes),
      source: z.string().nullable(),
      encrypted: z.boolean(),
      /** An encrypted column's type before encryption: its plaintext is that type's text (docs/encryption.md). */
      plaintextType: z.enum(outputTypes).nullable().default(null),
      /** An encrypted column's key and mode (absent in manifests written before they were recorded). */
      encryption: z.object({ keyName: z.string(), mode: z.enum(['randomized', 'deterministic']) }).nullable().default(null),
      /** The type a transformation cast the column from (its staged type); null when it is not cast. */
      castFrom: z.enum(outputTypes).nullable().default(null),
    }),
  ),
  /** Primary key columns as renamed (top-level keys only). */
  primaryKey: z.array(z.string()),
  /** Source columns the job's transformations dropped (absent in manifests written before it was recorded). */
  dropped: z.array(z.string()).default([]),
  /** The primary key columns (top-level) among `dropped`: load then refuses to merge on what is left of the key. */
  droppedPrimaryKey: z.array(z.string()).default([]),
  /**
   * The files, each with its data-file metrics when they were written for planned `icebergFields`
   * (load then copies the file into the table within the object store instead of reading it).
   */
  files: z.array(
    z.object({ key: z.string(), rows: z.number().int(), bytes: z.number().int(), metrics: dataFileMetricsSchema.nullable().default(null) }),
  ),
  rows: z.number().int(),
  /**
   * The table fields the files were written for: every column carries this Iceberg field id and
   * type (the table's schema as it was at transform, evolved for these columns). Load commits the
   * files as they are while the table still gives the columns these ids and types. Null when the
   * columns could not be planned against the table (load then rewrites, and reports why it fails).
   */
  icebergFields: z
    .array(z.object({ id: z.number().int(), name: z.string(), type: z.enum(outputTypes), required: z.boolean() }))
    .nullable()
    .default(null),
});
export type TransformedManifest = z.infer<typeof transformedManifestSchema>;

/** The stored form of `ingestion_jobs.column_transformations` (core/pipeline's ColumnTransformation). */
export const storedTransformations = z.array(
  z.object({
    column: z.string(),
    stream: z.string().nullable(),
    newName: z.string().nullable(),
    encryptionKeyName: z.string().nullable(),
    castTo: z.enum(CAST_TYPES).nullable(),
    drop: z.boolean(),
  }),
);

const DUCK_TYPE: Record<CastType, string> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  float: 'FLOAT',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamptz: 'TIMESTAMPTZ',
  timestamp: 'TIMESTAMP',
};

/** `v` cast to `type`; a text cast to a timestamp is read as stage reads one (timestampText). */
function castOf(v: string, type: CastType, cast: 'CAST' | 'TRY_CAST'): string {
  const to = DUCK_TYPE[type];
  if (type !== 'timestamptz' && type !== 'timestamp') return `${cast}(${v} AS ${to})`;
  return `CASE WHEN typeof(${v}) = 'VARCHAR' THEN ${cast}(${timestampText(v)} AS ${to}) ELSE ${cast}(${v} AS ${to}) END`;
}

/**
 * Whether `v` casts to `type` as it is: the cast succeeds, and changes nothing on the way, as
 * stage's typing does (value-shapes.ts). DuckDB's casts to an integer round a fraction (1.5
 * becomes 2) where an integer type holds none: a number whose double differs from the integer does
 * not fit, nor a text with a fraction (beyond a double's precision, "9007199254740993.5" has the
 * integer's double); a text cast to a date or timestamp must have its shape.
 */
function castFits(v: string, type: CastType): string {
  const cast = castOf(v, type, 'TRY_CAST');
  const exact = type === 'int' || type === 'long' ? ` AND coalesce(TRY_CAST(${v} AS DOUBLE) = ${cast}, true)` : '';
  const range = type === 'timestamptz' ? ` AND ${instantInRange(v, cast)}` : '';
  return `${cast} IS NOT NULL${exact}${range} AND ${textHasShapeOf(v, type)}`;
}

function outputTypeOf(t: ColumnType): OutputType {
  switch (t) {
    case 'object':
    case 'array':
    case 'json':
      return 'string';
    case 'long':
    case 'double':
    case 'boolean':
    case 'date':
    case 'timestamptz':
    case 'timestamp':
    case 'string':
      return t;
    default:
      return assertNever(t, 'column type');
  }
}

export interface TransformStreamInput {
  store: ObjectStore;
  runId: string;
  stream: string;
  transformations: ColumnTransformation[];
  /** Loads the cipher of a named key (throws NotFoundError when the key does not exist). */
  loadCipher(name: string): Promise<ColumnCipher>;
  /** Columns that are merge keys (after renames): encrypted deterministically so they still match. */
  mergeKeys: string[];
  /**
   * The rows must stay in the staged order (merge: the last row of a key wins). They are then
   * written as one file, by DuckDB's order-preserving copy; otherwise split at the target file
   * size, in whatever order DuckDB's threads write them (those files become the table's as they are).
   */
  keepOrder: boolean;
  metadata: IngestionMetadataValues | null;
  /**
   * The Iceberg fields (ids, types) the load's table would give these columns now
   * (`IcebergCatalog.fieldsForWrite` on the job's table): the files are written as that table's
   * data files. Throws IncompatibleSchemaError / ColumnCaseCollisionError / ValidationError when the columns do not fit it.
   */
  fieldsForWrite(columns: ColumnSpec[]): Promise<IcebergField[]>;
  /**
   * The key version of the deterministic (merge-key) values the job's table holds in `column`,
   * if it holds any (read from its column bounds; the highest when several): a merge key keeps
   * it, so that its values still match after the key was rotated.
   */
  keyVersionInTable(column: string): Promise<number | null>;
  signal: AbortSignal;
  progress(p: { rows?: number; bytes?: number }): void;
  duckdb?: TaskDuckDbSettings;
  try: TryWrites;
}

/**
 * transform: applies the job's column transformations to one staged stream — rename, encrypt
 * with a named key (randomized; deterministic for merge-key columns so merges still match), cast
 * (a value that cannot be cast fails the task naming the column, the value and the row), drop —
 * and adds the ingestion metadata columns, the same values on every row of the run.
 */
export async function transformStream(input: TransformStreamInput): Promise<TransformedManifest> {
  const { store, runId, stream } = input;
  const staged = await readStagedManifest(store, runId, stream);
  let plan;
  try {
    plan = planStreamColumns(stream, staged.columns.map((c) => c.name), input.transformations);
  } catch (err) {
    if (err instanceof ValidationError) throw new NonRetryableTaskError(err.message, { cause: err });
    throw err;
  }
  const typeOf = new Map(staged.columns.map((c) => [c.name, c.type]));
  const renamed = new Map(plan.columns.map((c) => [c.source, c.target]));
  const primaryKey = staged.primaryKey
    .filter((p) => p.length === 1)
    .map((p) => renamed.get(p[0] ?? ''))
    .filter((p): p is string => p !== undefined);
  const dropped = staged.columns.map((c) => c.name).filter((n) => !renamed.has(n));
  const droppedPrimaryKey = staged.primaryKey.flatMap((p) => (p.length === 1 ? p : [])).filter((n) => dropped.includes(n));

  const ciphers = new Map<string, ColumnCipher>();
  for (const c of plan.columns) {
    if (c.encryptionKeyName && !ciphers.has(c.encryptionKeyName)) {
      try {
        ciphers.set(c.encryptionKeyName, await input.loadCipher(c.encryptionKeyName));
      } catch (err) {
        throw new NonRetryableTaskError(`stream "${stream}", column "${c.source}": encryption key "${c.encryptionKeyName}" cannot be loaded: ${String(err)}`, { cause: err });
      }
    }
  }

  // Merge keys are encrypted deterministically, so that equal keys still match; others randomized.
  const encryptionModeOf = (column: string): ColumnEncryptionMode => (input.mergeKeys.includes(column) ? 'deterministic' : 'randomized');
  const columns: TransformedManifest['columns'] = plan.columns.map((c) => {
    const staged = outputTypeOf(typeOf.get(c.source) ?? 'string');
    const plain = c.castTo ?? staged;
    return {
      name: c.target,
      type: c.encryptionKeyName ? 'string' : plain,
      source: c.source,
      encrypted: c.encryptionKeyName !== null,
      plaintextType: c.encryptionKeyName ? plain : null,
      encryption: c.encryptionKeyName ? { keyName: c.encryptionKeyName, mode: encryptionModeOf(c.target) } : null,
      castFrom: plain === staged ? null : staged,
    };
  });
  if (input.metadata) {
    const collision = metadataColumnCollision(stream, columns.map((c) => c.name));
    if (collision !== null) throw new NonRetryableTaskError(collision);
    for (const m of INGESTION_METADATA_COLUMNS) columns.push({ name: m.name, type: m.type, source: null, encrypted: false, plaintextType: null, encryption: null, castFrom: null });
  }

  // The table's field ids for these columns; when they cannot be planned (a column the table
  // holds with an incompatible type, …) the files get ids 1..n and load rewrites them — and then
  // fails naming the column, as a load does.
  const specs: ColumnSpec[] = columns.map((c) => ({ name: c.name, type: c.type }));
  let planned: TransformedManifest['icebergFields'] = null;
  try {
    planned = (await input.fieldsForWrite(specs)).map((f, i) => ({ id: f.id, name: f.name, type: outputTypeOfField(f, columns[i]?.type ?? 'string'), required: f.required }));
  } catch (err) {
    if (!(err instanceof IncompatibleSchemaError || err instanceof ColumnCaseCollisionError || err instanceof ValidationError)) throw err;
  }
  const fields: IcebergField[] = planned ?? specs.map((c, i) => ({ id: i + 1, name: c.name, type: c.type as OutputType, required: false }));

  return withDuckDb(async (db, scratch) => {
    const result: TransformedManifest = { version: 1, stream, columns, primaryKey, dropped, droppedPrimaryKey, files: [], rows: 0, icebergFields: planned };
    if (staged.rows === 0 || staged.files.length === 0) {
      await ensureCurrent(input.try);
      await store.put(transformedManifestKey(runId, stream), JSON.stringify(result));
      return result;
    }
    const locals = await readableFiles(store, staged.files.map((f) => f.key), scratch, 'staged', '.parquet', input.signal);
    const stagedRel = `read_parquet([${locals.map(lit).join(', ')}])`;

    // Casts are checked first, every cast column, so a bad value fails with its column, value and
    // row, and one run names every column that needs a fix (not one column per run).
    const refusals: string[] = [];
    for (const c of plan.columns) {
      if (!c.castTo) continue;
      const bad = await db.runAndReadAll(
        `SELECT __row, v::VARCHAR, count(*) OVER ()::BIGINT FROM (SELECT row_number() OVER () AS __row, ${ident(c.source)} AS v FROM ${stagedRel})
          WHERE v IS NOT NULL AND NOT (${castFits('v', c.castTo)}) ORDER BY __row LIMIT 1`,
      );
      const first = bad.getRows()[0];
      if (!first) continue;
      // A column the job encrypts holds what must not be stored in plaintext: its value is not
      // named (the error goes to the run, the job's status, the task log and the process log).
      const value = c.encryptionKeyName ? `a value (not shown: the column is encrypted with key ${c.encryptionKeyName})` : `value ${JSON.stringify(String(first[1]))}`;
      const more = Number(first[2]) - 1;
      const others = more > 0 ? ` (nor can ${more} more of its values)` : '';
      refusals.push(`column "${c.source}": ${value} in row ${String(first[0])} cannot be cast to ${c.castTo}${others}`);
    }
    if (refusals.length === 1) throw new NonRetryableTaskError(`stream "${stream}", ${refusals[0] ?? ''}`);
    if (refusals.length > 1) throw new NonRetryableTaskError(`stream "${stream}": ${refusals.length} columns cannot be cast: ${refusals.join('; ')}`);

    // A merge key keeps the key version its table's values use (a rotation would otherwise make
    // every new key differ from the stored ones, and the merge insert every row again).
    const versions = new Map<string, number>();
    for (const c of plan.columns) {
      const cipher = c.encryptionKeyName ? ciphers.get(c.encryptionKeyName) : undefined;
      if (!cipher || !input.mergeKeys.includes(c.target)) continue;
      const inTable = await input.keyVersionInTable(c.target);
      if (inTable === null) continue;
      if (!cipher.hasVersion(inTable)) {
        throw new NonRetryableTaskError(
          `stream "${stream}", merge key column "${c.target}": the table's values are encrypted with version ${inTable} of key ${cipher.keyName}, which the key does not have`,
        );
      }
      versions.set(c.target, inTable);
    }

    const exprs: string[] = [];
    plan.columns.forEach((c, i) => {
      let e = ident(c.source);
      if (c.castTo) e = castOf(e, c.castTo, 'CAST');
      if (c.encryptionKeyName) {
        const cipher = ciphers.get(c.encryptionKeyName);
        if (!cipher) throw new Error(`cipher ${c.encryptionKeyName} not loaded`);
        const mode = encryptionModeOf(c.target);
        const version = versions.get(c.target) ?? cipher.activeVersion;
        const fn = `sluice_encrypt_${i}`;
        db.registerScalarFunction(
          DuckDBScalarFunction.create({
            name: fn,
            returnType: VARCHAR,
            parameterTypes: [VARCHAR],
            mainFunction: (_info, chunk, out) => {
              const vec = chunk.getColumnVector(0);
              for (let r = 0; r < chunk.rowCount; r++) {
                const v = vec.getItem(r);
                out.setItem(r, v === null ? null : cipher.encrypt(String(v), mode, version));
              }
              out.flush();
            },
          }),
        );
        e = `${fn}(${e}::VARCHAR)`;
      }
      exprs.push(e);
    });
    if (input.metadata) {
      const m = input.metadata;
      exprs.push(
        `${lit(m.ingestion_time.toISOString())}::TIMESTAMPTZ`,
        lit(m.ingestion_run_id),
        lit(m.ingestion_mode),
        lit(m.dag_job_id),
      );
    }
    // Each value is written as its field's type (wider than the column's when the table's is).
    const select = exprs.map((e, i) => {
      const f = fields[i] as IcebergField;
      return `CAST(${e} AS ${duckdbType(f.type)}) AS ${ident(f.name)}`;
    });
    const outDir = path.join(scratch, 'out');
    const query = `SELECT ${select.join(', ')} FROM ${stagedRel}`;
    // Row groups sized to the memory limit from the staged rows' size (QA round 51b D3).
    const groupRows = await rowGroupRowsOf(db, locals, input.duckdb?.memoryLimit);
    if (input.keepOrder) {
      await mkdir(outDir);
      await db.run(`COPY (${query}) TO ${lit(path.join(outDir, 'data_0.parquet'))} (${orderedDataFileCopyOptions(fields, groupRows)})`);
    } else {
      await db.run(`COPY (${query}) TO ${lit(outDir)} (${dataFileCopyOptions(fields, groupRows)})`);
    }
    const files = await writtenFiles(db, outDir, planned ? fields : null);
    await ensureCurrent(input.try);
    for (const [i, written] of files.entries()) {
      const key = tryFileKey(transformedDir(runId, stream), input.try, i);
      await store.upload(written.path, key);
      result.files.push({ key, rows: written.rows, bytes: written.bytes, metrics: written.metrics });
    }
    result.rows = result.files.reduce((n, f) => n + f.rows, 0);
    input.progress({ rows: result.rows, bytes: result.files.reduce((n, f) => n + f.bytes, 0) });
    await ensureCurrent(input.try);
    await store.put(transformedManifestKey(runId, stream), JSON.stringify(result));
    return result;
  }, input.duckdb);
}

/** The field's type as a transform output type (fields planned for transform's columns only take those types). */
function outputTypeOfField(f: IcebergField, fallback: OutputType): OutputType {
  return (outputTypes as readonly string[]).includes(f.type) ? (f.type as OutputType) : fallback;
}

/** The Parquet files a COPY wrote into `dir`, in the order it wrote them, with their row counts, sizes and (for planned fields) data-file metrics. */
async function writtenFiles(
  db: DuckDBConnection,
  dir: string,
  plannedFields: IcebergField[] | null,
): Promise<Array<{ path: string; rows: number; bytes: number; metrics: DataFileMetricsJson | null }>> {
  const out: Array<{ path: string; rows: number; bytes: number; metrics: DataFileMetricsJson | null }> = [];
  for (const p of await copiedDataFiles(dir)) {
    const bytes = (await stat(p)).size;
    // Written for planned fields: the footer's metrics (what load commits) also give the row count.
    if (plannedFields) {
      const metrics = await readDataFileMetrics(db, p, plannedFields);
      out.push({ path: p, rows: Number(metrics.record_count), bytes, metrics });
      continue;
    }
    const counted = await db.runAndReadAll(`SELECT count(*)::BIGINT FROM read_parquet(${lit(p)})`);
    out.push({ path: p, rows: Number(counted.getRows()[0]?.[0] ?? 0), bytes, metrics: null });
  }
  return out;
}

export async function readTransformedManifest(store: ObjectStore, runId: string, stream: string): Promise<TransformedManifest> {
  const key = transformedManifestKey(runId, stream);
  if (!(await store.head(key))) throw new NonRetryableTaskError(`stream "${stream}" of run ${runId} was not transformed (${key} is missing)`);
  return transformedManifestSchema.parse(JSON.parse((await store.get(key)).toString('utf8')));
}

/**
 * A value of `column` in a stream's transformed files that a cast to `type` refuses (transform's
 * own rule, castFits), as text; null when every value casts. Load names one when it refuses a
 * column whose type changed, so its advice to cast is not given where the cast would fail.
 */
export async function valueNotCastingTo(
  store: ObjectStore,
  tm: TransformedManifest,
  column: string,
  type: CastType,
  settings: TaskDuckDbSettings,
  signal: AbortSignal,
): Promise<string | null> {
  if (tm.files.length === 0) return null;
  return withDuckDb(async (db, scratch) => {
    const c = ident(column);
    // File by file, so that one found early spares reading (on s3://, downloading) the rest.
    for (const [i, f] of tm.files.entries()) {
      const [file] = await readableFiles(store, [f.key], scratch, `transformed-${i}`, '.parquet', signal);
      if (file === undefined) continue;
      const found = await db.runAndReadAll(`SELECT CAST(${c} AS VARCHAR) FROM read_parquet(${lit(file)}) WHERE ${c} IS NOT NULL AND NOT coalesce(${castFits(c, type)}, false) LIMIT 1`);
      const v = found.getRows()[0]?.[0];
      if (typeof v === 'string') return v;
    }
    return null;
  }, settings);
}
