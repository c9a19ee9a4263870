import { sqlOf, sqlTransaction, type Prisma, type PrismaClient } from '@sluice/db';
import type { Logger } from '@sluice/logging';
import type { Redis } from 'ioredis';
import { UNMAPPED } from '@sluice/core/dag';
import { DagCache, writeJobDag } from './dag-store.ts';
import { Dispatcher } from './dispatcher.ts';
import { quitRedis, RedisOutages } from './redis-connection.ts';
import { cancelChannel } from './redis-keys.ts';
import { Schedules } from './schedules.ts';
import { StateStore } from './state-store.ts';

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
    this.store = new StateStore(dags);
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

  /** Upserts or removes the job's BullMQ job scheduler to match its schedule / paused / deleted state. Call after commit. */
  syncSchedule(jobId: string): Promise<void> {
    return this.schedules.sync(jobId);
  }

  /**
   * Creates a manual run now and dispatches its first tasks. Policy for max_active_runs: the run
   * is queued and starts when a running run of the job finishes; it is never refused. Throws
   * NotFoundError for a missing or deleted job. A paused job can still be triggered by hand.
   */
  async triggerRun(jobId: string): Promise<{ runId: string }> {
    // Manual runs are keyed by trigger time; triggers in the same millisecond take the next ones.
    // Run creation is one statement: no transaction of ours around it.
    const r = await this.store.createRun(sqlOf(this.options.prisma), { jobId, runType: 'manual', logicalDate: new Date(), nextFreeDate: true });
    if (!r.created || !r.runId) throw new Error(`job ${jobId}: a manual run was not created`);
    await this.dispatcher.dispatch(r.dispatches);
    return { runId: r.runId };
  }

  /** Cancels a queued or running run; running tries are told to stop at once. ConflictError if already finished. */
  async cancelRun(runId: string): Promise<void> {
    const dispatches = await sqlTransaction(this.options.prisma, (sql) => this.store.cancelRun(sql, runId));
    await this.redis.publish(cancelChannel(this.options.queuePrefix), runId);
    await this.dispatcher.dispatch(dispatches);
  }

  /** Re-runs a failed (or upstream_failed) task instance and everything downstream of it, in the same run. */
  async clearTask(runId: string, taskId: string, mapIndex: number = UNMAPPED): Promise<void> {
    const dispatches = await sqlTransaction(this.options.prisma, (sql) => this.store.clearTask(sql, { runId, taskId, mapIndex }));
    await this.dispatcher.dispatch(dispatches);
  }

  async close(): Promise<void> {
    await this.schedules.close();
    await this.dispatcher.close();
    await quitRedis(this.redis);
  }
}
