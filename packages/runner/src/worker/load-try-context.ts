import type { RunType, Sql, WriteMode } from '@sluice/db';
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

/** What a try needs to know about its run: the run, its job, and its succeeded instances' outputs. */
export interface TryContext {
  run: TryRun;
  done: SucceededOutput[];
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
  done: { task_id: string; stream: string | null; map_index: number; output: unknown }[];
}

/**
 * Reads the contexts of the given runs in one statement (raw SQL: the runner batches this for
 * every try it starts). The succeeded instances are picked by the aggregate's FILTER, not by the
 * WHERE clause: there the planner would AND the run's few rows with the state index's bitmap of
 * every succeeded instance in the table (a third of PostgreSQL's CPU on the engine benchmark). `source_config_encrypted` is deliberately not read. Answers one entry per
 * run id, in order; null for a run that does not exist.
 */
export async function loadTryContexts(sql: Sql, runIds: readonly string[]): Promise<(TryContext | null)[]> {
  const ids = [...new Set(runIds)];
  const rows = await sql.query<RunRow[]>`
    SELECT r.id, r.dag_id, r.logical_date, r.run_type::text AS run_type,
           j.id AS job_id, j.name, j.source_name, j.source_version, j.schema_name, j.mode::text AS mode, j.streams,
           j.merge_keys, j.column_transformations, j.archive_staging, j.add_ingestion_metadata, j.domain, j.tags, j.owner_id,
           COALESCE((SELECT json_agg(json_build_object('task_id', s.task_id, 'stream', s.stream, 'map_index', s.map_index, 'output', s.output))
                       FILTER (WHERE s.state = 'success')
                     FROM task_instances s WHERE s.run_id = r.id), '[]'::json) AS done
    FROM dag_runs r JOIN ingestion_jobs j ON j.id = r.job_id
    WHERE r.id = ANY(${ids}::uuid[])`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  return runIds.map((runId) => {
    const r = byId.get(runId);
    if (!r) return null;
    return {
      run: {
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
      },
      done: r.done.map((d) => ({ taskId: d.task_id, stream: d.stream, mapIndex: d.map_index, output: d.output })),
    };
  });
}
