import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manifestMergeSettings, manifestsToMerge } from './manifest-merge.ts';
import type { ManifestFile } from './types.ts';

/** A data manifest of `length` bytes, named by `path`. */
const m = (path: string, length: number): ManifestFile => ({
  manifest_path: path,
  manifest_length: BigInt(length),
  partition_spec_id: 0,
  content: 0,
  sequence_number: 1n,
  min_sequence_number: 1n,
  added_snapshot_id: 1n,
  added_files_count: 1,
  existing_files_count: 0,
  deleted_files_count: 0,
  added_rows_count: 1n,
  existing_rows_count: 0n,
  deleted_rows_count: 0n,
  partitions: [],
  key_metadata: null,
});
const names = (groups: ManifestFile[][]): string[][] => groups.map((g) => g.map((x) => x.manifest_path));
const list = (n: number, length = 10): ManifestFile[] => Array.from({ length: n }, (_, i) => m(`m${i}`, length));

test("the table's properties set the merge, Iceberg's defaults otherwise", () => {
  assert.deepEqual(manifestMergeSettings({}), { enabled: true, minCountToMerge: 100, targetSizeBytes: 8 * 1024 * 1024 });
  assert.deepEqual(
    manifestMergeSettings({ 'commit.manifest-merge.enabled': 'FALSE', 'commit.manifest.min-count-to-merge': '5', 'commit.manifest.target-size-bytes': '1000' }),
    { enabled: false, minCountToMerge: 5, targetSizeBytes: 1000 },
  );
  assert.deepEqual(manifestMergeSettings({ 'commit.manifest.min-count-to-merge': 'many' }).minCountToMerge, 100);
});

test('small manifests gather in the newest bin until min-count-to-merge, then merge', () => {
  const s = { enabled: true, minCountToMerge: 5, targetSizeBytes: 1000 };
  assert.deepEqual(manifestsToMerge(list(4), s), []);
  assert.deepEqual(names(manifestsToMerge(list(5), s)), [['m0', 'm1', 'm2', 'm3', 'm4']]);
  assert.deepEqual(manifestsToMerge(list(5), { ...s, enabled: false }), []);
  assert.deepEqual(manifestsToMerge([], s), []);
});

test('bins fill to the target size from the oldest; full bins merge whatever their count, a manifest past the target stays alone', () => {
  const s = { enabled: true, minCountToMerge: 100, targetSizeBytes: 30 };
  // Oldest first: [m4 m3 m2] fill 30, [m1 m0] is the newest, under the count: only the full bin merges.
  assert.deepEqual(names(manifestsToMerge(list(5), s)), [['m2', 'm3', 'm4']]);
  // A merged manifest larger than the target is a bin of its own, and is left as it is.
  assert.deepEqual(names(manifestsToMerge([m('new', 10), m('big', 40), m('a', 10), m('b', 10)], s)), [['a', 'b']]);
});
