import { Fragment, useEffect, useRef, useState, type ReactNode } from 'react';
import { ingestionDag, TASK_TYPES } from '@sluice/core/dag';
import { queuedRunWait, runnerWait, UNSUCCESSFUL_TASK_STATES } from '@sluice/core/states';
import type { Run } from '../api/types.ts';
import { useLive } from '../api/live.ts';
import { useRetryRead } from '../api/retry-read.ts';
import { useApp } from '../app-context.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { taskLogPath } from '../components/dag-graph.tsx';
import { LiveIndicator } from '../components/live-indicator.tsx';
import { ActionButton, ActionStatus, ChangeAnnouncer, useActionError, Crumbs, NotFound, RedisWarning, useDocumentTitle, useKeepFocus } from '../components/page-parts.tsx';
import { StateBadge } from '../components/state-mark.tsx';
import { Timeline } from '../components/timeline.tsx';
import { elapsed, formatBytes, formatCount, formatDate, formatDuration, formatLogicalDate, shortId, taskName } from '../lib/format.ts';
import { stateLabel } from '../lib/states.ts';
import { useClock } from '../lib/use-clock.ts';
import { tablesWritten } from '../lib/tables-written.ts';
import { Link } from '../router.tsx';
import type { LiveRedis, LiveRun, LiveTask } from '../shared/events.ts';

/** A run's detail: states, a timeline, counts per stream, errors, tables written; live. */
export function RunPage({ runId }: { runId: string }): ReactNode {
  const { api, auth } = useApp();
  const [base, setBase] = useState<Run | null>(null);
  const [run, setRun] = useState<LiveRun | null>(null);
  const [redis, setRedis] = useState<LiveRedis | null>(null);
  /** What the last action made, said once it is made. */
  const [notice, setNotice] = useState<string | null>(null);
  /** The run's read failed (PostgreSQL away when the page opened): said until a read again succeeds. */
  const [readError, setReadError] = useState<string | null>(null);
  const { attempt, retryLater } = useRetryRead();
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const rememberFocus = useKeepFocus(busy);
  const [confirmCancel, setConfirmCancel] = useState(false);
  /** The failed or cancelled task whose clear waits for a confirmation. */
  const [confirmClear, setConfirmClear] = useState<LiveTask | null>(null);
  const [rate, setRate] = useState<number | null>(null);
  // The counts of the last push, and when it came; `snapshot`: the one sent on connecting, whose
  // counts date from the last heartbeat before it, not from its arrival (a rate from it runs high).
  const previous = useRef<{ rows: number; at: number; snapshot: boolean } | null>(null);

  // A read that failed is made again a while later, until one succeeds, and its error then goes
  // (QA round 29: the page filled in from the live feed under "PostgreSQL is unreachable" for good).
  useEffect(() => {
    api
      .get<Run>(`/api/runs/${encodeURIComponent(runId)}`)
      .then((r) => {
        setBase(r);
        setReadError(null);
      })
      .catch((err: unknown) => {
        if (err instanceof Error && 'status' in err && (err as { status: number }).status === 404) setMissing(true);
        else {
          setReadError(err instanceof Error ? err.message : String(err));
          retryLater();
        }
      });
  }, [api, runId, attempt, retryLater]);

  const status = useLive(auth, missing ? null : { run_id: runId }, {
    run: ({ run: r }) => {
      const rows = r.tasks.reduce((s, t) => s + t.rows, 0);
      // Pushes come only when something changed: rates are measured between them, in this browser's time.
      const at = Date.now();
      const prev = previous.current;
      // A try that starts again counts its rows from 0 (QA round 29: "Rows/s -1"): measured from there.
      const restarted = prev !== null && rows < prev.rows;
      if (prev !== null && !prev.snapshot && !restarted && at > prev.at && r.state === 'running') setRate(((rows - prev.rows) * 1000) / (at - prev.at));
      if (r.state !== 'running') setRate(null);
      // Rows move in a heartbeat's steps: the first push measured from is the first that moved them.
      previous.current = { rows, at, snapshot: prev === null || restarted || (prev.snapshot && rows === prev.rows) };
      setRun(r);
    },
    redis: setRedis,
    gone: () => setMissing(true),
  });
  const { error, fail, clear: clearError } = useActionError(status);

  const state = run?.state ?? base?.state ?? null;
  const running = state === 'running';
  const now = useClock(running);
  // When the feed could read states again after it could not (PostgreSQL away): 0 until then.
  const [readSince, setReadSince] = useState(0);
  const wasStale = useRef(false);
  useEffect(() => {
    // A feed that could not read states: stale, or a connection refused (a page opened while PostgreSQL was away; QA round 30).
    if (status === 'stale' || status === 'reconnecting') wasStale.current = true;
    else if (status === 'live' && wasStale.current) {
      wasStale.current = false;
      setReadSince(Date.now());
    }
  }, [status]);

  useDocumentTitle(`Run ${shortId(runId)}`, run?.job_name);
  if (missing) return <NotFound what="run" id={runId} />;

  // The task a clear dialog is open for, as the run says it is now: another viewer's clear, or the
  // run's cancel, may have taken its clear away meanwhile (QA round 50b O8: the dialog stayed as it
  // was, and only its confirm said why). Not while the clear is under way: it changes the task.
  const clearNow = confirmClear === null ? undefined : run?.tasks.find((t) => t.task_id === confirmClear.task_id && t.map_index === confirmClear.map_index);
  const clearRefused =
    confirmClear === null || busy || run === null
      ? null
      : clearNow === undefined
        ? 'This task is no longer in the run.'
        : (whyNoClear(clearNow, run) ?? ranAgainSince(confirmClear, clearNow));

  /** Posts an action; `done` is said (read out politely) once it is made (QA round 30: nothing was). */
  /** Runs a confirmed action; `close` closes its dialog once it has ended, before the controls take clicks again. */
  const act = async (what: string, path: string, done: string, close: () => void): Promise<void> => {
    rememberFocus();
    setBusy(true);
    clearError();
    setNotice(null);
    try {
      await api.request('POST', path, {});
      setNotice(done);
    } catch (err) {
      fail(what, err);
    } finally {
      close();
      setBusy(false);
    }
  };

  const tasks: LiveTask[] = inDagOrder(run?.tasks ?? (base?.tasks ?? []).map((t) => ({ ...t, output: null, heartbeat_at: null, clear_instead: null, clear_repeats: null, clear_outputs_gone: null })));
  // A run under way whose extract has not handed over its streams yet has no per-stream task.
  const perStreamToCome = (state === 'running' || state === 'queued') && !tasks.some((t) => t.map_index >= 0) && tasks.some((t) => t.task_type === 'extract' && t.state !== 'success');
  const rowsOf = (type: string): number => tasks.filter((t) => t.task_type === type).reduce((s, t) => s + t.rows, 0);
  const rowsRead = rowsOf('extract');
  const rowsLoaded = rowsOf('load');
  const totalRows = tasks.reduce((s, t) => s + t.rows, 0);
  // The live run's times once it has come, null ones too: a clear restarts a run, which has no
  // start and no end while it waits (QA round 36b: the page kept the times it first read, and
  // showed an end before the new start).
  const startedAt = run !== null ? run.started_at : (base?.started_at ?? null);
  const endedAt = run !== null ? run.ended_at : (base?.ended_at ?? null);
  const duration = elapsed(startedAt, endedAt, now);
  // A running run whose tasks no runner has taken for a while says why it makes no progress (QA round 48b D1).
  const runnerWaitSaid = state === 'running' && !run?.state_message ? runnerWait(tasks, now) : null;
  // A run a clear restarted starts again then (as Airflow's does), while the tasks the clear left
  // keep their times: the page says so. The rate counts from the first task's start: not the time
  // the run waited for a runner (QA round 36b), nor a restart's.
  const taskStarts = tasks.flatMap((t) => (t.started_at === null ? [] : [Date.parse(t.started_at)]));
  const firstStart = taskStarts.length > 0 ? Math.min(...taskStarts) : null;
  // A try started before the run's start was one before a clear: the tries a clear reset count too
  // (QA round 40a F6: a cleared extract, whose first try only its earlier tries keep, left no word).
  const everStarts = tasks.flatMap((t) => t.earlier_tries.map((e) => Date.parse(e.started_at)));
  const firstEver = Math.min(...everStarts, ...taskStarts);
  const rerunFirst = startedAt !== null && Number.isFinite(firstEver) && firstEver < Date.parse(startedAt) ? firstEver : null;
  const span = firstStart !== null ? elapsed(new Date(firstStart).toISOString(), endedAt, now) : duration;
  const avgRate = span !== null && span > 0 ? (totalRows * 1000) / span : null;
  const failed = tasks.filter((t) => t.error !== null && t.error !== '');
  const streams = new Map<string, { rows: number; bytes: number }>();
  for (const t of tasks) {
    if (t.stream === null) continue;
    const s = streams.get(t.stream) ?? { rows: 0, bytes: 0 };
    streams.set(t.stream, { rows: Math.max(s.rows, t.rows), bytes: Math.max(s.bytes, t.bytes) });
  }
  const tables = tasks.flatMap((t) => tablesWritten(t.output, taskName(t)));
  const jobId = run?.job_id ?? base?.job_id;

  return (
    <main id="main" tabIndex={-1}>
      <Crumbs
        trail={[{ label: 'Jobs', to: '/jobs' }, jobId ? { label: run?.job_name ?? `job ${shortId(jobId)}`, to: `/jobs/${jobId}` } : null, { label: `run ${shortId(runId)}` }]}
      />
      <div className="page-head">
        <h1 tabIndex={-1}>Run {shortId(runId)}</h1>
        {state !== null ? <StateBadge state={state} /> : null}
        <ChangeAnnouncer value={state} say={(s) => `Run ${shortId(runId)} is ${stateLabel(s)}.`} />
        <LiveIndicator status={status} />
      </div>
      <RedisWarning redis={redis} />
      <dl className="facts">
        <div><dt>Type</dt><dd>{run?.run_type ?? base?.run_type ?? '—'}</dd></div>
        <div>
          <dt>Logical date</dt>
          <dd>
            {formatLogicalDate(run?.logical_date ?? base?.logical_date)}
            {base?.missed_fires ? (
              // A fire that made no run is no row of any list: the run made after them says so (QA round 41a F3).
              <div className="muted small" data-testid="missed-fires">
                {missedFiresNote(base.missed_fires)}
              </div>
            ) : null}
          </dd>
        </div>
        <div><dt>Started</dt><dd data-testid="run-started">{formatDate(startedAt)}</dd></div>
        <div><dt>Ended</dt><dd>{formatDate(endedAt)}</dd></div>
        <div>
          <dt>Duration</dt>
          <dd>
            {formatDuration(duration)}
            {rerunFirst !== null ? (
              <span className="muted small" data-testid="run-rerun">{` since a clear re-ran it; its first task started ${formatDate(new Date(rerunFirst).toISOString())}`}</span>
            ) : null}
          </dd>
        </div>
        {base?.files_removed_at ? (
          <div>
            <dt>Files</dt>
            <dd data-testid="files-removed">removed by the retention sweep {formatDate(base.files_removed_at)}</dd>
          </div>
        ) : null}
        <div><dt>Rows read</dt><dd data-testid="rows-read">{formatCount(rowsRead)}</dd></div>
        <div><dt>Rows loaded</dt><dd data-testid="rows-loaded">{formatCount(rowsLoaded)}</dd></div>
        {running ? (
          <div>
            <dt title="rows processed per second by all tasks of the run">Rows/s</dt>
            <dd data-testid="rows-per-second">
              {rate !== null ? formatCount(rate) : '—'}
              {avgRate !== null ? <span className="muted small"> (avg {formatCount(avgRate)})</span> : null}
            </dd>
          </div>
        ) : null}
      </dl>
      {(state === 'running' || state === 'queued') ? (
        <div className="controls" role="toolbar" aria-label="Run controls">
          <ActionButton busy={busy} className="danger" onClick={() => {
              // The button goes with the run under way: the heading keeps the place.
              rememberFocus(true);
              setConfirmCancel(true);
            }}
          >
            Cancel run…
          </ActionButton>
        </div>
      ) : null}
      <ConfirmDialog
        open={confirmCancel}
        title="Cancel this run?"
        confirmLabel="Cancel run"
        dismissLabel="Keep it"
        busy={busy}
        onCancel={() => setConfirmCancel(false)}
        onConfirm={() => void act('Cancel', `/api/runs/${runId}/cancel`, 'Run cancelled: its running tasks are told to stop, and the others never start.', () => setConfirmCancel(false))}
      >
        <p>Its running tasks are told to stop and the others never start. Tables a load has already committed keep their rows; a later run reads on from the saved state.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirmClear !== null}
        title={`Clear ${confirmClear === null ? '' : taskName(confirmClear)} and re-run it?`}
        refused={clearRefused}
        confirmLabel="Clear and re-run"
        dismissLabel="Keep it"
        busy={busy}
        onCancel={() => setConfirmClear(null)}
        onConfirm={() => {
          const t = confirmClear;
          if (t === null) return;
          void act(
            'Clear',
            `/api/runs/${runId}/tasks/${encodeURIComponent(t.task_id)}/clear${t.map_index >= 0 ? `?map_index=${t.map_index}` : ''}`,
            `${taskName(t)} cleared: it runs again, with every task after it.`,
            () => setConfirmClear(null),
          );
        }}
      >
        <p>
          It runs again, with every task after it, in this run (which starts again if it has ended, once the job has a slot free).
          {confirmClear?.task_type === 'extract' ? ' Clearing the extract reads the source again.' : ''}
        </p>
      </ConfirmDialog>
      <ActionStatus notice={notice} error={error ?? readError} />
      {state === 'queued' && run !== null ? (
        <p className="status-message" data-testid={run.job_paused ? 'run-held' : 'run-waiting'}>
          {queuedRunWait(run.job_paused)}
        </p>
      ) : null}
      {run?.state_message ? <p className={state === 'failed' ? 'error' : 'status-message'} data-testid="run-message">{run.state_message}</p> : null}
      {runnerWaitSaid !== null ? (
        <p className="status-message" data-testid="run-runner-wait">
          {runnerWaitSaid}
        </p>
      ) : null}
      {(run?.warnings ?? []).map((w) => <p key={w} className="warning">{w}</p>)}

      {failed.length > 0 ? (
        <section aria-labelledby="errors-h">
          <h2 id="errors-h">Errors</h2>
          <ul className="errors">
            {failed.map((t) => (
              <li key={`${t.task_id}:${t.map_index}`} data-task={t.task_id} data-map-index={t.map_index}>
                <div className="error-head">
                  <StateBadge state={t.state} /> <strong>{t.task_id}</strong>
                  {t.stream ? ` · ${t.stream}` : ''} · try {t.try_number}/{t.max_tries}
                  {/* A task that never ran (upstream failed, cancelled before its turn) has no log. */}
                  {t.try_number > 0 ? (
                    <>
                      {' · '}
                      <Link to={taskLogPath(runId, t.task_id, t.map_index, t.try_number)} aria-label={`log of ${taskName(t)}`}>
                        log
                      </Link>
                    </>
                  ) : (
                    ' · never ran'
                  )}
                  {/* A deleted job's runs do not run again: no clear, and no pointer to one. Whether a clear
                      would run anything, and whether the job is still there, come only with the live view:
                      until it arrives (the REST answer can come first) no clear is offered. */}
                  {run === null || run.job_deleted ? null : t.clear_repeats !== null ? (
                    // The failure (its own, or the one it waits on) said a clear fails the same way.
                    <span className="muted" data-testid="clear-repeats">
                      {` · a clear would fail the same way, as ${t.clear_repeats === (t.map_index >= 0 ? `${t.task_id}[${t.map_index}]` : t.task_id) ? 'the error below' : `${t.clear_repeats}'s error`} says`}
                    </span>
                  ) : t.clear_outputs_gone !== null ? (
                    // The retention sweep removed the files the clear's first task would read.
                    <span className="muted" data-testid="clear-outputs-gone">
                      {` · no clear: ${t.clear_outputs_gone === (t.map_index >= 0 ? `${t.task_id}[${t.map_index}]` : t.task_id) ? 'it reads' : `its clear runs ${t.clear_outputs_gone} first, which reads`} this run's staging files, which the retention sweep removed (a new run reads the source again)`}
                    </span>
                  ) : t.clear_instead !== null ? (
                    // Its clear would run nothing: the instance above it is the one to clear.
                    <span className="muted" data-testid="clear-instead">{` · re-runs when ${t.clear_instead} is cleared`}</span>
                  ) : clearable(t) ? (
                    <>
                      {' · '}
                      {/* Named with its task: a screen reader's list of buttons tells the errors' clears apart (QA round 28). */}
                      <ActionButton
                        busy={busy}
                        className="link-button"
                        aria-label={`clear and re-run ${taskName(t)}`}
                        onClick={() => {
                          rememberFocus();
                          setConfirmClear(t);
                        }}
                      >
                        clear and re-run
                      </ActionButton>
                    </>
                  ) : null}
                </div>
                <pre className="error-text" data-testid="task-error">{t.error}</pre>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="timeline-h">
        <h2 id="timeline-h">Timeline</h2>
        <Timeline runId={runId} runStartedAt={startedAt} tasks={tasks} now={now} running={running} />
      </section>

      <section aria-labelledby="tasks-h">
        <h2 id="tasks-h">Tasks</h2>
        <table className="tasks responsive" aria-label="Task instances">
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Stream</th>
              <th scope="col">State</th>
              <th scope="col">Try</th>
              <th scope="col">Rows</th>
              <th scope="col">Bytes</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <Fragment key={`${t.task_id}:${t.map_index}`}>
                <tr data-task={t.task_id} data-map-index={t.map_index} data-state={t.state}>
                  <td data-label="Task">
                    <Link to={taskLogPath(runId, t.task_id, t.map_index)}>{t.task_id}</Link>
                  </td>
                  <td data-label="Stream">{t.stream ?? '—'}</td>
                  <td data-label="State">
                    <StateBadge state={t.state} />
                    {t.state === 'up_for_retry' && t.next_retry_at !== null ? <div className="muted small" data-testid="next-try">next try {formatDate(t.next_retry_at)}</div> : null}
                    {/* Only from states the feed can read now: while it cannot, a beat is not seen, not missed (QA round 29). */}
                    {status === 'live' ? <SilentTry task={t} now={now} readSince={readSince} /> : null}
                  </td>
                  <td data-label="Try">{t.try_number}/{t.max_tries}</td>
                  <td data-label="Rows">{formatCount(t.rows)}</td>
                  <td data-label="Bytes">{formatBytes(t.bytes)}</td>
                  <td data-label="Duration">{formatDuration(elapsed(t.started_at, t.ended_at, now))}</td>
                </tr>
                {/* The per-stream tasks are made when extract hands over its streams: until then the run has none to list (QA round 54b F9: extract, then archive, as if steps were missing). */}
                {t.task_type === 'extract' && perStreamToCome ? (
                  <tr data-testid="streams-to-come">
                    <td colSpan={7} className="muted">
                      {PER_STREAM_TASKS}: one of each per stream, made when extract has read the streams
                    </td>
                  </tr>
                ) : null}
              </Fragment>
            ))}
          </tbody>
        </table>
      </section>

      {streams.size > 0 ? (
        <section aria-labelledby="streams-h">
          <h2 id="streams-h">Streams</h2>
          <table className="streams responsive" aria-label="Rows and bytes per stream">
            <thead>
              <tr><th scope="col">Stream</th><th scope="col">Rows</th><th scope="col">Bytes</th></tr>
            </thead>
            <tbody>
              {[...streams.entries()].map(([s, v]) => (
                <tr key={s}>
                  <td data-label="Stream">{s}</td>
                  <td data-label="Rows">{formatCount(v.rows)}</td>
                  <td data-label="Bytes">{formatBytes(v.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}

      {tables.length > 0 ? (
        <section aria-labelledby="tables-h">
          <h2 id="tables-h">Tables written</h2>
          <table className="responsive" aria-label="Tables written">
            <thead>
              <tr><th scope="col">Table</th><th scope="col">Snapshot id</th><th scope="col">By</th></tr>
            </thead>
            <tbody>
              {tables.map((t) => (
                <tr key={`${t.table}:${t.snapshot_id}`}>
                  <td data-label="Table"><code>{t.table}</code></td>
                  <td data-label="Snapshot id"><code>{t.snapshot_id}</code></td>
                  <td data-label="By">{t.task}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
    </main>
  );
}

/** A clear takes a task that ended without success back to scheduled (the engine's rule). */
const clearable = (t: LiveTask): boolean => (UNSUCCESSFUL_TASK_STATES as readonly string[]).includes(t.state);

/** Why a task can no longer be cleared, said in its open clear dialog; null while it can be. */
function whyNoClear(t: LiveTask, run: LiveRun): string | null {
  const name = taskName(t);
  if (run.job_deleted) return `${name} can no longer be cleared: its job was deleted, and its runs do not run again.`;
  if (!clearable(t)) return `${name} can no longer be cleared: it is ${stateLabel(t.state)} now.`;
  if (t.clear_repeats !== null) return `${name} can no longer be cleared: a clear would fail the same way, as ${t.clear_repeats}'s error says.`;
  if (t.clear_outputs_gone !== null) return `${name} can no longer be cleared: this run's staging files, which its clear reads, were removed by the retention sweep (a new run reads the source again).`;
  if (t.clear_instead !== null) return `${name} can no longer be cleared on its own: it re-runs when ${t.clear_instead} is cleared.`;
  return null;
}

/**
 * Said when a task ran again since its clear dialog opened (another viewer's clear, its new try ended
 * already): the failure the dialog was opened for is not the one a confirm would clear (QA round
 * 54b F5: it re-ran the task once more, saying nothing). Closing and opening the dialog again clears the new one.
 */
function ranAgainSince(opened: LiveTask, now: LiveTask): string | null {
  if (now.try_number === opened.try_number) return null;
  return `${taskName(now)} was cleared meanwhile and ran again: its try ${now.try_number} is ${stateLabel(now.state)} now. Look at that try before you clear it again.`;
}

/** The ingestion DAG's pipeline order. */
const TASK_ORDER: readonly string[] = TASK_TYPES;

/** The DAG's per-stream (mapped) tasks, in words: "stage, transform and load". */
const PER_STREAM_TASKS = inWords(ingestionDag().tasks.filter((t) => t.isMapped).map((t) => t.taskType));

function inWords(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

/** Tasks in pipeline order, then by stream position. */
function inDagOrder(tasks: LiveTask[]): LiveTask[] {
  const rank = (t: LiveTask): number => {
    const i = TASK_ORDER.indexOf(t.task_type);
    return i < 0 ? TASK_ORDER.length : i;
  };
  return [...tasks].sort((a, b) => rank(a) - rank(b) || a.task_id.localeCompare(b.task_id) || a.map_index - b.map_index);
}

/** A runner beats every 5 s by default: three beats missed say something is wrong. */
const SILENT_AFTER_MS = 15_000;

/**
 * A running try whose runner has not beaten for a while: said before the scheduler's sweep
 * declares the try lost (30 s by default) and retries it, so that an operator sees a runner gone
 * (killed, out of memory) while the page still says "running" (QA round 28).
 */
function SilentTry({ task, now, readSince }: { task: LiveTask; now: number; readSince: number }): ReactNode {
  if (task.state !== 'running') return null;
  const since = task.heartbeat_at ?? task.started_at;
  // Beats written while the feed could not read them count from when it could again.
  const silent = since === null ? 0 : now - Math.max(Date.parse(since), readSince);
  if (silent < SILENT_AFTER_MS) return null;
  return (
    <div className="muted small" data-testid="silent-try">
      no heartbeat for {formatDuration(silent)}: its runner may have stopped; the scheduler retries a try once its heartbeat is 30 s old (by default)
    </div>
  );
}

/** What a run made after fires that made none says of them. */
function missedFiresNote(m: NonNullable<Run['missed_fires']>): string {
  const fires = m.count === 1 ? `1 fire that got no run of its own, ${formatDate(m.first_at)}` : `${formatCount(m.count)} fires that got no run of their own, ${formatDate(m.first_at)} to ${formatDate(m.last_at)}`;
  return `made after ${fires} (no scheduler was running or could take ${m.count === 1 ? 'it' : 'them'})`;
}
