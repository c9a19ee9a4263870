import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metadataFilesLeftOut, newTableMetadata, withSnapshot, withoutSnapshots } from './table-metadata.ts';
import type { Snapshot, TableMetadata } from './types.ts';

const snapshot = (id: bigint, ms: number): Snapshot => ({
  'snapshot-id': id,
  'sequence-number': Number(id),
  'timestamp-ms': ms,
  'manifest-list': `s3://b/t/metadata/snap-${id}.avro`,
  summary: { operation: 'append' },
  'schema-id': 0,
});

test('expiring a snapshot between kept ones leaves no gap in the snapshot log: what preceded it goes too (as Iceberg does)', () => {
  const base: TableMetadata = {
    ...newTableMetadata('s3://b/t', { type: 'struct', 'schema-id': 0, fields: [] }, {}),
    snapshots: [snapshot(1n, 1000), snapshot(2n, 2000), snapshot(3n, 3000)],
    'snapshot-log': [
      { 'snapshot-id': 1n, 'timestamp-ms': 1000 },
      { 'snapshot-id': 2n, 'timestamp-ms': 2000 },
      { 'snapshot-id': 3n, 'timestamp-ms': 3000 },
    ],
    'current-snapshot-id': 3n,
  };
  // 1 is kept (a tag names it), 2 expires: "as of 2500" must not answer 1.
  const next = withoutSnapshots(base, 's3://b/t/metadata/00003.metadata.json', new Set([2n]), 4000);
  assert.deepEqual(next.snapshots.map((s) => s['snapshot-id']), [1n, 3n]);
  assert.deepEqual(next['snapshot-log'], [{ 'snapshot-id': 3n, 'timestamp-ms': 3000 }]);
  // Expiring the oldest only keeps the rest of the log as it was.
  assert.deepEqual(withoutSnapshots(base, 'x', new Set([1n]), 4000)['snapshot-log'].map((e) => e['snapshot-id']), [2n, 3n]);
});

test("the metadata log keeps the table's write.metadata.previous-versions-max files; the ones that leave it are deleted only with delete-after-commit", () => {
  const schema = { type: 'struct' as const, 'schema-id': 0, fields: [] };
  const commitAll = (properties: Record<string, string>): { meta: TableMetadata; leftOut: string[][] } => {
    let meta = newTableMetadata('s3://b/t', schema, properties);
    const leftOut: string[][] = [];
    for (const n of [1, 2, 3, 4]) {
      const next = withSnapshot(meta, `m${n - 1}.json`, snapshot(BigInt(n), n * 1000), { schema, lastColumnId: 0, changed: false });
      leftOut.push(metadataFilesLeftOut(meta, `m${n - 1}.json`, next));
      meta = next;
    }
    return { meta, leftOut };
  };
  const logged = commitAll({ 'write.metadata.previous-versions-max': '2', 'write.metadata.delete-after-commit.enabled': 'TRUE' });
  assert.deepEqual(logged.meta['metadata-log'].map((e) => e['metadata-file']), ['m2.json', 'm3.json']);
  assert.deepEqual(logged.leftOut, [[], [], ['m0.json'], ['m1.json']]);
  // Off by default: the log is cut at the limit but no file is deleted.
  const kept = commitAll({ 'write.metadata.previous-versions-max': '2' });
  assert.deepEqual(kept.meta['metadata-log'].map((e) => e['metadata-file']), ['m2.json', 'm3.json']);
  assert.deepEqual(kept.leftOut, [[], [], [], []]);
  // Not an integer: Iceberg's default of 100; below 1: 1.
  assert.equal(commitAll({ 'write.metadata.previous-versions-max': 'many' }).meta['metadata-log'].length, 4);
  assert.deepEqual(commitAll({ 'write.metadata.previous-versions-max': '0' }).meta['metadata-log'].map((e) => e['metadata-file']), ['m3.json']);
});

test("a table this writer would leave wrong is refused before anything is written: another engine's partitioning, format 3", async () => {
  const { assertWritable } = await import('./iceberg-table.ts');
  const plain = newTableMetadata('s3://b/t', { type: 'struct', 'schema-id': 0, fields: [] }, {});
  assert.doesNotThrow(() => assertWritable('ns.t', plain));
  const day = { 'source-id': 1, 'field-id': 1000, name: 'at_day', transform: 'day' };
  // Spark's CREATE TABLE … PARTITIONED BY: spec 0 itself has fields (QA round 7).
  const partitioned: TableMetadata = { ...plain, 'partition-specs': [{ 'spec-id': 0, fields: [day] }] };
  assert.throws(() => assertWritable('ns.t', partitioned), /ns\.t is partitioned \(partition spec 0\); this writer writes unpartitioned tables only/);
  // ALTER TABLE … ADD PARTITION FIELD on a table Sluice made: a new default spec.
  const evolved: TableMetadata = { ...plain, 'default-spec-id': 1, 'partition-specs': [{ 'spec-id': 0, fields: [] }, { 'spec-id': 1, fields: [day] }] };
  assert.throws(() => assertWritable('ns.t', evolved), /partition spec 1/);
  // Partitioning dropped again (a later unpartitioned default spec, spec 0 unpartitioned): writable.
  const dropped: TableMetadata = { ...evolved, 'default-spec-id': 2, 'partition-specs': [...evolved['partition-specs'], { 'spec-id': 2, fields: [] }] };
  assert.doesNotThrow(() => assertWritable('ns.t', dropped));
  const v3 = { ...plain, 'format-version': 3 } as unknown as TableMetadata;
  assert.throws(() => assertWritable('ns.t', v3), /ns\.t is an Iceberg format-version 3 table; this writer commits format-version 2 only/);
});
