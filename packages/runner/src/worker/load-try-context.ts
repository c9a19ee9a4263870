import type { PrismaClient, RunType, WriteMode } from '@sluice/db';
import type { TaskJob } from './task-handler.ts';

export interface TryRun {
  id: string;
  dagId: string;
  logicalDate: Date;
  runType: RunType;
  job: TaskJob;
}

export interface SucceededOutput {
  taskId: string;
  stream: string | null;
  mapIndex: number;
  output: unknown;
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
 * Reads what a try needs to know about its run and job, in one statement (raw SQL: this runs
 * once per try). `source_config_encrypted` is deliberately not read.
 */
export async function loadTryRun(prisma: PrismaClient, runId: string): Promise<TryRun | null> {
  const rows = await prisma.$queryRaw<RunRow[]>`
    SELECT r.id, r.dag_id, r.logical_date, r.run_type::text AS run_type,
           j.id AS job_id, j.name, j.source_name, j.source_version, j.schema_name, j.mode::text AS mode, j.streams,
           j.merge_keys, j.column_transformations, j.archive_staging, j.add_ingestion_metadata, j.domain, j.tags, j.owner_id
    FROM dag_runs r JOIN ingestion_jobs j ON j.id = r.job_id
    WHERE r.id = ${runId}::uuid`;
  const r = rows[0];
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
}

/** The outputs of the run's succeeded instances, for `ctx.upstream`. */
export async function loadSucceededOutputs(prisma: PrismaClient, runId: string): Promise<SucceededOutput[]> {
  const rows = await prisma.$queryRaw<{ task_id: string; stream: string | null; map_index: number; output: unknown }[]>`
    SELECT task_id, stream, map_index, output FROM task_instances WHERE run_id = ${runId}::uuid AND state = 'success'`;
  return rows.map((r) => ({ taskId: r.task_id, stream: r.stream, mapIndex: r.map_index, output: r.output }));
}
