import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, SluiceError, UnclearableTaskError } from '@sluice/core';
import { isMapSource, type TaskType } from '@sluice/core/dag';
import { errorSummary, isDatabaseWaitable, type DagCache, type PrismaClient, type Sql } from '@sluice/db';
import { FailureStreak, type Logger } from '@sluice/logging';
import type { FinishReport, JobPayload, StateStore, TryOutcome, TryRef, TryStanding } from '@sluice/engine';
import type { TaskContext, TaskHandlers } from './task-handler.ts';
import type { TaskLogWriter, TryLog } from './task-log-sink.ts';
import { readUpstreamOutput } from './read-upstream-output.ts';
import { taskResultSchema } from './task-result.ts';
import type { FinishResult, TryBatches } from './try-batches.ts';
import type { RunningTries } from './running-tries.ts';

/** How long a finished try's outcome waits for PostgreSQL to come back before the try is given up (recovery then retries it). */
const REPORT_PATIENCE_MS = 10 * 60_000;

/**
 * How long a stopped try's handler is waited for (handlers stop soon after their signal: a
 * connector gets its kill grace). Until it has, its slot stays taken and its retry is not
 * reported, so the work of one try never goes on beside the next.
 */
const STOP_GRACE_MS = 30_000;

/**
 * The same wait for a try given up by its runner's graceful stop, shorter: the stop itself has a
 * budget (the runner's stop wait, then the process's), and a try recorded before it runs out is
 * retried at once and uncharged. A handler stuck past it (a request to an object store that hangs,
 * QA round 56a F1: the stop ran out first, and the try was charged as lost 70 s later) ends with
 * its process, moments after its retry is queued.
 */
const STOPPING_GRACE_MS = 5_000;

/**
 * Why a try's signal was aborted. `shutdown`: the runner stopped while Redis was away, so it could
 * not finish the try's job; the try stays running in PostgreSQL and recovery retries it once its
 * heartbeat is stale. `stopping`: the runner is stopping and the try did not finish in the time it
 * was given; it is recorded as failed (retryable), so that it is retried at once.
 */
export type AbortReason = 'cancelled' | 'timeout' | 'lost' | 'shutdown' | 'stopping';

export interface TryRunnerDeps {
  prisma: PrismaClient;
  /** Plain SQL on the same pool, for the per-try statements. */
  sql: Sql;
  store: StateStore;
  dags: DagCache;
  batches: TryBatches;
  taskLogs: TaskLogWriter;
  handlers: TaskHandlers;
  logger: Logger;
  runnerId: string;
  heartbeatMs: number;
  /** Registry of running tries, so a cancel announcement and the runner's stop can reach them. */
  active: RunningTries;
}

class TryAborted extends Error {
  constructor(readonly reason: AbortReason) {
    super(`try aborted: ${reason}`);
  }
}

/** The result with its output as JSON would store it (undefined members dropped, dates as strings). */
function toJsonResult(raw: unknown): unknown {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || !('output' in raw) || raw.output === undefined) return raw;
  try {
    return { ...raw, output: JSON.parse(JSON.stringify(raw.output)) as unknown };
  } catch (err) {
    return { ...raw, output: Symbol(`not JSON: ${errorMessage(err)}`) };
  }
}

/**
 * Failures a retry cannot fix: a Sluice error says so itself (`retryable`: false unless the class
 * says otherwise — an incompatible schema, a bad config, a missing key); any other error (a
 * connector's crash, a socket, a driver) is retried.
 */
function isPermanent(err: unknown): boolean {
  return err instanceof SluiceError && !err.retryable;
}

/**
 * Runs one `task.run` job: claims the try in PostgreSQL (a duplicate or stale delivery claims
 * nothing and returns), runs the handler with heartbeat, timeout and cancellation, records the
 * outcome through the state store and enqueues what became ready — at once, in this process.
 */
export async function runTaskTry(deps: TryRunnerDeps, payload: JobPayload<'task.run'>): Promise<void> {
  const tryRef: TryRef = { instanceId: payload.instanceId, tryNumber: payload.tryNumber, runnerId: deps.runnerId };
  // The run (kept after its first try here) is read beside the claim, not after it. The claim
  // brings the run's succeeded outputs. Both are batched with other tries'.
  const [claimed, run] = await Promise.all([deps.batches.claim(tryRef), deps.batches.run(payload.runId)]);
  if (!claimed || !run) return;
  const spec = await deps.dags.get(deps.sql, run.dagId);
  const taskSpec = spec.tasks.find((t) => t.taskId === claimed.taskId);
  const timeoutMs = taskSpec?.timeoutMs ?? 60_000;
  const fields = { jobId: run.job.id, runId: run.id, taskId: claimed.taskId, stream: claimed.stream, try: claimed.tryNumber };
  // The try's first line ("try N of M started on runner …") was written by its claim.
  const log = deps.taskLogs.forTry({ instanceId: claimed.id, tryNumber: claimed.tryNumber }, fields);
  if (deps.logger.isLevelEnabled('info')) deps.logger.info('try started', { ...fields, maxTries: claimed.maxTries });

  const controller = new AbortController();
  let abortReason: AbortReason | null = null;
  let rejectAborted: (e: TryAborted) => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    rejectAborted = reject;
  });
  aborted.catch(() => undefined);
  const abort = (reason: AbortReason): void => {
    if (abortReason) return;
    abortReason = reason;
    // Said when it happens: what the handler then logs while it stops ("cancelled and stopped") says only that it was told to.
    // A cancel is said by the engine as it cancels the try (its runner may be gone), and is no
    // warning (QA round 35c F7: three warnings for one cancel).
    if (reason === 'timeout') log.warn(`try ${claimed.tryNumber} timed out after ${timeoutMs} ms (the task's timeout_ms): stopping it`);
    controller.abort(new TryAborted(reason));
    rejectAborted(new TryAborted(reason));
  };
  deps.active.add(claimed.id, { runId: run.id, abort });

  const progress: { rows?: number; bytes?: number } = {};
  // Failing heartbeats (PostgreSQL away) are said in the try's log once, and once when they work
  // again, not every beat; the process says the outage once for all its tries (task-log-sink.ts).
  const beats = new FailureStreak(
    (err) => log.quiet('warn', 'heartbeat failed; trying again every beat', { err: errorMessage(err) }),
    () => log.quiet('info', 'heartbeats work again'),
  );
  const beat = setInterval(() => {
    deps.store
      .heartbeat(deps.sql, tryRef, progress)
      .then((standing) => {
        beats.succeeded();
        if (standing !== 'ours') abort(standing);
      })
      .catch((err: unknown) => beats.failed(err));
  }, deps.heartbeatMs);
  const timeout = setTimeout(() => abort('timeout'), timeoutMs);

  // The wait is said in the try's log; the process log says an outage once for all tries (the task
  // log writer's line), not once per try (QA round 56a F6: a line per extract for its DataHub metadata).
  const whenReachable = <T>(what: string, write: () => Promise<T>): Promise<T> =>
    retryWhileUnreachable(write, { signal: controller.signal, onWait: () => log.quiet('warn', `PostgreSQL is unreachable: ${what} waits for it (at most ${REPORT_PATIENCE_MS / 60_000} min)`) });
  const ctx: TaskContext = {
    job: run.job,
    run: { id: run.id, logicalDate: run.logicalDate, runType: run.runType },
    task: {
      instanceId: claimed.id,
      taskId: claimed.taskId,
      taskType: claimed.taskType as TaskType,
      stream: claimed.stream,
      mapIndex: claimed.mapIndex,
      tryNumber: claimed.tryNumber,
      maxTries: claimed.maxTries,
    },
    upstream: (taskId, stream) => readUpstreamOutput(deps.sql, { runId: run.id, taskId, stream: stream ?? claimed.stream }),
    signal: controller.signal,
    log,
    progress(p) {
      if (p.rows !== undefined) progress.rows = p.rows;
      if (p.bytes !== undefined) progress.bytes = p.bytes;
    },
    async warnRun(message) {
      log.warn(message);
      await whenReachable("the run's warning", () => deps.store.addRunWarning(deps.sql, run.id, message));
    },
    whenReachable,
    async stillCurrent() {
      if (abortReason === 'lost' || abortReason === 'cancelled') return false;
      let standing: TryStanding;
      try {
        standing = await deps.store.heartbeat(deps.sql, tryRef, progress);
      } catch {
        return true; // PostgreSQL cannot tell: the heartbeat decides later
      }
      if (standing !== 'ours') abort(standing);
      return standing === 'ours';
    },
    prisma: deps.prisma,
  };

  const outcomeOf = (raw: unknown): TryOutcome => {
    const parsed = taskResultSchema.safeParse(toJsonResult(raw));
    if (!parsed.success) {
      return { kind: 'failed', retryable: false, error: `the ${claimed.taskType} handler returned an invalid result: ${parsed.error.message}` };
    }
    if (isMapSource(spec, claimed.taskId) && (parsed.data.mappedStreams === undefined || parsed.data.skipped === true)) {
      return { kind: 'failed', retryable: false, error: `task ${claimed.taskId} expands mapped tasks and must report mappedStreams (it cannot skip)` };
    }
    return {
      kind: 'success',
      output: parsed.data.output,
      rows: parsed.data.rows ?? progress.rows ?? 0,
      bytes: parsed.data.bytes ?? progress.bytes ?? 0,
      mappedStreams: parsed.data.mappedStreams,
      ...(parsed.data.skipped === true ? { skipped: true } : {}),
    };
  };
  let outcome: TryOutcome | null;
  /** How a try told to stop ended: why it was told, unless PostgreSQL says otherwise (below). */
  let stoppedAs: AbortReason | null = null;
  const handler = deps.handlers[claimed.taskType as TaskType];
  const running = handler(ctx);
  try {
    outcome = outcomeOf(await Promise.race([running, aborted]));
  } catch (err) {
    const reason: AbortReason | null = err instanceof TryAborted ? err.reason : abortReason;
    stoppedAs = reason;
    // Told to stop: wait for the handler to, so that its work does not go on unseen.
    const grace = reason === 'stopping' ? STOPPING_GRACE_MS : STOP_GRACE_MS;
    const ended = reason === null ? null : await settledWithin(running, grace);
    if (ended === 'still running') log.warn(`try ${claimed.tryNumber}'s handler did not stop within ${grace / 1000} s of being told to (${reason ?? ''}); its slot is given back`);
    switch (reason) {
      case 'timeout':
        outcome = { kind: 'failed', retryable: true, error: `timed out after ${timeoutMs} ms` };
        break;
      case 'cancelled':
        // Told by Redis (or by a beat): a try of this runner that froze may have been declared lost
        // before the cancel came, which PostgreSQL tells (QA round 40a F3); when it cannot, the
        // cancel stands.
        if ((await deps.store.tryStanding(deps.sql, tryRef).catch(() => 'cancelled' as const)) === 'lost') {
          stoppedAs = 'lost';
          outcome = null;
          break;
        }
        // A handler past the point of no return (a load that had committed) finishes its work:
        // that is reported, so the cancelled instance shows what was done.
        outcome = ended !== null && ended !== 'still running' && ended.ok ? outcomeOf(ended.value) : null;
        if (outcome?.kind !== 'success') outcome = null;
        break;
      case 'stopping':
        outcome = { kind: 'failed', retryable: true, uncharged: true, error: `runner ${deps.runnerId} stopped before the try finished` };
        break;
      case 'lost':
      case 'shutdown':
        // The instance is no longer this try's (retried elsewhere), or this runner gives it up
        // (shutdown): nothing to record.
        outcome = null;
        break;
      case null:
        outcome = { kind: 'failed', retryable: !isPermanent(err), error: errorSummary(err), ...(err instanceof UnclearableTaskError ? { clearable: false } : {}) };
        break;
    }
  } finally {
    clearInterval(beat);
    clearTimeout(timeout);
    deps.active.delete(claimed.id);
  }
  // The try's end, recorded as such however long its report waits for PostgreSQL.
  const endedAt = new Date();

  if (!outcome) {
    log.log(
      stoppedAs === 'cancelled' ? 'info' : 'warn',
      stoppedAs === 'lost'
        ? `try ${claimed.tryNumber} stopped: it had been declared lost (no heartbeat for too long), so nothing of it is recorded`
        : `try ${claimed.tryNumber} stopped: ${stoppedAs ?? 'aborted'}`,
    );
  } else if (outcome.kind === 'failed') {
    const of = `try ${claimed.tryNumber} of ${claimed.maxTries}`;
    // A try a retry follows is a warning; the task's failure is the error, and says why no try
    // follows (QA round 33c F7: every retried try was an error line, and the last read as the others).
    if (outcome.uncharged) log.warn(`${of} ended unfinished, and is retried at once; it does not count against the task's tries: ${outcome.error}`);
    else if (outcome.retryable && claimed.tryNumber < claimed.maxTries) log.warn(`${of} failed, and is retried: ${outcome.error}`);
    else log.error(`${of} failed${outcome.retryable ? ', the last' : ' (not retried: a retry cannot fix this)'}: ${outcome.error}`);
  }
  // This try's lines are written before its outcome is recorded, so that the line the success's
  // statement writes ("try N succeeded") follows them. A try that logged nothing waits for nothing.
  await log.flush();
  if (outcome?.kind === 'failed' || (outcome === null && stoppedAs === 'cancelled')) {
    await deps.store.recordLastProgress(deps.sql, tryRef, progress).catch((err: unknown) => deps.logger.warn("a try's last counts were not recorded", { ...fields, err: errorMessage(err) }));
  }
  if (!outcome) return;
  const result = await finishWhenReachable(deps, { runId: run.id, tryRef, outcome, endedAt }, log);
  if ('failed' in result) throw result.failed;
  if (!result.applied) deps.logger.info('try outcome not applied: the instance changed meanwhile (cancelled or presumed lost)', fields);
  else if (outcome.kind === 'success' && deps.logger.isLevelEnabled('info')) deps.logger.info('try succeeded', fields);
}

/** The promise's settlement, or 'still running' when it takes longer than `ms`. */
async function settledWithin<T>(p: Promise<T>, ms: number): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | 'still running'> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      p.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      sleep(ms, 'still running' as const, { signal: timer.signal }),
    ]);
  } finally {
    timer.abort();
  }
}

/**
 * Runs `write` until it does not fail for PostgreSQL being unreachable, waiting between attempts
 * (250 ms doubling to 2 s), for at most REPORT_PATIENCE_MS or until `signal` aborts; any other
 * failure, or the last one, is thrown. `onWait` is called once, when the first attempt fails so.
 */
async function retryWhileUnreachable<T>(write: () => Promise<T>, o: { signal: AbortSignal; onWait: () => void }): Promise<T> {
  const deadline = Date.now() + REPORT_PATIENCE_MS;
  let wait = 250;
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!isDatabaseWaitable(err) || Date.now() + wait > deadline || o.signal.aborted) throw err;
      if (attempt === 0) o.onWait();
    }
    await sleep(wait, undefined, { signal: o.signal });
    wait = Math.min(wait * 2, 2_000);
  }
}

/**
 * Records a try's outcome; when PostgreSQL is unreachable, waits for it (at most
 * REPORT_PATIENCE_MS), heart-beating, so that an outage under a finished try costs the wait, not
 * the try's work: without it the try would stay running, be declared lost and be done again. The
 * try's lines kept meanwhile are written before its outcome.
 */
async function finishWhenReachable(deps: TryRunnerDeps, report: FinishReport, log: TryLog): Promise<FinishResult> {
  let beat: NodeJS.Timeout | undefined;
  let attempt = 0;
  try {
    return await retryWhileUnreachable(
      async () => {
        // Lines the try logged while PostgreSQL was away go before its outcome.
        if (attempt++ > 0) await log.flush();
        const result = await deps.batches.finish(report);
        if ('failed' in result) throw result.failed;
        return result;
      },
      {
        // The outcome of a try is recorded whatever its own signal says (a cancel that came as it ended).
        signal: new AbortController().signal,
        onWait: () => {
          log.quiet('warn', `PostgreSQL is unreachable: the outcome of try ${report.tryRef.tryNumber} waits for it (at most ${REPORT_PATIENCE_MS / 60_000} min)`);
          beat = setInterval(() => {
            deps.store.heartbeat(deps.sql, report.tryRef).catch(() => undefined);
          }, deps.heartbeatMs);
        },
      },
    );
  } catch (err) {
    return { failed: err };
  } finally {
    clearInterval(beat);
  }
}
