/**
 * The ingestion metadata columns `add_ingestion_metadata` adds, with the same value on every
 * row of a run. Their Iceberg types are fixed here so every table agrees.
 */
export const INGESTION_METADATA_COLUMNS = [
  { name: 'ingestion_time', type: 'timestamptz' },
  { name: 'ingestion_run_id', type: 'string' },
  { name: 'ingestion_mode', type: 'string' },
  { name: 'dag_job_id', type: 'string' },
] as const;

export type IngestionMetadataColumn = (typeof INGESTION_METADATA_COLUMNS)[number]['name'];

export interface IngestionMetadataValues {
  ingestion_time: Date;
  ingestion_run_id: string;
  ingestion_mode: 'append' | 'overwrite' | 'merge';
  dag_job_id: string;
}

/**
 * Why a stream's output columns leave no room for the ingestion metadata columns, or null: one of
 * them already has a metadata column's name (compared without case, as DuckDB, Trino and Spark
 * compare column names).
 */
export function metadataColumnCollision(stream: string, columns: readonly string[]): string | null {
  for (const m of INGESTION_METADATA_COLUMNS) {
    const taken = columns.find((c) => c.toLowerCase() === m.name);
    if (taken === undefined) continue;
    const named = taken === m.name ? `a column "${taken}"` : `a column "${taken}" (to DuckDB, Trino and Spark, which ignore case, "${m.name}")`;
    return `stream "${stream}" already has ${named}, which add_ingestion_metadata would add: rename it with a column transformation, or set add_ingestion_metadata to false (both are set when a job is created)`;
  }
  return null;
}
