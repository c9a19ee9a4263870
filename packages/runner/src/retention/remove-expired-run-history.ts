import { sqlTransaction, type PrismaClient } from '@sluice/db';
import type { Logger } from '@sluice/logging';
import type { RetentionPolicy } from './remove-expired-run-files.ts';

const DAY_MS = 86_400_000;
/** Runs deleted per statement (with their task instances and log lines, by cascade). */
const BATCH = 500;

/**
 * One pass of run-history retention, as `airflow db clean` is Airflow's: the rows of runs that
 * ended more than `policy.historyDays` days ago — the run, its task instances with their tries'
 * log lines, its warnings and file-removal record — are deleted (0 keeps them for ever). Kept
 * whatever their age:
 * - each job's latest run of each type, from which a schedule's catch-up and a manual run's
 *   logical date count on (and the job's page shows how it last went);
 * - a run whose files the files sweep has yet to remove (`removeExpiredRunFiles`, which finds them
 *   by the run's row): removed and recorded, or kept for ever by the policy (0 days);
 * - a run with a load's stream state still pending (ADR 0025: the next extract settles it by the
 *   run's rows).
 * A run cleared meanwhile (its end reset) is not old any more: the delete's condition is checked
 * again on the locked row. Answers how many runs were deleted.
 */
export async function removeExpiredRunHistory(deps: { prisma: PrismaClient; logger: Logger }, policy: RetentionPolicy, now: Date = new Date()): Promise<number> {
  if (policy.historyDays <= 0) return 0;
  const cutoff = new Date(now.getTime() - policy.historyDays * DAY_MS);
  let deleted = 0;
  for (;;) {
    // The rows are chosen and locked (SKIP LOCKED: a clear or another runner's sweep holds its
    // own); under the lock READ COMMITTED sees a run cleared meanwhile, whose end was reset. Log
    // lines have no foreign key to their instances (migration 20261129070000: its check locked the
    // instance's row for every line written), so they are deleted here with them.
    const n = await sqlTransaction(deps.prisma, (sql) =>
      sql.execute`
        WITH gone AS (
          SELECT d.id FROM dag_runs d
          WHERE d.state IN ('success', 'failed', 'cancelled') AND d.ended_at < ${cutoff}::timestamptz
            AND EXISTS (SELECT 1 FROM dag_runs n WHERE n.job_id = d.job_id AND n.run_type = d.run_type AND n.logical_date > d.logical_date)
            AND (EXISTS (SELECT 1 FROM run_file_removals r WHERE r.run_id = d.id AND r.removed_at >= d.ended_at)
              OR (d.state = 'success' AND ${policy.archiveDays}::int = 0)
              OR (d.state <> 'success' AND ${policy.stagingDays}::int = 0))
            AND NOT EXISTS (SELECT 1 FROM pending_stream_states p WHERE p.run_id = d.id)
          ORDER BY d.ended_at LIMIT ${BATCH}::int
          FOR UPDATE OF d SKIP LOCKED),
        lines AS (
          DELETE FROM task_logs l USING task_instances ti
          WHERE ti.run_id IN (SELECT id FROM gone) AND l.task_instance_id = ti.id)
        DELETE FROM dag_runs WHERE id IN (SELECT id FROM gone)`,
    );
    deleted += n;
    if (n < BATCH) break;
  }
  if (deleted > 0) deps.logger.info(`retention: deleted the history of ${deleted} run${deleted === 1 ? '' : 's'} that ended more than ${policy.historyDays} days ago`, { ...policy });
  return deleted;
}
