import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTableMetadata, withoutSnapshots } from './table-metadata.ts';
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
