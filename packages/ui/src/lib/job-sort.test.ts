import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LiveRunSummary } from '../shared/events.ts';
import { formatJobSort, nextJobSort, parseJobSort, sortJobs, type SortableJob } from './job-sort.ts';

const run = (startedAt: string | null, queuedAt: string): LiveRunSummary => ({
  run_id: queuedAt,
  state: startedAt === null ? 'queued' : 'success',
  run_type: 'manual',
  logical_date: queuedAt,
  queued_at: queuedAt,
  started_at: startedAt,
  ended_at: null,
});
const job = (name: string, o: Partial<SortableJob> = {}): SortableJob => ({ name, source_name: 'source-faker', schema_name: 's', mode: 'append', next: null, paused: false, runs: [], ...o });
const names = (jobs: readonly SortableJob[]): string[] => jobs.map((j) => j.name);

test('the jobs list sorts by a column, either way; with no order asked it keeps the API’s', () => {
  const jobs = [job('orders 10'), job('Accounts'), job('orders 9'), job('billing')];
  assert.deepEqual(names(sortJobs(jobs, null)), ['orders 10', 'Accounts', 'orders 9', 'billing']);
  // Case does not matter, and numbers in names sort as numbers.
  assert.deepEqual(names(sortJobs(jobs, { key: 'name', descending: false })), ['Accounts', 'billing', 'orders 9', 'orders 10']);
  assert.deepEqual(names(sortJobs(jobs, { key: 'name', descending: true })), ['orders 10', 'orders 9', 'billing', 'Accounts']);
});

test('by next fire or last run, jobs with none go last whichever way, in the API’s order', () => {
  const jobs = [
    job('manual', { runs: [] }),
    job('hourly', { next: new Date('2026-12-05T01:00:00Z'), runs: [run('2026-12-05T00:00:01Z', '2026-12-05T00:00:00Z')] }),
    job('paused', { runs: [] }),
    job('daily', { next: new Date('2026-12-06T00:00:00Z'), runs: [run(null, '2026-12-05T00:30:00Z'), run('2026-12-04T00:00:01Z', '2026-12-04T00:00:00Z')] }),
  ];
  assert.deepEqual(names(sortJobs(jobs, { key: 'next', descending: false })), ['hourly', 'daily', 'manual', 'paused']);
  assert.deepEqual(names(sortJobs(jobs, { key: 'next', descending: true })), ['daily', 'hourly', 'manual', 'paused']);
  // The newest run counts, by its start, or its queueing while it waits.
  assert.deepEqual(names(sortJobs(jobs, { key: 'last_run', descending: true })), ['daily', 'hourly', 'manual', 'paused']);
  assert.deepEqual(names(sortJobs(jobs, { key: 'last_run', descending: false })), ['hourly', 'daily', 'manual', 'paused']);
});

test('by state, active jobs before paused ones, or the other way; ties in the API’s order (QA round 56b: the State column did not sort)', () => {
  const jobs = [job('a', { paused: true }), job('b'), job('c', { paused: true }), job('d')];
  assert.deepEqual(names(sortJobs(jobs, { key: 'state', descending: false })), ['b', 'd', 'a', 'c']);
  assert.deepEqual(names(sortJobs(jobs, { key: 'state', descending: true })), ['a', 'c', 'b', 'd']);
  assert.deepEqual(parseJobSort('-state'), { key: 'state', descending: true });
  assert.deepEqual(nextJobSort(null, 'state'), { key: 'state', descending: false });
});

test("a header's click sorts its natural way first, then the other way; the order is kept in the address", () => {
  assert.deepEqual(nextJobSort(null, 'name'), { key: 'name', descending: false });
  assert.deepEqual(nextJobSort(null, 'last_run'), { key: 'last_run', descending: true });
  assert.deepEqual(nextJobSort({ key: 'name', descending: false }, 'name'), { key: 'name', descending: true });
  assert.deepEqual(nextJobSort({ key: 'name', descending: true }, 'mode'), { key: 'mode', descending: false });
  assert.equal(formatJobSort({ key: 'last_run', descending: true }), '-last_run');
  assert.deepEqual(parseJobSort('-last_run'), { key: 'last_run', descending: true });
  assert.deepEqual(parseJobSort('schema'), { key: 'schema', descending: false });
  assert.equal(parseJobSort('owner'), null);
  assert.equal(parseJobSort('--name'), null);
  assert.equal(parseJobSort(null), null);
});
