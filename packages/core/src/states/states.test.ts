import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertRunTransition,
  assertTaskTransition,
  canTransitionRun,
  canTransitionTask,
  IllegalTransitionError,
  runOutcome,
  taskStatesLeadingTo,
} from './index.ts';

describe('task transitions', () => {
  it('allows the normal path and retries', () => {
    for (const [from, to] of [
      ['scheduled', 'queued'],
      ['queued', 'running'],
      ['running', 'success'],
      ['running', 'up_for_retry'],
      ['up_for_retry', 'running'],
      ['running', 'failed'],
      ['scheduled', 'upstream_failed'],
      ['failed', 'scheduled'],
      ['upstream_failed', 'scheduled'],
      ['running', 'cancelled'],
      ['queued', 'cancelled'],
    ] as const) {
      assert.ok(canTransitionTask(from, to), `${from} → ${to}`);
    }
  });
  it('refuses skipping a step or leaving a finished state except through a clear', () => {
    for (const [from, to] of [
      ['scheduled', 'running'],
      ['queued', 'success'],
      ['success', 'running'],
      ['failed', 'queued'],
      ['cancelled', 'running'],
      ['up_for_retry', 'success'],
    ] as const) {
      assert.equal(canTransitionTask(from, to), false, `${from} → ${to}`);
    }
    assert.throws(() => assertTaskTransition('success', 'failed'), IllegalTransitionError);
  });
  it('derives the guard of a transition from the table', () => {
    assert.deepEqual(taskStatesLeadingTo('running').sort(), ['queued', 'up_for_retry']);
    assert.deepEqual(taskStatesLeadingTo('queued'), ['scheduled']);
  });
});

describe('run transitions', () => {
  it('follows queued → running → finished; a failed or cancelled run goes back to running or queued (clear)', () => {
    assert.ok(canTransitionRun('queued', 'running'));
    assert.ok(canTransitionRun('running', 'failed'));
    assert.ok(canTransitionRun('failed', 'running'));
    assert.ok(canTransitionRun('cancelled', 'queued'));
    assert.equal(canTransitionRun('success', 'running'), false);
    assert.equal(canTransitionRun('queued', 'success'), false);
    assert.throws(() => assertRunTransition('success', 'queued'), IllegalTransitionError);
  });
});

describe('runOutcome', () => {
  it('is unfinished while any instance can still change', () => {
    assert.deepEqual(runOutcome(['success', 'up_for_retry']), { kind: 'unfinished' });
    assert.deepEqual(runOutcome(['failed', 'running']), { kind: 'unfinished' });
  });
  it('fails when an instance failed or could not run, succeeds otherwise', () => {
    assert.deepEqual(runOutcome(['success', 'failed', 'upstream_failed']), { kind: 'failed' });
    assert.deepEqual(runOutcome(['success', 'skipped', 'success']), { kind: 'success' });
  });
});
