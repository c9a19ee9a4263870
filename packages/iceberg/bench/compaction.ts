/**
 * Benchmark (not a test): `npx tsx packages/iceberg/bench/compaction.ts [appends] [rows]`
 *
 * A job that appends each minute, side by side with and without compaction (ADR 0028): two tables
 * each take `appends` (default 480, eight hours of minutes) appends of `rows` (default 50) rows;
 * one calls `compactDataFiles()` after each append as the load task does, the other has it off
 * (`sluice.compaction.min-input-files` 0). Reports, for each: the median and p95 time of an
 * append (with its compaction), the live data files at the end, a whole-table read's median time
 * (its scan planning — the manifests read — and DuckDB reading every live file, 5 reads), and for
 * the compacted table the bytes its compactions wrote against the bytes appended (write
 * amplification). Uses DATABASE_URL when set, else starts a throwaway PostgreSQL; the warehouse is
 * file:// in a temp dir, so a file costs an open, not an S3 request (which costs more).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ColumnSpec, IcebergTable } from '../src/index.ts';
import { openBenchCatalog, quantile, time } from './bench-setup.ts';

const appends = Number(process.argv[2] ?? '480');
const rowsPerAppend = Number(process.argv[3] ?? '50');

const columns: ColumnSpec[] = [
  { name: 'id', type: 'long' },
  { name: 'name', type: 'string' },
  { name: 'score', type: 'double' },
  { name: 'updated_at', type: 'timestamptz' },
];

const { tmp, catalog, close } = await openBenchCatalog();
const duck = await DuckDBInstance.create(':memory:');
const c = await duck.connect();

/** A whole-table read: the live files from the manifests, then every row of them. */
async function readWhole(table: IcebergTable): Promise<bigint> {
  await table.refresh();
  const files = (await table.dataFiles()).map((f) => `'${fileURLToPath(f.file_path)}'`);
  const reader = await c.runAndReadAll(`SELECT count(*), sum(id), max(name) FROM read_parquet([${files.join(', ')}])`);
  return BigInt(reader.getRows()[0]?.[0] as bigint);
}

try {
  const input = path.join(tmp, 'batch.parquet');
  await c.run(
    `COPY (SELECT i::BIGINT AS id, 'user-' || i AS name, (i % 1000) / 7.0 AS score, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS updated_at
             FROM range(0, ${rowsPerAppend}) t(i)) TO '${input}' (FORMAT parquet, COMPRESSION zstd)`,
  );
  const plain = await catalog.createTable('bench', 'appended', columns, { properties: { 'sluice.compaction.min-input-files': '0' } });
  const compacted = await catalog.createTable('bench', 'compacted', columns);
  const appendPlain: number[] = [];
  const appendCompacted: number[] = [];
  let compactions = 0;
  for (let i = 0; i < appends; i += 1) {
    const [a] = await time(() => plain.append({ format: 'parquet', files: [input], columns }));
    appendPlain.push(a);
    const [b, r] = await time(async () => {
      await compacted.append({ format: 'parquet', files: [input], columns });
      return compacted.compactDataFiles({ runId: `run-${i}`, taskId: 'load/compaction' });
    });
    appendCompacted.push(b);
    if (r.status === 'committed') compactions += 1;
  }

  const reads = async (table: IcebergTable): Promise<{ seconds: number[]; rows: bigint }> => {
    const seconds: number[] = [];
    let rows = 0n;
    for (let i = 0; i < 5; i += 1) {
      const [s, n] = await time(() => readWhole(table));
      seconds.push(s);
      rows = n;
    }
    return { seconds, rows };
  };
  const readPlain = await reads(plain);
  const readCompacted = await reads(compacted);
  const bytes = (table: IcebergTable, operation: string): number =>
    table.metadata.snapshots.filter((s) => s.summary.operation === operation).reduce((n, s) => n + Number(s.summary['added-files-size'] ?? 0), 0);
  const report = {
    appends,
    rows_per_append: rowsPerAppend,
    cores: os.availableParallelism(),
    without_compaction: {
      append_median_s: Number(quantile(appendPlain, 0.5).toFixed(4)),
      append_p95_s: Number(quantile(appendPlain, 0.95).toFixed(4)),
      live_files: (await plain.dataFiles()).length,
      read_median_s: Number(quantile(readPlain.seconds, 0.5).toFixed(4)),
      rows: Number(readPlain.rows),
    },
    with_compaction: {
      append_median_s: Number(quantile(appendCompacted, 0.5).toFixed(4)),
      append_p95_s: Number(quantile(appendCompacted, 0.95).toFixed(4)),
      live_files: (await compacted.dataFiles()).length,
      read_median_s: Number(quantile(readCompacted.seconds, 0.5).toFixed(4)),
      rows: Number(readCompacted.rows),
      compactions,
      bytes_appended: bytes(compacted, 'append'),
      bytes_compactions_wrote: bytes(compacted, 'replace'),
      write_amplification: Number((bytes(compacted, 'replace') / bytes(compacted, 'append')).toFixed(2)),
    },
    read_with_vs_without: Number((quantile(readCompacted.seconds, 0.5) / quantile(readPlain.seconds, 0.5)).toFixed(3)),
    append_median_with_vs_without: Number((quantile(appendCompacted, 0.5) / quantile(appendPlain, 0.5)).toFixed(2)),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  c.closeSync();
  duck.closeSync();
  await close();
}
