import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { listAllJobs, type Job } from '../api/types.ts';
import { useLive } from '../api/live.ts';
import { useRetryRead } from '../api/retry-read.ts';
import { useApp } from '../app-context.ts';
import { LiveIndicator } from '../components/live-indicator.tsx';
import { ActionStatus, RedisWarning, SchedulerWarning, useDocumentTitle } from '../components/page-parts.tsx';
import { StateMark } from '../components/state-mark.tsx';
import { useFlash } from '../lib/flash.ts';
import { formatDate, formatLogicalDate, shortId } from '../lib/format.ts';
import { formatJobSort, lastRunAt, nextJobSort, parseJobSort, sortJobs, type JobSort, type JobSortKey } from '../lib/job-sort.ts';
import { nextFire, scheduleInWords } from '../lib/schedule.ts';
import { stateLabel } from '../lib/states.ts';
import { Link, useRouter, withQuery } from '../router.tsx';
import { LIVE_JOBS_LIMIT, type LiveJobLine, type LiveRedis, type LiveScheduler } from '../shared/events.ts';

type ActiveFilter = 'all' | 'active' | 'paused';
type LastRunFilter = 'any' | 'success' | 'failed' | 'cancelled' | 'running' | 'none';

const ACTIVE_FILTERS: readonly ActiveFilter[] = ['all', 'active', 'paused'];
const LAST_RUN_FILTERS: readonly LastRunFilter[] = ['any', 'success', 'failed', 'cancelled', 'running', 'none'];
const MODES = ['all', 'append', 'overwrite', 'merge'] as const;

/**
 * The orders the Sort choice offers: the ones a phone needs, whose list has no header row (the
 * headers sort by every column, either way). Worded apart from the other filters' names.
 */
const SORT_CHOICES: readonly (readonly [string, string])[] = [
  ['name', 'name, A to Z'],
  ['-name', 'name, Z to A'],
  ['next', 'next fire, soonest first'],
  ['-last_run', 'newest run first'],
  ['last_run', 'oldest run first'],
];

/** The filters' and the order's query parameters, and their values when left out. */
const FILTER_DEFAULTS = { q: '', mode: 'all', schedule: 'all', last_run: 'any', sort: '' } as const;
type FilterKey = keyof typeof FILTER_DEFAULTS;

const pick = <T extends string>(options: readonly T[], value: string | null, fallback: T): T => options.find((o) => o === value) ?? fallback;

/** The filters an address asks for (a value it does not know is the default). */
function filtersOf(search: URLSearchParams): { text: string; mode: string; active: ActiveFilter; lastRun: LastRunFilter; sort: JobSort | null } {
  return {
    text: search.get('q') ?? '',
    mode: pick(MODES, search.get('mode'), 'all'),
    active: pick(ACTIVE_FILTERS, search.get('schedule'), 'all'),
    lastRun: pick(LAST_RUN_FILTERS, search.get('last_run'), 'any'),
    sort: parseJobSort(search.get('sort')),
  };
}

/** A column header that sorts the list by its column (QA round 54b F10: the list did not sort). */
function SortHeader({ label, column, sort, onSort }: { label: string; column: JobSortKey; sort: JobSort | null; onSort: (s: JobSort) => void }): ReactNode {
  const on = sort?.key === column ? sort : null;
  return (
    <th scope="col" aria-sort={on === null ? undefined : on.descending ? 'descending' : 'ascending'}>
      <button type="button" className="sort" data-sort={column} onClick={() => onSort(nextJobSort(sort, column))}>
        {label}
        <span aria-hidden="true" className="sort-mark">
          {on === null ? '' : on.descending ? ' ▼' : ' ▲'}
        </span>
      </button>
    </th>
  );
}

/** Every job the viewer may see, with live run marks and filters. */
export function JobsPage(): ReactNode {
  const { api, auth } = useApp();
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [lines, setLines] = useState<Map<string, LiveJobLine>>(new Map());
  const [scheduler, setScheduler] = useState<LiveScheduler | null>(null);
  const [redis, setRedis] = useState<LiveRedis | null>(null);
  // The filters live in the address (QA round 27: a reload, the back button or a shared link lost them).
  const { location, navigate } = useRouter();
  const { text, mode, active, lastRun, sort } = filtersOf(location.search);
  const setFilter = (key: FilterKey, value: string): void =>
    navigate(withQuery(location, { [key]: value === FILTER_DEFAULTS[key] ? '' : value }), { replace: true, keepScroll: true });

  // The list is read once, and again when the feed says it changed; a read that failed (QA round 27:
  // PostgreSQL away when the page opened) is made again a while later, until one succeeds, as the
  // page's other parts do. One at a time.
  const reading = useRef(false);
  const { attempt, retryLater } = useRetryRead();
  const read = useCallback(() => {
    if (reading.current) return;
    reading.current = true;
    listAllJobs((p) => api.get(p))
      .then((all) => {
        setJobs(all);
        setError(null);
      })
      .catch((err: unknown) => {
        setError(err instanceof Error ? err.message : String(err));
        retryLater();
      })
      .finally(() => {
        reading.current = false;
      });
  }, [api, retryLater]);
  useEffect(read, [read, attempt]);

  const status = useLive(auth, {}, {
    scheduler: setScheduler,
    redis: setRedis,
    jobs: ({ jobs: live }) => {
      setLines(new Map(live.map((l) => [l.job_id, l])));
      // A job created elsewhere appears without a reload: fetch the list again when one is new.
      // One deleted elsewhere leaves it: a feed of fewer than its limit holds every visible job.
      setJobs((current) => {
        if (current === null) return current;
        const known = new Set(current.map((j) => j.job_id));
        if (live.some((l) => !known.has(l.job_id))) read();
        if (live.length >= LIVE_JOBS_LIMIT) return current;
        const visible = new Set(live.map((l) => l.job_id));
        return current.every((j) => visible.has(j.job_id)) ? current : current.filter((j) => visible.has(j.job_id));
      });
    },
    // The same jobs, some of whose lines changed: only those come.
    job_lines: ({ changed }) =>
      setLines((current) => {
        const next = new Map(current);
        for (const l of changed) next.set(l.job_id, l);
        return next;
      }),
  });

  const shown = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const kept = (jobs ?? []).filter((j) => {
      const line = lines.get(j.job_id);
      const paused = line?.is_paused ?? j.is_paused;
      if (needle && ![j.name, j.source_name, j.schema_name, j.owner_id ?? ''].some((v) => v.toLowerCase().includes(needle))) return false;
      if (mode !== 'all' && j.mode !== mode) return false;
      if (active === 'active' && paused) return false;
      if (active === 'paused' && !paused) return false;
      const last = line?.runs[0]?.state;
      if (lastRun === 'none' && last !== undefined) return false;
      if (lastRun !== 'any' && lastRun !== 'none' && last !== lastRun && !(lastRun === 'running' && last === 'queued')) return false;
      return true;
    });
    return sortJobs(
      kept.map((j) => {
        const line = lines.get(j.job_id);
        const paused = line?.is_paused ?? j.is_paused;
        return { ...j, line, paused, next: nextFire(j.schedule, j.timezone, paused), runs: line?.runs ?? [] };
      }),
      sort,
    );
  }, [jobs, lines, text, mode, active, lastRun, sort]);
  const onSort = (s: JobSort): void => setFilter('sort', formatJobSort(s));

  useDocumentTitle('Jobs');
  const flashed = useFlash();
  // How many jobs the filters leave, said when filters hide some (QA round 56b F9): the table alone changed.
  const filteredOut = jobs !== null && shown.length < jobs.length;
  const matched = !filteredOut ? '' : shown.length === 0 ? 'No job matches these filters.' : `${shown.length} of ${jobs.length} jobs match these filters.`;
  return (
    <main id="main" tabIndex={-1}>
      <div className="page-head">
        <h1>Jobs</h1>
        <LiveIndicator status={status} />
      </div>
      <RedisWarning redis={redis} />
      <form className="filters" role="search" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input type="search" value={text} onChange={(e) => setFilter('q', e.target.value)} placeholder="name, source, schema, owner" />
        </label>
        <label>
          Mode
          <select value={mode} onChange={(e) => setFilter('mode', e.target.value)}>
            <option value="all">all</option>
            <option value="append">append</option>
            <option value="overwrite">overwrite</option>
            <option value="merge">merge</option>
          </select>
        </label>
        <label>
          Schedule
          <select value={active} onChange={(e) => setFilter('schedule', e.target.value)}>
            <option value="all">all</option>
            <option value="active">active</option>
            <option value="paused">paused</option>
          </select>
        </label>
        <label>
          Last run
          <select value={lastRun} onChange={(e) => setFilter('last_run', e.target.value)}>
            <option value="any">any</option>
            <option value="success">success</option>
            <option value="failed">failed</option>
            <option value="cancelled">cancelled</option>
            <option value="running">running or queued</option>
            <option value="none">never ran</option>
          </select>
        </label>
        {/* The headers sort too; this is the way on a phone, where the list has no header row. */}
        <label>
          Sort
          <select value={sort !== null && SORT_CHOICES.some(([v]) => v === formatJobSort(sort)) ? formatJobSort(sort) : ''} onChange={(e) => setFilter('sort', e.target.value)}>
            <option value="">{sort === null ? 'newest job first' : 'as the headers sort'}</option>
            {SORT_CHOICES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </form>
      <SchedulerWarning scheduler={scheduler} redis={redis} />
      <ActionStatus notice={flashed} error={error} />
      <p className="visually-hidden" aria-live="polite" data-testid="jobs-matched">
        {matched}
      </p>
      {jobs === null && error === null ? <p className="muted">Loading jobs…</p> : null}
      {jobs !== null ? (
        <table className="jobs responsive" aria-label="Jobs">
          <thead>
            <tr>
              <SortHeader label="Job" column="name" sort={sort} onSort={onSort} />
              <SortHeader label="Source" column="source" sort={sort} onSort={onSort} />
              <SortHeader label="Target schema" column="schema" sort={sort} onSort={onSort} />
              <SortHeader label="Mode" column="mode" sort={sort} onSort={onSort} />
              <SortHeader label="Schedule" column="next" sort={sort} onSort={onSort} />
              <SortHeader label="State" column="state" sort={sort} onSort={onSort} />
              <SortHeader label="Last runs" column="last_run" sort={sort} onSort={onSort} />
            </tr>
          </thead>
          <tbody>
            {shown.length === 0 ? (
              <tr>
                <td colSpan={7} className="muted">
                  {jobs.length === 0 ? 'No jobs yet: post one to /api/airbyte/ingest.' : 'No job matches these filters.'}
                </td>
              </tr>
            ) : null}
            {shown.map((j) => {
              const { line, next } = j;
              const { paused } = j;
              const lastAt = lastRunAt(j.runs);
              return (
                <tr key={j.job_id} data-job-id={j.job_id}>
                  <td data-label="Job">
                    <div>
                      <Link to={`/jobs/${j.job_id}`} className="job-name">
                        {j.name}
                      </Link>
                      <div className="muted small">{shortId(j.job_id)}{j.owner_id ? ` · ${j.owner_id}` : ''}</div>
                    </div>
                  </td>
                  <td data-label="Source">{j.source_name}</td>
                  <td data-label="Target schema">
                    <code>{j.schema_name}</code>
                  </td>
                  <td data-label="Mode">{j.mode}</td>
                  <td data-label="Schedule">
                    <div>
                      {scheduleInWords(j.schedule, j.timezone)}
                      {next !== null ? <div className="muted small">next {formatDate(next.toISOString())}</div> : null}
                    </div>
                  </td>
                  <td data-label="State">
                    <span className={paused ? 'pill paused' : 'pill active'} data-testid="job-active">
                      {paused ? 'paused' : 'active'}
                    </span>
                  </td>
                  <td data-label="Last runs">
                    {/* One block: on a phone the cell is a grid of its label and this. */}
                    <div>
                      <span className="run-marks">
                        {[...(line?.runs ?? [])].reverse().map((r) => (
                          <Link key={r.run_id} to={`/runs/${r.run_id}`} aria-label={`Run ${shortId(r.run_id)}: ${stateLabel(r.state)}, ${formatLogicalDate(r.logical_date)}`}>
                            <StateMark state={r.state} title={`${stateLabel(r.state)} · ${formatLogicalDate(r.logical_date)}`} />
                          </Link>
                        ))}
                        {line !== undefined && line.runs.length === 0 ? <span className="muted small">no runs</span> : null}
                      </span>
                      {lastAt !== null ? <div className="muted small" data-testid="last-run-at">last {formatDate(lastAt)}</div> : null}
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </main>
  );
}
