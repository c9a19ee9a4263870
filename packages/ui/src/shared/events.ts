/**
 * The live-updates contract between the UI server (packages/api/src/ui) and the browser:
 * what `GET /api/events` sends as server-sent events. Every event is `event: <type>` with a
 * JSON `data:` line holding one of these payloads. Types and one limit: imported by both sides.
 *
 * Query parameters choose what is watched (the viewer sees only what it may see):
 * - none: `jobs` events: every visible job with its most recent runs (the jobs list), then
 *   `job_lines` events: only the lines that changed, while the list holds the same jobs in the
 *   same order (a job created, deleted or hidden sends the whole list again);
 * - `job_id`: `job` events: the job's DAG and its recent runs with every task state (graph + grid);
 * - `run_id`: `run` events: one run with its tasks' counts, times, errors and outputs;
 * - `run_id` + `task_id` + `map_index` + `try`: also `log` events, new lines of that try as written
 *   (from its last lines on, as many as the logs route answers by default).
 */


export type RunStateName = 'queued' | 'running' | 'success' | 'failed' | 'cancelled';
export type TaskStateName =
  | 'scheduled'
  | 'queued'
  | 'running'
  | 'success'
  | 'failed'
  | 'up_for_retry'
  | 'upstream_failed'
  | 'skipped'
  | 'cancelled';

/** A task instance's state in a run, enough for a grid cell. */
export interface LiveTaskMark {
  task_id: string;
  /** -1 for an unmapped task; the stream's position for a per-stream (mapped) task. */
  map_index: number;
  stream: string | null;
  state: TaskStateName;
  try_number: number;
}

export interface LiveRunSummary {
  run_id: string;
  state: RunStateName;
  run_type: 'scheduled' | 'manual';
  logical_date: string;
  queued_at: string;
  started_at: string | null;
  ended_at: string | null;
}

export interface LiveRunWithMarks extends LiveRunSummary {
  tasks: LiveTaskMark[];
}

/**
 * How often the server writes to an open stream when nothing changed (a `: keep-alive` comment),
 * unless its first block's `heartbeat:` field says otherwise. A client that hears nothing for
 * {@link LIVE_SILENCE_HEARTBEATS} of them takes the connection as dead (a half-open one: a laptop
 * that slept, a NAT that forgot it) and opens another.
 */
export const LIVE_HEARTBEAT_MS = 15_000;
export const LIVE_SILENCE_HEARTBEATS = 2.5;

/** A `jobs` event holds the newest this many jobs at most; one with fewer holds every visible job. */
export const LIVE_JOBS_LIMIT = 500;

/** One job's line on the jobs page. */
export interface LiveJobLine {
  job_id: string;
  is_paused: boolean;
  status: string;
  runs: LiveRunSummary[];
}

export interface LiveDagTask {
  task_id: string;
  task_type: string;
  upstream_task_ids: string[];
  /** Expands to one instance per stream at run time. */
  is_mapped: boolean;
}

export interface LiveJob {
  job_id: string;
  name: string;
  is_paused: boolean;
  /** Soft-deleted: history stays visible, controls are gone. */
  is_deleted: boolean;
  /** The cron schedule (null: on demand only), the zone it is read in, and whether missed fires are all run. */
  schedule: string | null;
  timezone: string;
  catchup: boolean;
  status: string;
  status_message: string | null;
  dag: { version: number; tasks: LiveDagTask[] } | null;
  /** The job's settings version (its ETag): when it changes, the page reads the job again. */
  settings_version: string;
  /** Whether the connector's spec was read for the job's config: when it comes, the page reads the job again (its config is shown unmasked but for its secrets). */
  spec_secrets_known: boolean;
  /** The streams the job syncs: its settings', then those its runs read (the newest run's first); tasks are shown by stream name. */
  streams: string[];
  runs: LiveRunWithMarks[];
  /** The job's running runs older than those `runs` holds, earliest start first: during a backlog the newest runs are all queued. */
  running_beyond: LiveRunSummary[];
  /** Changes whenever any run of the job is created, changes state or is removed, not only the `runs` above: the run history is read again then. */
  runs_version: string;
}

/** One of a task's tries before its latest (the API's EarlierTry). */
export interface LiveEarlierTry {
  try_number: number;
  state: TaskStateName;
  started_at: string;
  ended_at: string | null;
  /** false: cut short by its runner's graceful stop, retried at once and not counted against the tries. */
  counted: boolean;
  /** The try's error; null when it had none, or it was recorded before Sluice kept it. */
  error: string | null;
}

export interface LiveTask extends LiveTaskMark {
  task_type: string;
  max_tries: number;
  rows: number;
  bytes: number;
  queued_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  next_retry_at: string | null;
  /** The tries before the latest, oldest first (the times above are the latest's). */
  earlier_tries: LiveEarlierTry[];
  /** A running try's last heartbeat (its start until the first): the run page says when it is old. */
  heartbeat_at: string | null;
  error: string | null;
  /** What the task handed on (e.g. a load's table and snapshot id), as the runner wrote it. */
  output: unknown;
  /**
   * For a failed, upstream_failed or cancelled task whose clear would run nothing (an instance
   * upstream of it failed or was cancelled too): the instance to clear, as `task` or
   * `task[map_index]` (the furthest up of them). Null otherwise.
   */
  clear_instead: string | null;
  /**
   * When a clear would fail the same way: the instance whose failure says so — the task itself,
   * or the upstream instance it waits on (a stream its extract did not read to the end, a load
   * another run overtook). A new run is the remedy; the engine refuses the clear. Null otherwise.
   */
  clear_repeats: string | null;
  /**
   * When a clear has nothing to read: the instance it would run first (the task itself or the one
   * to clear instead), which reads its upstream tasks' files, and the retention sweep removed the
   * run's files. A new run is the remedy; the engine refuses the clear. Null otherwise.
   */
  clear_outputs_gone: string | null;
}

/** The `scheduler` event: whether a scheduler process is running (its schedules fire only then). */
export interface LiveScheduler {
  alive: boolean;
  /** When none is: when one last swept (null: none ever did, or one is running). */
  last_seen_at: string | null;
}

/**
 * The `redis` event: whether the API reaches Redis. While it does not, no task is handed to a
 * runner and no schedule fires (runs wait queued in PostgreSQL, and go on once it is back).
 */
export interface LiveRedis {
  reachable: boolean;
}

export interface LiveRun extends LiveRunSummary {
  job_id: string;
  /** The job's name, as the pages name it (its id may be all a link to the run says). */
  job_name: string;
  /** Whether the run's job is paused: a queued run then waits for its resume. */
  job_paused: boolean;
  /** Whether the run's job is deleted: its runs do not run again (no clear). */
  job_deleted: boolean;
  state_message: string | null;
  warnings: string[];
  tasks: LiveTask[];
}

export interface LiveLogLine {
  id: string;
  ts: string;
  level: string;
  message: string;
}

export interface LiveEvents {
  jobs: { jobs: LiveJobLine[] };
  /** The lines of the last `jobs` list that changed (a run started or ended, a pause), each whole. */
  job_lines: { changed: LiveJobLine[] };
  job: { job: LiveJob };
  run: { run: LiveRun };
  /**
   * `offset`: how many of the try's lines come before this event's first one. A stream starts at
   * the try's last lines (as many as the logs route answers by default): the earlier ones are read
   * from the logs route's pages.
   */
  log: { task_id: string; map_index: number; try_number: number; offset: number; lines: LiveLogLine[] };
  /** With the jobs list and a job's page: whether a scheduler runs. */
  scheduler: LiveScheduler;
  /** With every page: whether Redis is reachable (nothing is dispatched or fired without it). */
  redis: LiveRedis;
  /** The watched thing is gone or not visible; the stream ends after this. */
  gone: { message: string };
  /** `stale: true`: the server cannot read what is watched (PostgreSQL away), so no change shows until `stale: false`. */
  stale: { stale: boolean };
}

export type LiveEventType = keyof LiveEvents;
