/**
 * Compaction of small data files against a real PostgreSQL catalog and object store (file:// and
 * moto S3): a tier of small files becomes one file in a `replace` snapshot, PyIceberg reads the
 * same rows before and after (and at the snapshot before it), and two compactions racing commit
 * once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnSpec } from '@sluice/iceberg';
import { createHarness, type BackendKind, type IcebergHarness } from './harness.ts';
import { addFilesWithPyIceberg, readWithPyIceberg, readWithPyIcebergAt } from './pyiceberg.ts';

const columns: ColumnSpec[] = [
  { name: 'id', type: 'long' },
  { name: 'v', type: 'string' },
];
const withScore: ColumnSpec[] = [...columns, { name: 'score', type: 'double' }];

const sortedById = (rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> =>
  [...rows].sort((a, b) => Number(a['id']) - Number(b['id']));

for (const kind of ['file', 's3'] as BackendKind[]) {
  describe(`compaction on ${kind}://`, () => {
    let h: IcebergHarness;
    before(async () => {
      h = await createHarness(kind);
    });
    after(async () => {
      await h.close();
    });

    /** A table of `runs` one-row appends (each its own small file), the last with a column the others lack. */
    const tableOfSmallFiles = async (name: string, runs: number, properties: Record<string, string>): Promise<void> => {
      await h.catalog.createTable('raw', name, columns, { properties });
      const table = await h.catalog.loadTable('raw', name);
      for (let n = 1; n <= runs; n += 1) {
        const cols = n === runs ? withScore : columns;
        const row = n === runs ? { id: n, v: `v${n}`, score: 0.5 } : { id: n, v: `v${n}` };
        const input = await h.ndjson(`${name}-${n}.ndjson`, [row]);
        assert.equal((await table.append({ format: 'ndjson', files: [input], columns: cols }, { runId: `run-${n}`, taskId: 'load' })).status, 'committed');
      }
    };

    test('a tier of min-input-files small files becomes one file; the rows, the schema and time travel read as before', async () => {
      await tableOfSmallFiles('small', 5, { 'sluice.compaction.min-input-files': '4' });
      const before = await h.read('raw', 'small');
      assert.equal(before.files.length, 5);
      const previous = before.current_snapshot_id as string;

      const table = await h.catalog.loadTable('raw', 'small');
      const r = await table.compactDataFiles({ runId: 'run-5', taskId: 'load/compaction' });
      assert.equal(r.status, 'committed');
      assert.equal(r.rewrittenFiles, 5);
      assert.equal(r.addedFiles, 1);

      const after = await readWithPyIcebergAt(h.db.url, 'raw', 'small', kind === 's3', [previous]);
      assert.equal(after.files.length, 1, 'one data file is live');
      assert.equal(after.files[0]?.record_count, 5);
      assert.deepEqual(sortedById(after.rows), sortedById(before.rows), 'the same rows, the older ones without a score');
      assert.equal(sortedById(after.rows)[0]?.['score'], null);
      assert.deepEqual(after.schema, before.schema);
      const last = after.snapshots.at(-1);
      assert.equal(last?.summary['operation'], 'replace');
      assert.equal(last?.summary['total-records'], '5');
      assert.equal(last?.summary['deleted-data-files'], '5');
      assert.equal(last?.summary['sluice.task-id'], 'load/compaction');
      assert.equal(after.counts_at[previous], 5, 'the snapshot before the compaction still reads');
      // The replaced files stay for time travel; only snapshot expiry removes them.
      assert.equal((await h.keys('warehouse/raw/small/data/')).length, 6);

      // One file now: nothing to do, and nothing is committed.
      const again = await table.compactDataFiles({ runId: 'run-6', taskId: 'load/compaction' });
      assert.equal(again.status, 'nothing-to-do');
      assert.equal((await h.read('raw', 'small')).snapshots.length, after.snapshots.length);
    });

    test('fewer files than min-input-files (by default 8), or 0, compact nothing', async () => {
      await tableOfSmallFiles('few', 5, {});
      await tableOfSmallFiles('off', 9, { 'sluice.compaction.min-input-files': '0' });
      for (const name of ['few', 'off']) {
        const r = await (await h.catalog.loadTable('raw', name)).compactDataFiles({ runId: 'run-x', taskId: 'load/compaction' });
        assert.equal(r.status, 'nothing-to-do', name);
      }
      assert.equal((await h.read('raw', 'off')).files.length, 9);
    });

    test('files another engine added without field ids are read by the name mapping and rewritten with field ids', async () => {
      await tableOfSmallFiles('imported', 2, { 'sluice.compaction.min-input-files': '4' });
      // Two files as Spark's or PyIceberg's add_files takes them in: columns by name, one without v.
      await addFilesWithPyIceberg(h.db.url, 'raw', 'imported', kind === 's3', [{ id: 10, v: 'a', score: 1.5 }]);
      const before = await addFilesWithPyIceberg(h.db.url, 'raw', 'imported', kind === 's3', [{ id: 11, score: 2.5 }]);
      assert.ok(before.properties['schema.name-mapping.default']);
      assert.equal(before.files.length, 4);

      const r = await (await h.catalog.loadTable('raw', 'imported')).compactDataFiles({ runId: 'run-c', taskId: 'load/compaction' });
      assert.equal(r.status, 'committed');
      assert.equal(r.rewrittenFiles, 4);
      const after = await h.read('raw', 'imported');
      assert.equal(after.files.length, 1);
      assert.deepEqual(sortedById(after.rows), sortedById(before.rows));
      assert.deepEqual(
        sortedById(after.rows).map((row) => [row['id'], row['v'], row['score']]),
        [[1, 'v1', null], [2, 'v2', 0.5], [10, 'a', 1.5], [11, null, 2.5]],
      );
      // The new file carries field ids: with the name mapping emptied, it reads the same.
      const readById = await readWithPyIceberg(h.db.url, 'raw', 'imported', kind === 's3', undefined, undefined, { 'schema.name-mapping.default': '[]' });
      assert.deepEqual(readById.rows, after.rows);
    });

    test('two compactions racing on one table commit once; the rows are not doubled', async () => {
      await tableOfSmallFiles('raced', 6, { 'sluice.compaction.min-input-files': '3' });
      const before = await h.read('raw', 'raced');
      const first = await h.catalog.loadTable('raw', 'raced');
      const second = await h.secondCatalog().loadTable('raw', 'raced');
      const results = await Promise.all([
        first.compactDataFiles({ runId: 'run-a', taskId: 'load/compaction' }),
        second.compactDataFiles({ runId: 'run-b', taskId: 'load/compaction' }),
      ]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['committed', 'nothing-to-do']);
      const after = await h.read('raw', 'raced');
      assert.deepEqual(sortedById(after.rows), sortedById(before.rows));
      assert.equal(after.files.length, 1);
      assert.equal(after.snapshots.filter((s) => s.summary['operation'] === 'replace').length, 1);
    });
  });
}
