import { Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { errorSummary, isDatabaseUnreachable, recordSchedulerBeat, type PrismaClient } from '@sluice/db';
import { childLogger, FailureStreak, type Logger } from '@sluice/logging';
import { cronRepeatStrategy, quitRedis, Engine, QUEUE_NAMES, Recovery, type JobPayload } from '@sluice/engine';

export interface SchedulerOptions {
  prisma: PrismaClient;
  redisUrl: string;
  queuePrefix: string;
  logger: Logger;
  /** How often recovery sweeps (sentinel check, lost tries, lost dispatches). Default 5 s. */
  sweepIntervalMs?: number;
  /** A running try without a heartbeat for this long is lost and retried. Default 30 s. */
  staleAfterMs?: number;
  /** Queued tries older than this are enqueued again (idempotent). Default 30 s. */
  requeueAfterMs?: number;
  /**
   * How often a sweep compares the job schedulers in Redis with PostgreSQL and makes up fires that
   * made no run (Redis restored from an older snapshot, a scheduler that was frozen). Default 60 s.
   */
  scheduleAuditMs?: number;
  /** Accept six-field (seconds) cron expressions. Tests only. */
  allowSecondsInSchedules?: boolean;
}

export interface RunningScheduler {
  /** Runs one recovery sweep now (tests and the CLI use it; the interval runs it anyway). */
  sweep(): Promise<{ redisWasEmpty: boolean; requeued: number; lost: number }>;
  close(): Promise<void>;
}

/**
 * Starts a scheduler: a BullMQ worker that turns job-scheduler fires into runs, and a recovery
 * sweep (at start, then every `sweepIntervalMs`). Several schedulers may run at once.
 *
 * Bound on noticing a runner killed mid-task: `staleAfterMs + sweepIntervalMs` (35 s by default).
 */
export async function startScheduler(options: SchedulerOptions): Promise<RunningScheduler> {
  const logger = childLogger(options.logger, { component: 'scheduler' });
  const schedulerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const startedAt = new Date();
  const engine = await Engine.create({
    prisma: options.prisma,
    redisUrl: options.redisUrl,
    queuePrefix: options.queuePrefix,
    logger,
    allowSecondsInSchedules: options.allowSecondsInSchedules ?? false,
  });
  const redis = engine.outages.connection();
  const recovery = new Recovery(options.prisma, redis, options.queuePrefix, engine.store, engine.dispatcher, engine.schedules, logger, {
    staleAfterMs: options.staleAfterMs ?? 30_000,
    requeueAfterMs: options.requeueAfterMs ?? 30_000,
    scheduleAuditMs: options.scheduleAuditMs ?? 60_000,
  });

  const workerConnection = engine.outages.connection();
  /** Aborted on close: a fire waiting for PostgreSQL stops waiting (BullMQ tries it again later). */
  const closingSignal = new AbortController();
  const worker = new Worker<JobPayload<'schedule.fire'>, void, string>(
    QUEUE_NAMES.schedules,
    async (job) => {
      const created = await engine.schedules.fire(job, closingSignal.signal);
      // The run's own logical date (QA round 29: a late fire's line named its fire time, not the run's).
      if (created) logger.info('scheduled run created', { runId: created.runId, logicalDate: created.logicalDate.toISOString() });
    },
    // The worker sets each scheduler's next fire when it takes one: by the same cron as the queue.
    { connection: workerConnection, prefix: options.queuePrefix, concurrency: 4, autorun: false, settings: { repeatStrategy: cronRepeatStrategy } },
  );
  worker.on('failed', (job, err) => logger.error('schedule fire failed', { jobId: job?.data.jobId, err: errorSummary(err) }));
  engine.outages.follow(worker, 'scheduler worker');

  let sweeping: Promise<unknown> = Promise.resolve();
  // Failing sweeps are said once, and once when one works again, not every sweep. PostgreSQL away
  // is said as that (QA round 29: "recovery sweep failed" opened an outage), and its end by the
  // recovery's own "PostgreSQL is reachable again" line.
  let awayStreak = false;
  const sweepFailures = new FailureStreak(
    (err) => {
      awayStreak = isDatabaseUnreachable(err);
      if (awayStreak) logger.warn('PostgreSQL is unreachable: recovery sweeps and schedule fires wait until it is back', { err: errorSummary(err) });
      else logger.error('recovery sweep failed; trying again every sweep', { err: errorSummary(err) });
    },
    () => {
      if (!awayStreak) logger.info('recovery sweeps work again');
    },
  );
  /** Sweeps asked for and not yet ended. */
  let pending = 0;
  const sweep = (full = false): Promise<{ redisWasEmpty: boolean; requeued: number; lost: number }> => {
    pending++;
    // A sweep that worked is this scheduler's beat (scheduler_beats): the flow UI says when none came for a while.
    const next = sweeping.then(async () => {
      const swept = await recovery.sweep({ full });
      await recordSchedulerBeat(options.prisma, schedulerId, startedAt);
      return swept;
    });
    sweeping = next
      .then(
        () => sweepFailures.succeeded(),
        (err: unknown) => sweepFailures.failed(err),
      )
      .finally(() => {
        pending--;
      });
    return next;
  };
  await sweep(true);
  void worker.run();
  // A tick that finds a sweep under way (one slower than the interval: many jobs, a slow
  // PostgreSQL) starts none: sweeps never queue up behind each other, and a close waits for one.
  const timer = setInterval(() => {
    if (pending === 0) void sweep().catch(() => undefined);
  }, options.sweepIntervalMs ?? 5_000);
  timer.unref();
  logger.info('scheduler started');

  let closing: Promise<void> | undefined;
  return {
    sweep: () => sweep(),
    /** Idempotent. */
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        closingSignal.abort();
        // With Redis away, nothing is waited for there: a sweep or a fire under way has its
        // PostgreSQL writes committed or not at all, and its Redis calls would wait for good.
        const away = engine.outages.dropIfAway();
        if (!away) await sweeping;
        await worker.close(away);
        await quitRedis(workerConnection);
        await engine.close();
        await quitRedis(redis);
      })();
      return closing;
    },
  };
}
