/**
 * Snapshot expiry against a real PostgreSQL catalog and object store (file:// and moto S3): old
 * snapshots leave the metadata, the files only they used are deleted, and PyIceberg still reads
 * the current rows and every kept snapshot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnSpec } from '@sluice/iceberg';
import { createHarness, type BackendKind, type IcebergHarness } from './harness.ts';

const columns: ColumnSpec[] = [
  { name: 'id', type: 'long' },
  { name: 'v', type: 'string' },
];

for (const kind of ['file', 's3'] as BackendKind[]) {
  describe(`snapshot expiry on ${kind}://`, () => {
    let h: IcebergHarness;
    before(async () => {
      h = await createHarness(kind);
    });
    after(async () => {
      await h.close();
    });

    test('expires snapshots past the age beyond the ones kept, deletes only the files no kept snapshot uses', async () => {
      const table = await h.catalog.createTable('raw', 'hist', columns);
      const write = async (n: number, mode: 'append' | 'overwrite'): Promise<void> => {
        const input = await h.ndjson(`hist-${n}.ndjson`, [{ id: n, v: `v${n}` }]);
        const r = await table[mode]({ format: 'ndjson', files: [input], columns }, { runId: `run-${n}`, taskId: 'load' });
        assert.equal(r.status, 'committed');
      };
      // Two appends, an overwrite (the appends' files leave the live set), then one more append.
      await write(1, 'append');
      await write(2, 'append');
      await write(3, 'overwrite');
      await write(4, 'append');
      const before = await h.read('raw', 'hist');
      assert.equal(before.snapshots.length, 4);
      const dataBefore = (await h.keys('warehouse/raw/hist/data/')).length;
      assert.equal(dataBefore, 4);

      // Nothing is old enough yet: nothing changes.
      assert.deepEqual(await table.expireSnapshots({ olderThanMs: 0, retainLast: 1 }), { expired: 0, deletedFiles: 0 });

      // Everything is old enough; the two newest are kept (the overwrite and the last append).
      const r = await table.expireSnapshots({ olderThanMs: Date.now() + 1, retainLast: 2 });
      assert.equal(r.expired, 2);
      const after = await h.read('raw', 'hist');
      assert.deepEqual(after.snapshots.map((s) => s.summary['sluice.run-id']), ['run-3', 'run-4']);
      assert.deepEqual(after.rows.map((row) => row['id']).sort(), [3, 4], 'the current rows are unchanged');
      // The two appends' data files and the expired snapshots' manifest lists (and the manifests
      // only they used) are gone; the kept snapshots' files stay.
      const data = await h.keys('warehouse/raw/hist/data/');
      assert.equal(data.length, 2, data.join('\n'));
      const liveFiles = after.files.map((f) => f.file_path);
      assert.ok(liveFiles.every((p) => data.some((k) => p.endsWith(k))), 'every live file is still there');
      const lists = (await h.keys('warehouse/raw/hist/metadata/')).filter((k) => /snap-.*\.avro$/.test(k));
      assert.equal(lists.length, 2, lists.join('\n'));
      assert.ok(r.deletedFiles >= 4, `deleted ${r.deletedFiles}`);

      // retainLast 1 keeps the current one only, whatever its age.
      assert.equal((await table.expireSnapshots({ olderThanMs: Date.now() + 1, retainLast: 1 })).expired, 1);
      const last = await h.read('raw', 'hist');
      assert.equal(last.snapshots.length, 1);
      assert.deepEqual(last.rows.map((row) => row['id']).sort(), [3, 4]);
    });

    test("the table's history.expire properties set the policy; by default (5 days) a fresh table keeps every snapshot", async () => {
      const append = async (name: string, n: number): Promise<void> => {
        const table = await h.catalog.loadTable('raw', name);
        const input = await h.ndjson(`${name}-${n}.ndjson`, [{ id: n, v: `v${n}` }]);
        assert.equal((await table.append({ format: 'ndjson', files: [input], columns }, { runId: `run-${n}`, taskId: 'load' })).status, 'committed');
      };
      await h.catalog.createTable('raw', 'tuned', columns, {
        properties: { 'history.expire.max-snapshot-age-ms': '0', 'history.expire.min-snapshots-to-keep': '2' },
      });
      await h.catalog.createTable('raw', 'plain', columns);
      for (const n of [1, 2, 3]) {
        await append('tuned', n);
        await append('plain', n);
      }
      const tuned = await (await h.catalog.loadTable('raw', 'tuned')).expireByTableProperties();
      assert.deepEqual(tuned, { expired: 1, deletedFiles: tuned.deletedFiles, maxAgeMs: 0 });
      assert.deepEqual((await h.read('raw', 'tuned')).snapshots.map((s) => s.summary['sluice.run-id']), ['run-2', 'run-3']);
      const plain = await (await h.catalog.loadTable('raw', 'plain')).expireByTableProperties();
      assert.deepEqual(plain, { expired: 0, deletedFiles: 0, maxAgeMs: 5 * 24 * 3600_000 });
      assert.equal((await h.read('raw', 'plain')).snapshots.length, 3);
    });

    test('with write.metadata.delete-after-commit.enabled, the metadata files that leave the log (write.metadata.previous-versions-max) are deleted; by default every one is kept', async () => {
      await h.catalog.createTable('raw', 'logged', columns, {
        properties: { 'write.metadata.delete-after-commit.enabled': 'true', 'write.metadata.previous-versions-max': '2' },
      });
      await h.catalog.createTable('raw', 'unlogged', columns);
      for (const n of [1, 2, 3, 4]) {
        for (const name of ['logged', 'unlogged']) {
          const table = await h.catalog.loadTable('raw', name);
          const input = await h.ndjson(`${name}-${n}.ndjson`, [{ id: n, v: `v${n}` }]);
          assert.equal((await table.append({ format: 'ndjson', files: [input], columns }, { runId: `run-${n}`, taskId: 'load' })).status, 'committed');
        }
      }
      const metadataFiles = async (name: string): Promise<string[]> => (await h.keys(`warehouse/raw/${name}/metadata/`)).filter((k) => k.endsWith('.metadata.json'));
      const logged = await h.catalog.loadTable('raw', 'logged');
      assert.equal(logged.metadata['metadata-log'].length, 2);
      const kept = await metadataFiles('logged');
      assert.equal(kept.length, 3, `the current file and the two the log names: ${kept.join(', ')}`);
      for (const e of logged.metadata['metadata-log']) assert.ok(kept.some((k) => e['metadata-file'].endsWith(k)), `${e['metadata-file']} is kept`);
      assert.equal((await metadataFiles('unlogged')).length, 5, 'the create and four commits');
      const view = await h.read('raw', 'logged');
      assert.deepEqual(view.rows.map((row) => row['id']).sort(), [1, 2, 3, 4]);
      assert.equal(view.snapshots.length, 4);
    });
  });
}
