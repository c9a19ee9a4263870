import type { TaskType } from '@sluice/core/dag';
import type { PrismaClient, RunType, WriteMode } from '@sluice/db';

/**
 * The job as a task sees it: every field of the contract except `source_config`, which stays
 * encrypted in PostgreSQL (a handler that needs it decrypts it from the row itself, so no
 * secret ever travels through Redis or this object).
 */
export interface TaskJob {
  id: string;
  name: string;
  sourceName: string;
  sourceVersion: string | null;
  schemaName: string;
  mode: WriteMode;
  /** Streams asked for; empty = all the source's streams. */
  streams: string[];
  /** The `merge` field as posted (comma-separated), or null. */
  mergeKeys: string | null;
  columnTransformations: unknown;
  archiveStaging: boolean;
  addIngestionMetadata: boolean;
  domain: string | null;
  tags: string[];
  ownerId: string | null;
}

export type TaskLogLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * A try's log: every line goes, secrets masked, to task_logs under the try (what the run UI and
 * `GET …/logs` show) and to the process log (where its level lets it through), with the try's
 * job, run, task and stream. `meta` goes to the process log as fields and ends the task log line as
 * `key=value` pairs; an `origin` (a connector's line: `connector`, `stderr`, `stdout`) is its prefix
 * (`source > `) instead.
 */
export interface TaskLog {
  log(level: TaskLogLevel, message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

export interface TaskContext {
  job: TaskJob;
  run: { id: string; logicalDate: Date; runType: RunType };
  task: {
    instanceId: string;
    taskId: string;
    taskType: TaskType;
    /** The stream of a mapped instance; null for extract and archive. */
    stream: string | null;
    /** The stream's position for a mapped instance; -1 otherwise. */
    mapIndex: number;
    /** 1 for the first try. */
    tryNumber: number;
    /** The try after which a retryable failure fails the task for good (a clear adds more). */
    maxTries: number;
  };
  /**
   * The output JSON of a succeeded instance of this run, read from PostgreSQL when asked:
   * `await upstream('extract')`; `upstream('load', 'users')` for one stream's instance; for a
   * mapped task, `upstream('stage')` means the instance of the same stream. Undefined when there
   * is none.
   */
  upstream: (taskId: string, stream?: string) => Promise<unknown>;
  /** Aborted when the run is cancelled, the try times out, or the runner lost the try. Handlers must stop soon after. */
  signal: AbortSignal;
  /** Writes to task_logs for this try and to the process log. */
  log: TaskLog;
  /** Progress counters, stored with the next heartbeat. */
  progress(p: { rows?: number; bytes?: number }): void;
  /**
   * Something about the data that a reader of the run must see though the run succeeds (values
   * nulled, records dropped, values staged other than as written): written to the try's log and
   * added to the run's `warnings` (once per text), which the API and the UI show.
   */
  warnRun(message: string): Promise<void>;
  /**
   * Whether this try still holds its task instance (a heartbeat that answers): false once it was
   * declared lost and retried elsewhere — a runner frozen for a while goes on where it was — or
   * its run was cancelled, and `signal` is then aborted. Asked before writes a retry of the same instance also makes (shared
   * staging keys), so that a lost try leaves them to the retry. True when PostgreSQL cannot tell.
   */
  stillCurrent(): Promise<boolean>;
  /**
   * Runs `write` (PostgreSQL work a try does after work that is costly to redo: an extract's
   * records read), and while PostgreSQL is unreachable tries it again, waiting for it as a finished
   * try's outcome does (at most REPORT_PATIENCE_MS, or until `signal` aborts), so that an outage
   * costs its length, not the work. `what` names it in the one log line said while it waits.
   */
  whenReachable<T>(what: string, write: () => Promise<T>): Promise<T>;
  prisma: PrismaClient;
}

export interface TaskResult {
  /** JSON handed to downstream tasks (ctx.upstream). */
  output?: unknown;
  rows?: number;
  bytes?: number;
  /** Map sources (extract) only: the streams to expand the mapped tasks over, in order. */
  mappedStreams?: string[];
  /**
   * The try found nothing for it to do: the instance ends skipped, which downstream tasks take as
   * done (say why in the log, and in the run's warnings when its readers must know). Not for map sources.
   */
  skipped?: true;
}

/**
 * Runs one try of a task. Throw NonRetryableTaskError (or ConfigError / ValidationError) for
 * failures a retry cannot fix; anything else thrown is retried with the task's backoff until
 * its tries are used up.
 */
export type TaskHandler = (ctx: TaskContext) => Promise<TaskResult>;

export type TaskHandlers = Record<TaskType, TaskHandler>;
