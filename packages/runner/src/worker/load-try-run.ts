import type { RunType, Sql, WriteMode } from '@sluice/db';
import type { TaskJob } from './task-handler.ts';

export interface TryRun {
  id: string;
  dagId: string;
  logicalDate: Date;
  runType: RunType;
  job: TaskJob;
}

interface RunRow {
  id: string;
  dag_id: string;
  logical_date: Date;
  run_type: string;
  job_id: string;
  name: string;
  source_name: string;
  source_version: string | null;
  schema_name: string;
  mode: string;
  streams: string[];
  merge_keys: string | null;
  column_transformations: unknown;
  archive_staging: boolean;
  add_ingestion_metadata: boolean;
  domain: string | null;
  tags: string[];
  owner_id: string | null;
}

/**
 * Reads the given runs with their jobs in one statement (raw SQL: the runner batches this for the
 * runs its tries belong to, and keeps the answers: a run's job and dates do not change while it
 * runs). `source_config_encrypted` is deliberately not read. Answers one entry per run id, in
 * order; null for a run that does not exist.
 */
export async function loadTryRuns(sql: Sql, runIds: readonly string[]): Promise<(TryRun | null)[]> {
  const ids = [...new Set(runIds)];
  const rows = await sql.query<RunRow[]>`
    SELECT r.id, r.dag_id, r.logical_date, r.run_type::text AS run_type,
           j.id AS job_id, j.name, j.source_name, j.source_version, j.schema_name, j.mode::text AS mode, j.streams,
           j.merge_keys, j.column_transformations, j.archive_staging, j.add_ingestion_metadata, j.domain, j.tags, j.owner_id
    FROM dag_runs r JOIN ingestion_jobs j ON j.id = r.job_id
    WHERE r.id = ANY(${ids}::uuid[])`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  return runIds.map((runId) => {
    const r = byId.get(runId);
    if (!r) return null;
    return {
      id: r.id,
      dagId: r.dag_id,
      logicalDate: r.logical_date,
      runType: r.run_type as RunType,
      job: {
        id: r.job_id,
        name: r.name,
        sourceName: r.source_name,
        sourceVersion: r.source_version,
        schemaName: r.schema_name,
        mode: r.mode as WriteMode,
        streams: r.streams,
        mergeKeys: r.merge_keys,
        columnTransformations: r.column_transformations,
        archiveStaging: r.archive_staging,
        addIngestionMetadata: r.add_ingestion_metadata,
        domain: r.domain,
        tags: r.tags,
        ownerId: r.owner_id,
      },
    };
  });
}
