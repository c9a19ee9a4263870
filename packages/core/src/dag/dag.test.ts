import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../errors/index.ts';
import type { TaskState } from '../states/index.ts';
import {
  clearAdvice,
  clearBlocker,
  decideScheduled,
  downstreamInstances,
  expandMapped,
  ingestionDag,
  mapSourceOf,
  retryDelayMs,
  validateDag,
  type InstanceView,
} from './index.ts';

const dag = ingestionDag();
const v = (taskId: string, mapIndex: number, state: TaskState): InstanceView => ({ taskId, mapIndex, state });

describe('ingestion DAG shape', () => {
  it('maps stage, transform and load from extract; archive is unmapped', () => {
    assert.equal(mapSourceOf(dag, 'stage'), 'extract');
    assert.equal(mapSourceOf(dag, 'load'), 'extract');
    assert.equal(mapSourceOf(dag, 'archive'), null);
    assert.deepEqual(
      expandMapped(dag, 'extract', ['a', 'b']).map((i) => `${i.taskId}:${i.mapIndex}:${i.stream}`),
      ['stage:0:a', 'stage:1:b', 'transform:0:a', 'transform:1:b', 'load:0:a', 'load:1:b'],
    );
  });
  it('refuses cycles, unknown upstreams and duplicate streams', () => {
    const base = { retries: 0, retryDelayMs: 1, maxRetryDelayMs: 1, timeoutMs: 1, isMapped: false } as const;
    assert.throws(
      () => validateDag({ tasks: [{ ...base, taskId: 'a', taskType: 'extract', upstreamTaskIds: ['b'] }, { ...base, taskId: 'b', taskType: 'load', upstreamTaskIds: ['a'] }] }),
      /cycle/,
    );
    assert.throws(() => validateDag({ tasks: [{ ...base, taskId: 'a', taskType: 'extract', upstreamTaskIds: ['zz'] }] }), ValidationError);
    assert.throws(() => expandMapped(dag, 'extract', ['a', 'a']), /twice/);
  });
});

describe('decideScheduled (all_success with mapping)', () => {
  it('queues extract first, and archive only after extract expanded and every load succeeded', () => {
    assert.deepEqual(decideScheduled(dag, [v('extract', -1, 'scheduled'), v('archive', -1, 'scheduled')]).toQueue, [
      { taskId: 'extract', mapIndex: -1 },
    ]);
    // extract running: archive waits even though no load instance exists yet
    assert.deepEqual(decideScheduled(dag, [v('extract', -1, 'running'), v('archive', -1, 'scheduled')]).toQueue, []);
    // extract succeeded with zero streams: archive runs
    assert.deepEqual(decideScheduled(dag, [v('extract', -1, 'success'), v('archive', -1, 'scheduled')]).toQueue, [
      { taskId: 'archive', mapIndex: -1 },
    ]);
  });
  it('runs each stream chain independently of the others', () => {
    const d = decideScheduled(dag, [
      v('extract', -1, 'success'),
      v('stage', 0, 'success'),
      v('stage', 1, 'running'),
      v('transform', 0, 'success'),
      v('transform', 1, 'scheduled'),
      v('load', 0, 'scheduled'),
      v('load', 1, 'scheduled'),
      v('archive', -1, 'scheduled'),
    ]);
    assert.deepEqual(d.toQueue, [{ taskId: 'load', mapIndex: 0 }]);
    assert.deepEqual(d.toUpstreamFailed, []);
  });
  it('propagates a failed stream to its chain and archive, not to the other stream', () => {
    const d = decideScheduled(dag, [
      v('extract', -1, 'success'),
      v('stage', 0, 'failed'),
      v('stage', 1, 'success'),
      v('transform', 0, 'scheduled'),
      v('transform', 1, 'scheduled'),
      v('load', 0, 'scheduled'),
      v('load', 1, 'scheduled'),
      v('archive', -1, 'scheduled'),
    ]);
    assert.deepEqual(d.toQueue, [{ taskId: 'transform', mapIndex: 1 }]);
    assert.deepEqual(
      d.toUpstreamFailed.map((r) => `${r.taskId}:${r.mapIndex}`).sort(),
      ['archive:-1', 'load:0', 'transform:0'],
    );
  });
  it('fails archive when extract failed before expanding', () => {
    const d = decideScheduled(dag, [v('extract', -1, 'failed'), v('archive', -1, 'scheduled')]);
    assert.deepEqual(d.toUpstreamFailed, [{ taskId: 'archive', mapIndex: -1 }]);
  });
});

describe('downstreamInstances', () => {
  const all = [
    { taskId: 'extract', mapIndex: -1 },
    ...expandMapped(dag, 'extract', ['a', 'b']),
    { taskId: 'archive', mapIndex: -1 },
  ];
  it('follows one stream for a mapped instance', () => {
    assert.deepEqual(
      downstreamInstances(dag, { taskId: 'stage', mapIndex: 1 }, all).map((r) => `${r.taskId}:${r.mapIndex}`).sort(),
      ['archive:-1', 'load:1', 'transform:1'],
    );
  });
  it('covers every instance below extract', () => {
    assert.equal(downstreamInstances(dag, { taskId: 'extract', mapIndex: -1 }, all).length, 7);
  });
  it('reaches archive below an extract that never mapped its streams (failed or cancelled before)', () => {
    const unmapped = [{ taskId: 'extract', mapIndex: -1 }, { taskId: 'archive', mapIndex: -1 }];
    assert.deepEqual(downstreamInstances(dag, { taskId: 'extract', mapIndex: -1 }, unmapped), [{ taskId: 'archive', mapIndex: -1 }]);
  });
});

describe('clearBlocker', () => {
  const cancelledBeforeExtract = [v('extract', -1, 'cancelled'), v('archive', -1, 'cancelled')];
  it('names the failed or cancelled upstream a clear would leave in place, through an unexpanded map', () => {
    assert.deepEqual(clearBlocker(dag, { taskId: 'archive', mapIndex: -1 }, cancelledBeforeExtract), v('extract', -1, 'cancelled'));
    const oneLoadFailed = [
      v('extract', -1, 'success'),
      v('stage', 0, 'success'),
      v('stage', 1, 'success'),
      v('transform', 0, 'failed'),
      v('transform', 1, 'success'),
      v('load', 0, 'upstream_failed'),
      v('load', 1, 'success'),
      v('archive', -1, 'upstream_failed'),
    ];
    assert.deepEqual(clearBlocker(dag, { taskId: 'load', mapIndex: 0 }, oneLoadFailed), v('transform', 0, 'failed'));
    assert.deepEqual(clearBlocker(dag, { taskId: 'archive', mapIndex: -1 }, oneLoadFailed), v('load', 0, 'upstream_failed'));
  });
  it('is null where the clear resets what blocked it, or nothing does', () => {
    assert.equal(clearBlocker(dag, { taskId: 'extract', mapIndex: -1 }, cancelledBeforeExtract), null);
    assert.equal(clearBlocker(dag, { taskId: 'transform', mapIndex: 0 }, [v('extract', -1, 'success'), v('stage', 0, 'success'), v('transform', 0, 'failed')]), null);
  });
});

describe('clearAdvice', () => {
  const c = (taskId: string, mapIndex: number, state: TaskState, clearable = true) => ({ ...v(taskId, mapIndex, state), clearable });
  const unreadStream = [
    c('extract', -1, 'success'),
    c('stage', 0, 'success'),
    c('stage', 1, 'failed', false),
    c('transform', 0, 'success'),
    c('transform', 1, 'upstream_failed'),
    c('load', 0, 'success'),
    c('load', 1, 'upstream_failed'),
    c('archive', -1, 'upstream_failed'),
  ];
  const at = (taskId: string, mapIndex: number) => unreadStream.find((i) => i.taskId === taskId && i.mapIndex === mapIndex) ?? assert.fail(taskId);
  it('says a clear repeats a failure that said so, and one of every task waiting on it', () => {
    assert.deepEqual(clearAdvice(dag, at('stage', 1), unreadStream), { kind: 'none', because: at('stage', 1) });
    assert.deepEqual(clearAdvice(dag, at('load', 1), unreadStream), { kind: 'none', because: at('stage', 1) });
    assert.deepEqual(clearAdvice(dag, at('archive', -1), unreadStream), { kind: 'none', because: at('stage', 1) });
  });
  it('names the furthest instance up to clear instead, and the task itself when its clear runs', () => {
    const clearable = unreadStream.map((i) => ({ ...i, clearable: true }));
    assert.deepEqual(clearAdvice(dag, clearable[7]!, clearable), { kind: 'instead', instance: clearable[2] });
    assert.deepEqual(clearAdvice(dag, clearable[2]!, clearable), { kind: 'self' });
  });
  it("says a clear has nothing to read once the run's files are gone, unless what it runs first has no upstream", () => {
    const clearable = unreadStream.map((i) => ({ ...i, clearable: true }));
    const gone = { upstreamOutputsGone: true };
    assert.deepEqual(clearAdvice(dag, clearable[2]!, clearable, gone), { kind: 'outputs_gone', instance: clearable[2] });
    assert.deepEqual(clearAdvice(dag, clearable[7]!, clearable, gone), { kind: 'outputs_gone', instance: clearable[2] });
    const extractFailed = clearable.map((i) => (i.taskId === 'extract' ? { ...i, state: 'failed' as const } : i));
    assert.deepEqual(clearAdvice(dag, extractFailed[0]!, extractFailed, gone), { kind: 'self' });
    assert.deepEqual(clearAdvice(dag, extractFailed[7]!, extractFailed, gone), { kind: 'instead', instance: extractFailed[0] });
  });
});

describe('retryDelayMs', () => {
  const p = { retries: 100, retryDelayMs: 1000, maxRetryDelayMs: 5000 };
  it('doubles from the base delay and stops at the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 59].map((t) => retryDelayMs(p, { tryNumber: t, maxTries: 101 })), [1000, 2000, 4000, 5000, 5000, 5000]);
  });
  it('starts again after a clear, which gave the task a new set of retries (QA round 47b F5)', () => {
    // Cleared after try 4 failed for good (max_tries 4 → 4 + 3 + 1): try 5 is the first of the new set.
    const q = { retries: 3, retryDelayMs: 1000, maxRetryDelayMs: 600_000 };
    assert.deepEqual([5, 6, 7].map((t) => retryDelayMs(q, { tryNumber: t, maxTries: 8 })), [1000, 2000, 4000]);
    assert.equal(retryDelayMs(q, { tryNumber: 3, maxTries: 4 }), 4000, 'before the clear');
  });
  it('does not count a try cut short by a graceful stop (it added one to max_tries)', () => {
    assert.equal(retryDelayMs({ ...p, retries: 3 }, { tryNumber: 2, maxTries: 5 }), 1000, 'try 1 interrupted: try 2 is the first counted');
  });
});
