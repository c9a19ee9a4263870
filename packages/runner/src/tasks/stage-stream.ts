import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableTaskError, assertNever } from '@sluice/core';
import { columnsFromJsonSchema, type ColumnType, type StreamColumn } from '@sluice/core/pipeline';
import { readExtractManifest } from '@sluice/connectors';
import type { ObjectStore } from '@sluice/storage';
import { ident, lit, withDuckDb } from './duckdb-session.ts';
import { rejectsKey, stagedDir, stagedManifestKey } from './staging-layout.ts';

export const stagedManifestSchema = z.object({
  version: z.literal(1),
  stream: z.string(),
  columns: z.array(z.object({ name: z.string(), type: z.enum(['long', 'double', 'boolean', 'date', 'timestamptz', 'timestamp', 'string', 'json']) })),
  primaryKey: z.array(z.array(z.string())),
  files: z.array(z.object({ key: z.string(), rows: z.number().int(), bytes: z.number().int() })),
  rows: z.number().int(),
  /** Records with at least one value that did not fit its column's type (kept, with NULL there). */
  rejectedRows: z.number().int(),
  /** Per column: how many values did not fit. */
  mismatches: z.record(z.string(), z.number().int()),
  rejectsKey: z.string().nullable(),
});
export type StagedManifest = z.infer<typeof stagedManifestSchema>;

/** The DuckDB expression that turns raw JSON column `c` into its typed value (NULL when it does not fit). */
function typedExpr(c: string, type: ColumnType): string {
  const s = `json_extract_string(${c}, '$')`;
  switch (type) {
    case 'long':
      return `TRY_CAST(${s} AS BIGINT)`;
    case 'double':
      return `TRY_CAST(${s} AS DOUBLE)`;
    case 'boolean':
      return `CASE json_type(${c}) WHEN 'BOOLEAN' THEN ${c}::BOOLEAN ELSE TRY_CAST(${s} AS BOOLEAN) END`;
    case 'date':
      return `TRY_CAST(${s} AS DATE)`;
    case 'timestamptz':
      return `TRY_CAST(${s} AS TIMESTAMPTZ)`;
    case 'timestamp':
      return `TRY_CAST(${s} AS TIMESTAMP)`;
    case 'string':
      return s;
    case 'json':
      return `${c}::VARCHAR`;
    default:
      return assertNever(type, 'column type');
  }
}

export interface StageStreamInput {
  store: ObjectStore;
  runId: string;
  stream: string;
  signal: AbortSignal;
  progress(p: { rows?: number; bytes?: number }): void;
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
  if (!manifest) throw new NonRetryableTaskError(`run ${runId} has no extract manifest: the extract did not complete`);
  const extracted = manifest.streams.find((s) => s.name === stream);
  if (!extracted) throw new NonRetryableTaskError(`stream "${stream}" was not extracted in run ${runId}`);
  let columns: StreamColumn[] = columnsFromJsonSchema(extracted.jsonSchema);
  if (columns.length === 0) columns = [{ name: '_airbyte_data', type: 'json' }];
  const wholeRecord = columns.length === 1 && columns[0]?.name === '_airbyte_data' && !('_airbyte_data' in ((extracted.jsonSchema['properties'] as object | undefined) ?? {}));

  return withDuckDb(async (db, scratch) => {
    const localParts: string[] = [];
    for (const [i, f] of extracted.files.entries()) {
      if (input.signal.aborted) throw new Error('stage cancelled');
      const local = path.join(scratch, `raw-${i}.jsonl`);
      await store.download(f.key, local);
      localParts.push(local);
    }
    const base: StagedManifest = {
      version: 1,
      stream,
      columns,
      primaryKey: extracted.primaryKey,
      files: [],
      rows: 0,
      rejectedRows: 0,
      mismatches: {},
      rejectsKey: null,
    };
    if (localParts.length === 0 || extracted.records === 0) return await finish(store, runId, stream, base);

    const fileList = `[${localParts.map(lit).join(', ')}]`;
    const source = wholeRecord
      ? `SELECT json AS ${ident('_airbyte_data')} FROM read_json_objects(${fileList}, format = 'newline_delimited')`
      : `SELECT * FROM read_json(${fileList}, format = 'newline_delimited', maximum_object_size = 134217728, columns = {${columns
          .map((c) => `${lit(c.name)}: 'JSON'`)
          .join(', ')}})`;
    await db.run(`CREATE TABLE raw AS SELECT row_number() OVER () AS __row, * FROM (${source})`);
    const typedCols = columns.map((c) => `${typedExpr(ident(c.name), c.type)} AS ${ident(c.name)}`).join(', ');
    const mismatchCols = columns
      .map((c) => `(${ident(c.name)} IS NOT NULL AND json_type(${ident(c.name)}) <> 'NULL' AND ${typedExpr(ident(c.name), c.type)} IS NULL) AS ${ident(`__bad_${c.name}`)}`)
      .join(', ');
    await db.run(`CREATE TABLE typed AS SELECT __row, ${typedCols}, ${mismatchCols} FROM raw`);

    const counts = await db.runAndReadAll(
      `SELECT count(*)::BIGINT AS n, ${columns.map((c) => `count(*) FILTER (WHERE ${ident(`__bad_${c.name}`)})::BIGINT`).join(', ')},
              count(*) FILTER (WHERE ${columns.map((c) => ident(`__bad_${c.name}`)).join(' OR ')})::BIGINT FROM typed`,
    );
    const row = counts.getRows()[0] ?? [];
    const rows = Number(row[0] ?? 0);
    const mismatches: Record<string, number> = {};
    columns.forEach((c, i) => {
      const n = Number(row[i + 1] ?? 0);
      if (n > 0) mismatches[c.name] = n;
    });
    const rejectedRows = Number(row[columns.length + 1] ?? 0);

    const out = path.join(scratch, 'part-00000.parquet');
    await db.run(
      `COPY (SELECT ${columns.map((c) => ident(c.name)).join(', ')} FROM typed ORDER BY __row) TO ${lit(out)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const bytes = (await stat(out)).size;
    const key = `${stagedDir(runId, stream)}part-00000.parquet`;
    await store.upload(out, key);
    let rejects: string | null = null;
    if (rejectedRows > 0) {
      const rj = path.join(scratch, 'rejects.jsonl');
      const badAny = columns.map((c) => ident(`__bad_${c.name}`)).join(' OR ');
      await db.run(
        `COPY (SELECT raw.__row AS source_row, ${columns.map((c) => `raw.${ident(c.name)}`).join(', ')} FROM raw JOIN typed USING (__row) WHERE ${badAny.replace(/"__bad_/g, 'typed."__bad_')} ORDER BY raw.__row) TO ${lit(rj)} (FORMAT json)`,
      );
      rejects = rejectsKey(runId, stream);
      await store.upload(rj, rejects);
    }
    input.progress({ rows, bytes });
    return await finish(store, runId, stream, {
      ...base,
      files: [{ key, rows, bytes }],
      rows,
      rejectedRows,
      mismatches,
      rejectsKey: rejects,
    });
  });
}

async function finish(store: ObjectStore, runId: string, stream: string, m: StagedManifest): Promise<StagedManifest> {
  await store.put(stagedManifestKey(runId, stream), JSON.stringify(m));
  return m;
}

export async function readStagedManifest(store: ObjectStore, runId: string, stream: string): Promise<StagedManifest> {
  const key = stagedManifestKey(runId, stream);
  if (!(await store.head(key))) throw new NonRetryableTaskError(`stream "${stream}" of run ${runId} was not staged (${key} is missing)`);
  return stagedManifestSchema.parse(JSON.parse((await store.get(key)).toString('utf8')));
}
