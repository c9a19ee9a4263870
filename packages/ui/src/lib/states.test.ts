import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeCounts, stateCounts, type AnyState } from './states.ts';

const many = (n: number, s: AnyState): AnyState[] => Array.from({ length: n }, () => s);

test("a grouped node's counts are words while they fit its line, else numbers by state (QA round 42b F7)", () => {
  assert.deepEqual(nodeCounts(many(30, 'success')), { words: '30 success' });
  assert.deepEqual(nodeCounts([...many(29, 'success'), 'failed']), { words: '29 success · 1 failed' });
  // The words ran out of the node: "14 success · 4 running · 12 que".
  const mixed = [...many(12, 'queued'), ...many(14, 'success'), ...many(4, 'running')];
  assert.equal(stateCounts(mixed), '14 success · 4 running · 12 queued');
  assert.deepEqual(nodeCounts(mixed), { tally: [['success', 14], ['running', 4], ['queued', 12]] });
});
