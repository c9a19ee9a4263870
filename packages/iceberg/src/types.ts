/**
 * The Iceberg model this package reads and writes: primitive types, schemas and table metadata
 * (format v2), spelled as the Iceberg spec's JSON spells them.
 */

/** Iceberg primitive types this writer supports (nested JSON values are stored as `string`). */
export type IcebergPrimitiveType =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'string'
  | 'binary'
  | `decimal(${number}, ${number})`;

/** A column of a schema, as stored in table metadata. */
export interface IcebergField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergPrimitiveType;
  doc?: string;
}

export interface IcebergSchema {
  type: 'struct';
  'schema-id': number;
  'identifier-field-ids'?: number[];
  fields: IcebergField[];
}

/**
 * A column of data handed to a write: its name and Iceberg type. Field ids are the table's
 * business; they are assigned (and kept stable by name) when the write is committed.
 */
export interface ColumnSpec {
  name: string;
  type: IcebergPrimitiveType;
  /** Defaults to false: every column Sluice writes is optional. */
  required?: boolean;
  /** The column's doc in the table schema: set when given, removed when null, kept as it is when absent. */
  doc?: string | null;
}

export interface SnapshotSummary {
  operation: 'append' | 'overwrite' | 'replace' | 'delete';
  [key: string]: string;
}

export interface Snapshot {
  'snapshot-id': bigint;
  'parent-snapshot-id'?: bigint;
  'sequence-number': number;
  'timestamp-ms': number;
  'manifest-list': string;
  summary: SnapshotSummary;
  'schema-id'?: number;
}

export interface SnapshotRef {
  'snapshot-id': bigint;
  type: 'branch' | 'tag';
  [key: string]: unknown;
}

/** Table metadata, format version 2 (fields this writer does not use are carried through untouched). */
export interface TableMetadata {
  'format-version': 2;
  'table-uuid': string;
  location: string;
  'last-sequence-number': number;
  'last-updated-ms': number;
  'last-column-id': number;
  'current-schema-id': number;
  schemas: IcebergSchema[];
  'default-spec-id': number;
  'partition-specs': Array<{ 'spec-id': number; fields: unknown[] }>;
  'last-partition-id': number;
  'default-sort-order-id': number;
  'sort-orders': Array<{ 'order-id': number; fields: unknown[] }>;
  properties: Record<string, string>;
  'current-snapshot-id': bigint;
  snapshots: Snapshot[];
  'snapshot-log': Array<{ 'snapshot-id': bigint; 'timestamp-ms': number }>;
  'metadata-log': Array<{ 'metadata-file': string; 'timestamp-ms': number }>;
  refs: Record<string, SnapshotRef>;
  [key: string]: unknown;
}

/** A data file as recorded in a manifest (the `data_file` struct, content 0 = data). */
export interface DataFile {
  content: number;
  file_path: string;
  file_format: string;
  partition: Record<string, unknown>;
  record_count: bigint;
  file_size_in_bytes: bigint;
  column_sizes: Map<number, bigint> | null;
  value_counts: Map<number, bigint> | null;
  null_value_counts: Map<number, bigint> | null;
  nan_value_counts: Map<number, bigint> | null;
  lower_bounds: Map<number, Buffer> | null;
  upper_bounds: Map<number, Buffer> | null;
  key_metadata: Buffer | null;
  split_offsets: bigint[] | null;
  equality_ids: number[] | null;
  sort_order_id: number | null;
}

/**
 * A Parquet data file's metrics (what its manifest entry records) in a form JSON carries:
 * 64-bit counts as decimal strings, bounds as base64 of their Iceberg single-value encoding.
 * Written by whoever wrote the file (the transform task, beside the file it uploads), so that a
 * commit can take the file as it is without reading it again.
 */
export interface DataFileMetricsJson {
  record_count: string;
  file_size_in_bytes: string;
  /** [field id, value] pairs; null when unknown. */
  column_sizes: [number, string][] | null;
  value_counts: [number, string][] | null;
  null_value_counts: [number, string][] | null;
  nan_value_counts: [number, string][] | null;
  lower_bounds: [number, string][] | null;
  upper_bounds: [number, string][] | null;
  split_offsets: string[] | null;
  sort_order_id: number | null;
}

/** A data file already in the table's object store (e.g. under staging/), with its metrics. */
export interface StoredDataFile {
  key: string;
  metrics: DataFileMetricsJson;
}

export const ManifestEntryStatus = { EXISTING: 0, ADDED: 1, DELETED: 2 } as const;
export type ManifestEntryStatus = (typeof ManifestEntryStatus)[keyof typeof ManifestEntryStatus];

export interface ManifestEntry {
  status: ManifestEntryStatus;
  snapshot_id: bigint | null;
  sequence_number: bigint | null;
  file_sequence_number: bigint | null;
  data_file: DataFile;
}

/** An entry of a manifest list (the `manifest_file` struct). */
export interface ManifestFile {
  manifest_path: string;
  manifest_length: bigint;
  partition_spec_id: number;
  content: number;
  sequence_number: bigint;
  min_sequence_number: bigint;
  added_snapshot_id: bigint;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: bigint;
  existing_rows_count: bigint;
  deleted_rows_count: bigint;
  partitions: unknown[] | null;
  key_metadata: Buffer | null;
}
