/**
 * The job catalog: every BullMQ job Sluice enqueues, with its queue, payload schema and
 * delivery options, in one table (trigger.dev's workerCatalog). Producers take their types
 * from it; workers parse the payload with its schema before doing anything.
 *
 * Payloads carry ids only: secrets and job configuration stay in PostgreSQL.
 */
import { z } from 'zod';
import type { JobsOptions } from 'bullmq';

export const QUEUE_NAMES = {
  /** Task instances ready to run; the runners' workers consume it. */
  tasks: 'sluice-tasks',
  /** Cron fires of job schedulers; the schedulers' workers consume it. */
  schedules: 'sluice-schedules',
} as const;

export type QueueKey = keyof typeof QUEUE_NAMES;

export const JOB_CATALOG = {
  /**
   * Run one try of a task instance. Retries are decided by the engine in PostgreSQL (a new
   * job per try, id derived from run, task, map index and try), so BullMQ delivers once.
   * The time limit is the task's own `timeout_ms` from dag_tasks, enforced by the runner.
   */
  'task.run': {
    queue: 'tasks',
    payload: z.object({
      instanceId: z.uuid(),
      runId: z.uuid(),
      /** The try this job runs (task_instances.try_number becomes this when claimed). */
      tryNumber: z.int().positive(),
    }),
    // removeOnFail: a job whose processor threw (PostgreSQL unreachable before the claim) must
    // not keep its id, or recovery's re-enqueue of the still-queued try would be a no-op.
    options: { attempts: 1, removeOnComplete: true, removeOnFail: true },
  },
  /**
   * A cron fire of a job's schedule: the job scheduler's own job; its `prevMillis` is the
   * fire time, which becomes the run's logical date.
   */
  'schedule.fire': {
    queue: 'schedules',
    payload: z.object({ jobId: z.uuid() }),
    options: { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: { count: 1000 } },
  },
} as const satisfies Record<string, { queue: QueueKey; payload: z.ZodType; options: JobsOptions }>;

export type JobName = keyof typeof JOB_CATALOG;
export type JobPayload<N extends JobName> = z.infer<(typeof JOB_CATALOG)[N]['payload']>;

/** Parses a job's payload against the catalog; throws a zod error on a malformed one. */
export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  return JOB_CATALOG[name].payload.parse(data) as JobPayload<N>;
}

/** The BullMQ job id of a task try: derived from run, task, map index and try, so a second enqueue is a no-op. */
export function taskJobId(d: { runId: string; taskId: string; mapIndex: number; tryNumber: number }): string {
  return `${d.runId}.${d.taskId}.${d.mapIndex}.${d.tryNumber}`;
}

/** The BullMQ job scheduler id of a job's cron schedule. */
export function schedulerId(jobId: string): string {
  return `job-${jobId}`;
}
