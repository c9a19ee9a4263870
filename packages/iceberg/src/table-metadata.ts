import { randomBytes, randomUUID } from 'node:crypto';
import type { IcebergSchema, Snapshot, TableMetadata } from './types.ts';

/** Iceberg's default of `write.metadata.previous-versions-max`: how many previous metadata files the metadata log keeps. */
const DEFAULT_PREVIOUS_VERSIONS_MAX = 100;

/**
 * How many previous metadata files the table's metadata log keeps: its
 * `write.metadata.previous-versions-max` property (at least 1, as Iceberg's writers take it), else 100.
 */
function previousVersionsMax(metadata: TableMetadata): number {
  const raw = metadata.properties['write.metadata.previous-versions-max'];
  const n = Number(raw);
  return raw !== undefined && Number.isInteger(n) ? Math.max(1, n) : DEFAULT_PREVIOUS_VERSIONS_MAX;
}

/**
 * The metadata files a commit from `base` (read from `baseLocation`) to `next` leaves out of the
 * table's metadata log — what Iceberg's writers delete after the commit when the table's
 * `write.metadata.delete-after-commit.enabled` is true (off by default: then nothing is deleted).
 */
export function metadataFilesLeftOut(base: TableMetadata, baseLocation: string, next: TableMetadata): string[] {
  if (next.properties['write.metadata.delete-after-commit.enabled']?.toLowerCase() !== 'true') return [];
  const kept = new Set(next['metadata-log'].map((e) => e['metadata-file']));
  return [...base['metadata-log'].map((e) => e['metadata-file']), baseLocation].filter((f) => !kept.has(f));
}

export function newTableMetadata(location: string, schema: IcebergSchema, properties: Record<string, string>): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': randomUUID(),
    location,
    'last-sequence-number': 0,
    'last-updated-ms': Date.now(),
    'last-column-id': schema.fields.reduce((m, f) => Math.max(m, f.id), 0),
    'current-schema-id': schema['schema-id'],
    schemas: [schema],
    'default-spec-id': 0,
    'partition-specs': [{ 'spec-id': 0, fields: [] }],
    'last-partition-id': 999,
    'default-sort-order-id': 0,
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    properties: { 'write.parquet.compression-codec': 'zstd', ...properties },
    'current-snapshot-id': -1n,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    refs: {},
    statistics: [],
    'partition-statistics': [],
  };
}

export function currentSchema(metadata: TableMetadata): IcebergSchema {
  const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
  if (!schema) throw new Error(`table metadata has no schema ${metadata['current-schema-id']}`);
  return schema;
}

export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  const main = metadata.refs['main']?.['snapshot-id'] ?? metadata['current-snapshot-id'];
  return main === -1n ? undefined : metadata.snapshots.find((s) => s['snapshot-id'] === main);
}

/** A new random snapshot id: positive, 63 bits, not used by the table yet. */
export function newSnapshotId(metadata: TableMetadata): bigint {
  for (;;) {
    const id = BigInt.asUintN(63, randomBytes(8).readBigUInt64LE());
    if (id !== 0n && !metadata.snapshots.some((s) => s['snapshot-id'] === id)) return id;
  }
}

/** `{location}/metadata/{version:05d}-{uuid}.metadata.json`, the version one past the previous file's. */
export function nextMetadataFileName(previousLocation: string | undefined): string {
  const m = previousLocation ? /\/(\d+)-[^/]*\.metadata\.json$/.exec(previousLocation) : null;
  const version = m ? Number(m[1]) + 1 : 0;
  return `${String(version).padStart(5, '0')}-${randomUUID()}.metadata.json`;
}

/** The metadata after committing `snapshot` (and, when the schema changed, the new schema). */
export function withSnapshot(
  base: TableMetadata,
  baseLocation: string,
  snapshot: Snapshot,
  schema: { schema: IcebergSchema; lastColumnId: number; changed: boolean },
): TableMetadata {
  const now = snapshot['timestamp-ms'];
  const schemas = schema.changed ? [...base.schemas, schema.schema] : base.schemas;
  return {
    ...base,
    'last-sequence-number': snapshot['sequence-number'],
    'last-updated-ms': now,
    'last-column-id': Math.max(base['last-column-id'], schema.lastColumnId),
    'current-schema-id': schema.schema['schema-id'],
    schemas,
    'current-snapshot-id': snapshot['snapshot-id'],
    snapshots: [...base.snapshots, snapshot],
    'snapshot-log': [...base['snapshot-log'], { 'snapshot-id': snapshot['snapshot-id'], 'timestamp-ms': now }],
    'metadata-log': metadataLogAfter(base, baseLocation),
    refs: { ...base.refs, main: { ...base.refs['main'], 'snapshot-id': snapshot['snapshot-id'], type: 'branch' } },
  };
}

/**
 * The metadata without the given snapshots (none of them referenced by a ref): they leave the
 * snapshot list; the snapshot log keeps only what follows the last removed one, as Iceberg's
 * expire-snapshots does — the log says which snapshot was current at each time, and with a gap
 * in it a time-travel read "as of" a time inside the gap would get the wrong one.
 */
export function withoutSnapshots(base: TableMetadata, baseLocation: string, removed: ReadonlySet<bigint>, now: number): TableMetadata {
  const log = base['snapshot-log'];
  const lastRemoved = log.findLastIndex((e) => removed.has(e['snapshot-id']));
  return {
    ...base,
    'last-updated-ms': now,
    snapshots: base.snapshots.filter((s) => !removed.has(s['snapshot-id'])),
    'snapshot-log': log.slice(lastRemoved + 1),
    'metadata-log': metadataLogAfter(base, baseLocation),
  };
}

/** The metadata log of the version after `base` (read from `baseLocation`): base's own file joins it, the oldest beyond the table's limit leave. */
function metadataLogAfter(base: TableMetadata, baseLocation: string): TableMetadata['metadata-log'] {
  return [...base['metadata-log'], { 'metadata-file': baseLocation, 'timestamp-ms': base['last-updated-ms'] }].slice(-previousVersionsMax(base));
}
