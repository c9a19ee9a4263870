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
