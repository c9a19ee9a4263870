import { DagCache, sqlOf, sqlTransaction, type Prisma, type PrismaClient } from '@sluice/db';
import type { Logger } from '@sluice/logging';
import type { Redis } from 'ioredis';
import { errorMessage } from '@sluice/core';
import type { TriggeredRun } from '@sluice/core/states';
import { UNMAPPED } from '@sluice/core/dag';
import { writeJobDag } from './dag-store.ts';
import { Dispatcher } from './dispatcher.ts';
import { quitRedis, RedisOutages } from './redis-connection.ts';
import { cancelChannel } from './redis-keys.ts';
import { Schedules } from './schedules.ts';
import { logRunOutcomes } from './run-outcomes.ts';
import { StateStore, type CancelReason } from './state-store.ts';

/** How long an API call waits for Redis once PostgreSQL has its change (see `Engine.#whenRedisAnswers`). */
const REDIS_WAIT_MS = 2_000;

export interface EngineOptions {
  prisma: PrismaClient;
  redisUrl: string;
  /** BullMQ key prefix; every process of one Sluice installation uses the same. */
  queuePrefix: string;
  logger: Logger;
  /** Accept six-field (seconds) cron expressions. Tests only. */
  allowSecondsInSchedules?: boolean;
}

/**
 * The engine's API for the HTTP layer and the CLI: DAG writing, schedule sync, manual runs,
 * cancel and clear. Every state change goes through StateStore; dispatches are enqueued after
 * the transaction committed.
 */
export class Engine {
  readonly store: StateStore;
  readonly dispatcher: Dispatcher;
  readonly schedules: Schedules;

  private constructor(
    private readonly options: EngineOptions,
    /** Reports losing and regaining Redis once for this engine's connections (and its users' extra ones). */
    readonly outages: RedisOutages,
    private readonly redis: Redis,
    dags: DagCache,
  ) {
    this.store = new StateStore(dags, logRunOutcomes(options.logger));
    this.dispatcher = new Dispatcher(redis, options.queuePrefix, outages);
    this.schedules = new Schedules(redis, options.queuePrefix, options.prisma, this.store, this.dispatcher, options.logger, outages, {
      allowSeconds: options.allowSecondsInSchedules ?? false,
    });
  }

  static async create(options: EngineOptions): Promise<Engine> {
    const outages = new RedisOutages(options.redisUrl, options.logger);
    const redis = outages.connection();
    await redis.ping();
    return new Engine(options, outages, redis, new DagCache());
  }

  /** Writes the job's DAG (dags + dag_tasks rows) inside the caller's transaction, right after the job row. */
  writeJobDag(tx: Prisma.TransactionClient, jobId: string): Promise<{ dagId: string }> {
    return writeJobDag(tx, jobId);
  }

  /**
   * Upserts or removes the job's BullMQ job scheduler to match its schedule / paused / deleted
   * state. Call after commit. Waits for Redis at most REDIS_WAIT_MS (see `#whenRedisAnswers`).
   */
  async syncSchedule(jobId: string): Promise<void> {
    await this.#whenRedisAnswers(this.schedules.sync(jobId), `job ${jobId}: its schedule is updated`);
  }

  /**
   * Starts the job's queued runs that max_active_runs allows, and enqueues their first tasks: a
   * paused job's queued runs wait for its resume, which calls this.
   */
  async startQueuedRuns(jobId: string): Promise<void> {
    await this.#startQueued(jobId);
  }

  /** Starts the job's queued runs max_active_runs allows; answers the ids of those started. */
  async #startQueued(jobId: string): Promise<string[]> {
    const dispatches = await sqlTransaction(this.options.prisma, (sql) => this.store.startQueuedRuns(sql, [jobId]));
    await this.#whenRedisAnswers(this.dispatcher.dispatch(dispatches), `job ${jobId}: the first tasks of the queued runs it started are enqueued`);
    return [...new Set(dispatches.map((d) => d.runId))];
  }

  /**
   * Creates a manual run now and dispatches its first tasks; its `state` says whether it started.
   * Policy for max_active_runs: the run is queued and starts when a running run of the job
   * finishes (after the older queued ones); it is never refused. Throws NotFoundError for a missing
   * or deleted job. A paused job can still be triggered by hand: its run starts when a slot is
   * free, and otherwise waits queued for the job's resume.
   * `waitsForRedis`: the run started, but Redis did not take its first tasks within REDIS_WAIT_MS
   * (it is away): they are enqueued when it is back, and nothing runs until then.
   * `idempotencyKey`: a retried trigger (after a timeout, say) with the key of one that made a run
   * answers that run, `replayed`, in its state now, and makes none.
   */
  async triggerRun(jobId: string, idempotencyKey?: string): Promise<TriggeredRun> {
    // Manual runs are keyed by trigger time; triggers in the same millisecond take the next ones.
    // Run creation is one statement: no transaction of ours around it.
    const r = await this.store.createRun(sqlOf(this.options.prisma), {
      jobId,
      runType: 'manual',
      logicalDate: new Date(),
      nextFreeDate: true,
      ...(idempotencyKey === undefined ? {} : { triggerKey: idempotencyKey }),
    });
    if (!r.created && r.runId !== null && r.existingState !== undefined && idempotencyKey !== undefined) return { runId: r.runId, state: r.existingState, replayed: true };
    if (!r.created || !r.runId || !r.runState) throw new Error(`job ${jobId}: a manual run was not created`);
    const answered = await this.#whenRedisAnswers(this.dispatcher.dispatch(r.dispatches), `run ${r.runId}: its first tasks are enqueued`);
    if (!r.startQueued) return { runId: r.runId, state: r.runState, ...(answered || r.dispatches.length === 0 ? {} : { waitsForRedis: true as const }) };
    // Older runs waited with a slot free: they start first, and this one if a slot is left.
    const started = await this.#startQueued(jobId);
    return { runId: r.runId, state: started.includes(r.runId) ? 'running' : 'queued' };
  }

  /** Cancels a queued or running run; running tries are told to stop at once. ConflictError if already finished. */
  async cancelRun(runId: string, why: CancelReason = 'operator'): Promise<void> {
    const dispatches = await sqlTransaction(this.options.prisma, (sql) => this.store.cancelRun(sql, runId, why));
    const told = (async () => {
      await this.redis.publish(cancelChannel(this.options.queuePrefix), runId);
      await this.dispatcher.dispatch(dispatches);
    })();
    // Runners that miss the announcement see the cancel on their next heartbeat.
    await this.#whenRedisAnswers(told, `run ${runId}: its running tries are told to stop and the runs it freed a slot for are enqueued`);
  }

  /** Cancels the job's queued runs (runs under way go on); answers their ids. No try runs in them: nobody to tell. */
  async cancelQueuedRuns(jobId: string): Promise<string[]> {
    return sqlTransaction(this.options.prisma, (sql) => this.store.cancelQueuedRuns(sql, jobId));
  }

  /** Re-runs a failed (or upstream_failed) task instance and everything downstream of it, in the same run. */
  async clearTask(runId: string, taskId: string, mapIndex: number = UNMAPPED): Promise<void> {
    const dispatches = await sqlTransaction(this.options.prisma, (sql) => this.store.clearTask(sql, { runId, taskId, mapIndex }));
    await this.#whenRedisAnswers(this.dispatcher.dispatch(dispatches), `run ${runId}: the cleared tasks are enqueued`);
  }

  /**
   * The Redis half of an API call, whose PostgreSQL half has committed: waited for at most
   * REDIS_WAIT_MS. When Redis is away, ioredis keeps the commands until it is back (and recovery
   * enqueues queued tries again after `requeueAfterMs`, restores schedules on a scheduler's start),
   * so the call answers instead of hanging, and says in the log what waits. Errors within the wait
   * are the caller's; a later one is logged. Answers whether Redis answered within the wait.
   */
  async #whenRedisAnswers(write: Promise<unknown>, what: string): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), REDIS_WAIT_MS);
    });
    try {
      if ((await Promise.race([write.then(() => 'answered' as const), late])) === 'late') {
        this.options.logger.warn(`Redis did not answer within ${REDIS_WAIT_MS} ms: ${what} when it is back`);
        write.catch((err: unknown) => this.options.logger.error(`Redis write failed after the call answered (${what}): ${errorMessage(err)}`));
        return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.outages.dropIfAway();
    await this.schedules.close();
    await this.dispatcher.close();
    await quitRedis(this.redis);
  }
}
