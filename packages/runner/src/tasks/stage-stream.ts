import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { z } from 'zod';
import type { DuckDBConnection } from '@duckdb/node-api';
import { NonRetryableTaskError, RetryableTaskError, UnclearableTaskError, assertNever } from '@sluice/core';
import { instantInRange, textHasShapeOf, timestampText } from './value-shapes.ts';
import { columnsFromJsonSchema, sourceCaseCollision, unusedName, type ColumnType, type StreamColumn } from '@sluice/core/pipeline';
import { readExtractManifest, withoutRepeatedMembers } from '@sluice/connectors';
import { rowGroupRows } from '@sluice/iceberg';
import type { ObjectStore } from '@sluice/storage';
import { ident, jsonRecordLimit, lit, readableFiles, withDuckDb, type TaskDuckDbSettings } from './duckdb-session.ts';
import { ensureCurrent, rejectsKey, stagedDir, stagedManifestKey, tryFileKey, type TryWrites } from './staging-layout.ts';

export const stagedManifestSchema = z.object({
  version: z.literal(1),
  stream: z.string(),
  columns: z.array(z.object({ name: z.string(), type: z.enum(['long', 'double', 'boolean', 'date', 'timestamptz', 'timestamp', 'string', 'object', 'array', 'json']) })),
  primaryKey: z.array(z.array(z.string())),
  files: z.array(z.object({ key: z.string(), rows: z.number().int(), bytes: z.number().int() })),
  rows: z.number().int(),
  /** Records with at least one value that did not fit its column's type (kept, with NULL there). */
  rejectedRows: z.number().int(),
  /** Per column: how many values did not fit. */
  mismatches: z.record(z.string(), z.number().int()),
  /** Per `double` column: how many whole numbers it holds rounded (past 2^53, a double holds only some exactly). */
  rounded: z.record(z.string(), z.number().int()).default({}),
  rejectsKey: z.string().nullable(),
});
export type StagedManifest = z.infer<typeof stagedManifestSchema>;

/**
 * The DuckDB expression that types raw column `c` (NULL when the value does not fit). Columns are
 * read from the NDJSON as VARCHAR — a JSON string's text, any other value's JSON text, JSON null
 * as NULL — except JSON-text columns (`object`, `array`, `json`), read as JSON so that strings keep
 * their quotes; an `object` or `array` column takes only a value of its kind.
 * DuckDB's casts are looser than JSON Schema's types, so they are narrowed (value-shapes.ts): a
 * number in text has JSON's shape and a finite value, an integer has no fractional part (1000.0
 * and "12" fit; 10.5 does not, where the cast would round it to 11), dates and timestamps have
 * RFC 3339's shapes, within years 0001 to 9999, and a boolean is true or false (as a JSON boolean
 * or a string in any case; the cast would also take "yes", "t", 1 and 0).
 */
function typedExpr(c: string, type: ColumnType): string {
  switch (type) {
    case 'long':
      return `CASE WHEN TRY_CAST(${c} AS BIGINT) = TRY_CAST(${c} AS DOUBLE) AND ${textHasShapeOf(c, type)} THEN TRY_CAST(${c} AS BIGINT) END`;
    case 'double':
      return `CASE WHEN ${textHasShapeOf(c, type)} THEN TRY_CAST(${c} AS DOUBLE) END`;
    case 'boolean':
      return `CASE lower(${c}) WHEN 'true' THEN true WHEN 'false' THEN false END`;
    case 'date':
      return `CASE WHEN ${textHasShapeOf(c, type)} THEN TRY_CAST(${c} AS DATE) END`;
    // RFC 3339's text as the casts take it (timestampText).
    case 'timestamptz': {
      const ts = `TRY_CAST(${timestampText(c)} AS TIMESTAMPTZ)`;
      return `CASE WHEN ${textHasShapeOf(c, type)} AND ${instantInRange(c, ts)} THEN ${ts} END`;
    }
    case 'timestamp':
      return `CASE WHEN ${textHasShapeOf(c, type)} THEN TRY_CAST(${timestampText(c)} AS TIMESTAMP) END`;
    case 'string':
      return c;
    case 'object':
      return `CASE WHEN json_type(${c}) = 'OBJECT' THEN ${c}::VARCHAR END`;
    case 'array':
      return `CASE WHEN json_type(${c}) = 'ARRAY' THEN ${c}::VARCHAR END`;
    case 'json':
      return `${c}::VARCHAR`;
    default:
      return assertNever(type, 'column type');
  }
}

/** Whether a value of this column can fail to fit (string and `json` columns take any value). */
const canMisfit = (type: ColumnType): boolean => type !== 'string' && type !== 'json';

/** Columns stored as JSON text, read from the records as JSON. */
const isJsonText = (type: ColumnType): boolean => type === 'object' || type === 'array' || type === 'json';

/** What a stage that met SLUICE_DUCKDB_MEMORY_LIMIT reading records asks for. */
const RAISE_LIMIT = 'give the runners a higher limit, 1GiB for records of up to 256 MiB, and clear this task';

/**
 * A record beyond what stage reads (DuckDB's JSON reader takes one of up to twice its
 * `maximum_object_size`): what the limit is, and what raises it.
 */
function recordTooLarge(stream: string, objectSize: number, memoryLimit: string | undefined): NonRetryableTaskError {
  const mib = `${(2 * objectSize) / 2 ** 20} MiB`;
  const why =
    memoryLimit === undefined || objectSize >= 128 * 2 ** 20
      ? `the largest record stage reads is ${mib}: the source must send smaller records (leave such a field out of the stream's schema, or the stream out of streams)`
      : `the largest record stage reads is ${mib}, a quarter of SLUICE_DUCKDB_MEMORY_LIMIT=${memoryLimit} (its JSON reader takes buffers of twice a record's size for each of its two threads): ${RAISE_LIMIT}`;
  return new NonRetryableTaskError(`stream ${stream} has a record larger than ${mib}; ${why}`);
}

/**
 * Stage's read ran out of DuckDB's memory: what the limit is, the two causes (a record near the
 * largest stage reads, or a wide stream: the reader's memory grows with the columns, QA round 42b
 * F2: 800 columns of small records did not fit in 512MiB, and only records were named), and what
 * raises it.
 */
function outOfMemory(stream: string, objectSize: number, columns: number, memoryLimit: string | undefined, err: Error): NonRetryableTaskError {
  const limit = memoryLimit === undefined ? "DuckDB's memory limit" : `SLUICE_DUCKDB_MEMORY_LIMIT=${memoryLimit}`;
  return new NonRetryableTaskError(
    `stream ${stream} did not fit in ${limit} while stage read it: its ${columns} columns each take memory to read, and a record may be larger than the ${(2 * objectSize) / 2 ** 20} MiB stage reads there; ` +
      `${RAISE_LIMIT} (DuckDB: ${err.message.split('\n')[0] ?? ''})`,
    { cause: err },
  );
}

/**
 * The staged file is transient (transform reads it once, archive keeps it): a cheap codec. On
 * 1M test-connector records the codec hardly changes stage's pass (zstd 0.92 s, snappy 0.91 s,
 * uncompressed 0.87 s) while snappy writes 3× fewer bytes to move than uncompressed.
 */
const STAGED_PARQUET = 'FORMAT parquet, COMPRESSION snappy';

export interface StageStreamInput {
  store: ObjectStore;
  runId: string;
  stream: string;
  signal: AbortSignal;
  progress(p: { rows?: number; bytes?: number }): void;
  /**
   * What the data could not be given as it was written, for the run's warnings (QA round 29: a record
   * naming a field twice was said in the stage's log only).
   */
  warn(message: string): Promise<void> | void;
  duckdb?: TaskDuckDbSettings;
  try: TryWrites;
}

/**
 * stage: the stream's raw NDJSON parts become one typed Parquet file under
 * `staging/{run}/staged/{stream}/`, with columns from the stream's JSON schema. Values that do not
 * fit their type become NULL and their records go, whole, to `staging/{run}/rejects/{stream}.jsonl`
 * (archived with the run) and are counted — never dropped silently.
 */
export async function stageStream(input: StageStreamInput): Promise<StagedManifest> {
  const { store, runId, stream } = input;
  const manifest = await readExtractManifest(store, runId);
  if (!manifest) {
    // stage runs once extract succeeded, which wrote the manifest: a store without it is not the
    // one extract wrote to (a runner with another SLUICE_STORAGE_URL), or its files were removed.
    // A retry may run where the manifest is (QA round 33c F3: failed for good on one such runner).
    throw new RetryableTaskError(
      `run ${runId}'s extract manifest is not in this runner's object store: every runner must use the same SLUICE_STORAGE_URL as the one whose extract wrote it, or its staging files were removed since`,
    );
  }
  const unread = manifest.unread.find((s) => s.name === stream);
  if (unread) {
    throw new UnclearableTaskError(
      `stream "${stream}" was not read to the end: the connector failed on the extract's last try (${unread.error}). ` +
        `Its records are not loaded and its saved state is unchanged: the next run reads it again (the other streams of this run are loaded)`,
    );
  }
  const extracted = manifest.streams.find((s) => s.name === stream);
  if (!extracted) throw new NonRetryableTaskError(`stream "${stream}" was not extracted in run ${runId}`);
  let columns: StreamColumn[] = columnsFromJsonSchema(extracted.jsonSchema);
  const collision = sourceCaseCollision(stream, columns.map((c) => c.name));
  if (collision) throw new NonRetryableTaskError(collision);
  if (columns.some((c) => c.name === '')) {
    // No table column can have an empty name (DuckDB, Trino and Spark refuse the identifier).
    columns = columns.filter((c) => c.name !== '');
    await input.warn(`stream ${stream}: the source's schema declares a field with an empty name; no column can have it, so its values are not loaded (the raw records keep them)`);
  }
  if (columns.length === 0) columns = [{ name: '_airbyte_data', type: 'json' }];
  const wholeRecord = columns.length === 1 && columns[0]?.name === '_airbyte_data' && !('_airbyte_data' in ((extracted.jsonSchema['properties'] as object | undefined) ?? {}));

  return withDuckDb(async (db, scratch) => {
    if (input.signal.aborted) throw new Error('stage cancelled');
    const localParts = await readableFiles(store, extracted.files.map((f) => f.key), scratch, 'raw', '.jsonl', input.signal);
    const base: StagedManifest = {
      version: 1,
      stream,
      columns,
      primaryKey: extracted.primaryKey,
      files: [],
      rows: 0,
      rejectedRows: 0,
      mismatches: {},
      rounded: {},
      rejectsKey: null,
    };
    if (localParts.length === 0 || extracted.records === 0) return await finish(input, base);

    // One streaming pass: typed columns, plus a list of the misfit columns' positions on records
    // with a value that does not fit (NULL on the others), counted afterwards from the file.
    const checked = columns.flatMap((c, i) => (canMisfit(c.type) ? [{ c, i }] : []));
    const misfitOf = (c: StreamColumn): string => `(${ident(c.name)} IS NOT NULL AND ${typedExpr(ident(c.name), c.type)} IS NULL)`;
    const misfit = unusedName('__sluice_misfit', columns);
    const misfitExpr = checked.length === 0 ? 'NULL::INTEGER[]' : positionsWhere(checked, misfitOf);
    // And a list of the `double` columns' positions whose whole number the double rounds (QA round
    // 44b F4: a source-file id declared "number" loaded rounded, without a word).
    const doubles = columns.flatMap((c, i) => (c.type === 'double' ? [{ c, i }] : []));
    const rounded = unusedName('__sluice_rounded', columns);
    const roundedExpr = doubles.length === 0 ? '' : `, ${positionsWhere(doubles, (c) => wholeNumberRounded(ident(c.name)))} AS ${ident(rounded)}`;
    const out = path.join(scratch, 'part-00000.parquet');
    let parts = localParts;
    const recordLimit = jsonRecordLimit(input.duckdb ?? {});
    const readRaw = (as: (c: StreamColumn) => string): string =>
      `read_json([${parts.map(lit).join(', ')}], format = 'newline_delimited', maximum_object_size = ${recordLimit}, columns = {${columns.map((c) => `${lit(c.name)}: '${as(c)}'`).join(', ')}})`;
    // Row groups sized to the memory limit from the records' JSON size, twice over (QA rounds 51b D3, 52a D1).
    const writeStaged = (): Promise<unknown> =>
      db.run(
        `COPY (${
          wholeRecord
            ? `SELECT json::VARCHAR AS ${ident('_airbyte_data')}, NULL::INTEGER[] AS ${ident(misfit)} FROM read_json_objects([${parts.map(lit).join(', ')}], format = 'newline_delimited', maximum_object_size = ${recordLimit})`
            : `SELECT ${columns.map((c) => `${typedExpr(ident(c.name), c.type)} AS ${ident(c.name)}`).join(', ')}, ${misfitExpr} AS ${ident(misfit)}${roundedExpr}
                 FROM ${readRaw((c) => (isJsonText(c.type) ? 'JSON' : 'VARCHAR'))}`
        }) TO ${lit(out)} (${STAGED_PARQUET}, ROW_GROUP_SIZE ${rowGroupRows((2 * extracted.bytes) / extracted.records, input.duckdb?.memoryLimit)})`,
      );
    try {
      await writeStaged();
    } catch (err) {
      if (err instanceof Error && /"maximum_object_size" of \d+ bytes exceeded/.test(err.message)) throw recordTooLarge(stream, recordLimit, input.duckdb?.memoryLimit);
      // The reader's buffers for a record near the largest it reads can meet the limit before the
      // record's size is checked, the order of its threads' allocations deciding which is said.
      if (err instanceof Error && /^Out of Memory Error/.test(err.message)) throw outOfMemory(stream, recordLimit, columns.length, input.duckdb?.memoryLimit, err);
      // DuckDB refuses a record that names a column twice (its error quotes the record, so it is
      // not passed on). JSON parsers keep the last value; so does stage, from rewritten parts.
      if (!(err instanceof Error && / has duplicate key /.test(err.message))) throw err;
      const rewritten = await withLastOfRepeatedMembers(parts, scratch, input.signal);
      parts = rewritten.files;
      await input.warn(
        `stream ${stream}: ${rewritten.records} ${rewritten.records === 1 ? 'record names' : 'records name'} a field more than once; ` +
          `each field's last value is loaded, as JSON parsers read such a record (the raw records keep every value)`,
      );
      await writeStaged();
    }

    const counts = await db.runAndReadAll(`SELECT count(*)::BIGINT, count(${ident(misfit)})::BIGINT FROM read_parquet(${lit(out)})`);
    const rows = Number(counts.getRows()[0]?.[0] ?? 0);
    const rejectedRows = Number(counts.getRows()[0]?.[1] ?? 0);
    const mismatches: Record<string, number> = {};
    let rejects: string | null = null;
    await ensureCurrent(input.try);
    if (rejectedRows > 0) {
      Object.assign(mismatches, await countPerColumn(db, out, misfit, columns));
      // The rejected records, whole (each value as its JSON), with their 1-based position in the
      // stream: the staged file keeps the records' order, so its row numbers are theirs.
      const rj = path.join(scratch, 'rejects.jsonl');
      const position = unusedName('source_row', columns);
      await db.run(
        // The position's name is the stream's own field's when it has one (QA round 57a F6: a field
        // named source_row was written as source_row_1); the staged rows are numbered as the raw
        // ones, not by file_row_number, which a column of that name refuses (F5).
        `COPY (SELECT raw.* FROM (SELECT row_number() OVER () AS ${ident(position)}, * FROM ${readRaw(() => 'JSON')}) raw
                 JOIN (SELECT ${ident(position)} FROM (SELECT row_number() OVER () AS ${ident(position)}, ${ident(misfit)} FROM read_parquet(${lit(out)})) WHERE ${ident(misfit)} IS NOT NULL) bad
                 USING (${ident(position)}) ORDER BY ${ident(position)}) TO ${lit(rj)} (FORMAT json)`,
      );
      rejects = rejectsKey(runId, stream);
      await store.upload(rj, rejects);
    }
    const roundedCounts = doubles.length > 0 && !wholeRecord ? await countPerColumn(db, out, rounded, columns) : {};
    for (const [name, n] of Object.entries(roundedCounts)) {
      await input.warn(
        `stream ${stream}: ${n} ${n === 1 ? 'value' : 'values'} of column "${name}" ${n === 1 ? 'is a whole number' : 'are whole numbers'} past 2^53, which the source's schema declares "number" (a double): ` +
          `loaded rounded to the nearest double (as 9007199254740993, say, loads as 9007199254740992). Whole numbers the source declares "integer" load exactly, up to 2^63`,
      );
    }
    const bytes = (await stat(out)).size;
    const key = tryFileKey(stagedDir(runId, stream), input.try, 0);
    await store.upload(out, key);
    input.progress({ rows, bytes });
    return await finish(input, {
      ...base,
      files: [{ key, rows, bytes }],
      rows,
      rejectedRows,
      mismatches,
      rounded: roundedCounts,
      rejectsKey: rejects,
    });
  }, input.duckdb);
}

/**
 * Copies of raw parts in which each record names each field once, with the field's last value
 * (withoutRepeatedMembers), and how many records were changed. Lines stay in order, one per record.
 */
async function withLastOfRepeatedMembers(parts: readonly string[], scratch: string, signal: AbortSignal): Promise<{ files: string[]; records: number }> {
  const files: string[] = [];
  let records = 0;
  for (const [i, part] of parts.entries()) {
    const file = path.join(scratch, `raw-once-${i}.jsonl`);
    const lines = createInterface({ input: createReadStream(part, 'utf8'), crlfDelay: Infinity });
    await pipeline(
      async function* () {
        for await (const line of lines) {
          const kept = line === '' ? undefined : withoutRepeatedMembers(line);
          if (kept !== undefined) records += 1;
          yield `${kept ?? line}\n`;
        }
      },
      createWriteStream(file, 'utf8'),
      { signal },
    );
    files.push(file);
  }
  return { files, records };
}

/** The positions of the columns for which `holds` holds on a row, as a list; NULL where it holds for none. */
function positionsWhere(columns: ReadonlyArray<{ c: StreamColumn; i: number }>, holds: (c: StreamColumn) => string): string {
  return `CASE WHEN ${columns.map(({ c }) => holds(c)).join(' OR ')} THEN [${columns.map(({ c, i }) => `CASE WHEN ${holds(c)} THEN ${i} END`).join(', ')}] END`;
}

/** Per column: how many rows of the staged file `out` list its position in their list column `list`. */
async function countPerColumn(db: DuckDBConnection, out: string, list: string, columns: readonly StreamColumn[]): Promise<Record<string, number>> {
  const perColumn = await db.runAndReadAll(
    `SELECT i, count(*)::BIGINT FROM (SELECT unnest(${ident(list)}) AS i FROM read_parquet(${lit(out)}) WHERE ${ident(list)} IS NOT NULL)
      WHERE i IS NOT NULL GROUP BY i ORDER BY i`,
  );
  const counts: Record<string, number> = {};
  for (const [i, n] of perColumn.getRows()) {
    const c = columns[Number(i)];
    if (c) counts[c.name] = Number(n);
  }
  return counts;
}

/**
 * Whether raw text `c` (a `double` column's) is a whole number the double does not hold exactly:
 * digits only, 16 or more of them (below 2^53 every whole number is exact), at most 38 (DECIMAL's).
 */
function wholeNumberRounded(c: string): string {
  return `(length(${c}) BETWEEN 16 AND 39 AND regexp_full_match(${c}, '-?[0-9]+') AND TRY_CAST(${c} AS DECIMAL(38,0)) IS DISTINCT FROM TRY_CAST(TRY_CAST(${c} AS DOUBLE) AS DECIMAL(38,0)))`;
}

async function finish(input: StageStreamInput, m: StagedManifest): Promise<StagedManifest> {
  await ensureCurrent(input.try);
  await input.store.put(stagedManifestKey(input.runId, input.stream), JSON.stringify(m));
  return m;
}

export async function readStagedManifest(store: ObjectStore, runId: string, stream: string): Promise<StagedManifest> {
  const key = stagedManifestKey(runId, stream);
  if (!(await store.head(key))) throw new NonRetryableTaskError(`stream "${stream}" of run ${runId} was not staged (${key} is missing)`);
  return stagedManifestSchema.parse(JSON.parse((await store.get(key)).toString('utf8')));
}
