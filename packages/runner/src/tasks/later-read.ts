import type { Prisma, PrismaClient } from '@sluice/db';

/** A run of the same job that read the source after this one did and has already loaded the stream. */
export interface LaterLoad {
  runId: string;
  extractStartedAt: Date;
  loadedAt: Date | null;
}

/**
 * The runs of one job read their source in the order their extracts started. Once a run whose
 * extract started later has loaded a stream, an earlier run's data of that stream is superseded:
 * loading it then would put older rows over newer ones (merge, overwrite), append rows the newer
 * run already appended (incremental append), and move the saved connector state back. That is
 * what clearing an old failed run's load would do after a newer run succeeded. Answers the latest
 * such run, or null.
 */
export async function laterLoadOfStream(
  db: PrismaClient | Prisma.TransactionClient,
  q: { jobId: string; runId: string; stream: string },
): Promise<LaterLoad | null> {
  const rows = await db.$queryRaw<{ run_id: string; extract_started_at: Date; loaded_at: Date | null }[]>`
    SELECT r.id::text AS run_id, e.started_at AS extract_started_at, l.ended_at AS loaded_at
      FROM dag_runs r
      JOIN task_instances l ON l.run_id = r.id AND l.task_type = 'load' AND l.stream = ${q.stream} AND l.state = 'success'
      JOIN task_instances e ON e.run_id = r.id AND e.task_type = 'extract'
     WHERE r.job_id = ${q.jobId}::uuid AND r.id <> ${q.runId}::uuid
       AND e.started_at > (SELECT started_at FROM task_instances WHERE run_id = ${q.runId}::uuid AND task_type = 'extract')
     ORDER BY e.started_at DESC
     LIMIT 1`;
  const row = rows[0];
  return row ? { runId: row.run_id, extractStartedAt: row.extract_started_at, loadedAt: row.loaded_at } : null;
}

/** A load of the same stream, by another run of the job, that ended after this run's extract started. */
export interface LoadSinceRead {
  runId: string;
  loadedAt: Date;
  extractStartedAt: Date;
}

/**
 * In incremental append, a run's rows go from the state it started from; another run that loaded
 * the stream after this run's extract started has appended some of them already (it started from
 * the same state or an older one: no later extract has loaded, see laterLoadOfStream) and saved a
 * newer state. Appending this run's rows too would append those twice — QA round 6 met it by
 * clearing two failed runs' loads in run order. Answers the latest such load, or null.
 */
export async function loadSinceRead(db: PrismaClient | Prisma.TransactionClient, q: { jobId: string; runId: string; stream: string }): Promise<LoadSinceRead | null> {
  const rows = await db.$queryRaw<{ run_id: string; loaded_at: Date; extract_started_at: Date }[]>`
    SELECT r.id::text AS run_id, l.ended_at AS loaded_at, ours.started_at AS extract_started_at
      FROM task_instances ours
      JOIN dag_runs r ON r.job_id = ${q.jobId}::uuid AND r.id <> ours.run_id
      JOIN task_instances l ON l.run_id = r.id AND l.task_type = 'load' AND l.stream = ${q.stream} AND l.state = 'success'
     WHERE ours.run_id = ${q.runId}::uuid AND ours.task_type = 'extract' AND l.ended_at > ours.started_at
     ORDER BY l.ended_at DESC
     LIMIT 1`;
  const row = rows[0];
  return row ? { runId: row.run_id, loadedAt: row.loaded_at, extractStartedAt: row.extract_started_at } : null;
}
