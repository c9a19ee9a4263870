export { icebergTableName, tableNameCollision, unusedName, NAMESPACE_PATTERN } from './identifiers.ts';
export { ambiguousMergeKey, mergeColumnTransformations, planStreamColumns, columnsNoStreamHas, encryptsColumnOf, sourceCaseCollision, CAST_TYPES, isCastType } from './transformations.ts';
export type { CastType, ColumnChange, ColumnTransformation, ColumnPlan, StreamPlan } from './transformations.ts';
export { INGESTION_METADATA_COLUMNS, metadataColumnCollision } from './metadata-columns.ts';
export type { IngestionMetadataColumn, IngestionMetadataValues } from './metadata-columns.ts';
export { columnsFromJsonSchema, columnTypeOf } from './json-schema-columns.ts';
export type { ColumnType, StreamColumn } from './json-schema-columns.ts';
export { encryptedCursors, readsIncrementally } from './incremental-reads.ts';
export type { CatalogStreamReads, StreamRead } from './incremental-reads.ts';
