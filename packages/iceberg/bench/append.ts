/**
 * Benchmark (not a test): `npx tsx packages/iceberg/bench/append.ts [runs]`
 *
 * Uses DATABASE_URL when set, else starts a throwaway PostgreSQL; the warehouse is file:// in a
 * temp dir, so the numbers measure the writer, not a network. Reports medians of `runs` (default 3):
 *  - append of 1,000,000 rows (Parquet input, as the stage task writes it) → rows/s, MB/s of
 *    Parquet written, beside DuckDB copying the same rows to one plain zstd Parquet file (the ceiling);
 *  - one commit's fixed cost (a 1-row append onto a table with history);
 *  - merge of 10% changed keys into a 1,000,000-row table of 10 files, keys clustered (the latest
 *    ids, as incremental syncs change them) and scattered uniformly (every file holds a changed key),
 *    beside an overwrite of all 1,000,000 rows (the full rewrite).
 */
import { rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ColumnSpec, IcebergTable } from '../src/index.ts';
import { openBenchCatalog, quantile, time } from './bench-setup.ts';

const ROWS = 1_000_000;
const runs = Number(process.argv[2] ?? '3');

const columns: ColumnSpec[] = [
  { name: 'id', type: 'long' },
  { name: 'name', type: 'string' },
  { name: 'score', type: 'double' },
  { name: 'active', type: 'boolean' },
  { name: 'updated_at', type: 'timestamptz' },
  { name: 'payload', type: 'string' },
];

function rowsSql(from: string, where = 'TRUE', tag = 'v1'): string {
  return `SELECT i::BIGINT AS id, 'user-' || i AS name, (i % 1000) / 7.0 AS score, i % 3 = 0 AS active,
            TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS updated_at,
            '{"tag":"${tag}","n":' || i || ',"h":"' || md5(i::VARCHAR) || '"}' AS payload
       FROM ${from} WHERE ${where}`;
}

const median = (xs: number[]): number => quantile(xs, 0.5);

const { tmp, catalog, close } = await openBenchCatalog();
const duck = await DuckDBInstance.create(':memory:');
const c = await duck.connect();

try {
  const input = path.join(tmp, 'input.parquet');
  await c.run(`COPY (${rowsSql('range(0, ' + ROWS + ') t(i)')}) TO '${input}' (FORMAT parquet, COMPRESSION zstd)`);
  const inputMb = (await stat(input)).size / 1e6;

  const ceiling: number[] = [];
  const append: number[] = [];
  let appendBytes = 0;
  for (let r = 0; r < runs; r += 1) {
    const out = path.join(tmp, `plain-${r}.parquet`);
    const [s] = await time(() => c.run(`COPY (SELECT * FROM read_parquet('${input}')) TO '${out}' (FORMAT parquet, COMPRESSION zstd)`));
    ceiling.push(s);
    await rm(out);
    const table = await catalog.createTable('bench', `append_${r}`, columns);
    const [a, result] = await time(() => table.append({ format: 'parquet', files: [input], columns }));
    append.push(a);
    appendBytes = Number(result.summary?.['added-files-size'] ?? 0);
  }

  // One commit's fixed cost: a 1-row append onto a table that already has 20 snapshots.
  const small = path.join(tmp, 'one.parquet');
  await c.run(`COPY (${rowsSql('range(0, 1) t(i)')}) TO '${small}' (FORMAT parquet)`);
  const history = await catalog.createTable('bench', 'commits', columns);
  for (let i = 0; i < 20; i += 1) await history.append({ format: 'parquet', files: [small], columns });
  const commit: number[] = [];
  for (let r = 0; r < Math.max(runs, 5); r += 1) {
    const [s] = await time(() => history.append({ format: 'parquet', files: [small], columns }));
    commit.push(s);
  }

  // Merge: a 1M-row table of 10 files (100k ids each), 100k changed keys.
  const parts: string[] = [];
  for (let f = 0; f < 10; f += 1) {
    const p = path.join(tmp, `part-${f}.parquet`);
    await c.run(`COPY (${rowsSql(`range(${f * 100_000}, ${(f + 1) * 100_000}) t(i)`)}) TO '${p}' (FORMAT parquet, COMPRESSION zstd)`);
    parts.push(p);
  }
  const clustered = path.join(tmp, 'changes-clustered.parquet');
  await c.run(`COPY (${rowsSql(`range(${ROWS - 100_000}, ${ROWS}) t(i)`, 'TRUE', 'v2')}) TO '${clustered}' (FORMAT parquet)`);
  const scattered = path.join(tmp, 'changes-scattered.parquet');
  await c.run(`COPY (${rowsSql(`range(0, ${ROWS}) t(i)`, 'i % 10 = 3', 'v2')}) TO '${scattered}' (FORMAT parquet)`);
  const buildTable = async (name: string): Promise<IcebergTable> => {
    const t = await catalog.createTable('bench', name, columns);
    for (const p of parts) await t.append({ format: 'parquet', files: [p], columns });
    return t;
  };
  const mergeClustered: number[] = [];
  const mergeScattered: number[] = [];
  const rewrite: number[] = [];
  let rewrittenClustered = '';
  let rewrittenScattered = '';
  for (let r = 0; r < runs; r += 1) {
    const t1 = await buildTable(`merge_c_${r}`);
    const [m1, res1] = await time(() => t1.merge({ format: 'parquet', files: [clustered], columns }, { keys: ['id'] }));
    mergeClustered.push(m1);
    rewrittenClustered = `${res1.summary?.['deleted-data-files']} of 10 files`;
    const t2 = await buildTable(`merge_s_${r}`);
    const [m2, res2] = await time(() => t2.merge({ format: 'parquet', files: [scattered], columns }, { keys: ['id'] }));
    mergeScattered.push(m2);
    rewrittenScattered = `${res2.summary?.['deleted-data-files']} of 10 files`;
    const t3 = await buildTable(`rewrite_${r}`);
    const [w] = await time(() => t3.overwrite({ format: 'parquet', files: parts, columns }));
    rewrite.push(w);
  }

  const mb = appendBytes / 1e6;
  const report = {
    rows: ROWS,
    runs,
    cores: os.availableParallelism(),
    input_parquet_mb: Number(inputMb.toFixed(1)),
    duckdb_plain_parquet_s: Number(median(ceiling).toFixed(3)),
    iceberg_append_s: Number(median(append).toFixed(3)),
    iceberg_append_rows_per_s: Math.round(ROWS / median(append)),
    iceberg_append_mb_per_s: Number((mb / median(append)).toFixed(1)),
    duckdb_plain_rows_per_s: Math.round(ROWS / median(ceiling)),
    append_vs_ceiling: Number((median(append) / median(ceiling)).toFixed(2)),
    one_commit_s: Number(median(commit).toFixed(3)),
    merge_10pct_clustered_s: Number(median(mergeClustered).toFixed(3)),
    merge_10pct_clustered_rewrote: rewrittenClustered,
    merge_10pct_scattered_s: Number(median(mergeScattered).toFixed(3)),
    merge_10pct_scattered_rewrote: rewrittenScattered,
    full_rewrite_s: Number(median(rewrite).toFixed(3)),
    merge_clustered_vs_rewrite: Number((median(mergeClustered) / median(rewrite)).toFixed(2)),
    merge_scattered_vs_rewrite: Number((median(mergeScattered) / median(rewrite)).toFixed(2)),
    samples: { ceiling, append, commit, mergeClustered, mergeScattered, rewrite },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  c.closeSync();
  duck.closeSync();
  await close();
}
