import { readAvroContainer, writeAvroContainer } from './avro-container.ts';
import { MANIFEST_ENTRY_SCHEMA, MANIFEST_FILE_SCHEMA } from './manifest-schemas.ts';
import type { DataFile, IcebergSchema, ManifestEntry, ManifestEntryStatus, ManifestFile } from './types.ts';

type KV<V> = Array<{ key: number; value: V }>;

function toKv<V>(m: Map<number, V> | null): KV<V> | null {
  return m ? [...m.entries()].sort((a, b) => a[0] - b[0]).map(([key, value]) => ({ key, value })) : null;
}

function fromKv<V>(kv: unknown): Map<number, V> | null {
  return Array.isArray(kv) ? new Map((kv as KV<V>).map((e) => [e.key, e.value])) : null;
}

/** Serializes a data manifest (format v2, unpartitioned spec 0) for the given table schema. */
export function encodeManifest(entries: ManifestEntry[], schema: IcebergSchema): Buffer {
  const records = entries.map((e) => ({
    status: e.status,
    snapshot_id: e.snapshot_id,
    sequence_number: e.sequence_number,
    file_sequence_number: e.file_sequence_number,
    data_file: {
      ...e.data_file,
      partition: {},
      column_sizes: toKv(e.data_file.column_sizes),
      value_counts: toKv(e.data_file.value_counts),
      null_value_counts: toKv(e.data_file.null_value_counts),
      nan_value_counts: toKv(e.data_file.nan_value_counts),
      lower_bounds: toKv(e.data_file.lower_bounds),
      upper_bounds: toKv(e.data_file.upper_bounds),
    },
  }));
  return writeAvroContainer(MANIFEST_ENTRY_SCHEMA, records, {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': '[]',
    'partition-spec-id': '0',
    'format-version': '2',
    content: 'data',
  });
}

/** Reads a manifest's entries (as written by this package, PyIceberg or Java). */
export function decodeManifest(buf: Buffer): ManifestEntry[] {
  const { records } = readAvroContainer(buf);
  return records.map((r) => {
    const f = r['data_file'] as Record<string, unknown>;
    const dataFile: DataFile = {
      content: (f['content'] as number | undefined) ?? 0,
      file_path: f['file_path'] as string,
      file_format: f['file_format'] as string,
      partition: (f['partition'] as Record<string, unknown> | undefined) ?? {},
      record_count: f['record_count'] as bigint,
      file_size_in_bytes: f['file_size_in_bytes'] as bigint,
      column_sizes: fromKv<bigint>(f['column_sizes']),
      value_counts: fromKv<bigint>(f['value_counts']),
      null_value_counts: fromKv<bigint>(f['null_value_counts']),
      nan_value_counts: fromKv<bigint>(f['nan_value_counts']),
      lower_bounds: fromKv<Buffer>(f['lower_bounds']),
      upper_bounds: fromKv<Buffer>(f['upper_bounds']),
      key_metadata: (f['key_metadata'] as Buffer | null | undefined) ?? null,
      split_offsets: (f['split_offsets'] as bigint[] | null | undefined) ?? null,
      equality_ids: (f['equality_ids'] as number[] | null | undefined) ?? null,
      sort_order_id: (f['sort_order_id'] as number | null | undefined) ?? null,
    };
    return {
      status: r['status'] as ManifestEntryStatus,
      snapshot_id: (r['snapshot_id'] as bigint | null | undefined) ?? null,
      sequence_number: (r['sequence_number'] as bigint | null | undefined) ?? null,
      file_sequence_number: (r['file_sequence_number'] as bigint | null | undefined) ?? null,
      data_file: dataFile,
    };
  });
}

export function encodeManifestList(
  manifests: ManifestFile[],
  snapshot: { snapshotId: bigint; parentSnapshotId: bigint | undefined; sequenceNumber: number },
): Buffer {
  return writeAvroContainer(MANIFEST_FILE_SCHEMA, manifests, {
    'snapshot-id': snapshot.snapshotId.toString(),
    'parent-snapshot-id': snapshot.parentSnapshotId === undefined ? 'null' : snapshot.parentSnapshotId.toString(),
    'sequence-number': String(snapshot.sequenceNumber),
    'format-version': '2',
  });
}

/** Reads a manifest list; accepts Java's `added_data_files_count` spelling as well as PyIceberg's. */
export function decodeManifestList(buf: Buffer): ManifestFile[] {
  const { records } = readAvroContainer(buf);
  return records.map((r) => {
    const count = (a: string, b: string): number => (r[a] ?? r[b] ?? 0) as number;
    return {
      manifest_path: r['manifest_path'] as string,
      manifest_length: r['manifest_length'] as bigint,
      partition_spec_id: r['partition_spec_id'] as number,
      content: (r['content'] as number | undefined) ?? 0,
      sequence_number: (r['sequence_number'] as bigint | undefined) ?? 0n,
      min_sequence_number: (r['min_sequence_number'] as bigint | undefined) ?? 0n,
      added_snapshot_id: r['added_snapshot_id'] as bigint,
      added_files_count: count('added_files_count', 'added_data_files_count'),
      existing_files_count: count('existing_files_count', 'existing_data_files_count'),
      deleted_files_count: count('deleted_files_count', 'deleted_data_files_count'),
      added_rows_count: (r['added_rows_count'] as bigint | undefined) ?? 0n,
      existing_rows_count: (r['existing_rows_count'] as bigint | undefined) ?? 0n,
      deleted_rows_count: (r['deleted_rows_count'] as bigint | undefined) ?? 0n,
      partitions: (r['partitions'] as unknown[] | null | undefined) ?? null,
      key_metadata: (r['key_metadata'] as Buffer | null | undefined) ?? null,
    };
  });
}
