import { errorSummary, type PrismaClient } from '@sluice/db';
import { childLogger, FailureStreak, type Logger } from '@sluice/logging';
import type { IcebergCatalog } from '@sluice/iceberg';
import type { ObjectStore } from '@sluice/storage';
import { removeExpiredRunFiles, type RetentionPolicy } from './remove-expired-run-files.ts';
import { removeExpiredRunHistory } from './remove-expired-run-history.ts';

/** How often a runner sweeps (runs' ages are counted in days: an hour late is nothing). */
const SWEEP_INTERVAL_MS = 3_600_000;

/** How soon a sweep that failed is tried again (QA round 35b F5: an outage at the first sweep put it off an hour). */
const RETRY_MS = 300_000;

/**
 * Runs the retention sweep (`removeExpiredRunFiles`, then `removeExpiredRunHistory`) a minute
 * after start, then every hour, in this runner process — also when the policy keeps everything, for deleted jobs' runs. A failing
 * sweep (PostgreSQL or the object store away) is said once, tried again in five minutes, and said
 * once when one works again.
 */
export function startRetentionSweeps(deps: { prisma: PrismaClient; store: ObjectStore; catalog: IcebergCatalog; logger: Logger }, policy: RetentionPolicy): { close(): Promise<void> } {
  const logger = childLogger(deps.logger, { component: 'retention' });
  const failures = new FailureStreak(
    (err) => logger.warn(`the retention sweep failed; it is tried again every ${RETRY_MS / 60_000} minutes until it works`, { err: errorSummary(err) }),
    () => logger.info('the retention sweep works again'),
  );
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const next = (ms: number): void => {
    if (closed) return;
    timer = setTimeout(sweep, ms);
    timer.unref();
  };
  function sweep(): void {
    // Files first: a run's rows go only once its files are settled (removeExpiredRunHistory).
    running = removeExpiredRunFiles({ ...deps, logger }, policy)
      .then(() => removeExpiredRunHistory({ ...deps, logger }, policy))
      .then(
      () => {
        failures.succeeded();
        next(SWEEP_INTERVAL_MS);
      },
      (err: unknown) => {
        failures.failed(err);
        next(RETRY_MS);
      },
    );
  }
  next(60_000);
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
