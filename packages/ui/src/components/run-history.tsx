import { useEffect, useState, type ReactNode } from 'react';
import { useRetryRead } from '../api/retry-read.ts';
import { queuedRunWait, RUN_STATES, RUN_TYPES } from '@sluice/core/states';
import type { RunList } from '../api/types.ts';
import { useApp } from '../app-context.ts';
import { elapsed, formatCount, formatDate, formatDuration, formatLogicalDate, shortId } from '../lib/format.ts';
import { useClock } from '../lib/use-clock.ts';
import { Link, useRouter, withQuery } from '../router.tsx';
import { ActionStatus } from './page-parts.tsx';
import { StateBadge } from './state-mark.tsx';

/** Runs per page of the history. */
export const HISTORY_PAGE = 25;

type StateFilter = (typeof RUN_STATES)[number] | '';
type TypeFilter = (typeof RUN_TYPES)[number] | '';

/** The history's place in the page's address, so that Back, a reload and a shared link keep it. */
interface HistoryPlace {
  state: StateFilter;
  runType: TypeFilter;
  offset: number;
}

const oneOf = <T extends string>(options: readonly T[], v: string | null): T | '' => (options.find((o) => o === v) ?? '');

function placeOf(search: URLSearchParams): HistoryPlace {
  const offset = Number(search.get('runs_offset') ?? '0');
  return {
    state: oneOf(RUN_STATES, search.get('runs_state')),
    runType: oneOf(RUN_TYPES, search.get('runs_type')),
    offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
  };
}

/** A filter's select: "any", or one of `options`. */
function Filter<T extends string>({ label, value, options, onChange }: { label: string; value: T | ''; options: readonly T[]; onChange(v: T | ''): void }): ReactNode {
  return (
    <label>
      {label}{' '}
      <select value={value} onChange={(e) => onChange(e.target.value as T | '')}>
        <option value="">any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

/**
 * Every run of a job, newest first, a page at a time and filtered by state and type — the runs
 * the grid (the latest few) no longer holds. Read again whenever `version` changes (the page
 * passes the live job's `runs_version`, which changes with any run of the job, so a run that
 * starts or ends shows here too, on any page of the history and under any filter). A queued run's
 * message says what it waits for (`jobPaused`: the job's resume, else a slot).
 */
export function RunHistory({ jobId, version, jobPaused }: { jobId: string; version: string; jobPaused: boolean }): ReactNode {
  const { api } = useApp();
  const { location, navigate } = useRouter();
  const { state, runType, offset } = placeOf(location.search);
  const go = (next: Partial<HistoryPlace>, replace = false): void => {
    const place = { ...placeOf(location.search), ...next };
    const changes = { runs_state: place.state, runs_type: place.runType, runs_offset: place.offset === 0 ? '' : String(place.offset) };
    navigate(withQuery(location, changes), { replace, keepScroll: true });
  };
  const [page, setPage] = useState<RunList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { attempt, retryLater } = useRetryRead();

  useEffect(() => {
    let current = true;
    const query = new URLSearchParams({ limit: String(HISTORY_PAGE), offset: String(offset) });
    if (state !== '') query.set('state', state);
    if (runType !== '') query.set('run_type', runType);
    api
      .get<RunList>(`/api/airbyte/ingest/${encodeURIComponent(jobId)}/runs?${query.toString()}`)
      .then((p) => {
        if (!current) return;
        // Runs that left the filtered state (queued ones that started) can leave this page empty: show the last one.
        if (p.runs.length === 0 && offset > 0 && p.total > 0) {
          go({ offset: Math.floor((p.total - 1) / HISTORY_PAGE) * HISTORY_PAGE }, true);
          return;
        }
        setError(null);
        setPage(p);
      })
      .catch((err: unknown) => {
        if (!current) return;
        setError(`Reading the runs failed: ${err instanceof Error ? err.message : String(err)}`);
        retryLater();
      });
    return () => {
      current = false;
    };
  }, [api, jobId, state, runType, offset, version, attempt, retryLater]);

  const total = page?.total ?? 0;
  const runs = page?.runs ?? [];
  // A running run's duration grows on screen, as on its own page.
  const now = useClock(runs.some((r) => r.state === 'running'));
  const first = runs.length === 0 ? 0 : offset + 1;
  const last = offset + runs.length;
  // A job without runs has nothing to page or filter: the grid above says so.
  if (page !== null && total === 0 && state === '' && runType === '') return null;
  return (
    <section aria-labelledby="history-h">
      <h2 id="history-h">Run history</h2>
      <div className="filters" role="group" aria-label="Filter the runs">
        <Filter
          label="State"
          value={state}
          options={RUN_STATES}
          onChange={(v) => go({ state: v, offset: 0 })}
        />
        <Filter
          label="Type"
          value={runType}
          options={RUN_TYPES}
          onChange={(v) => go({ runType: v, offset: 0 })}
        />
      </div>
      <ActionStatus notice={null} error={error} />
      {page === null && error === null ? <p className="muted">Loading…</p> : null}
      {page !== null && runs.length === 0 ? <p className="muted">No run matches.</p> : null}
      {runs.length > 0 ? (
        <table className="responsive run-history" data-testid="run-history">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">State</th>
              <th scope="col">Type</th>
              <th scope="col">Logical date</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.run_id} data-run-id={r.run_id}>
                <td data-label="Run">
                  <Link to={`/runs/${r.run_id}`}>{shortId(r.run_id)}</Link>
                </td>
                <td data-label="State">
                  <StateBadge state={r.state} />
                </td>
                <td data-label="Type">{r.run_type}</td>
                <td data-label="Logical date">
                  {formatLogicalDate(r.logical_date)}
                  {r.missed_fires ? (
                    // Said in full on the run's page.
                    <span className="muted small" data-testid="run-missed-fires" title="fires of the schedule before this one that got no run of their own (no scheduler was running or could take them)">
                      {` after ${r.missed_fires.count === 1 ? '1 missed fire' : `${formatCount(r.missed_fires.count)} missed fires`}`}
                    </span>
                  ) : null}
                </td>
                <td data-label="Started">{formatDate(r.started_at)}</td>
                <td data-label="Duration">{formatDuration(elapsed(r.started_at, r.ended_at, now))}</td>
                <td data-label="Message" className="small message">
                  {/* A queued run's wait follows the job's pause live (the list was read before it, maybe). */}
                  {r.state === 'queued' ? queuedRunWait(jobPaused) : (r.state_message ?? '')}
                  {r.warnings.length > 0 ? <span className="muted"> {r.warnings.length === 1 ? '1 warning' : `${r.warnings.length} warnings`}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {page !== null && total > 0 ? (
        <nav className="pager" aria-label="Run history pages">
          {/* The ends at once: a job of thousands of runs is a hundred pages deep (QA round 50b O2). */}
          <button type="button" disabled={offset === 0} onClick={() => go({ offset: 0 })}>
            Newest
          </button>
          <button type="button" disabled={offset === 0} onClick={() => go({ offset: Math.max(0, offset - HISTORY_PAGE) })}>
            Newer
          </button>
          <span data-testid="history-range">
            {first}–{last} of {total}
          </span>
          <button type="button" disabled={last >= total} onClick={() => go({ offset: offset + HISTORY_PAGE })}>
            Older
          </button>
          <button type="button" disabled={last >= total} onClick={() => go({ offset: Math.floor((total - 1) / HISTORY_PAGE) * HISTORY_PAGE })}>
            Oldest
          </button>
        </nav>
      ) : null}
    </section>
  );
}
