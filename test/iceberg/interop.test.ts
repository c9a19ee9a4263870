/**
 * Sluice and PyIceberg writing the same table in turn: Sluice must read PyIceberg's manifests
 * (its field spellings, inherited sequence numbers, 64-bit snapshot ids) and carry its files
 * through appends, merges and overwrites — checked by reading back with PyIceberg.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeToTable, type ColumnSpec } from '@sluice/iceberg';
import { createHarness, type IcebergHarness } from './harness.ts';

const cols: ColumnSpec[] = [
  { name: 'id', type: 'long' },
  { name: 'v', type: 'string' },
  { name: 'at', type: 'timestamptz' },
];

let h: IcebergHarness;
before(async () => {
  h = await createHarness('file');
});
after(async () => {
  await h.close();
});

test('Sluice and PyIceberg take turns writing one table; every write survives the other', async () => {
  const table = await h.catalog.createTable('mixed', 't', cols);
  await table.append({
    format: 'ndjson',
    files: [await h.ndjson('s1.ndjson', [{ id: 1, v: 'sluice-1', at: '2024-01-01T00:00:00Z' }, { id: 2, v: 'sluice-2', at: null }])],
    columns: cols,
  });
  const afterPy = await h.appendWithPyIceberg('mixed', 't', [
    { id: 3, v: 'py-3', at: null },
    { id: 4, v: 'py-4', at: null },
  ]);
  assert.equal(afterPy.rows.length, 4);
  assert.equal(afterPy.snapshots.length, 2);

  // Sluice merges over PyIceberg's snapshot: replaces a PyIceberg row and a Sluice row.
  const merged = await table.merge(
    {
      format: 'ndjson',
      files: [await h.ndjson('s2.ndjson', [{ id: 4, v: 'sluice-4' }, { id: 1, v: 'sluice-1b' }, { id: 5, v: 'sluice-5' }])],
      columns: cols,
    },
    { keys: ['id'], runId: 'run-m', taskId: 'load.t' },
  );
  assert.equal(merged.status, 'committed');
  const view = await h.read('mixed', 't');
  assert.deepEqual(
    view.rows.map((r) => [r['id'], r['v']]).sort((a, b) => Number(a[0]) - Number(b[0])),
    [
      [1, 'sluice-1b'],
      [2, 'sluice-2'],
      [3, 'py-3'],
      [4, 'sluice-4'],
      [5, 'sluice-5'],
    ],
  );
  assert.equal(view.snapshots.length, 3);
  assert.equal(view.snapshots[2]?.parent_snapshot_id, view.snapshots[1]?.snapshot_id);
  assert.equal(view.snapshots[2]?.summary['total-records'], '5');

  // PyIceberg appends again on top of Sluice's merge, then Sluice overwrites everything.
  const again = await h.appendWithPyIceberg('mixed', 't', [{ id: 6, v: 'py-6', at: null }]);
  assert.equal(again.rows.length, 6);
  const overwritten = await table.overwrite({
    format: 'ndjson',
    files: [await h.ndjson('s3.ndjson', [{ id: 9, v: 'only' }])],
    columns: cols,
  });
  assert.equal(overwritten.status, 'committed');
  const final = await h.read('mixed', 't');
  assert.deepEqual(final.rows, [{ id: 9, v: 'only', at: null }]);
  assert.equal(final.snapshots.at(-1)?.summary['deleted-records'], '6');
  assert.equal(final.snapshots.at(-1)?.summary['total-records'], '1');
  assert.equal(final.snapshots.at(-1)?.summary['total-data-files'], '1');
});

test('writeToTable creates the table on first use, then merges; a retry of the same task is a no-op', async () => {
  const input = { format: 'ndjson' as const, files: [await h.ndjson('w1.ndjson', [{ id: 1, v: 'a' }, { id: 1, v: 'b' }])], columns: cols };
  const first = await writeToTable(h.catalog, { namespace: 'fresh_ns', table: 'users', mode: 'merge', keys: ['id'], input, runId: 'r1', taskId: 'load.users' });
  assert.equal(first.status, 'committed');
  const retry = await writeToTable(h.catalog, { namespace: 'fresh_ns', table: 'users', mode: 'merge', keys: ['id'], input, runId: 'r1', taskId: 'load.users' });
  assert.equal(retry.status, 'already-committed');
  await assert.rejects(writeToTable(h.catalog, { namespace: 'fresh_ns', table: 'users', mode: 'merge', input }), /needs key columns/);
  const view = await h.read('fresh_ns', 'users');
  assert.ok(view.namespaces.includes('fresh_ns'));
  assert.deepEqual(view.rows, [{ id: 1, v: 'b', at: null }]);
  assert.equal(view.snapshots.length, 1);
});
