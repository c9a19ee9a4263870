import { Fragment, useCallback, useEffect, useState, type ReactNode } from 'react';
import type { CancelledQueuedRuns, Job, TriggeredRun } from '../api/types.ts';
import { useLive } from '../api/live.ts';
import { useApp } from '../app-context.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { DagGraph } from '../components/dag-graph.tsx';
import { LiveIndicator } from '../components/live-indicator.tsx';
import { ActionButton, ActionStatus, ChangeAnnouncer, JsonBlock, useActionError, Crumbs, NotFound, RedisWarning, SchedulerWarning, useDocumentTitle, useKeepFocus } from '../components/page-parts.tsx';
import { flash } from '../lib/flash.ts';
import { RunGrid } from '../components/run-grid.tsx';
import { RunHistory } from '../components/run-history.tsx';
import { SavedState } from '../components/saved-state.tsx';
import { SourceConfigEditor } from '../components/source-config-editor.tsx';
import { JobStatusBadge, StateLegend } from '../components/state-mark.tsx';
import { formatDate, formatLogicalDate, shortId } from '../lib/format.ts';
import { failedByCancel } from '../lib/states.ts';
import { nextFire, scheduleInWords } from '../lib/schedule.ts';
import { Link, useRouter } from '../router.tsx';
import type { LiveJob, LiveRedis, LiveScheduler } from '../shared/events.ts';

/** Beyond this many streams, the graph and the grid draw each per-stream task once, until asked to draw every stream. */
const STREAMS_DRAWN = 12;

/** The job's page (its flow_url): settings, controls, the DAG graph and the runs grid, live. */
export function JobPage({ jobId }: { jobId: string }): ReactNode {
  const { api, auth } = useApp();
  const { navigate } = useRouter();
  const [job, setJob] = useState<Job | null>(null);
  const [live, setLive] = useState<LiveJob | null>(null);
  const [scheduler, setScheduler] = useState<LiveScheduler | null>(null);
  const [redis, setRedis] = useState<LiveRedis | null>(null);
  /** Why the job could not be read (PostgreSQL away, say): shown until a read succeeds. */
  const [loadError, setLoadError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  /** The run the last Trigger made, as the API answered: the notice under the buttons. */
  const [triggered, setTriggered] = useState<TriggeredRun | null>(null);
  const [busy, setBusy] = useState(false);
  const rememberFocus = useKeepFocus(busy);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [confirmCancelQueued, setConfirmCancelQueued] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const [eachStream, setEachStream] = useState(false);

  const load = useCallback(() => {
    api
      .get<Job>(`/api/airbyte/ingest/${encodeURIComponent(jobId)}`)
      .then((j) => {
        setJob(j);
        setLoadError(null);
      })
      .catch((err: unknown) => {
        if (err instanceof Error && 'status' in err && (err as { status: number }).status === 404) setMissing(true);
        else setLoadError(err instanceof Error ? err.message : String(err));
      });
  }, [api, jobId]);
  useEffect(load, [load]);

  const status = useLive(auth, missing ? null : { job_id: jobId }, {
    job: ({ job: j }) => setLive(j),
    scheduler: setScheduler,
    redis: setRedis,
    gone: () => setMissing(true),
  });
  const { error, fail, clear: clearError } = useActionError(status);
  // Settings changed elsewhere (a PATCH, a refreshed token): the job is read again, so that what
  // the page shows — and what its config editor starts from — is what the job has now.
  // A first read that failed (QA round 27: PostgreSQL away when the page opened) is made again once
  // the feed brings the job: the server can read it now.
  // So is a job whose connector's spec came (QA round 38a F2: its config stayed masked whole until a reload).
  const liveVersion = live?.settings_version;
  const liveSpecKnown = live?.spec_secrets_known;
  useEffect(() => {
    if (liveVersion !== undefined && (job === null || liveVersion !== job.settings_version || liveSpecKnown !== job.spec_secrets_known)) load();
    // Only a new version from the feed calls for a read (not each read's answer: `job` is left out).
  }, [liveVersion, liveSpecKnown, load]);

  const act = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    rememberFocus();
    setBusy(true);
    clearError();
    try {
      await fn();
      load();
    } catch (err) {
      fail(what, err);
    } finally {
      setBusy(false);
    }
  };

  useDocumentTitle(job?.name ?? live?.name ?? `job ${shortId(jobId)}`);
  if (missing) return <NotFound what="job" id={jobId} />;

  const paused = live?.is_paused ?? job?.is_paused ?? false;
  const deleted = live?.is_deleted ?? job?.is_deleted ?? false;
  // Until the job is read, whether it is active, paused or deleted is not known: no pill, no controls.
  const known = live !== null || job !== null;
  // The schedule follows the live feed too: a PATCH made elsewhere shows without a reload.
  const schedule = live ? { schedule: live.schedule, timezone: live.timezone, catchup: live.catchup } : job;
  const runs = live?.runs ?? [];
  // Unless one is picked, the graph follows the newest run under way, not a newer one that only waits
  // queued (QA round 27: "extract scheduled" while another run's extract had run for minutes); with
  // none under way, the newest that ran, as the status line names it (QA round 28).
  const selectedRun =
    runs.find((r) => r.run_id === selected) ?? runs.find((r) => r.state === 'running') ?? runs.find((r) => r.started_at !== null) ?? runs[0] ?? null;
  const grouped = (live?.streams.length ?? 0) > STREAMS_DRAWN && !eachStream;
  // A deleted job's schedule is removed: it has no next fire.
  const next = schedule !== null ? nextFire(schedule.schedule, schedule.timezone, paused || deleted) : null;

  return (
    <main id="main" tabIndex={-1}>
      <Crumbs trail={[{ label: 'Jobs', to: '/jobs' }, { label: job?.name ?? live?.name ?? shortId(jobId) }]} />
      <div className="page-head">
        <h1 tabIndex={-1}>{job?.name ?? live?.name ?? 'Job'}</h1>
        {known ? (
          <span className={deleted ? 'pill deleted' : paused ? 'pill paused' : 'pill active'} data-testid="job-active">
            {deleted ? 'deleted' : paused ? 'paused' : 'active'}
          </span>
        ) : null}
        {/* The job's status, as the API says it: not its newest run's state (a run queued behind a running one). */}
        {live ? <JobStatusBadge status={live.status} byCancel={failedByCancel(runs)} /> : null}
        <ChangeAnnouncer value={live?.status ?? null} say={(s) => `Job ${job?.name ?? live?.name ?? ''} is ${s}.`} />
        <LiveIndicator status={status} />
      </div>
      {live?.status_message ? <p className="status-message">{live.status_message}</p> : null}
      {schedule?.schedule && !paused && !deleted ? <SchedulerWarning scheduler={scheduler} redis={redis} /> : null}
      <RedisWarning redis={redis} />

      {known && !deleted ? (
        <div className="controls" role="toolbar" aria-label="Job controls">
          <ActionButton
            busy={busy}
            className="primary"
            onClick={() =>
              void act('Trigger', async () => {
                const r = await api.request<TriggeredRun>('POST', `/api/airbyte/ingest/${jobId}/runs`, {});
                setSelected(r.run_id);
                setNotice(null);
                setTriggered(r);
              })
            }
          >
            Trigger run
          </ActionButton>
          {paused ? (
            <ActionButton busy={busy} onClick={() => void act('Resume', () => api.request('PATCH', `/api/airbyte/ingest/${jobId}`, { paused: false }))}>
              Resume
            </ActionButton>
          ) : (
            <ActionButton busy={busy} onClick={() => void act('Pause', () => api.request('PATCH', `/api/airbyte/ingest/${jobId}`, { paused: true }))}>
              Pause
            </ActionButton>
          )}
          {runs.some((r) => r.state === 'queued') ? (
            <ActionButton
              busy={busy}
              className="danger"
              onClick={() => {
                rememberFocus();
                setConfirmCancelQueued(true);
              }}
            >
              Cancel queued runs…
            </ActionButton>
          ) : null}
          <ActionButton busy={busy} className="danger" onClick={() => {
              rememberFocus();
              setConfirmDelete(true);
            }}
          >
            Delete…
          </ActionButton>
        </div>
      ) : null}
      <ActionStatus
        notice={
          triggered === null ? (
            notice
          ) : (
            <>
              Run <Link to={`/runs/${triggered.run_id}`}>{shortId(triggered.run_id)}</Link>{' '}
              {/* A started run's message says Redis was away: said while it is (QA round 30: it stayed after Redis was back). */}
              {triggered.state === 'running'
                ? `triggered.${triggered.message !== null && redis?.reachable !== true ? ` ${triggered.message}` : ''}`
                : `is queued. ${triggered.message ?? ''}`}
            </>
          )
        }
        error={error ?? loadError}
      />

      <ConfirmDialog
        open={confirmCancelQueued}
        title="Cancel the queued runs?"
        confirmLabel="Cancel queued runs"
        dismissLabel="Keep them"
        busy={busy}
        onCancel={() => setConfirmCancelQueued(false)}
        onConfirm={() =>
          void act('Cancel queued runs', async () => {
            try {
              const r = await api.request<CancelledQueuedRuns>('POST', `/api/airbyte/ingest/${jobId}/runs/cancel`, {});
              const n = r.cancelled_run_ids.length;
              setTriggered(null);
              setNotice(`${n} queued run${n === 1 ? '' : 's'} cancelled.`);
            } finally {
              setConfirmCancelQueued(false);
            }
          })
        }
      >
        <p>The job&apos;s runs waiting for a slot will never start; the runs under way go on. Pause the job first to stop new fires.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirmDelete}
        title="Delete this job?"
        confirmLabel="Delete job"
        busy={busy}
        onCancel={() => setConfirmDelete(false)}
        onConfirm={() =>
          void act('Delete', async () => {
            try {
              await api.request('DELETE', `/api/airbyte/ingest/${jobId}`);
            } finally {
              setConfirmDelete(false);
            }
            flash(`Job ${job?.name ?? shortId(jobId)} deleted: its schedule has stopped; its runs and tables stay.`);
            navigate('/jobs');
          })
        }
      >
        <p>
          <strong><bdi>{job?.name}</bdi></strong>: its schedule stops and it leaves the jobs list. Its runs and tables stay.
        </p>
      </ConfirmDialog>

      <section aria-labelledby="graph-h">
        <h2 id="graph-h">
          Graph
          {selectedRun !== null ? (
            <span className="muted small">
              {' '}
              · run <Link to={`/runs/${selectedRun.run_id}`}>{shortId(selectedRun.run_id)}</Link> ({formatLogicalDate(selectedRun.logical_date)})
            </span>
          ) : null}
        </h2>
        {live !== null && live.streams.length > STREAMS_DRAWN ? (
          <p className="muted small">
            {live.streams.length} streams: {grouped ? "each per-stream task is drawn once, with its streams' states counted" : 'every stream is drawn'}.{' '}
            <button type="button" className="link-button" aria-pressed={!grouped} onClick={() => setEachStream(grouped)}>
              {grouped ? `Show each of the ${live.streams.length} streams` : 'Group the streams'}
            </button>
          </p>
        ) : null}
        {live?.dag ? (
          <DagGraph tasks={live.dag.tasks} streams={live.streams} runId={selectedRun?.run_id ?? null} marks={selectedRun?.tasks ?? []} grouped={grouped} />
        ) : (
          <p className="muted">{live === null ? 'Loading…' : 'This job has no DAG yet.'}</p>
        )}
      </section>

      <section aria-labelledby="grid-h">
        <h2 id="grid-h">Runs</h2>
        {/* During a backlog the newest runs are all queued: the run under way is said here, not only found by the history's filter (QA round 50b O3). */}
        {live !== null && live.running_beyond.length > 0 ? (
          <p className="notice" data-testid="running-beyond">
            Running now, older than the runs below:{' '}
            {live.running_beyond.map((r, i) => (
              <Fragment key={r.run_id}>
                {i > 0 ? ', ' : ''}run <Link to={`/runs/${r.run_id}`}>{shortId(r.run_id)}</Link> ({formatLogicalDate(r.logical_date)}
                {r.started_at !== null ? `, started ${formatDate(r.started_at)}` : ''})
              </Fragment>
            ))}
            .
          </p>
        ) : null}
        <StateLegend />
        {live?.dag ? (
          <RunGrid tasks={live.dag.tasks} streams={live.streams} runs={runs} selectedRunId={selectedRun?.run_id ?? null} onSelectRun={setSelected} grouped={grouped} />
        ) : null}
      </section>

      <RunHistory jobId={jobId} jobPaused={paused} version={live?.runs_version ?? ''} />

      <SavedState jobId={jobId} version={live?.status ?? ''} canReset={!deleted} />

      <section aria-labelledby="settings-h">
        <h2 id="settings-h">Settings</h2>
        {job === null ? (
          <p className="muted">Loading…</p>
        ) : (
          <dl className="settings">
            <dt>Job id</dt>
            <dd><code>{job.job_id}</code></dd>
            <dt>Source</dt>
            <dd>{job.source_name}</dd>
            <dt>Target schema</dt>
            <dd><code>{job.schema_name}</code></dd>
            <dt>Mode</dt>
            <dd>{job.mode}{job.merge ? ` on ${job.merge}` : ''}</dd>
            <dt>Streams</dt>
            <dd>{job.streams.length > 0 ? job.streams.join(', ') : 'all'}</dd>
            <dt>Schedule</dt>
            <dd>
              {scheduleInWords(schedule?.schedule ?? null, schedule?.timezone ?? job.timezone)}
              {schedule?.schedule ? <code className="small"> {schedule.schedule}</code> : null}
              {next !== null ? <div className="muted small">next fire {formatDate(next.toISOString())}</div> : null}
              {deleted && schedule?.schedule ? <div className="muted small" data-testid="schedule-stopped">removed with the job: it fires no more</div> : null}
            </dd>
            {schedule?.schedule && !deleted ? (
              <>
                <dt>Missed fires</dt>
                <dd>
                  {schedule.catchup
                    ? 'all run (catch-up); while runs are under way, each fire queues its run'
                    : 'the latest runs after an outage; none after a pause; while runs are under way, one fire waits queued'}
                  {job.skipped_fire_at !== null ? (
                    // A fire that made no run is no row of the run list: its time is said here (QA round 41a F3).
                    <div className="muted small" data-testid="skipped-fire">
                      latest fire with no run: {formatDate(job.skipped_fire_at)}, as a scheduled run already waited queued (it reads on from where the runs before it left off)
                    </div>
                  ) : null}
                </dd>
              </>
            ) : null}
            <dt>Runs at once</dt>
            <dd data-testid="max-active-runs">
              {job.max_active_runs} <span className="muted small">(max_active_runs: more wait queued)</span>
            </dd>
            <dt>Owner</dt>
            <dd>{job.owner_id ?? '—'}</dd>
            {job.domain ? (<><dt>Domain</dt><dd>{job.domain}</dd></>) : null}
            {job.tags.length > 0 ? (<><dt>Tags</dt><dd>{job.tags.join(', ')}</dd></>) : null}
            <dt>Archive staging</dt>
            <dd>{job.archive_staging === false ? 'no (deleted after load)' : 'yes'}</dd>
            <dt>Ingestion metadata</dt>
            <dd>{job.add_ingestion_metadata === false ? 'no' : 'yes'}</dd>
            {job.column_transformations.length > 0 ? (
              <>
                <dt>Column transformations</dt>
                <dd><JsonBlock>{JSON.stringify(job.column_transformations, null, 2)}</JsonBlock></dd>
              </>
            ) : null}
            <dt>Source config</dt>
            <dd>
              <SourceConfigEditor job={job} canEdit={!deleted} onSaved={setJob} onStale={load} />
            </dd>
          </dl>
        )}
      </section>
    </main>
  );
}
