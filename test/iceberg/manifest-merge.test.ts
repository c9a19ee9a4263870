/**
 * A table appended to again and again keeps a bounded number of manifests: commits merge the small
 * ones as Iceberg's writers do (QA round 51a O2: a per-minute append job's table gained a manifest
 * a minute, each opened by every later commit and every reader's scan planning). PyIceberg reads
 * the merged table, its entries keep their snapshots and sequence numbers, and time travel to every
 * earlier snapshot still answers that snapshot's rows.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ColumnSpec } from '@sluice/iceberg';
import { readWithPyIcebergAt } from './pyiceberg.ts';
import { createHarness, type IcebergHarness } from './harness.ts';

const cols: ColumnSpec[] = [
  { name: 'id', type: 'long' },
  { name: 'v', type: 'string' },
];

let h: IcebergHarness;
before(async () => {
  h = await createHarness('file');
});
after(async () => {
  await h.close();
});

test('appends merge their manifests once min-count-to-merge have gathered; merges and time travel read right', async () => {
  const table = await h.catalog.createTable('mm', 't', cols);
  const append = async (i: number, properties?: Record<string, string>): Promise<void> => {
    const input = await h.ndjson(`a-${i}.ndjson`, [{ id: i, v: `v${i}` }]);
    const r = await table.append({ format: 'ndjson', files: [input], columns: cols }, { runId: `r${i}`, taskId: 'load', ...(properties ? { tableProperties: properties } : {}) });
    assert.equal(r.status, 'committed');
  };
  // Iceberg's default is 100; 5 here, set as any table's property is.
  await append(1, { 'commit.manifest.min-count-to-merge': '5' });
  for (let i = 2; i <= 12; i++) await append(i);

  const view = await readWithPyIcebergAt(h.db.url, 'mm', 't', false, []);
  const snapshots = view.snapshots;
  assert.equal(snapshots.length, 12);
  assert.deepEqual(view.rows.map((r) => r['id']).sort((a, b) => Number(a) - Number(b)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  // Merged whenever 5 had gathered: never 5 or more manifests; without merging, 12.
  assert.ok(view.manifests.length < 5, JSON.stringify(view.manifests));
  assert.equal(view.manifests.reduce((n, m) => n + m.added + m.existing, 0), 12);
  // A merged manifest's files are EXISTING (0), the others still ADDED (1) in their own snapshot's
  // manifest; each keeps the snapshot and sequence number of the commit that added it (run r<i>).
  assert.equal(view.entries.length, 12);
  assert.ok(view.entries.filter((e) => e.status === 0).length >= 8, JSON.stringify(view.entries));
  for (const e of view.entries) {
    const i = Number(/\/r(\d+)-/.exec(e.file_path)?.[1]);
    assert.deepEqual(
      [e.status === 0 || e.status === 1, e.snapshot_id, e.sequence_number, e.file_sequence_number],
      [true, snapshots[i - 1]?.snapshot_id, snapshots[i - 1]?.sequence_number, snapshots[i - 1]?.sequence_number],
      e.file_path,
    );
  }
  // Every snapshot still reads as it was: the manifests merged away are those older snapshots' own.
  const at = await readWithPyIcebergAt(h.db.url, 'mm', 't', false, snapshots.map((s) => s.snapshot_id));
  assert.deepEqual(snapshots.map((s) => at.counts_at[s.snapshot_id]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  // The manifests this writer wrote and merged away in the same commit are deleted: every manifest
  // file in the table's metadata is one some snapshot names.
  const named = new Set(at.all_manifest_paths.map((p) => p.split('/').pop()));
  const files = (await h.keys('')).filter((k) => /\/metadata\/[^/]*-m\d+\.avro$/.test(k)).map((k) => k.split('/').pop());
  assert.ok(files.length >= 12, files.join(' '));
  assert.deepEqual(files.filter((f) => !named.has(f)), []);

  // A merge (copy-on-write) rewrites the file holding id 3 into the merged manifests' table.
  const upd = await h.ndjson('upd.ndjson', [{ id: 3, v: 'three' }, { id: 13, v: 'v13' }]);
  const merged = await table.merge({ format: 'ndjson', files: [upd], columns: cols }, { runId: 'm', taskId: 'load', keys: ['id'] });
  assert.equal(merged.status, 'committed');
  const after = await readWithPyIcebergAt(h.db.url, 'mm', 't', false, [snapshots[11]?.snapshot_id ?? '']);
  assert.deepEqual(
    after.rows.map((r) => [r['id'], r['v']]).sort((a, b) => Number(a[0]) - Number(b[0])),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13].map((i) => [i, i === 3 ? 'three' : `v${i}`]),
  );
  assert.equal(after.counts_at[snapshots[11]?.snapshot_id ?? ''], 12);
  assert.ok(after.manifests.length < 5, JSON.stringify(after.manifests));
});
