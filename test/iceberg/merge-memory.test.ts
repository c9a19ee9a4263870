/**
 * A merge under the least memory limit the README gives (SLUICE_DUCKDB_MEMORY_LIMIT=128MiB, which
 * the runner gives the Iceberg writer's one DuckDB): a batch of many wide rows onto a table of as
 * many fits, however many rows (QA round 51b D3: row groups of DuckDB's default 122,880 rows held
 * more than the limit). Its own file: the writer's DuckDB takes its limit once, at its first use.
 */
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { configureDuckDb, rowGroupRows, type ColumnSpec } from '@sluice/iceberg';
import { createHarness, type IcebergHarness } from './harness.ts';

let h: IcebergHarness;
const ROWS = 50_000;
before(async () => {
  configureDuckDb({ memoryLimit: '128MiB' });
  h = await createHarness('file');
});
after(async () => h?.close());

test('a merge of 50,000 rows of 1.2 KB onto a table of as many fits in 128MiB (before: Out of Memory, the rows written in row groups of 122,880)', async () => {
  const cols: ColumnSpec[] = [{ name: 'id', type: 'long' }, ...Array.from({ length: 16 }, (_, i): ColumnSpec => ({ name: `f${i}`, type: 'string' }))];
  // Values that do not compress, as names and emails hardly do; the batch holds every key of the table, each row changed.
  const rows = (version: string) => `SELECT range AS id, ${Array.from({ length: 16 }, (_, i) => `sha256(range::VARCHAR || '/${i}/${version}') AS f${i}`).join(', ')} FROM range(${ROWS})`;
  // Inputs as transform writes them under this limit (a row group of 122,880 such rows is more
  // than 128MiB to read at all: each of its column chunks is read whole).
  const INPUT_GROUP = rowGroupRows(2 * 1200, '128MiB');
  assert.ok(INPUT_GROUP < 122_880, `${INPUT_GROUP} rows a row group`);
  const table = await h.catalog.createTable('raw', 'wide', cols);
  await table.append({ format: 'parquet', files: [await h.parquet('v1.parquet', rows('v1'), INPUT_GROUP)], columns: cols });
  const result = await table.merge({ format: 'parquet', files: [await h.parquet('v2.parquet', rows('v2'), INPUT_GROUP)], columns: cols }, { keys: ['id'], runId: 'run-2', taskId: 'load.wide' });
  assert.equal(result.status, 'committed');
  const view = await h.read('raw', 'wide');
  assert.equal(view.rows.length, ROWS);
  const v2 = (id: number): string => createHash('sha256').update(`${id}/0/v2`).digest('hex');
  assert.deepEqual(view.rows.filter((r) => r['f0'] !== v2(Number(r['id']))).length, 0, "every row is the batch's");
});
