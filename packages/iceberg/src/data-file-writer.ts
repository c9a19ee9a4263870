import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ValidationError } from '@sluice/core';
import { sizeInBytes } from '@sluice/core/config';
import type { ObjectStore } from '@sluice/storage';
import { TARGET_FILE_SIZE_BYTES } from './compaction-plan.ts';
import { compareBounds, parseStat, serializeBound, type BoundValue } from './column-bounds.ts';
import { duckdbType } from './iceberg-types.ts';
import { quoteIdent, quoteString, sqlList } from './duckdb.ts';
import type { ColumnSpec, DataFile, IcebergField, StoredDataFile } from './types.ts';

/** Files handed to a write: local Parquet or NDJSON files and the columns they hold. */
export interface WriteInput {
  format: 'parquet' | 'ndjson';
  /** Local paths; all files share one format. Empty when `stored` gives the files. */
  files: string[];
  /**
   * Parquet data files already in the table's object store (written with `icebergFields`, e.g.
   * by the transform task under staging/), with their metrics: while those fields still hold
   * they are copied into the table's data/ within the store (no bytes through this process) and
   * committed with these metrics; otherwise they are downloaded and rewritten. Needs
   * `format: 'parquet'`, `icebergFields`, and `files` empty.
   */
  stored?: StoredDataFile[];
  /** The columns the files hold, with their Iceberg types (see README for the contract). */
  columns: ColumnSpec[];
  /**
   * Set when the Parquet files are already data files for this table: written with
   * {@link dataFileCopyOptions} and these fields (exactly `columns`, same names, with the field
   * ids and types `IcebergCatalog.fieldsForWrite` planned). When the schema the commit is
   * made with still gives every one of these columns the same id and type, the files are
   * committed as they are, their metrics read from their Parquet footers; otherwise they are
   * rewritten like any other input.
   */
  icebergFields?: IcebergField[];
}

/** The input with its files local: as it is, or with the `stored` files downloaded into `dir`. */
export async function localInput(input: WriteInput, store: ObjectStore, dir: string): Promise<WriteInput> {
  if (!input.stored) return input;
  const files: string[] = [];
  for (const [i, f] of input.stored.entries()) {
    const local = path.join(dir, `stored-${i}-${randomUUID()}.parquet`);
    await store.download(f.key, local);
    files.push(local);
  }
  const { stored: _downloaded, ...rest } = input;
  return { ...rest, files };
}

/** Checks the shape of an input (see WriteInput); a ValidationError says what is wrong. */
export function checkWriteInput(input: WriteInput): void {
  if (!input.stored) return;
  const issues: { path: string; message: string }[] = [];
  if (input.format !== 'parquet') issues.push({ path: 'format', message: 'stored data files are Parquet' });
  if (!input.icebergFields) issues.push({ path: 'icebergFields', message: 'stored data files need the fields they were written with' });
  if (input.files.length > 0) issues.push({ path: 'files', message: 'give local files or stored ones, not both' });
  if (issues.length > 0) throw new ValidationError(issues);
}

/** How many files the input holds. */
export const inputFileCount = (input: WriteInput): number => input.stored?.length ?? input.files.length;

/** A Parquet data file written locally, with the metrics its manifest entry records. */
export interface LocalDataFile {
  localPath: string;
  dataFile: Omit<DataFile, 'file_path'>;
}


/**
 * SQL for the input rows projected onto the table's columns: each table column is read from
 * the input column of the same name and cast to the table's type, or NULL when the input lacks
 * it. NDJSON values are read as text and cast, so ISO-8601 timestamps and nested values (kept
 * as JSON text) load without DuckDB's type guessing.
 */
export function inputRelation(input: WriteInput, fields: IcebergField[]): string {
  const inputTypes = new Map(input.columns.map((c) => [c.name, c.type]));
  const select = fields
    .map((f) => {
      const type = duckdbType(f.type);
      const from = inputTypes.get(f.name);
      if (from === undefined) return `CAST(NULL AS ${type}) AS ${quoteIdent(f.name)}`;
      const column = quoteIdent(f.name);
      // A typed file's float or double written to a string column reads as the number's JSON text
      // (`42`, `1.5`), not DuckDB's `42.0` (QA round 54a F2: a CSV's 42 in a column of names became
      // "42.0"); NDJSON values are read as their text already.
      if (input.format === 'parquet' && f.type === 'string' && (from === 'double' || from === 'float')) {
        return `CASE WHEN isfinite(${column}) AND ${column} = trunc(${column}) AND abs(${column}) < 1e15 THEN CAST(CAST(${column} AS BIGINT) AS VARCHAR) ELSE CAST(${column} AS VARCHAR) END AS ${column}`;
      }
      return `CAST(${column} AS ${type}) AS ${column}`;
    })
    .join(', ');
  if (input.format === 'parquet') {
    return `SELECT ${select} FROM read_parquet(${sqlList(input.files)}, union_by_name = true)`;
  }
  const columns = input.columns.map((c) => `${quoteString(c.name)}: 'VARCHAR'`).join(', ');
  return `SELECT ${select} FROM read_json(${sqlList(input.files)}, format = 'newline_delimited', columns = {${columns}})`;
}

/** DuckDB's default rows per Parquet row group, and its least (a vector). */
const ROW_GROUP_ROWS = 122_880;
const VECTOR_ROWS = 2048;

/**
 * Rows per row group of a Parquet file DuckDB writes, for rows of about `rowBytes` each under
 * `memoryLimit` (DuckDB's words, '128MiB'): a quarter of the limit's worth, in whole vectors, at most
 * DuckDB's default. Each writing thread holds a row group in memory until it is written, so the
 * default's 122,880 rows of 660-byte records (source-faker's users) took more than 128MiB, and a
 * stream failed by its number of rows (QA round 51b D3: 20,000 rows staged, 200,000 did not).
 */
export function rowGroupRows(rowBytes: number, memoryLimit: string | undefined): number {
  const limit = memoryLimit === undefined ? undefined : sizeInBytes(memoryLimit);
  if (limit === undefined || !(rowBytes > 0)) return ROW_GROUP_ROWS;
  const rows = Math.floor(limit / 4 / rowBytes / VECTOR_ROWS) * VECTOR_ROWS;
  return Math.min(ROW_GROUP_ROWS, Math.max(VECTOR_ROWS, rows));
}

/**
 * Rows per row group for data files made from these Parquet files under the writer's memory limit:
 * from their rows' size before compression, four times over. That size understates what a row takes
 * in DuckDB's memory (a dictionary-encoded column counts its indices; a string, none of its header),
 * and a write adds columns and ciphertext: at twice it, 200,000 source-faker users failed transform
 * at 128MiB in four runs of five, at four times none of eight (QA round 52a D1).
 */
export async function rowGroupRowsOf(connection: DuckDBConnection, parquetFiles: readonly string[], memoryLimit: string | undefined): Promise<number> {
  if (parquetFiles.length === 0 || memoryLimit === undefined) return ROW_GROUP_ROWS;
  // One row per column chunk: the rows are counted once per row group.
  const r = await connection.runAndReadAll(`WITH m AS (SELECT * FROM parquet_metadata(${sqlList([...parquetFiles])}))
    SELECT (SELECT sum(total_uncompressed_size) FROM m)::BIGINT, (SELECT sum(n) FROM (SELECT DISTINCT file_name, row_group_id, row_group_num_rows AS n FROM m))::BIGINT`);
  const [bytes, rows] = (r.getRows()[0] ?? []).map(Number);
  return rowGroupRows(rows !== undefined && rows > 0 ? (4 * (bytes ?? 0)) / rows : 0, memoryLimit);
}

/**
 * The options of DuckDB's `COPY … TO dir (…)` that write Iceberg data files: zstd Parquet, every
 * column carrying its Iceberg field id (`fields`: the query's columns, in order, of these types),
 * split at the target file size into `data_{i}.parquet`. Such a copy does not keep the query's
 * row order: its threads each fill row groups and write them as they fill, so rows of one thread
 * land after later rows of another (see `orderedDataFileCopyOptions`).
 */
export function dataFileCopyOptions(fields: IcebergField[], groupRows?: number): string {
  return `${orderedDataFileCopyOptions(fields, groupRows)}, FILE_SIZE_BYTES ${TARGET_FILE_SIZE_BYTES}, FILENAME_PATTERN 'data_{i}'`;
}

/**
 * The same data files, for a `COPY … TO file (…)` that writes one file with the rows in the
 * query's order: DuckDB's order-preserving copy, still on all its threads. What relies on the
 * order (merge's "last row of a key wins") is written this way. `groupRows`: rows per row group
 * (DuckDB's default, 122,880, when absent); each writing thread holds one in memory.
 */
export function orderedDataFileCopyOptions(fields: IcebergField[], groupRows?: number): string {
  const ids = `{${fields.map((f) => `${quoteString(f.name)}: ${f.id}`).join(', ')}}`;
  return `FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${ids}${groupRows === undefined ? '' : `, ROW_GROUP_SIZE ${groupRows}`}`;
}

/** Whether the fields files were written with still have the ids and types the commit's schema gives them. */
export function fieldsStillHold(written: IcebergField[], schema: IcebergField[]): boolean {
  const byName = new Map(schema.map((f) => [f.name, f]));
  return written.every((w) => {
    const f = byName.get(w.name);
    return f !== undefined && f.id === w.id && f.type === w.type;
  });
}

/**
 * Writes the rows of a SQL query (columns exactly `fields`, in order) to zstd Parquet files
 * under `outDir` and reads each file's metrics back from its Parquet footer.
 */
export async function writeDataFiles(
  connection: DuckDBConnection,
  query: string,
  fields: IcebergField[],
  outDir: string,
  groupRows?: number,
): Promise<LocalDataFile[]> {
  const dir = path.join(outDir, randomUUID());
  await connection.run(`COPY (${query}) TO ${quoteString(dir)} (${dataFileCopyOptions(fields, groupRows)})`);
  return describeDataFiles(connection, await copiedDataFiles(dir), fields, true);
}

/**
 * The files a `COPY … TO dir (dataFileCopyOptions)` wrote, in the order it wrote them — by
 * number, so data_10 follows data_9 (merge's "last record wins" reads a stream's files in this
 * order). None when the COPY wrote nothing (no directory).
 */
export async function copiedDataFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.endsWith('.parquet'));
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return [];
    throw err;
  }
  const seq = (name: string): number => Number(/(\d+)\.parquet$/.exec(name)?.[1] ?? 0);
  return names.sort((a, b) => seq(a) - seq(b)).map((n) => path.join(dir, n));
}

/**
 * Local Parquet data files (holding `fields` by field id) with the metrics their manifest entries
 * record, read from their footers. Files without rows are left out (and deleted when `removeEmpty`).
 */
export async function describeDataFiles(
  connection: DuckDBConnection,
  localPaths: string[],
  fields: IcebergField[],
  removeEmpty: boolean,
): Promise<LocalDataFile[]> {
  const out: LocalDataFile[] = [];
  for (const localPath of localPaths) {
    const dataFile = await readMetrics(connection, localPath, fields);
    if (dataFile.record_count === 0n) {
      if (removeEmpty) await fs.rm(localPath, { force: true });
      continue;
    }
    out.push({ localPath, dataFile });
  }
  return out;
}

/** A scalar cell of parquet_metadata() as text. */
function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  throw new Error(`unexpected parquet_metadata value ${JSON.stringify(v)}`);
}

interface ColumnAcc {
  size: bigint;
  values: bigint;
  nulls: bigint;
  lower: BoundValue | undefined;
  upper: BoundValue | undefined;
  nullsKnown: boolean;
  /** False once a row group with values had no usable statistics: then no bounds at all. */
  boundsKnown: boolean;
}

/** What every data file Sluice writes has in common: data content, Parquet, unpartitioned, no key metadata or equality ids. */
export function sluiceDataFileConstants(): Pick<DataFile, 'content' | 'file_format' | 'partition' | 'key_metadata' | 'equality_ids'> {
  return { content: 0, file_format: 'PARQUET', partition: {}, key_metadata: null, equality_ids: null };
}

export async function readMetrics(
  connection: DuckDBConnection,
  localPath: string,
  fields: IcebergField[],
): Promise<Omit<DataFile, 'file_path'>> {
  const reader = await connection.runAndReadAll(
    `SELECT row_group_id, row_group_num_rows, path_in_schema, num_values, stats_null_count,
            stats_min_value, stats_max_value, total_compressed_size
       FROM parquet_metadata(${quoteString(localPath)})`,
  );
  const byName = new Map(fields.map((f) => [f.name, f]));
  const acc = new Map<number, ColumnAcc>();
  const rowGroups = new Map<string, bigint>();
  for (const row of reader.getRowObjectsJS()) {
    rowGroups.set(text(row['row_group_id']), BigInt(row['row_group_num_rows'] as bigint));
    const field = byName.get(text(row['path_in_schema']));
    if (!field) continue;
    const a = acc.get(field.id) ?? { size: 0n, values: 0n, nulls: 0n, lower: undefined, upper: undefined, nullsKnown: true, boundsKnown: true };
    acc.set(field.id, a);
    const values = BigInt(row['num_values'] as bigint);
    const nullCount = row['stats_null_count'] === null ? undefined : BigInt(row['stats_null_count'] as bigint);
    a.size += BigInt(row['total_compressed_size'] as bigint);
    a.values += values;
    if (nullCount === undefined) a.nullsKnown = false;
    else a.nulls += nullCount;
    if (nullCount !== undefined && nullCount === values) continue; // all null: no bounds to merge
    const min = row['stats_min_value'] === null ? undefined : parseStat(field.type, text(row['stats_min_value']));
    const max = row['stats_max_value'] === null ? undefined : parseStat(field.type, text(row['stats_max_value']));
    if (min === undefined || max === undefined) {
      a.boundsKnown = false;
      continue;
    }
    if (a.lower === undefined || compareBounds(min, a.lower) < 0) a.lower = min;
    if (a.upper === undefined || compareBounds(max, a.upper) > 0) a.upper = max;
  }
  const column_sizes = new Map<number, bigint>();
  const value_counts = new Map<number, bigint>();
  const null_value_counts = new Map<number, bigint>();
  const lower_bounds = new Map<number, Buffer>();
  const upper_bounds = new Map<number, Buffer>();
  for (const field of fields) {
    const a = acc.get(field.id);
    if (!a) continue;
    column_sizes.set(field.id, a.size);
    value_counts.set(field.id, a.values);
    if (a.nullsKnown) null_value_counts.set(field.id, a.nulls);
    if (a.boundsKnown && a.lower !== undefined && a.upper !== undefined) {
      const lo = serializeBound(field.type, a.lower, false);
      const hi = serializeBound(field.type, a.upper, true);
      if (lo) lower_bounds.set(field.id, lo);
      if (hi) upper_bounds.set(field.id, hi);
    }
  }
  const { size } = await fs.stat(localPath);
  return {
    ...sluiceDataFileConstants(),
    record_count: [...rowGroups.values()].reduce((s, n) => s + n, 0n),
    file_size_in_bytes: BigInt(size),
    column_sizes,
    value_counts,
    null_value_counts,
    nan_value_counts: null,
    lower_bounds,
    upper_bounds,
    split_offsets: null,
    sort_order_id: null,
  };
}
