/** The ingestion DAG's task types; the database's `TaskType` enum holds the same names. */
export const TASK_TYPES = ['extract', 'stage', 'transform', 'load', 'archive'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** How a task is retried and bounded in time. */
export interface TaskPolicy {
  /** Retries after the first try (max tries = retries + 1). */
  retries: number;
  /** Delay before the first retry; doubles on each later retry. */
  retryDelayMs: number;
  /** Upper bound of the retry delay. */
  maxRetryDelayMs: number;
  /** A try running longer than this is aborted and counts as a failed try. */
  timeoutMs: number;
}

const MINUTE = 60_000;

/**
 * Defaults per task type. Extract talks to a remote source (flaky networks, rate limits): more
 * retries, long delays, a long timeout. Stage and transform are local computation: a retry
 * rarely helps, so few. Load commits to the catalog and may lose a compare-and-swap race:
 * several quick retries. Archive only moves files.
 */
export const TASK_POLICY_DEFAULTS: Readonly<Record<TaskType, TaskPolicy>> = {
  extract: { retries: 3, retryDelayMs: 30_000, maxRetryDelayMs: 10 * MINUTE, timeoutMs: 6 * 60 * MINUTE },
  stage: { retries: 1, retryDelayMs: 10_000, maxRetryDelayMs: 2 * MINUTE, timeoutMs: 2 * 60 * MINUTE },
  transform: { retries: 1, retryDelayMs: 10_000, maxRetryDelayMs: 2 * MINUTE, timeoutMs: 2 * 60 * MINUTE },
  load: { retries: 5, retryDelayMs: 5_000, maxRetryDelayMs: 5 * MINUTE, timeoutMs: 2 * 60 * MINUTE },
  archive: { retries: 3, retryDelayMs: 5_000, maxRetryDelayMs: 2 * MINUTE, timeoutMs: 30 * MINUTE },
};

/**
 * Exponential backoff with a cap: the delay before the retry of a try that failed is
 * `retryDelayMs * 2^(n - 1)`, at most `maxRetryDelayMs`, where n is that try's place among the
 * task's tries since it was last cleared (1 = the first of them). A clear gives the task a new set
 * of `retries` (its max_tries grows by them), and its retries back off from the start again (QA
 * round 47b F5: the first retry after a clear waited 8 minutes, the exponent counting every try
 * before it; Airflow's does so too); a try cut short by a graceful stop added one to max_tries and
 * is not counted either.
 */
export function retryDelayMs(policy: Pick<TaskPolicy, 'retries' | 'retryDelayMs' | 'maxRetryDelayMs'>, failed: { tryNumber: number; maxTries: number }): number {
  const n = failed.tryNumber - (failed.maxTries - (policy.retries + 1));
  const exponent = Math.max(0, n - 1);
  // 2^31 already exceeds any sane cap; stop growing before the number loses meaning.
  const delay = policy.retryDelayMs * 2 ** Math.min(exponent, 31);
  return Math.min(delay, policy.maxRetryDelayMs);
}
