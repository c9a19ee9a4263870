import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api/client.ts';
import type { LogLine, Run, TaskLog } from '../api/types.ts';
import { useLive } from '../api/live.ts';
import { useRetryRead } from '../api/retry-read.ts';
import { useApp } from '../app-context.ts';
import { taskLogPath } from '../components/dag-graph.tsx';
import { LiveIndicator } from '../components/live-indicator.tsx';
import { LogLines } from '../components/log-lines.tsx';
import { ActionButton, ActionStatus, Crumbs, RedisWarning, useDocumentTitle } from '../components/page-parts.tsx';
import { StateBadge } from '../components/state-mark.tsx';
import { displayZoneName } from '../lib/display-zone.ts';
import { elapsed, formatDuration, shortId, taskName } from '../lib/format.ts';
import { placeLines, type LogStretch } from '../lib/log-window.ts';
import { earlierTryState, stateLabel } from '../lib/states.ts';
import { Link, useRouter } from '../router.tsx';
import type { LiveEarlierTry, LiveRedis, LiveRun, LiveTask } from '../shared/events.ts';

/**
 * The shown try's state and duration. The task's counts are its latest try's; an earlier try shows
 * its own end and duration, from the task's earlier tries (QA round 28: it showed the latest's
 * duration beside the earlier try's number). How many tries there are is the latest's: a clear
 * since an earlier one added tries (QA round 27: "try 1 of 8" for a try logged as 1 of 4).
 */
function TryFacts({ task, tryNumber, earlier }: { task: LiveTask; tryNumber: number; earlier: LiveEarlierTry | undefined }): ReactNode {
  // A try a graceful stop cut short raised max_tries by one: said, so the count adds up.
  const uncounted = task.earlier_tries.filter((e) => !e.counted).length;
  const latest = `try ${task.try_number} of ${task.max_tries}${uncounted > 0 ? ` (${uncounted} interrupted, not counted)` : ''}`;
  const endedAs = earlier === undefined ? '' : earlier.counted ? stateLabel(earlier.state) : "interrupted by its runner's stop, not counted";
  const ended = earlier === undefined ? '' : `: ${endedAs}${earlier.ended_at === null ? '' : `, ${formatDuration(elapsed(earlier.started_at, earlier.ended_at))}`}`;
  let facts: string;
  if (tryNumber === task.try_number && earlier !== undefined) {
    // The latest try ended, and no try came after it: a clear waits to run the next one, or the
    // run was cancelled before its retry started (QA round 40a F2: its time ran to the cancel).
    facts = `${latest}${ended} · no try since; the task is ${stateLabel(task.state)}`;
  } else if (task.try_number === 0) {
    facts = `${ENDED.has(task.state) ? 'no try ran' : 'no try yet'} (up to ${task.max_tries})`;
  } else if (tryNumber === task.try_number) {
    facts = `${latest} · ${formatDuration(elapsed(task.started_at, task.ended_at))}${task.rows > 0 ? ` · ${task.rows.toLocaleString()} rows` : ''}`;
  } else if (tryNumber > task.try_number) {
    // A try past the latest (its retry, not started; or one there is none of): not "an earlier one" (QA round 50b D4).
    facts = `try ${tryNumber} has not run · the latest is ${latest}`;
  } else {
    facts = `try ${tryNumber}, an earlier one${ended} · the latest is ${latest}`;
  }
  return (
    <p className="muted" data-testid="try-facts">
      {facts}
    </p>
  );
}

/** How many earlier lines one "Show earlier" reads. */
const EARLIER_PAGE = 5000;

/** The lines of a log not read yet: one array, so the log's layout is not worked out again at each render. */
const NO_LINES: readonly LogLine[] = [];

/** Task states after which no try starts unless the task is cleared. */
const ENDED = new Set(['success', 'failed', 'upstream_failed', 'skipped', 'cancelled']);

/** A task's log, one try at a time, opened at its end (with Follow); the current try follows live while the task runs. */
export function TaskLogPage({ runId, taskId }: { runId: string; taskId: string }): ReactNode {
  const { api, auth } = useApp();
  const { location, navigate } = useRouter();
  const mapIndex = Number(location.search.get('map_index') ?? '-1');
  const askedTry = location.search.get('try');
  const [run, setRun] = useState<LiveRun | null>(null);
  const [redis, setRedis] = useState<LiveRedis | null>(null);
  /**
   * The lines read of the shown try, in their places: from the logs route, the live stream and
   * "Show earlier" alike. Its `first` is how many of the try's lines come before the first one
   * shown (a long log shows its end).
   */
  const [log, setLog] = useState<LogStretch<LogLine> | null>(null);
  const [earlierError, setEarlierError] = useState<string | null>(null);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** The logs route's 404 for this try: a try not reached yet, or a task that is not there. */
  const [missing, setMissing] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);
  const [downloading, setDownloading] = useState(false);
  /** Why the shown try's download failed; gone when another try is shown. */
  const [downloadError, setDownloadError] = useState<string | null>(null);

  // A path without map_index names a per-stream task's first stream, as the API reads it (QA round
  // 54b F2: the page looked for an instance -1, which a mapped task has not, and showed try 1 as
  // "not available"): the page goes to that stream's log, the try asked for kept.
  const mapIndexGiven = location.search.has('map_index');
  useEffect(() => {
    if (mapIndexGiven) return;
    let current = true;
    api
      .get<Run>(`/api/runs/${encodeURIComponent(runId)}`)
      .then((r) => {
        const indexes = r.tasks.filter((t) => t.task_id === taskId).map((t) => t.map_index);
        if (!current || indexes.length === 0 || indexes.includes(-1)) return;
        navigate(taskLogPath(runId, taskId, Math.min(...indexes), askedTry === null ? undefined : Number(askedTry)), { replace: true });
      })
      // The page's own reads say what is wrong (a run or task not found, the API away).
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [api, navigate, runId, taskId, askedTry, mapIndexGiven]);

  const task = run?.tasks.find((t) => t.task_id === taskId && t.map_index === mapIndex) ?? null;
  const tryNumber = askedTry !== null ? Number(askedTry) : Math.max(1, task?.try_number ?? 1);

  // The documented logs route first; the live stream takes over with the same try from its start.
  // A read that failed (PostgreSQL away) is made again, and its error goes once one succeeds (QA round 28).
  const { attempt, retryLater } = useRetryRead();
  /**
   * The try shown now. A read's answer for a try no longer shown is dropped: before the run is
   * known the page asks for try 1, then for the latest, and a slower first answer put try 1's lines
   * under it (QA round 47b F1); so did a "Show earlier" answered after another try was chosen.
   */
  const shownKey = `${runId}\n${taskId}\n${mapIndex}\n${tryNumber}`;
  const shownRef = useRef(shownKey);
  const shownStill = (asked: string) => (): boolean => shownRef.current === asked;
  useEffect(() => {
    shownRef.current = shownKey;
    setLog(null);
    setMissing(null);
    setEarlierError(null);
    setLoadingEarlier(false);
    setDownloadError(null);
  }, [shownKey]);
  useEffect(() => {
    const stillShown = shownStill(shownKey);
    const q = new URLSearchParams({ try: String(tryNumber) });
    if (mapIndex >= 0) q.set('map_index', String(mapIndex));
    api
      .get<TaskLog>(`/api/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}/logs?${q.toString()}`)
      .then((a) => {
        if (!stillShown()) return;
        setError(null);
        // Lines the live stream already shows that this read does not reach are newer: they stay.
        setLog((cur) => (cur !== null && a.offset + a.lines.length < cur.first ? cur : placeLines(cur, a.offset, a.lines)));
      })
      .catch((err: unknown) => {
        if (!stillShown()) return;
        if (err instanceof ApiError && err.status === 404) {
          setError(null);
          setMissing(err.message);
        } else {
          setError(err instanceof Error ? err.message : String(err));
          retryLater();
        }
      });
  }, [api, runId, taskId, mapIndex, tryNumber, attempt, retryLater]);

  const status = useLive(
    auth,
    { run_id: runId, task_id: taskId, map_index: mapIndex, try: tryNumber },
    {
      run: ({ run: r }) => setRun(r),
      redis: setRedis,
      log: (e) => {
        if (e.try_number !== tryNumber) return;
        // The try has started after all: the logs route's 404 for it ("has not run yet") is stale.
        setMissing(null);
        // The stream starts at the try's last lines, in parts: each goes to its place among those read.
        setLog((cur) => placeLines(cur, e.offset, e.lines));
      },
    },
  );

  const download = (): void => {
    const q = new URLSearchParams({ try: String(tryNumber) });
    if (mapIndex >= 0) q.set('map_index', String(mapIndex));
    setDownloading(true);
    setDownloadError(null);
    api
      .download(`/api/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}/logs/text?${q.toString()}`, `${taskId}-try-${tryNumber}.log`)
      .catch((err: unknown) => setDownloadError(`The download failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => setDownloading(false));
  };

  const shown = log?.lines ?? null;
  const omitted = log?.first ?? 0;

  /** The page of lines before the first one shown (QA round 33b F3: a try of 200,000 lines was read and drawn whole). */
  const showEarlier = (): void => {
    const from = Math.max(0, omitted - EARLIER_PAGE);
    const q = new URLSearchParams({ try: String(tryNumber), offset: String(from), limit: String(omitted - from) });
    if (mapIndex >= 0) q.set('map_index', String(mapIndex));
    setLoadingEarlier(true);
    const stillShown = shownStill(shownKey);
    api
      .get<TaskLog>(`/api/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}/logs?${q.toString()}`)
      .then((a) => {
        if (!stillShown()) return;
        setEarlierError(null);
        setLog((cur) => (cur === null ? cur : placeLines(cur, from, a.lines)));
      })
      .catch((err: unknown) => {
        if (stillShown()) setEarlierError(err instanceof Error ? err.message : String(err));
      })
      .finally(() => {
        if (stillShown()) setLoadingEarlier(false);
      });
  };
  // A try the task has not reached (a queued task's first, a retry not started) is no error: its
  // lines arrive live once it starts. A try beyond the task's tries, or of a task that has ended,
  // will not start (a clear would make the task unfinished again). Any other 404 is shown once the
  // run says what the task is (or the live route has found no such task).
  const notStarted =
    missing !== null && task !== null && task.try_number < tryNumber && tryNumber <= task.max_tries && !ENDED.has(task.state);
  // A task that ended without a try (cancelled while queued, upstream_failed, skipped) has no log,
  // which is no error either (QA round 40a F4: a red "not found" over an empty log), and no try tab.
  const endedUntried = task !== null && task.try_number === 0 && ENDED.has(task.state);
  const neverRan = missing !== null && endedUntried;
  // A try past the latest that will not start: beyond the task's tries, or of a task that has ended.
  const noSuchTry = task !== null && tryNumber > Math.max(1, task.try_number) && (tryNumber > task.max_tries || ENDED.has(task.state));
  const shownError = error ?? (missing !== null && !notStarted && !neverRan && (run !== null || status === 'gone') ? missing : null);
  const label = task ? taskName(task) : taskId;
  // The shown try when it is an earlier one: its own state and duration.
  const earlier = task?.earlier_tries.find((e) => e.try_number === tryNumber);
  const tries = endedUntried ? 0 : Math.max(1, task?.try_number ?? 1);
  useDocumentTitle(`Log: ${label}`, `run ${shortId(runId)}`, run?.job_name);
  return (
    <main id="main" tabIndex={-1}>
      <Crumbs
        trail={[
          { label: 'Jobs', to: '/jobs' },
          run ? { label: run.job_name, to: `/jobs/${run.job_id}` } : null,
          { label: `run ${shortId(runId)}`, to: `/runs/${runId}` },
          { label },
        ]}
      />
      <div className="page-head">
        <h1>Log: {label}</h1>
        {/* The shown try's state: an earlier try's own end (QA round 30: the latest's, above a failed try's log). */}
        {/* None for a try that will not run: the task's state is not that try's (QA round 50b D4: "success" beside "not found"). */}
        {task && !noSuchTry ? <StateBadge state={earlier ? earlierTryState(earlier) : task.state} /> : null}
        <LiveIndicator status={status} />
      </div>
      <RedisWarning redis={redis} />
      {task ? <TryFacts task={task} tryNumber={tryNumber} earlier={earlier} /> : null}
      <div className="tries" role="group" aria-label="Tries">
        {Array.from({ length: tries }, (_, i) => i + 1).map((n) => (
          <button
            key={n}
            type="button"
            aria-pressed={n === tryNumber}
            onClick={() => navigate(taskLogPath(runId, taskId, mapIndex, n), { replace: true })}
          >
            Try {n}
          </button>
        ))}
        <label className="follow">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        {/* The whole try as a file, to search or keep: the page draws only the lines near view (QA round 50b O1). */}
        {task !== null && !endedUntried && !noSuchTry && !notStarted ? (
          <ActionButton busy={downloading} onClick={download} data-testid="log-download">
            {downloading ? 'Downloading…' : 'Download'}
          </ActionButton>
        ) : null}
        <span className="muted small" data-testid="log-zone">
          times in {displayZoneName()}
        </span>
      </div>
      {/* An earlier try's own error; the latest's, said as such, for a try recorded without one. */}
      {earlier?.error ? (
        <pre className="error-text" data-testid="task-error">
          {earlier.error}
        </pre>
      ) : task?.error ? (
        <pre className="error-text" data-testid="task-error">
          {tryNumber === task.try_number || task.try_number === 0 ? task.error : `Try ${task.try_number} (the latest): ${task.error}`}
        </pre>
      ) : null}
      <ActionStatus error={shownError ?? downloadError} />
      <LogLines
        key={`${runId}/${taskId}/${mapIndex}/${tryNumber}`}
        lines={shown ?? NO_LINES}
        first={omitted}
        follow={follow}
        label={`Log of ${label}, try ${tryNumber}`}
        head={
          <>
            {shown === null && missing === null && error === null ? <span className="muted">Loading…</span> : null}
            {shown === null && notStarted ? <span className="muted" data-testid="try-not-started">Try {tryNumber} has not started yet; its lines appear here when it does.</span> : null}
            {shown === null && neverRan && task ? (
              <span className="muted" data-testid="never-ran">
                This task never ran: it is {stateLabel(task.state)}, and has no log.
              </span>
            ) : null}
            {shown !== null && shown.length === 0 ? <span className="muted">No log lines for this try yet.</span> : null}
            {shown !== null && omitted > 0 ? (
              <p className="muted log-earlier" data-testid="log-earlier">
                {omitted.toLocaleString()} earlier {omitted === 1 ? 'line is' : 'lines are'} not shown.{' '}
                <ActionButton busy={loadingEarlier} onClick={showEarlier}>
                  {loadingEarlier ? 'Loading…' : `Show ${Math.min(omitted, EARLIER_PAGE).toLocaleString()} earlier`}
                </ActionButton>
                {earlierError !== null ? <span className="error-text"> {earlierError}</span> : null}
              </p>
            ) : null}
          </>
        }
      />
    </main>
  );
}
