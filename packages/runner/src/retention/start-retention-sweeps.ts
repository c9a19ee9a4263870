import { errorSummary, type PrismaClient } from '@sluice/db';
import { childLogger, FailureStreak, type Logger } from '@sluice/logging';
import type { ObjectStore } from '@sluice/storage';
import { removeExpiredRunFiles, type RetentionPolicy } from './remove-expired-run-files.ts';

/** How often a runner sweeps (runs' ages are counted in days: an hour late is nothing). */
const SWEEP_INTERVAL_MS = 3_600_000;

/**
 * Runs the retention sweep (`removeExpiredRunFiles`) a minute after start, then every hour, in
 * this runner process — also when the policy keeps everything, for deleted jobs' runs. A failing
 * sweep (PostgreSQL or the object store away) is said once, and once when one works again.
 */
export function startRetentionSweeps(deps: { prisma: PrismaClient; store: ObjectStore; logger: Logger }, policy: RetentionPolicy): { close(): Promise<void> } {
  const logger = childLogger(deps.logger, { component: 'retention' });
  const failures = new FailureStreak(
    (err) => logger.warn('the retention sweep failed; it is tried again every hour', { err: errorSummary(err) }),
    () => logger.info('the retention sweep works again'),
  );
  let running: Promise<void> = Promise.resolve();
  const sweep = (): void => {
    running = running.then(() =>
      removeExpiredRunFiles({ ...deps, logger }, policy).then(
        () => failures.succeeded(),
        (err: unknown) => failures.failed(err),
      ),
    );
  };
  const first = setTimeout(sweep, 60_000);
  const timer = setInterval(sweep, SWEEP_INTERVAL_MS);
  first.unref();
  timer.unref();
  return {
    async close() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
