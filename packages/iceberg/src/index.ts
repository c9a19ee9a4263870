export { openCatalog, IcebergCatalog, type OpenCatalogOptions, type CreateTableOptions } from './catalog.ts';
export { IcebergTable, type WriteOptions, type MergeOptions, type CommitResult, type CompactionOptions, type CompactionResult, type ExpireSnapshotsOptions, type ExpireSnapshotsResult } from './iceberg-table.ts';
export type { ReplacedColumn } from './evolve-schema.ts';
export { copiedDataFiles, dataFileCopyOptions, orderedDataFileCopyOptions, rowGroupRows, rowGroupRowsOf, type WriteInput } from './data-file-writer.ts';
export { readDataFileMetrics } from './data-file-metrics.ts';
export { writeToTable, type WriteToTableRequest, type WriteMode } from './write-to-table.ts';
export type { CatalogBackend, CommitOutcome, LoadedTable, TableCommit, TableIdentifier } from './catalog-backend.ts';
export { SqlCatalogBackend } from './sql-catalog-backend.ts';
export { RestCatalogBackend, RestCatalogError, type RestCatalogOptions } from './rest-catalog-backend.ts';
export { duckdbType, canPromote, normalizeType, writesAsText } from './iceberg-types.ts';
export { configureDuckDb, type DuckDbSettings } from './duckdb.ts';
export { ColumnCaseCollisionError, IncompatibleSchemaError, NoSuchTableError, TableAlreadyExistsError, CommitConflictError } from './errors.ts';
export type {
  ColumnSpec,
  DataFile,
  DataFileMetricsJson,
  IcebergField,
  IcebergPrimitiveType,
  IcebergSchema,
  Snapshot,
  SnapshotSummary,
  StoredDataFile,
  TableMetadata,
} from './types.ts';
