import type { TriggeredRun } from '@sluice/core/states';
import type { Prisma } from '@sluice/db';

/**
 * What the API needs of the DAG engine (@sluice/engine's `Engine` has exactly these methods;
 * the API takes this narrower type so it depends on the engine's contract, not its internals).
 */
export interface JobEngine {
  /** Writes the job's DAG in the caller's transaction (the job row is written in the same one). */
  writeJobDag(tx: Prisma.TransactionClient, jobId: string): Promise<{ dagId: string }>;
  /** Makes Redis's job scheduler match the job row (schedule, time zone, paused, deleted). */
  syncSchedule(jobId: string): Promise<void>;
  /** Starts the queued runs that max_active_runs allows (a paused job's wait for its resume). */
  startQueuedRuns(jobId: string): Promise<void>;
  /** With an idempotency key, a trigger repeated with it answers the run the first one made (`replayed`). */
  triggerRun(jobId: string, idempotencyKey?: string): Promise<TriggeredRun>;
  /** `why` says who cancels: an operator (default), or the deletion of the run's job. */
  cancelRun(runId: string, why?: 'operator' | 'job deleted'): Promise<void>;
  /** Cancels the job's queued runs, runs under way left; answers their ids. */
  cancelQueuedRuns(jobId: string): Promise<string[]>;
  clearTask(runId: string, taskId: string, mapIndex?: number): Promise<void>;
}
