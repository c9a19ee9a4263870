import type { LiveRunSummary } from '../shared/events.ts';

/** The jobs list's sortable columns, as the `sort` query parameter names them. */
export const JOB_SORT_KEYS = ['name', 'source', 'schema', 'mode', 'next', 'state', 'last_run'] as const;
export type JobSortKey = (typeof JOB_SORT_KEYS)[number];

export interface JobSort {
  key: JobSortKey;
  descending: boolean;
}

/** What a job row is sorted by. */
export interface SortableJob {
  name: string;
  source_name: string;
  schema_name: string;
  mode: string;
  /** Its next fire; null when none comes (by hand only, or paused). */
  next: Date | null;
  /** Paused (its State column): active jobs sort before paused ones. */
  paused: boolean;
  /** Its runs, newest first (the live feed's marks). */
  runs: readonly LiveRunSummary[];
}

/** `name` or `-last_run` (descending); null for none or a value it does not know: the API's order. */
export function parseJobSort(value: string | null): JobSort | null {
  if (value === null) return null;
  const descending = value.startsWith('-');
  const key = JOB_SORT_KEYS.find((k) => k === (descending ? value.slice(1) : value));
  return key === undefined ? null : { key, descending };
}

export function formatJobSort(sort: JobSort): string {
  return `${sort.descending ? '-' : ''}${sort.key}`;
}

/**
 * The order a column's header asks for when clicked: the other way round when the list is already
 * sorted by it, else its natural way — names A to Z, the soonest next fire, active before paused,
 * the newest last run.
 */
export function nextJobSort(current: JobSort | null, key: JobSortKey): JobSort {
  if (current?.key === key) return { key, descending: !current.descending };
  return { key, descending: key === 'last_run' };
}

/** When a job's newest run started (queued, when it has not started): what "last run" names. */
export function lastRunAt(runs: readonly LiveRunSummary[]): string | null {
  const newest = runs[0];
  return newest === undefined ? null : (newest.started_at ?? newest.queued_at);
}

const text = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

/**
 * The jobs in the order asked, ties in the order given (the API's). A job with no next fire, or no
 * run, goes last whichever way the column is sorted, as Airflow's list puts DAGs that never ran.
 */
export function sortJobs<T extends SortableJob>(jobs: readonly T[], sort: JobSort | null): T[] {
  if (sort === null) return [...jobs];
  const sign = sort.descending ? -1 : 1;
  const valueOf = (j: T): string | number | null => {
    switch (sort.key) {
      case 'name':
        return j.name;
      case 'source':
        return j.source_name;
      case 'schema':
        return j.schema_name;
      case 'mode':
        return j.mode;
      case 'next':
        return j.next?.getTime() ?? null;
      case 'state':
        return j.paused ? 1 : 0;
      case 'last_run': {
        const at = lastRunAt(j.runs);
        return at === null ? null : Date.parse(at);
      }
    }
  };
  return jobs
    .map((job, index) => ({ job, index, value: valueOf(job) }))
    .sort((a, b) => {
      if (a.value === null || b.value === null) return a.value === b.value ? a.index - b.index : a.value === null ? 1 : -1;
      const order = typeof a.value === 'number' && typeof b.value === 'number' ? a.value - b.value : text.compare(String(a.value), String(b.value));
      return order === 0 ? a.index - b.index : sign * order;
    })
    .map((x) => x.job);
}
