import { sqlTransaction, type PrismaClient } from '@sluice/db';
import { StateStore } from '@sluice/engine';
import type { Logger } from '@sluice/logging';
import type { RetentionPolicy } from './remove-expired-run-files.ts';

const DAY_MS = 86_400_000;
/** Runs deleted per statement (each with its task instances and their log lines). */
const BATCH = 500;

/**
 * One pass of run-history retention, as `airflow db clean` is Airflow's: the runs that ended more
 * than `policy.historyDays` days ago are deleted with their tries and log lines (0 keeps them for
 * ever), in batches, by the state store (`StateStore.deleteEndedRuns`, which says what it keeps
 * whatever its age: each job's latest run of each type, runs whose files are not settled yet, runs
 * with a pending stream state). Answers how many runs were deleted.
 */
export async function removeExpiredRunHistory(deps: { prisma: PrismaClient; logger: Logger }, policy: RetentionPolicy, now: Date = new Date()): Promise<number> {
  if (policy.historyDays <= 0) return 0;
  const endedBefore = new Date(now.getTime() - policy.historyDays * DAY_MS);
  let deleted = 0;
  for (;;) {
    const n = await sqlTransaction(deps.prisma, (sql) =>
      StateStore.deleteEndedRuns(sql, { endedBefore, archiveKept: policy.archiveDays === 0, stagingKept: policy.stagingDays === 0, limit: BATCH }),
    );
    deleted += n;
    if (n < BATCH) break;
  }
  if (deleted > 0) deps.logger.info(`retention: deleted the history of ${deleted} run${deleted === 1 ? '' : 's'} that ended more than ${policy.historyDays} day${policy.historyDays === 1 ? '' : 's'} ago`, { ...policy });
  return deleted;
}
