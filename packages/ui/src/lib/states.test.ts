import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LiveRunSummary } from '../shared/events.ts';
import { failedByCancel, nodeCounts, stateCounts, type AnyState } from './states.ts';

const many = (n: number, s: AnyState): AnyState[] => Array.from({ length: n }, () => s);

test("a grouped node's counts are words while they fit its line, else numbers by state (QA round 42b F7)", () => {
  assert.deepEqual(nodeCounts(many(30, 'success')), { words: '30 success' });
  assert.deepEqual(nodeCounts([...many(29, 'success'), 'failed']), { words: '29 success · 1 failed' });
  // The words ran out of the node: "14 success · 4 running · 12 que".
  const mixed = [...many(12, 'queued'), ...many(14, 'success'), ...many(4, 'running')];
  assert.equal(stateCounts(mixed), '14 success · 4 running · 12 queued');
  assert.deepEqual(nodeCounts(mixed), { tally: [['success', 14], ['running', 4], ['queued', 12]] });
});

test("a job's failed status reads as a cancel's only when the newest run that ran was cancelled", () => {
  const run = (state: LiveRunSummary['state'], started: string | null, ended: string | null): LiveRunSummary => ({
    run_id: `${state}-${ended ?? 'open'}`,
    state,
    run_type: 'manual',
    logical_date: '2026-12-01T00:00:00.000Z',
    queued_at: '2026-12-01T00:00:00.000Z',
    started_at: started,
    ended_at: ended,
  });
  assert.equal(failedByCancel([run('cancelled', '2026-12-01T00:01:00.000Z', '2026-12-01T00:02:00.000Z'), run('failed', '2026-12-01T00:00:10.000Z', '2026-12-01T00:00:50.000Z')]), true);
  // A real failure, then a run withdrawn while queued: the job failed (the cancel ended a run that never ran).
  assert.equal(failedByCancel([run('cancelled', null, '2026-12-01T00:05:00.000Z'), run('failed', '2026-12-01T00:01:00.000Z', '2026-12-01T00:02:00.000Z')]), false);
  // A cancelled run under way, then a newer failure.
  assert.equal(failedByCancel([run('failed', '2026-12-01T00:03:00.000Z', '2026-12-01T00:04:00.000Z'), run('cancelled', '2026-12-01T00:01:00.000Z', '2026-12-01T00:02:00.000Z')]), false);
  assert.equal(failedByCancel([run('running', '2026-12-01T00:03:00.000Z', null)]), false);
  assert.equal(failedByCancel([]), false);
});
