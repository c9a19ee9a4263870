import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Worker, type Job } from 'bullmq';
import { DagCache, errorSummary, sqlOf, type PrismaClient } from '@sluice/db';
import { childLogger, type Logger } from '@sluice/logging';
import { cancelChannel, logRunOutcomes, quitRedis, RedisOutages, Dispatcher, parsePayload, QUEUE_NAMES, StateStore, type JobPayload } from '@sluice/engine';
import { runTaskTry } from './run-task-try.ts';
import { RunningTries } from './running-tries.ts';
import type { TaskHandlers } from './task-handler.ts';
import { createTaskLogWriter } from './task-log-sink.ts';
import { createTryBatches } from './try-batches.ts';

export interface RunnerOptions {
  prisma: PrismaClient;
  redisUrl: string;
  queuePrefix: string;
  logger: Logger;
  /** Tries run at once by this process. */
  concurrency: number;
  /** Unique per process; default `<host>-<pid>-<random>`. */
  runnerId?: string;
  handlers: TaskHandlers;
  /** Heartbeat period of a running try. Default 5 s; keep it well below the scheduler's staleAfterMs. */
  heartbeatMs?: number;
  /**
   * How long `close` lets running tries finish before it gives them up (recorded as failed and
   * retried at once, not when their heartbeat goes stale, and not counted against their task's
   * tries). Default RUNNER_STOP_WAIT_MS.
   */
  stopWaitMs?: number;
}

/** How long a stopping runner lets its running tries finish by default. */
export const RUNNER_STOP_WAIT_MS = 20_000;

export interface RunningRunner {
  runnerId: string;
  close(): Promise<void>;
}

/**
 * Starts a runner: BullMQ workers on the task queue executing tries with the given handlers,
 * and a subscription to the cancel channel, so a run cancelled through any process aborts its
 * running tries here within milliseconds (the heartbeat is the fallback: it sees the cancel on
 * its next beat).
 */
export async function startRunner(options: RunnerOptions): Promise<RunningRunner> {
  const runnerId = options.runnerId ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const logger = childLogger(options.logger, { component: 'runner', runnerId });
  const outages = new RedisOutages(options.redisUrl, logger);
  const redis = outages.connection();
  const subscriber = outages.connection();
  const dags = new DagCache();
  const active = new RunningTries();
  const store = new StateStore(dags, logRunOutcomes(logger));
  const dispatcher = new Dispatcher(redis, options.queuePrefix, outages);
  const sql = sqlOf(options.prisma);
  const taskLogs = createTaskLogWriter(sql, logger);
  const deps = {
    prisma: options.prisma,
    sql,
    store,
    dags,
    batches: createTryBatches({ prisma: options.prisma, sql, store, dispatcher, logger }),
    taskLogs,
    handlers: options.handlers,
    logger,
    runnerId,
    heartbeatMs: options.heartbeatMs ?? 5_000,
    active,
  };

  const channel = cancelChannel(options.queuePrefix);
  subscriber.on('message', (ch: string, runId: string) => {
    if (ch !== channel) return;
    active.abortRun(runId, 'cancelled');
  });
  await subscriber.subscribe(channel);

  const workerConnection = outages.connection();
  const worker = new Worker<JobPayload<'task.run'>, void, string>(
    QUEUE_NAMES.tasks,
    async (job: Job<JobPayload<'task.run'>, void, string>) => {
      const payload = parsePayload('task.run', job.data);
      await runTaskTry(deps, payload);
    },
    { connection: workerConnection, prefix: options.queuePrefix, concurrency: options.concurrency },
  );
  worker.on('failed', (job, err) => logger.error('task job failed in the runner', { bullJobId: job?.id, err: errorSummary(err) }));
  outages.follow(worker, 'runner worker');
  await worker.waitUntilReady();
  logger.info(`runner ${runnerId} started (concurrency ${options.concurrency})`);

  let closing: Promise<void> | undefined;
  return {
    runnerId,
    /**
     * Stops taking tries and lets the running ones finish, for at most `stopWaitMs`: those still
     * running then are stopped and recorded as failed ("runner … stopped"), so that they are
     * retried now, not once their heartbeat is stale; such a try does not count against its task's
     * tries (a deploy never fails a task for good). Idempotent. With Redis away it does not wait
     * for Redis: the running tries are given up (recovery retries them once their heartbeat is
     * stale) and the worker is closed at once.
     */
    close() {
      closing ??= (async () => {
        const away = outages.dropIfAway();
        let giveUp: NodeJS.Timeout | undefined;
        if (away) active.stopAll('shutdown');
        else {
          // Armed whether or not a try runs now: one whose claim is under way joins them.
          const waitMs = options.stopWaitMs ?? RUNNER_STOP_WAIT_MS;
          if (active.size > 0) {
            logger.info(`stopping: letting ${active.size} running ${active.size === 1 ? 'try' : 'tries'} finish for at most ${waitMs / 1000} s; then ${active.size === 1 ? 'it is' : 'they are'} stopped and retried`);
          }
          giveUp = setTimeout(() => {
            if (active.size > 0) logger.warn(`stopping: giving up ${active.size} running ${active.size === 1 ? 'try' : 'tries'}; ${active.size === 1 ? 'it is' : 'they are'} retried`);
            active.stopAll('stopping');
          }, waitMs);
        }
        await worker.close(away);
        clearTimeout(giveUp);
        await quitRedis(workerConnection);
        await taskLogs.close();
        await dispatcher.close();
        await quitRedis(subscriber);
        await quitRedis(redis);
      })();
      return closing;
    },
  };
}
