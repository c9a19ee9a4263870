import type { Prisma, PrismaClient } from '@sluice/db';
import type { TableMetadata } from '@sluice/iceberg';

/**
 * Another run of the same job that loaded the stream in a way this run's load must not follow
 * (ADR 0019). Runs of a job read their source in the order their extracts started:
 * - `superseded`: that run's extract started after this run's. This run's rows are older:
 *   loading them would put older rows over newer ones (merge, overwrite), append rows that run
 *   already appended, and move the saved connector state back (an old failed run's load cleared
 *   after a newer run succeeded).
 * - `overlap`: that run's extract started earlier, but its load committed after this run's extract
 *   started, and it saved a newer state. This run read from a state saved before that load, so in
 *   incremental append its rows repeat some of that run's (two failed runs' loads cleared in run
 *   order, QA round 6). Merge and overwrite need no such rule: this run's rows are newer.
 * The state upsert guards by the same order in its own statement (@sluice/db stream-states.ts).
 */
export type LoadConflict =
  | { kind: 'superseded'; runId: string; extractStartedAt: Date; loadedAt: Date | null }
  | { kind: 'overlap'; runId: string; loadedAt: Date | null; ourExtractStartedAt: Date };

/**
 * When this run's extract started (null when it has not: nothing to order), and the conflict this
 * run's load of `stream` has with another run's, or null; `overlap` is looked for only when
 * `appendIncremental`. A superseding run is answered before an overlapping one, the latest of each:
 * one statement for all of it.
 */
export async function loadOrder(
  db: PrismaClient | Prisma.TransactionClient,
  q: { jobId: string; runId: string; stream: string; appendIncremental: boolean },
): Promise<{ extractStartedAt: Date | null; conflict: LoadConflict | null }> {
  const rows = await db.$queryRaw<{ ours_started_at: Date | null; run_id: string | null; later: boolean | null; extract_started_at: Date | null; loaded_at: Date | null }[]>`
    SELECT ours.started_at AS ours_started_at, c.run_id, c.later, c.extract_started_at, c.loaded_at
      FROM task_instances ours
      LEFT JOIN LATERAL (
        SELECT r.id::text AS run_id, e.started_at > ours.started_at AS later, e.started_at AS extract_started_at,
               lt.loaded_at
          FROM dag_runs r
          JOIN task_instances l ON l.run_id = r.id AND l.task_type = 'load' AND l.stream = ${q.stream} AND l.state = 'success'
          JOIN task_instances e ON e.run_id = r.id AND e.task_type = 'extract'
          CROSS JOIN LATERAL (SELECT COALESCE((l.output->>'committed_at')::timestamptz, l.ended_at) AS loaded_at) lt
         WHERE r.job_id = ${q.jobId}::uuid AND r.id <> ours.run_id
           AND (e.started_at > ours.started_at OR (${q.appendIncremental} AND lt.loaded_at > ours.started_at))
         ORDER BY later DESC, e.started_at DESC, lt.loaded_at DESC
         LIMIT 1
      ) c ON true
     WHERE ours.run_id = ${q.runId}::uuid AND ours.task_type = 'extract'
     LIMIT 1`;
  const row = rows[0];
  const ours = row?.ours_started_at ?? null;
  if (!row || ours === null || row.run_id === null || row.extract_started_at === null) return { extractStartedAt: ours, conflict: null };
  const conflict: LoadConflict = row.later
    ? { kind: 'superseded', runId: row.run_id, extractStartedAt: row.extract_started_at, loadedAt: row.loaded_at }
    : { kind: 'overlap', runId: row.run_id, loadedAt: row.loaded_at, ourExtractStartedAt: ours };
  return { extractStartedAt: ours, conflict };
}

/** Snapshot summary key of a load's commit: when its run's extract started (ISO 8601). */
export const SUMMARY_EXTRACT_STARTED_AT = 'sluice.extract-started-at';

/**
 * The same conflicts, as the table's own snapshots show them: each load's commit records its job,
 * its run and when that run's extract started. Checked before each commit attempt, against the
 * table state the commit would replace (a lost race re-reads it), so a load of another run that
 * committed while this one was in flight is seen although PostgreSQL does not record it yet: of
 * two loads racing, the one that commits second sees the first. Snapshots that record no extract
 * start (another engine's, or older Sluice's) are not compared.
 */
export function tableLoadConflict(
  table: Pick<TableMetadata, 'snapshots'>,
  q: { jobId: string; runId: string; extractStartedAt: Date; appendIncremental: boolean },
): LoadConflict | null {
  const ours = q.extractStartedAt.getTime();
  let superseded: Extract<LoadConflict, { kind: 'superseded' }> | null = null;
  let overlap: Extract<LoadConflict, { kind: 'overlap' }> | null = null;
  for (const s of table.snapshots) {
    const runId = s.summary['sluice.run-id'];
    const started = s.summary[SUMMARY_EXTRACT_STARTED_AT];
    if (s.summary['sluice.job-id'] !== q.jobId || runId === undefined || runId === q.runId || started === undefined) continue;
    const theirs = new Date(started);
    const loadedAt = new Date(s['timestamp-ms']);
    if (theirs.getTime() > ours) {
      if (!superseded || theirs > superseded.extractStartedAt) superseded = { kind: 'superseded', runId, extractStartedAt: theirs, loadedAt };
    } else if (q.appendIncremental && loadedAt.getTime() > ours) {
      if (!overlap || (overlap.loadedAt !== null && loadedAt > overlap.loadedAt)) overlap = { kind: 'overlap', runId, loadedAt, ourExtractStartedAt: q.extractStartedAt };
    }
  }
  return superseded ?? overlap;
}
