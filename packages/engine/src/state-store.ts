/**
 * THE owner of run and task-instance state. Every write of dag_runs.state / task_instances.state
 * (and of the columns that travel with a state: try_number, runner_id, heartbeat_at, timestamps,
 * error, output, rows, bytes) and of the job's status columns happens here, through a guarded
 * UPDATE whose WHERE clause is the transition's legal "from" states (from @sluice/core/states).
 *
 * Functions take a `Sql` (plain SQL over the pg pool, see @sluice/db's sql.ts: this is the path
 * every task try takes, several times): the caller owns the transaction (`sqlTransaction`) and
 * enqueues the returned dispatches only after it committed. A dispatch that is lost between
 * commit and enqueue (crash) is found again by recovery: PostgreSQL says the task is queued.
 *
 * Locking: operations that decide what happens next in a run lock the run row first
 * (`SELECT … FOR UPDATE`), so two tasks of one run finishing at once evaluate the run one after
 * the other and see each other's writes. Run creation locks the job row, which makes the
 * max_active_runs check and the insert one atomic step.
 */
import { randomUUID } from 'node:crypto';
import {
  decideScheduled,
  expandMapped,
  isMapSource,
  mapSourceOf,
  retryDelayMs,
  taskSpec,
  clearAdvice,
  instanceLabel,
  downstreamInstances,
  UNMAPPED,
  type DagSpec,
  type InstanceRef,
} from '@sluice/core/dag';
import {
  lostTryError,
  runOutcome,
  runStatesLeadingTo,
  taskStatesLeadingTo,
  UNFINISHED_TASK_STATES,
  UNSUCCESSFUL_TASK_STATES,
  type RunState,
  type TaskState,
} from '@sluice/core/states';
import { ConflictError, NotFoundError } from '@sluice/core';
import { storableText, type DagCache, type RunType, type Sql } from '@sluice/db';

/** Fires of a schedule that made no run of their own, before a run that was made: how many, the first and the last. */
export interface FiresWithoutRun {
  count: number;
  first: Date;
  last: Date;
}

/** Who cancels a run: an operator (the API's cancel), or the deletion of its job. */
export type CancelReason = 'operator' | 'job deleted';

const CANCEL_MESSAGES: Record<CancelReason, string> = {
  operator: 'cancelled by an operator',
  'job deleted': 'cancelled as its job was deleted',
};

/** How long a running try's runner has been silent before a cancel's line in its log says so (a runner beats every 5 s by default). */
const CANCEL_SILENCE_SAID_S = 15;

/** Where a try stands, as its runner learns it (`StateStore.tryStanding`). */
export type TryStanding = 'ours' | 'cancelled' | 'lost';

/** A task try to enqueue once the transaction committed. */
export interface TaskDispatch {
  instanceId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  /** The try the job will run. */
  tryNumber: number;
  delayMs: number;
  /**
   * A first task of its run (no upstream tasks): queued behind the tries of runs already under
   * way, so that started runs finish first (Airflow's priority weights serve the same end).
   */
  startsRun?: boolean;
}

/** A map source's success: the run's mapped instances to create, and its instances as read under its lock. */
interface Expansion {
  runId: string;
  spec: DagSpec;
  sourceTaskId: string;
  streams: readonly string[];
  rows: InstanceRow[];
}

/** A run that ends, and why. */
interface RunEnd {
  run: LockedRun;
  to: 'success' | 'failed' | 'cancelled';
  message: string | null;
}

/** How a try ended, as the runner reports it. */
export type TryOutcome =
  | {
      kind: 'success';
      output: unknown;
      rows: number;
      bytes: number;
      mappedStreams: readonly string[] | undefined;
      /** The try found nothing for it to do: the instance ends skipped, which downstream takes as done. */
      skipped?: boolean;
    }
  | {
      kind: 'failed';
      error: string;
      retryable: boolean;
      /** false: a clear of the instance would fail the same way (a new run is the remedy); true when left out. */
      clearable?: boolean;
      /**
       * true: the try was given up by its runner as that stopped (a deploy, a restart), not failed
       * by its work: it is retried at once, and does not count against the task's tries (max_tries
       * grows by one), so that stopping a runner never fails a task for good.
       */
      uncharged?: true;
    };

interface LockedRun {
  id: string;
  jobId: string;
  dagId: string;
  state: RunState;
}

export interface ClaimedInstance {
  id: string;
  runId: string;
  taskId: string;
  taskType: string;
  mapIndex: number;
  stream: string | null;
  tryNumber: number;
  maxTries: number;
}

/** An instance as the run's evaluation needs it. */
interface InstanceRow {
  id: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  state: TaskState;
  tryNumber: number;
  maxTries: number;
  error: string | null;
}

/** How one try ended, for `finishTries`. */
export interface FinishReport {
  runId: string;
  tryRef: TryRef;
  outcome: TryOutcome;
  /** Recovery only: apply a failure only if the try has not beaten since (it is presumed lost). */
  heartbeatBefore?: Date;
  /**
   * When the try ended, as its runner saw it; left out, when the report is recorded. A report that
   * waited out a PostgreSQL outage is recorded later than the try ended (QA round 30a: an earlier
   * try's duration counted the outage); a lost try's end is its last heartbeat or log line.
   */
  endedAt?: Date;
}

/** Which tries a write is about: the guard that makes a late or duplicate report harmless. */
export interface TryRef {
  instanceId: string;
  tryNumber: number;
  runnerId: string;
}

const toState = (s: string): TaskState => s as TaskState;

/** An instance's columns as the state store's statements answer them. */
interface InstanceColumns {
  id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  state: string;
  try_number: number;
  max_tries: number;
  error: string | null;
}

const instanceRow = (r: InstanceColumns): InstanceRow => ({
  id: r.id,
  runId: r.run_id,
  taskId: r.task_id,
  mapIndex: r.map_index,
  state: toState(r.state),
  tryNumber: r.try_number,
  maxTries: r.max_tries,
  error: r.error,
});

/** How many jobs' latest DAG ids a state store remembers (a hint: the database checks it). */
const KEPT_LATEST_DAGS = 10_000;

/** A run that ended (its transaction committed): what a process says of it in its log. */
export interface EndedRun {
  runId: string;
  jobId: string;
  state: 'success' | 'failed' | 'cancelled';
  /** Why it failed (its failed task and error), or how it was cancelled; null for a success. */
  message: string | null;
}

export class StateStore {
  /** Job id → the id of the job's latest DAG as last seen: run creation's first guess. */
  readonly #latestDags = new Map<string, string>();

  constructor(
    private readonly dags: DagCache,
    /** Told of the runs each committed transaction ended (the process's log line of a run's outcome). */
    private readonly onRunsEnded: (runs: EndedRun[]) => void = () => undefined,
  ) {}

  // ─── runs ────────────────────────────────────────────────────────────────────────────────

  /**
   * Creates a run of the job's latest DAG, unique per (job, run type, logical date): a second
   * call with the same key answers the existing run and `created: false`. The run starts at once
   * when fewer than max_active_runs runs of the job are running; otherwise it stays queued and
   * starts when a running one finishes (policy: queue, never refuse, never run in parallel);
   * `runState` says which of the two a created run is. Except: a scheduled run that would wait
   * queued, of a job without catchup that already has a scheduled run waiting, is not created
   * (`skipped`; `runId` is the waiting run): one waiting run reads on from where the runs before
   * it left off, and the queue of a job whose runs outlast its interval stays bounded. A run of a
   * job that is not paused waits queued while older runs do, even with a slot free: `startQueued`
   * then asks the caller to start the job's queued runs (`startQueuedRuns`, oldest first).
   */
  async createRun(
    sql: Sql,
    input: {
      jobId: string;
      runType: RunType;
      logicalDate: Date;
      requireActiveSchedule?: boolean;
      /**
       * Manual runs: when the date is taken (triggers in the same millisecond), the run takes the
       * millisecond after the job's latest run of this type instead of answering the existing one.
       */
      nextFreeDate?: boolean;
      /**
       * A scheduled run's earlier fires that made no run of their own (`Schedules`): written on
       * the run it creates, in the caller's transaction (give one for the two to be atomic).
       */
      missedFires?: FiresWithoutRun;
      /**
       * A manual trigger's idempotency key: when the job has a run made with it, that run is
       * answered (`created: false`, `existingState` its state now) and nothing is written.
       */
      triggerKey?: string;
    },
  ): Promise<{
    runId: string | null;
    created: boolean;
    runState?: 'queued' | 'running';
    /** The state now of the run an earlier call made (`created: false`, not skipped). */
    existingState?: RunState;
    skipped?: true;
    startQueued?: true;
    dispatches: TaskDispatch[];
  }> {
    // One call of the sluice_create_run function (its migration says how it locks and decides
    // admission), made with the first instances of the DAG this process last saw as the job's
    // latest. When the job has a newer DAG, nothing is written and the call is made again with
    // that DAG's (a DAG is written whole before its job's next run reads it).
    let dagId = this.#latestDags.get(input.jobId) ?? null;
    for (let call = 1; ; call++) {
      const spec = dagId === null ? null : await this.dags.get(sql, dagId);
      const first = (spec?.tasks ?? [])
        .filter((t) => !t.isMapped)
        .map((t) => ({ id: randomUUID(), taskId: t.taskId, taskType: t.taskType, maxTries: t.retries + 1 }));
      // What the first evaluation of the run decides, should it start now (a fresh run's
      // instances are all scheduled): written as the instances' first state.
      const decision = spec ? decideScheduled(spec, first.map((t) => ({ taskId: t.taskId, mapIndex: UNMAPPED, state: 'scheduled' as const }))) : null;
      const startState = (taskId: string): TaskState =>
        decision?.toQueue.some((r) => r.taskId === taskId) ? 'queued' : decision?.toUpstreamFailed.some((r) => r.taskId === taskId) ? 'upstream_failed' : 'scheduled';
      const runId = randomUUID();
      const [row] = await sql.query<{ outcome: string; run_id: string | null; run_state: string | null; latest_dag_id: string | null }[]>`
        SELECT outcome, run_id, run_state, latest_dag_id FROM sluice_create_run(
          ${input.jobId}::uuid, ${dagId}::uuid, ${runId}::uuid, ${input.runType}::text::"RunType", ${input.logicalDate}::timestamptz,
          ${input.nextFreeDate ?? false}::boolean, ${input.requireActiveSchedule ?? false}::boolean, ${new Date()}::timestamptz,
          ${first.map((t) => t.id)}::uuid[], ${first.map((t) => t.taskId)}::text[], ${first.map(() => UNMAPPED)}::int[],
          ${first.map((t) => t.taskType)}::text[], ${first.map((t) => t.maxTries)}::int[], ${first.map((t) => startState(t.taskId))}::text[],
          ${input.triggerKey ?? null}::text)`;
      switch (row?.outcome) {
        case 'created':
        case 'created_behind':
          if (input.missedFires) {
            const m = input.missedFires;
            await sql.execute`
              UPDATE dag_runs SET missed_fires = ${m.count}::int, first_missed_fire_at = ${m.first}::timestamptz, last_missed_fire_at = ${m.last}::timestamptz
              WHERE id = ${runId}::uuid`;
          }
          return {
            runId,
            created: true,
            runState: row.run_state === 'running' ? 'running' : 'queued',
            ...(row.outcome === 'created_behind' ? { startQueued: true as const } : {}),
            dispatches:
              row.run_state === 'running'
                ? first
                    .filter((t) => startState(t.taskId) === 'queued')
                    .map((t) => ({ instanceId: t.id, runId, taskId: t.taskId, mapIndex: UNMAPPED, tryNumber: 1, delayMs: 0, startsRun: true }))
                : [],
          };
        case 'exists':
          return { runId: row.run_id, created: false, ...(row.run_state === null ? {} : { existingState: row.run_state as RunState }), dispatches: [] };
        case 'skipped':
          return { runId: row.run_id, created: false, skipped: true, dispatches: [] };
        case 'inactive':
          return { runId: null, created: false, dispatches: [] };
        case 'no_dag':
          throw new NotFoundError('DAG of ingestion job', input.jobId);
        case 'other_dag':
          // Two calls suffice unless the job's DAG is being rewritten as fast as we read it.
          if (row.latest_dag_id === null || call >= 5) throw new ConflictError(`job ${input.jobId}: its DAG kept changing while a run was created`);
          dagId = row.latest_dag_id;
          if (this.#latestDags.size >= KEPT_LATEST_DAGS) this.#latestDags.clear();
          this.#latestDags.set(input.jobId, dagId);
          continue;
        case 'no_job':
          throw new NotFoundError('ingestion job', input.jobId);
        default:
          throw new Error(`sluice_create_run answered an unknown outcome: ${String(row?.outcome)}`);
      }
    }
  }

  /**
   * The job is running again (a cleared task restarted one of its failed runs): the same columns
   * as `sluice_create_run` sets when it starts a run.
   */
  async #markJobStarted(sql: Sql, jobId: string, now: Date): Promise<void> {
    await sql.execute`
      UPDATE ingestion_jobs SET status = 'running', status_message = NULL, last_started_at = ${now}, updated_at = ${now}
      WHERE id = ${jobId}::uuid`;
  }

  /** Locks the runs' rows, in id order (so transactions that share runs never deadlock). */
  async #lockRuns(sql: Sql, runIds: readonly string[]): Promise<LockedRun[]> {
    const ids = [...new Set(runIds)].sort();
    const rows = await sql.query<{ id: string; job_id: string; dag_id: string; state: string }[]>`
      SELECT id, job_id, dag_id, state::text AS state FROM dag_runs WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR UPDATE`;
    return rows.map((r) => ({ id: r.id, jobId: r.job_id, dagId: r.dag_id, state: r.state as RunState }));
  }

  async #lockRun(sql: Sql, runId: string): Promise<LockedRun> {
    const [run] = await this.#lockRuns(sql, [runId]);
    if (!run) throw new NotFoundError('run', runId);
    return run;
  }

  async #readInstances(sql: Sql, runIds: readonly string[]): Promise<InstanceRow[]> {
    const rows = await sql.query<InstanceColumns[]>`
      SELECT id, run_id, task_id, map_index, state::text AS state, try_number, max_tries, error
      FROM task_instances WHERE run_id = ANY(${runIds}::uuid[])`;
    return rows.map(instanceRow);
  }

  /**
   * Decides the runs' scheduled instances (queue the ready ones, upstream_failed the blocked
   * ones) and finishes each run that has nothing left to do. The runs' rows must be locked;
   * `rows` are a run's instances as read under that lock (read again when not given). The
   * instances of all the runs move in one UPDATE per target state.
   */
  async #evaluateRuns(sql: Sql, targets: readonly { run: LockedRun; rows: InstanceRow[] | undefined }[]): Promise<TaskDispatch[]> {
    const live = targets.filter((t) => t.run.state === 'running');
    if (live.length === 0) return [];
    const unread = live.filter((t) => t.rows === undefined).map((t) => t.run.id);
    const reread = unread.length > 0 ? await this.#readInstances(sql, unread) : [];
    const decided: { run: LockedRun; rows: InstanceRow[]; after: Map<string, TaskState> }[] = [];
    const roots = new Set<string>();
    const toUpstreamFailed: string[] = [];
    const toQueue: string[] = [];
    for (const t of live) {
      const spec = await this.dags.get(sql, t.run.dagId);
      const rows = t.rows ?? reread.filter((r) => r.runId === t.run.id);
      const views = rows.map((r) => ({ taskId: r.taskId, mapIndex: r.mapIndex, state: r.state }));
      const decision = decideScheduled(spec, views);
      const idOf = (ref: InstanceRef): string => {
        const row = rows.find((r) => r.taskId === ref.taskId && r.mapIndex === ref.mapIndex);
        if (!row) throw new Error(`instance ${ref.taskId}[${ref.mapIndex}] vanished from run ${t.run.id}`);
        return row.id;
      };
      toUpstreamFailed.push(...decision.toUpstreamFailed.map(idOf));
      toQueue.push(...decision.toQueue.map(idOf));
      for (const r of decision.toQueue) if (taskSpec(spec, r.taskId).upstreamTaskIds.length === 0) roots.add(idOf(r));
      const after = new Map(views.map((v) => [`${v.taskId}[${v.mapIndex}]`, v.state]));
      for (const r of decision.toUpstreamFailed) after.set(`${r.taskId}[${r.mapIndex}]`, 'upstream_failed');
      for (const r of decision.toQueue) after.set(`${r.taskId}[${r.mapIndex}]`, 'queued');
      decided.push({ run: t.run, rows, after });
    }
    const now = new Date();
    if (toUpstreamFailed.length > 0) {
      await sql.execute`
        UPDATE task_instances SET state = 'upstream_failed', ended_at = ${now}, updated_at = ${now}
        WHERE id = ANY(${toUpstreamFailed}::uuid[]) AND state::text = ANY(${taskStatesLeadingTo('upstream_failed')}::text[])`;
    }
    const dispatches: TaskDispatch[] = [];
    if (toQueue.length > 0) {
      const from = taskStatesLeadingTo('queued');
      const queued = await sql.query<{ id: string; run_id: string; task_id: string; map_index: number; try_number: number }[]>`
        UPDATE task_instances SET state = 'queued', queued_at = ${now}, updated_at = ${now}
        WHERE id = ANY(${toQueue}::uuid[]) AND state::text = ANY(${from}::text[])
        RETURNING id, run_id, task_id, map_index, try_number`;
      for (const q of queued) {
        dispatches.push({ instanceId: q.id, runId: q.run_id, taskId: q.task_id, mapIndex: q.map_index, tryNumber: q.try_number + 1, delayMs: 0, startsRun: roots.has(q.id) });
      }
    }
    const ends = decided.flatMap((d) => {
      const outcome = runOutcome([...d.after.values()]);
      return outcome.kind === 'unfinished' ? [] : [{ d, to: outcome.kind, failedTask: d.rows.find((r) => r.state === 'failed') }];
    });
    // A failed run names its failed task as the UI and the tables' snapshots do: a mapped one by its
    // stream (load[users]); the streams are read only here, not by every evaluation.
    const mappedFailures = ends.flatMap((e) => (e.to === 'failed' && e.failedTask && e.failedTask.mapIndex >= 0 ? [e.failedTask.id] : []));
    const streams = new Map(
      mappedFailures.length === 0
        ? []
        : (await sql.query<{ id: string; stream: string | null }[]>`SELECT id, stream FROM task_instances WHERE id = ANY(${mappedFailures}::uuid[])`).map((r) => [r.id, r.stream]),
    );
    const ending: RunEnd[] = ends.map(({ d, to, failedTask }) => {
      const firstError = d.rows.find((r) => r.state === 'failed' && r.error)?.error ?? null;
      const label = failedTask && failedTask.mapIndex >= 0 ? `[${streams.get(failedTask.id) ?? failedTask.mapIndex}]` : '';
      const message = to === 'failed' ? (failedTask ? `task ${failedTask.taskId}${label} failed: ${firstError ?? 'no error recorded'}` : 'a task could not run') : null;
      return { run: d.run, to, message };
    });
    if (ending.length > 0) dispatches.push(...(await this.#finishRuns(sql, ending)));
    return dispatches;
  }

  /**
   * Ends runs (their rows locked by the caller), then, per job, sets its status and starts its
   * oldest queued runs while max_active_runs allows. Two statements for the whole batch: the first
   * ends the runs and locks their jobs' rows in job-id order (so two batches never wait on each
   * other); the second, started under those locks, sees every run of those jobs that ended or
   * started before us. The contract's job statuses have no "cancelled": a cancelled run leaves its
   * job failed, so it stamps last_failed_at as a failure does (a client reading `failed` finds its time).
   * A deleted job's queued runs are not started (its delete cancels them), nor a paused job's
   * (they wait for its resume: `startQueuedRuns`).
   */
  async #finishRuns(sql: Sql, ends: readonly RunEnd[]): Promise<TaskDispatch[]> {
    const now = new Date();
    const locked = await sql.query<{ run_id: string; job_id: string; max_active_runs: number }[]>`
      WITH v AS (
        SELECT * FROM unnest(${ends.map((e) => e.run.id)}::uuid[], ${ends.map((e) => e.to)}::text[],
                             ${ends.map((e) => runStatesLeadingTo(e.to).join(','))}::text[], ${ends.map((e) => e.message)}::text[])
          AS v(id, to_state, from_states, message)
      ), ended AS (
        UPDATE dag_runs r SET state = v.to_state::"RunState", ended_at = ${now}, state_message = v.message, updated_at = ${now}
        FROM v WHERE r.id = v.id AND r.state::text = ANY(string_to_array(v.from_states, ','))
        RETURNING r.id, r.job_id
      )
      SELECT e.id AS run_id, j.id AS job_id, j.max_active_runs
      FROM ended e JOIN ingestion_jobs j ON j.id = e.job_id ORDER BY j.id FOR UPDATE OF j`;
    if (locked.length === 0) return [];
    // Per job, as if its runs had ended one after the other in the batch's order: the last one
    // says the job's status when nothing else runs; any success or failure stamps its time.
    const ended = new Map(locked.map((l) => [l.run_id, l]));
    const endedRuns = ends.flatMap((e): EndedRun[] => {
      const lock = ended.get(e.run.id);
      return lock ? [{ runId: e.run.id, jobId: lock.job_id, state: e.to, message: e.message }] : [];
    });
    sql.afterCommit(() => this.onRunsEnded(endedRuns));
    const jobs = new Map<string, { max: number; idle: string; idleMessage: string | null; completed: boolean; failed: boolean }>();
    for (const e of ends) {
      const lock = ended.get(e.run.id);
      if (!lock) continue;
      // A run cancelled before it started (queued) was withdrawn, not run: the job's status, its
      // message and its times stay those of its runs that ran. It freed no slot either.
      if (e.run.state === 'queued') continue;
      const outcomeMessage = { success: `run ${e.run.id} succeeded`, failed: e.message, cancelled: `run ${e.run.id} was ${e.message ?? 'cancelled'}` }[e.to];
      const prev = jobs.get(lock.job_id);
      jobs.set(lock.job_id, {
        max: lock.max_active_runs,
        idle: { success: 'completed', failed: 'failed', cancelled: 'failed' }[e.to],
        idleMessage: outcomeMessage,
        completed: (prev?.completed ?? false) || e.to === 'success',
        failed: (prev?.failed ?? false) || e.to !== 'success',
      });
    }
    if (jobs.size === 0) return [];
    const ids = [...jobs.keys()];
    const js = [...jobs.values()];
    const started = await sql.query<{ id: string; job_id: string; dag_id: string }[]>`
      WITH j AS (
        SELECT * FROM unnest(${ids}::uuid[], ${js.map((x) => x.max)}::int[], ${js.map((x) => x.idle)}::text[],
                             ${js.map((x) => x.idleMessage)}::text[], ${js.map((x) => x.completed)}::boolean[], ${js.map((x) => x.failed)}::boolean[])
          AS j(id, max_active, idle, idle_message, completed, failed)
      ), running AS (
        SELECT j.id, (SELECT count(*)::int FROM dag_runs d WHERE d.job_id = j.id AND d.state = 'running') AS n FROM j
      ), next AS (
        SELECT q.id FROM j JOIN running r ON r.id = j.id JOIN ingestion_jobs live ON live.id = j.id AND NOT live.is_deleted AND NOT live.is_paused,
          LATERAL (SELECT d.id FROM dag_runs d WHERE d.job_id = j.id AND d.state = 'queued'
                   ORDER BY d.logical_date, d.queued_at, d.id LIMIT greatest(j.max_active - r.n, 0) FOR UPDATE SKIP LOCKED) q
      ), started AS (
        UPDATE dag_runs SET state = 'running', started_at = ${now}, updated_at = ${now}
        WHERE id IN (SELECT id FROM next) AND state = 'queued'
        RETURNING id, job_id, dag_id
      ), jobs AS (
        UPDATE ingestion_jobs ij SET
          status = (CASE WHEN EXISTS (SELECT 1 FROM started s WHERE s.job_id = ij.id) OR r.n > 0 THEN 'running' ELSE j.idle END)::"JobStatus",
          -- The message says why the status is what it is: a job still running has none (QA round 48b
          -- D3: "running" beside another run's cancel); last_failed_at and the runs say that failure.
          status_message = CASE WHEN EXISTS (SELECT 1 FROM started s WHERE s.job_id = ij.id) OR r.n > 0 THEN NULL ELSE j.idle_message END,
          last_started_at = CASE WHEN EXISTS (SELECT 1 FROM started s WHERE s.job_id = ij.id) THEN ${now}::timestamptz ELSE ij.last_started_at END,
          last_completed_at = CASE WHEN j.completed THEN ${now}::timestamptz ELSE ij.last_completed_at END,
          last_failed_at = CASE WHEN j.failed THEN ${now}::timestamptz ELSE ij.last_failed_at END,
          updated_at = ${now}
        FROM j JOIN running r ON r.id = j.id
        WHERE ij.id = j.id
      )
      SELECT id, job_id, dag_id FROM started ORDER BY id`;
    return this.#evaluateRuns(
      sql,
      started.map((r) => ({ run: { id: r.id, jobId: r.job_id, dagId: r.dag_id, state: 'running' as const }, rows: undefined })),
    );
  }

  /**
   * Starts the oldest queued runs of these jobs (every job's, when null) while max_active_runs
   * allows: a paused job's queued runs wait, and its resume starts them. Skips deleted and paused
   * jobs. The job rows are locked in id order, as `#finishRuns` locks them. Answers the first
   * tasks of the runs it started.
   */
  async startQueuedRuns(sql: Sql, jobIds: readonly string[] | null): Promise<TaskDispatch[]> {
    const now = new Date();
    // Two statements, as in #finishRuns: the second's snapshot is taken once the first holds the
    // job rows, so its count of running runs sees every run another admission started before
    // (in one statement, a resume waiting on the lock counted with the snapshot it had before
    // the wait, and parallel resumes ran more runs than max_active_runs: QA round 15).
    const locked = await sql.query<{ id: string }[]>`
      SELECT ij.id FROM ingestion_jobs ij
      WHERE NOT ij.is_deleted AND NOT ij.is_paused
        AND (${jobIds === null} OR ij.id = ANY(${jobIds ?? []}::uuid[]))
        AND EXISTS (SELECT 1 FROM dag_runs d WHERE d.job_id = ij.id AND d.state = 'queued')
      ORDER BY ij.id FOR UPDATE OF ij`;
    if (locked.length === 0) return [];
    const started = await sql.query<{ id: string; job_id: string; dag_id: string }[]>`
      WITH j AS (
        SELECT ij.id, ij.max_active_runs FROM ingestion_jobs ij
        WHERE ij.id = ANY(${locked.map((l) => l.id)}::uuid[]) AND NOT ij.is_deleted AND NOT ij.is_paused
      ), running AS (
        SELECT j.id, (SELECT count(*)::int FROM dag_runs d WHERE d.job_id = j.id AND d.state = 'running') AS n FROM j
      ), next AS (
        SELECT q.id FROM j JOIN running r ON r.id = j.id,
          LATERAL (SELECT d.id FROM dag_runs d WHERE d.job_id = j.id AND d.state = 'queued'
                   ORDER BY d.logical_date, d.queued_at, d.id LIMIT greatest(j.max_active_runs - r.n, 0) FOR UPDATE SKIP LOCKED) q
      ), started AS (
        UPDATE dag_runs SET state = 'running', started_at = ${now}, updated_at = ${now}
        WHERE id IN (SELECT id FROM next) AND state = 'queued'
        RETURNING id, job_id, dag_id
      ), jobs AS (
        UPDATE ingestion_jobs ij SET status = 'running', status_message = NULL, last_started_at = ${now}, updated_at = ${now}
        WHERE ij.id IN (SELECT job_id FROM started)
      )
      SELECT id, job_id, dag_id FROM started ORDER BY id`;
    return this.#evaluateRuns(
      sql,
      started.map((r) => ({ run: { id: r.id, jobId: r.job_id, dagId: r.dag_id, state: 'running' as const }, rows: undefined })),
    );
  }

  /**
   * Cancels a queued or running run: every unfinished instance becomes cancelled (a running try
   * is told to stop by the caller, through the cancel channel; its later report finds the
   * instance cancelled and changes nothing). Answers the dispatches of queued runs it frees a
   * slot for.
   */
  async cancelRun(sql: Sql, runId: string, why: CancelReason = 'operator'): Promise<TaskDispatch[]> {
    const run = await this.#lockRun(sql, runId);
    if (!runStatesLeadingTo('cancelled').includes(run.state)) {
      throw new ConflictError(`run ${runId} is ${run.state}; only queued or running runs can be cancelled`);
    }
    return this.#cancelRuns(sql, [run], why);
  }

  /**
   * Cancels every queued run of the job (a backlog: catch-up runs, triggers behind
   * max_active_runs); runs under way go on. The runs are locked in id order before the job's row,
   * as a batch of ends locks them. Answers their ids, oldest logical date first.
   */
  async cancelQueuedRuns(sql: Sql, jobId: string): Promise<string[]> {
    const queued = await sql.query<{ id: string }[]>`
      SELECT id FROM dag_runs WHERE job_id = ${jobId}::uuid AND state = 'queued' ORDER BY logical_date, queued_at, id`;
    // Still queued once locked (one may have started meanwhile: it goes on).
    const runs = (await this.#lockRuns(sql, queued.map((r) => r.id))).filter((r) => r.state === 'queued');
    // A queued run frees no slot: nothing to dispatch.
    await this.#cancelRuns(sql, runs, 'operator');
    const cancelled = new Set(runs.map((r) => r.id));
    return queued.map((r) => r.id).filter((id) => cancelled.has(id));
  }

  /** Cancels these runs (locked by the caller, queued or running) in one statement and one batch of ends. */
  async #cancelRuns(sql: Sql, runs: readonly LockedRun[], reason: CancelReason): Promise<TaskDispatch[]> {
    if (runs.length === 0) return [];
    const now = new Date();
    const why = CANCEL_MESSAGES[reason];
    // Each try's log says how the cancel ended it, when its runner may be gone and never write its
    // own last line (QA round 39b F3): a running try is told to stop; a failed try waiting for its
    // retry (up_for_retry, or its retry queued) learns that the retry its log promised will not run
    // (QA round 40a F2). That failed try goes to `earlier_tries` as failed, and the instance keeps no
    // try's times: it did not run from its failure to the cancel. `was` is the row as the statement
    // found it.
    await sql.execute`
      WITH cancelled AS (
        UPDATE task_instances ti
        SET state = 'cancelled', ended_at = ${now}, next_retry_at = NULL, updated_at = ${now},
            earlier_tries = CASE WHEN was.state <> 'running' AND was.started_at IS NOT NULL
              THEN sluice_with_try(was.earlier_tries, was.try_number, 'failed', was.started_at, was.ended_at, NOT was.try_uncharged, was.error) ELSE was.earlier_tries END,
            try_uncharged = false,
            started_at = CASE WHEN was.state <> 'running' THEN NULL ELSE was.started_at END,
            error = CASE WHEN was.state <> 'running' AND was.started_at IS NOT NULL
              THEN 'run cancelled before try ' || (was.try_number + 1) || ' started; try ' || was.try_number || ' failed: ' || COALESCE(was.error, 'no error recorded')
              ELSE 'run cancelled' END
        FROM task_instances was
        WHERE was.id = ti.id AND ti.run_id = ANY(${runs.map((r) => r.id)}::uuid[])
          AND ti.state::text = ANY(${UNFINISHED_TASK_STATES.filter((st) => taskStatesLeadingTo('cancelled').includes(st))}::text[])
        RETURNING ti.id, ti.try_number, ti.runner_id, was.state::text AS was_state, was.started_at IS NOT NULL AS had_started,
                  floor(extract(epoch FROM ${now}::timestamptz - was.heartbeat_at))::int AS silent_s
      )
      INSERT INTO task_logs (task_instance_id, try_number, ts, level, message)
      SELECT c.id, c.try_number, ${now}, 'info',
             CASE WHEN c.was_state = 'running'
               -- A runner silent for a while may be gone (QA round 40a F8): its last heartbeat's age is said.
               THEN 'try ' || c.try_number || ' cancelled: the run was ' || ${why}::text || '; runner ' || COALESCE(c.runner_id, '?') ||
                    CASE WHEN c.silent_s >= ${CANCEL_SILENCE_SAID_S}::int THEN ', whose last heartbeat was ' || c.silent_s || ' s ago,' ELSE '' END || ' is told to stop it'
               ELSE 'the run was ' || ${why}::text || ': try ' || (c.try_number + 1) || ', the retry of this one, will not run' END
      FROM cancelled c WHERE c.was_state = 'running' OR c.had_started`;
    return this.#finishRuns(
      sql,
      runs.map((run) => ({ run, to: 'cancelled' as const, message: why })),
    );
  }

  /**
   * Clears a failed, upstream_failed or cancelled instance and every instance downstream of
   * it: they go back to scheduled and run again in the same run. Each cleared instance gets its
   * task's full retries again. A failed or cancelled run restarts as a new run would: running at
   * once when its job has fewer than max_active_runs runs running, otherwise queued behind them
   * (it starts, oldest logical date first, when one of them ends), so a clear never runs two
   * runs of a job in parallel beyond its limit.
   */
  async clearTask(sql: Sql, input: { runId: string; taskId: string; mapIndex: number }): Promise<TaskDispatch[]> {
    const run = await this.#lockRun(sql, input.runId);
    if (run.state !== 'running' && !runStatesLeadingTo('queued').includes(run.state)) {
      throw new ConflictError(`run ${input.runId} is ${run.state}; only tasks of running, failed or cancelled runs can be cleared`);
    }
    const spec = await this.dags.get(sql, run.dagId);
    taskSpec(spec, input.taskId);
    const rows = (
      await sql.query<(InstanceColumns & { clearable: boolean })[]>`
        SELECT id, run_id, task_id, map_index, state::text AS state, try_number, max_tries, error, clearable
        FROM task_instances WHERE run_id = ${input.runId}::uuid`
    ).map((r) => ({ ...instanceRow(r), clearable: r.clearable }));
    const root = rows.find((r) => r.taskId === input.taskId && r.mapIndex === input.mapIndex);
    if (!root) throw new NotFoundError('task instance', `${input.runId}/${input.taskId}[${input.mapIndex}]`);
    if (!UNSUCCESSFUL_TASK_STATES.includes(root.state)) {
      throw new ConflictError(`task ${instanceLabel(root)} is ${root.state}; only failed, upstream_failed or cancelled tasks can be cleared`);
    }
    const targets = [root, ...downstreamInstances(spec, root, rows).map((ref) => rows.find((r) => r.taskId === ref.taskId && r.mapIndex === ref.mapIndex))];
    // A clear below a failure would run nothing: the instance goes straight back to
    // upstream_failed, and the finished run would only be restarted and ended again. A clear of a
    // failure that said a clear fails the same way would fail again, and fail the job with it.
    const [removal] = await sql.query<{ removed_at: Date }[]>`
      SELECT f.removed_at FROM run_file_removals f JOIN dag_runs d ON d.id = f.run_id
      WHERE f.run_id = ${input.runId}::uuid AND f.removed_at >= d.ended_at`;
    const advice = clearAdvice(spec, root, rows, { upstreamOutputsGone: removal !== undefined });
    if (advice.kind === 'outputs_gone') {
      const first = advice.instance === root ? 'it' : `its clear would run ${instanceLabel(advice.instance)} first, which`;
      throw new ConflictError(
        `task ${instanceLabel(root)} cannot run again: ${first} reads what its upstream tasks left in this run's staging files, ` +
          `and the retention sweep removed them on ${removal?.removed_at.toISOString() ?? '?'} (SLUICE_STAGING_RETENTION_DAYS after the run ended). A new run of the job reads the source again`,
      );
    }
    if (advice.kind === 'instead') {
      const blocker = advice.instance;
      throw new ConflictError(
        `task ${instanceLabel(root)} cannot run again while its upstream ${instanceLabel(blocker)} is ${blocker.state}: clear ${instanceLabel(blocker)} instead (it runs again with everything downstream of it)`,
      );
    }
    if (advice.kind === 'none') {
      const { because } = advice;
      const whose = because === root ? 'its' : `it waits on ${instanceLabel(because)}, whose`;
      throw new ConflictError(
        `task ${instanceLabel(root)} cannot be cleared: ${whose} clear would fail the same way (a new run of the job reads the source again). ` +
          `${because === root ? 'Its' : `${instanceLabel(because)}'s`} error: ${because.error ?? 'none recorded'}`,
      );
    }
    for (const t of targets) {
      if (!t) continue;
      if (!taskStatesLeadingTo('scheduled').includes(t.state)) continue; // still running or queued: leave it
      const retries = taskSpec(spec, t.taskId).retries;
      await sql.execute`
        UPDATE task_instances
        SET state = 'scheduled', max_tries = ${t.tryNumber + retries + 1}::int, error = NULL, clearable = true, started_at = NULL, ended_at = NULL,
            next_retry_at = NULL, queued_at = NULL, updated_at = ${new Date()},
            earlier_tries = sluice_with_try(earlier_tries, try_number, state::text, started_at, ended_at, NOT try_uncharged, error), try_uncharged = false
        WHERE id = ${t.id}::uuid AND state = ${t.state}::text::"TaskState"`;
    }
    if (run.state === 'running') return this.#evaluateRuns(sql, [{ run, rows: undefined }]);
    return (await this.#restartRun(sql, run)) === 'running' ? this.#evaluateRuns(sql, [{ run: { ...run, state: 'running' }, rows: undefined }]) : [];
  }

  /**
   * A finished run (its row locked) that has instances to run again: running when its job has a
   * max_active_runs slot free, queued otherwise. The job's row is locked first and the running
   * runs counted by the next statement, which sees every run committed before the lock was
   * granted (as run creation's admission does). A deleted job's run does not run again
   * (ConflictError).
   */
  async #restartRun(sql: Sql, run: LockedRun): Promise<'running' | 'queued'> {
    const now = new Date();
    const [job] = await sql.query<{ is_deleted: boolean }[]>`SELECT is_deleted FROM ingestion_jobs WHERE id = ${run.jobId}::uuid FOR UPDATE`;
    if (job?.is_deleted) throw new ConflictError(`job ${run.jobId} is deleted; its runs do not run again`);
    const [restarted] = await sql.query<{ state: string }[]>`
      WITH admission AS (
        SELECT (SELECT count(*) FROM dag_runs d WHERE d.job_id = j.id AND d.state = 'running') < j.max_active_runs AS starts
        FROM ingestion_jobs j WHERE j.id = ${run.jobId}::uuid
      )
      UPDATE dag_runs r
      SET state = (CASE WHEN a.starts THEN 'running' ELSE 'queued' END)::"RunState",
          started_at = CASE WHEN a.starts THEN ${now}::timestamptz ELSE NULL END,
          queued_at = CASE WHEN a.starts THEN r.queued_at ELSE ${now}::timestamptz END,
          ended_at = NULL, state_message = NULL, updated_at = ${now}
      FROM admission a
      WHERE r.id = ${run.id}::uuid AND r.state = ${run.state}::text::"RunState"
      RETURNING r.state::text AS state`;
    if (restarted?.state === 'running') {
      await this.#markJobStarted(sql, run.jobId, now);
      return 'running';
    }
    if (restarted?.state === 'queued') return 'queued';
    throw new Error(`run ${run.id} changed state under its lock`);
  }

  // ─── task tries ──────────────────────────────────────────────────────────────────────────

  /**
   * Claims tries, in one statement (the runner's hot path batches its claims): each goes
   * queued/up_for_retry → running, try_number + 1, through a guarded UPDATE. Answers one entry per
   * ref, in order: null when the try is not claimable (already claimed, superseded, cancelled, run
   * not running), so a duplicate or stale delivery does nothing; a ref repeated within the batch
   * claims at most once.
   * The statement also writes each claimed try's first task log line ("try N of M started on
   * runner …"), so that the try's log needs no statement of its own for it.
   * Upstream outputs are not part of a claim: a handler reads the one it asks for
   * (`ctx.upstream`), so a claim's cost does not grow with its run's width.
   */
  async claimTries(sql: Sql, refs: readonly TryRef[]): Promise<(ClaimedInstance | null)[]> {
    const from = taskStatesLeadingTo('running');
    const now = new Date();
    // The try's first log line is written by the same statement (text as in the runner's own lines).
    const claimed = await sql.query<
      {
        id: string;
        run_id: string;
        task_id: string;
        task_type: string;
        map_index: number;
        stream: string | null;
        try_number: number;
        max_tries: number;
        runner_id: string;
      }[]
    >`
      WITH claimed AS (
        UPDATE task_instances ti
        SET state = 'running', try_number = ti.try_number + 1, runner_id = req.runner_id,
            started_at = ${now}, heartbeat_at = ${now}, ended_at = NULL, next_retry_at = NULL, error = NULL, clearable = true, updated_at = ${now},
            -- the counts are the new try's own, from 0 (QA round 28: a retry's count started from the lost try's)
            rows = 0, bytes = 0,
            -- the try before this one did not succeed (a success is cleared before it runs again); a lost one ended at its last sign of life
            earlier_tries = sluice_with_try(ti.earlier_tries, ti.try_number, 'failed', ti.started_at, COALESCE(ti.ended_at, ti.heartbeat_at), NOT ti.try_uncharged, ti.error),
            try_uncharged = false
        FROM dag_runs r,
             unnest(${refs.map((t) => t.instanceId)}::uuid[], ${refs.map((t) => t.tryNumber - 1)}::int[], ${refs.map((t) => t.runnerId)}::text[])
               AS req(id, prev_try, runner_id)
        WHERE ti.id = req.id AND ti.state::text = ANY(${from}::text[]) AND ti.try_number = req.prev_try
          AND r.id = ti.run_id AND r.state = 'running'
        RETURNING ti.id, ti.run_id, ti.task_id, ti.task_type::text AS task_type, ti.map_index, ti.stream, ti.try_number, ti.max_tries, ti.runner_id
      ), logged AS (
        INSERT INTO task_logs (task_instance_id, try_number, ts, level, message)
        SELECT id, try_number, ${now}, 'info', 'try ' || try_number || ' of ' || max_tries || ' started on runner ' || runner_id FROM claimed
      )
      SELECT * FROM claimed`;
    const byId = new Map(claimed.map((c) => [c.id, c]));
    return refs.map((t) => {
      const c = byId.get(t.instanceId);
      if (!c || c.try_number !== t.tryNumber || c.runner_id !== t.runnerId) return null;
      byId.delete(t.instanceId); // a repeated ref gets null: one claim, one try
      return {
        id: c.id,
        runId: c.run_id,
        taskId: c.task_id,
        taskType: c.task_type,
        mapIndex: c.map_index,
        stream: c.stream,
        tryNumber: c.try_number,
        maxTries: c.max_tries,
      };
    });
  }

  /**
   * Adds `message` to the run's warnings (what its readers must see though it succeeds: values
   * nulled, records dropped or changed); a text already there is not added twice, so a retried
   * try's warning counts once.
   */
  async addRunWarning(sql: Sql, runId: string, said: string): Promise<void> {
    const message = storableText(said);
    await sql.execute`
      UPDATE dag_runs SET warnings = array_append(warnings, ${message}::text), updated_at = now()
      WHERE id = ${runId}::uuid AND NOT (${message}::text = ANY (coalesce(warnings, '{}')))`;
  }

  /**
   * The runner's heartbeat for a try it runs, with progress counters. Answers `ours` while the try
   * runs; otherwise the runner must abort it, and the answer says why (`tryStanding`).
   */
  async heartbeat(sql: Sql, t: TryRef, progress: { rows?: number; bytes?: number } = {}): Promise<TryStanding> {
    const now = new Date();
    const r = await sql.execute`
      UPDATE task_instances
      SET heartbeat_at = ${now}, rows = COALESCE(${progress.rows ?? null}::bigint, rows), bytes = COALESCE(${progress.bytes ?? null}::bigint, bytes), updated_at = ${now}
      WHERE id = ${t.instanceId}::uuid AND state = 'running' AND try_number = ${t.tryNumber}::int AND runner_id = ${t.runnerId}`;
    return r === 1 ? 'ours' : this.tryStanding(sql, t);
  }

  /**
   * Where a try stands: `ours` while it runs; `cancelled` when its run's cancel ended it while it
   * ran; `lost` when it was declared lost (its runner stopped heart-beating) — retried elsewhere, or
   * failed, or cancelled only after that, while its retry waited (`#cancelRuns` then keeps no
   * try's start on the instance). A runner told of a cancel by Redis asks, since a try of its own
   * that froze may have been declared lost before the cancel came (QA round 40a F3).
   */
  async tryStanding(sql: Sql, t: TryRef): Promise<TryStanding> {
    const [row] = await sql.query<{ state: string; ran: boolean }[]>`
      SELECT state::text AS state, started_at IS NOT NULL AS ran FROM task_instances
      WHERE id = ${t.instanceId}::uuid AND try_number = ${t.tryNumber}::int AND runner_id = ${t.runnerId}`;
    if (row?.state === 'running') return 'ours';
    return row?.state === 'cancelled' && row.ran ? 'cancelled' : 'lost';
  }

  /**
   * The last counts a try's handler gave, written as the try ends without a success (a failure's
   * report and a cancel carry none): the task then shows what its log says, not its last beat's.
   * Only while the instance is still this try's, running or cancelled under it.
   */
  async recordLastProgress(sql: Sql, t: TryRef, progress: { rows?: number; bytes?: number }): Promise<void> {
    if (progress.rows === undefined && progress.bytes === undefined) return;
    await sql.execute`
      UPDATE task_instances
      SET rows = COALESCE(${progress.rows ?? null}::bigint, rows), bytes = COALESCE(${progress.bytes ?? null}::bigint, bytes), updated_at = ${new Date()}
      WHERE id = ${t.instanceId}::uuid AND state IN ('running', 'cancelled') AND try_number = ${t.tryNumber}::int AND runner_id = ${t.runnerId}`;
  }

  /**
   * Records how tries ended and decides what follows, in the caller's transaction (the runner's
   * hot path batches its reports): a success expands mapped tasks (when the task is a map source)
   * and queues ready downstream instances; a retryable failure with tries left becomes
   * up_for_retry and dispatches the next try after the backoff; any other failure fails the
   * instance, which upstream_fails its downstream. The reports' runs are locked together and
   * evaluated together. A success's last task log line ("try N succeeded") is written by the
   * statement that records it (the runner writes the try's own lines before reporting, so this
   * one follows them). Answers `applied` per report, in order — false when the try was no longer
   * running on that runner (the report is then ignored) — and the dispatches of them all.
   */
  async finishTries(sql: Sql, reports: readonly FinishReport[]): Promise<{ applied: boolean[]; dispatches: TaskDispatch[] }> {
    const applied = reports.map(() => false);
    const locked = new Map<string, { run: LockedRun; rows: InstanceRow[] }>();
    for (const run of await this.#lockRuns(sql, reports.map((r) => r.runId))) locked.set(run.id, { run, rows: [] });
    const now = new Date();
    // Every success of the batch is recorded by the statement that then reads the runs' instances.
    // It must not be the locking statement: under READ COMMITTED a statement that waited for a row
    // lock reads every other row from the snapshot it started with, so it would miss what the
    // transaction it waited for wrote (two loads finishing at once would each see the other
    // running, and archive would never be queued). Started under the locks, it sees all of it.
    // The first report of an instance counts. A success is never a lost try: no heartbeat guard.
    const seen = new Set<string>();
    const successes: { index: number; report: FinishReport; output: string | null; rows: number; bytes: number; skipped: boolean }[] = [];
    for (const [index, report] of reports.entries()) {
      const { outcome } = report;
      if (!locked.has(report.runId) || seen.has(report.tryRef.instanceId)) continue;
      seen.add(report.tryRef.instanceId);
      if (outcome.kind !== 'success') continue;
      successes.push({
        index,
        report,
        output: outcome.output === undefined ? null : JSON.stringify(outcome.output),
        rows: outcome.rows,
        bytes: outcome.bytes,
        skipped: outcome.skipped === true,
      });
    }
    const read = await sql.query<(InstanceColumns & { succeeded: boolean })[]>`
      WITH done AS (
        UPDATE task_instances ti
        SET state = (CASE WHEN v.skipped THEN 'skipped' ELSE 'success' END)::"TaskState", ended_at = GREATEST(v.ended_at, ti.started_at), output = v.output::jsonb,
            rows = v.rows, bytes = v.bytes, error = NULL, updated_at = ${now}
        FROM unnest(${successes.map((x) => x.report.tryRef.instanceId)}::uuid[], ${successes.map((x) => x.report.runId)}::uuid[],
                    ${successes.map((x) => x.report.tryRef.tryNumber)}::int[], ${successes.map((x) => x.report.tryRef.runnerId)}::text[],
                    ${successes.map((x) => x.output)}::text[], ${successes.map((x) => String(x.rows))}::bigint[], ${successes.map((x) => String(x.bytes))}::bigint[],
                    ${successes.map((x) => x.skipped)}::boolean[], ${successes.map((x) => x.report.endedAt ?? now)}::timestamptz[])
          AS v(id, run_id, try_number, runner_id, output, rows, bytes, skipped, ended_at)
        WHERE ti.id = v.id AND ti.run_id = v.run_id AND ti.state = 'running' AND ti.try_number = v.try_number AND ti.runner_id = v.runner_id
        RETURNING ti.id, ti.try_number, v.skipped
      ), logged AS (
        INSERT INTO task_logs (task_instance_id, try_number, ts, level, message)
        SELECT id, try_number, ${now}, 'info', 'try ' || try_number || CASE WHEN skipped THEN ' skipped' ELSE ' succeeded' END FROM done
      )
      SELECT i.id, i.run_id, i.task_id, i.map_index, i.state::text AS state, i.try_number, i.max_tries, i.error, i.id IN (SELECT id FROM done) AS succeeded
      FROM task_instances i WHERE i.run_id = ANY(${[...locked.keys()]}::uuid[])`;
    const succeeded = new Set<string>();
    const skipped = new Set(successes.filter((x) => x.skipped).map((x) => x.report.tryRef.instanceId));
    for (const r of read) {
      // The statement reads the rows as they were before its own update.
      if (r.succeeded) succeeded.add(r.id);
      locked.get(r.run_id)?.rows.push(r.succeeded ? { ...instanceRow(r), state: skipped.has(r.id) ? 'skipped' : 'success', error: null } : instanceRow(r));
    }
    await this.#recordWorkDoneAfterCancel(sql, successes.filter((x) => !succeeded.has(x.report.tryRef.instanceId)), now);
    const touched = new Set<string>();
    const expansions: Expansion[] = [];
    for (const x of successes) {
      if (!succeeded.has(x.report.tryRef.instanceId)) continue;
      applied[x.index] = true;
      touched.add(x.report.runId);
      const entry = locked.get(x.report.runId);
      const outcome = x.report.outcome;
      if (!entry || outcome.kind !== 'success') continue;
      const row = entry.rows.find((r) => r.id === x.report.tryRef.instanceId);
      const spec = await this.dags.get(sql, entry.run.dagId);
      if (row && isMapSource(spec, row.taskId) && !x.skipped) expansions.push({ runId: entry.run.id, spec, sourceTaskId: row.taskId, streams: outcome.mappedStreams ?? [], rows: entry.rows });
    }
    if (expansions.length > 0) await this.#expand(sql, expansions);
    const dispatches: TaskDispatch[] = [];
    for (const [index, report] of reports.entries()) {
      const { tryRef: t, outcome } = report;
      if (outcome.kind !== 'failed') continue;
      const entry = locked.get(report.runId);
      const current = entry?.rows.find((i) => i.id === t.instanceId);
      // Cheap pre-check under the run lock; the guarded UPDATE stays the authority.
      if (!entry || !current || current.state !== 'running' || current.tryNumber !== t.tryNumber || succeeded.has(current.id)) continue;
      const spec = await this.dags.get(sql, entry.run.dagId);
      const uncharged = outcome.uncharged === true;
      const retry = uncharged || (outcome.retryable && current.tryNumber < current.maxTries);
      // The backoff counts from the try's end (a report that waited out an outage has waited part of it).
      const endedAt = new Date(Math.min(report.endedAt?.getTime() ?? now.getTime(), now.getTime()));
      const retryAt = retry ? new Date(endedAt.getTime() + (uncharged ? 0 : retryDelayMs(taskSpec(spec, current.taskId), current))) : null;
      const delayMs = retryAt === null ? 0 : Math.max(0, retryAt.getTime() - now.getTime());
      const to: TaskState = retry ? 'up_for_retry' : 'failed';
      const changed = await sql.execute`
        UPDATE task_instances
        SET state = ${to}::text::"TaskState", ended_at = GREATEST(${endedAt}::timestamptz, started_at), error = ${outcome.error}, clearable = ${retry || outcome.clearable !== false}::boolean,
            next_retry_at = ${retryAt}::timestamptz, max_tries = max_tries + ${uncharged ? 1 : 0}::int, try_uncharged = ${uncharged}::boolean, updated_at = ${now}
        WHERE id = ${current.id}::uuid AND run_id = ${entry.run.id}::uuid AND state = 'running'
          AND try_number = ${t.tryNumber}::int AND runner_id = ${t.runnerId}
          AND (${report.heartbeatBefore ?? null}::timestamptz IS NULL OR heartbeat_at < ${report.heartbeatBefore ?? null}::timestamptz)`;
      if (changed === 0) continue;
      current.state = to;
      if (retry) {
        dispatches.push({ instanceId: current.id, runId: entry.run.id, taskId: current.taskId, mapIndex: current.mapIndex, tryNumber: current.tryNumber + 1, delayMs });
      } else {
        current.error = outcome.error;
      }
      applied[index] = true;
      touched.add(entry.run.id);
    }
    const targets = [...touched].flatMap((runId) => {
      const entry = locked.get(runId);
      return entry ? [{ run: entry.run, rows: entry.rows }] : [];
    });
    return { applied, dispatches: [...dispatches, ...(await this.#evaluateRuns(sql, targets))] };
  }

  /**
   * A try that finished its work although its run was cancelled meanwhile (a load past its commit
   * when the cancel came): its cancelled instance keeps its state, and gets the try's rows, bytes
   * and an error that says the work was done, so that the run's view does not show it as doing
   * nothing. Guarded on the try as a success is; rare, so one statement only when there is one.
   */
  async #recordWorkDoneAfterCancel(sql: Sql, late: readonly { report: FinishReport; rows: number; bytes: number }[], now: Date): Promise<void> {
    if (late.length === 0) return;
    const note = 'run cancelled after this try had done its work (see its log)';
    await sql.execute`
      WITH noted AS (
        UPDATE task_instances ti SET rows = v.rows, bytes = v.bytes, error = ${note}, updated_at = ${now}
        FROM unnest(${late.map((x) => x.report.tryRef.instanceId)}::uuid[], ${late.map((x) => x.report.tryRef.tryNumber)}::int[],
                    ${late.map((x) => x.report.tryRef.runnerId)}::text[], ${late.map((x) => String(x.rows))}::bigint[], ${late.map((x) => String(x.bytes))}::bigint[])
          AS v(id, try_number, runner_id, rows, bytes)
        WHERE ti.id = v.id AND ti.state = 'cancelled' AND ti.try_number = v.try_number AND ti.runner_id = v.runner_id
        RETURNING ti.id, ti.try_number
      )
      INSERT INTO task_logs (task_instance_id, try_number, ts, level, message)
      SELECT id, try_number, ${now}, 'warn', 'try ' || try_number || ' finished its work after the run was cancelled; the task stays cancelled' FROM noted`;
  }

  /**
   * Creates (or, after a clear, re-labels) the mapped instances of the given runs and skips
   * scheduled ones whose stream is gone, in one statement; each run's `rows` (read under its
   * lock) are brought up to date.
   */
  async #expand(sql: Sql, expansions: readonly Expansion[]): Promise<void> {
    const wanted = expansions.flatMap((e) =>
      expandMapped(e.spec, e.sourceTaskId, e.streams).map((w) => ({ ...w, runId: e.runId, task: taskSpec(e.spec, w.taskId) })),
    );
    // The tasks mapped from each source: their scheduled instances that are not wanted are skipped.
    const scope = expansions.flatMap((e) =>
      e.spec.tasks.filter((t) => t.isMapped && mapSourceOf(e.spec, t.taskId) === e.sourceTaskId).map((t) => ({ runId: e.runId, taskId: t.taskId })),
    );
    const now = new Date();
    const changed = await sql.query<InstanceColumns[]>`
      WITH wanted AS (
        SELECT * FROM unnest(${wanted.map((w) => w.runId)}::uuid[], ${wanted.map((w) => w.taskId)}::text[], ${wanted.map((w) => w.mapIndex)}::int[],
                             ${wanted.map((w) => w.stream)}::text[], ${wanted.map((w) => w.task.taskType)}::text[], ${wanted.map((w) => w.task.retries + 1)}::int[])
          AS w(run_id, task_id, map_index, stream, task_type, max_tries)
      ), scope AS (
        SELECT * FROM unnest(${scope.map((x) => x.runId)}::uuid[], ${scope.map((x) => x.taskId)}::text[]) AS s(run_id, task_id)
      ), upserted AS (
        INSERT INTO task_instances (id, run_id, task_id, map_index, stream, task_type, state, max_tries, updated_at)
        SELECT gen_random_uuid(), w.run_id, w.task_id, w.map_index, w.stream, w.task_type::"TaskType", 'scheduled', w.max_tries, ${now}
        FROM wanted w
        ON CONFLICT (run_id, task_id, map_index) DO UPDATE SET stream = EXCLUDED.stream, updated_at = EXCLUDED.updated_at
        RETURNING id, run_id, task_id, map_index, state::text AS state, try_number, max_tries, error
      ), gone AS (
        UPDATE task_instances ti SET state = 'skipped', ended_at = ${now}, updated_at = ${now}
        FROM scope s
        WHERE ti.run_id = s.run_id AND ti.task_id = s.task_id AND ti.state = 'scheduled'
          AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.run_id = ti.run_id AND w.task_id = ti.task_id AND w.map_index = ti.map_index)
        RETURNING ti.id, ti.run_id, ti.task_id, ti.map_index, ti.state::text AS state, ti.try_number, ti.max_tries, ti.error
      )
      SELECT * FROM upserted UNION ALL SELECT * FROM gone`;
    for (const c of changed) {
      const rows = expansions.find((e) => e.runId === c.run_id)?.rows;
      if (!rows) continue;
      const row = instanceRow(c);
      const at = rows.findIndex((r) => r.id === row.id);
      if (at >= 0) rows[at] = row;
      else rows.push(row);
    }
  }

  // ─── recovery ────────────────────────────────────────────────────────────────────────────

  /**
   * A running try whose runner stopped heart-beating before `staleBefore` is declared lost:
   * it fails as a retryable failure (retried if tries are left). Guarded on the heartbeat, so
   * a runner that beat in the meantime keeps its try.
   */
  async failLostTry(sql: Sql, input: { instanceId: string; staleBefore: Date }): Promise<{ applied: boolean; dispatches: TaskDispatch[] }> {
    // Its end: the last sign of it, its last beat or its last log line, whichever came later (QA
    // round 35b F4: a try that logged its commit after its last beat showed it ended before that).
    const found = await sql.query<{ run_id: string; try_number: number; runner_id: string | null; heartbeat_at: Date | null; last_seen_at: Date | null }[]>`
      SELECT run_id, try_number, runner_id, heartbeat_at,
             GREATEST(heartbeat_at, (SELECT max(l.ts) FROM task_logs l WHERE l.task_instance_id = ti.id AND l.try_number = ti.try_number)) AS last_seen_at
      FROM task_instances ti WHERE id = ${input.instanceId}::uuid`;
    const inst = found[0];
    if (!inst || inst.runner_id === null) return { applied: false, dispatches: [] };
    const { applied, dispatches } = await this.finishTries(sql, [
      {
        runId: inst.run_id,
        tryRef: { instanceId: input.instanceId, tryNumber: inst.try_number, runnerId: inst.runner_id },
        heartbeatBefore: input.staleBefore,
        ...(inst.last_seen_at === null ? {} : { endedAt: inst.last_seen_at }),
        outcome: {
          kind: 'failed',
          retryable: true,
          error: lostTryError(inst.runner_id, inst.heartbeat_at),
        },
      },
    ]);
    return { applied: applied[0] ?? false, dispatches };
  }

  // ─── history ─────────────────────────────────────────────────────────────────────────────

  /**
   * Deletes finished runs that ended before `endedBefore`, oldest first, at most `limit`: each
   * run with its task instances and their tries' log lines (run-history retention; the runner's
   * `removeExpiredRunHistory` holds the policy). Kept whatever their age: each job's latest run of
   * each type (a schedule's catch-up and a manual run's logical date count from it); a run whose
   * files the retention sweep has not removed, unless the policy keeps that kind of file for ever
   * (`archiveKept` for a success's archive, `stagingKept` for a failed or cancelled run's
   * staging), since the sweep finds them by the run's row; and a run with a load's stream state
   * still pending (ADR 0025). The rows are locked SKIP LOCKED, and under the lock a run cleared
   * meanwhile (its end reset) is not taken. A deleted run whose files were kept is written to
   * `kept_run_files`, where the files sweep finds them. Answers how many runs were deleted.
   */
  static async deleteEndedRuns(sql: Sql, input: { endedBefore: Date; archiveKept: boolean; stagingKept: boolean; limit: number }): Promise<number> {
    // Log lines have no foreign key to their instances (migration 20261129070000: its check locked
    // the instance's row for every line written): deleted here with them.
    return sql.execute`
      WITH gone AS (
        SELECT d.id FROM dag_runs d
        WHERE d.state IN ('success', 'failed', 'cancelled') AND d.ended_at < ${input.endedBefore}::timestamptz
          AND EXISTS (SELECT 1 FROM dag_runs n WHERE n.job_id = d.job_id AND n.run_type = d.run_type AND n.logical_date > d.logical_date)
          AND (EXISTS (SELECT 1 FROM run_file_removals r WHERE r.run_id = d.id AND r.removed_at >= d.ended_at)
            OR (d.state = 'success' AND ${input.archiveKept}::boolean)
            OR (d.state <> 'success' AND ${input.stagingKept}::boolean))
          AND NOT EXISTS (SELECT 1 FROM pending_stream_states p WHERE p.run_id = d.id)
        ORDER BY d.ended_at LIMIT ${input.limit}::int
        FOR UPDATE OF d SKIP LOCKED),
      lines AS (
        DELETE FROM task_logs l USING task_instances ti
        WHERE ti.run_id IN (SELECT id FROM gone) AND l.task_instance_id = ti.id),
      -- Files the policy keeps (kept for ever when the run went) outlive its row: the files sweep
      -- finds them here should the policy change (QA round 42a F2: nothing could reach them).
      kept AS (
        INSERT INTO kept_run_files (run_id, job_id, state, ended_at)
        SELECT d.id, d.job_id, d.state, d.ended_at FROM dag_runs d
        WHERE d.id IN (SELECT id FROM gone)
          AND NOT EXISTS (SELECT 1 FROM run_file_removals r WHERE r.run_id = d.id AND r.removed_at >= d.ended_at)
        ON CONFLICT (run_id) DO UPDATE SET job_id = EXCLUDED.job_id, state = EXCLUDED.state, ended_at = EXCLUDED.ended_at)
      DELETE FROM dag_runs WHERE id IN (SELECT id FROM gone)`;
  }
}
