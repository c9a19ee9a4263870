import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_CATALOG, QUEUE_NAMES, taskJobId, type JobPayload } from './job-catalog.ts';
import type { RedisOutages } from './redis-connection.ts';
import type { TaskDispatch } from './state-store.ts';

/** BullMQ priority of a run's first tasks; every other try has none (0), which BullMQ serves first. */
const RUN_START_PRIORITY = 1;

/**
 * Enqueues task tries on the runners' queue. Idempotent: the job id is derived from run, task,
 * map index and try, so enqueueing a try twice (recovery, a duplicate event) adds one job.
 * Policy: tries of runs under way go before the first tasks of new runs (`startsRun`), so a
 * burst of new runs does not hold back the hand-offs of the runs already started.
 */
export class Dispatcher {
  readonly queue: Queue<JobPayload<'task.run'>, unknown, 'task.run'>;

  constructor(connection: Redis, queuePrefix: string, outages: RedisOutages) {
    this.queue = new Queue(QUEUE_NAMES.tasks, { connection, prefix: queuePrefix });
    outages.follow(this.queue, 'task queue');
  }

  async dispatch(dispatches: readonly TaskDispatch[]): Promise<void> {
    if (dispatches.length === 0) return;
    const { options } = JOB_CATALOG['task.run'];
    await this.queue.addBulk(
      dispatches.map((d) => ({
        name: 'task.run' as const,
        data: { instanceId: d.instanceId, runId: d.runId, tryNumber: d.tryNumber },
        opts: {
          ...options,
          jobId: taskJobId(d),
          ...(d.delayMs > 0 ? { delay: d.delayMs } : {}),
          ...(d.startsRun ? { priority: RUN_START_PRIORITY } : {}),
        },
      })),
    );
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
