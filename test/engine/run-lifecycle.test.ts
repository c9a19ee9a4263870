/**
 * Runs through the real engine, runner and PostgreSQL/Redis: manual trigger, per-stream
 * mapping, retries, non-retryable failures, timeouts, cancel, clear and max_active_runs.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { NonRetryableTaskError, ServiceUnavailableError, UnclearableTaskError } from '@sluice/core';
import { IncompatibleSchemaError } from '@sluice/iceberg';
import { ingestionDag, validateDag } from '@sluice/core/dag';
import { isLostTryError } from '@sluice/core/states';
import { sqlTransaction } from '@sluice/db';
import { createMemoryLogger } from '@sluice/logging';
import { writeJobDag } from '@sluice/engine';
import { createHarness, instanceStates, noopHandlers, waitFor, waitForRun, type Harness } from './support/harness.ts';

describe('run lifecycle', () => {
  // A harness (database, queue prefix, engine, runners) per test.
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('runs a manual trigger through extract, one chain per stream, and archive; job status follows', async () => {
    const { logger, lines } = createMemoryLogger();
    await h.startRunner(undefined, { logger });
    const jobId = await h.createJob({ streams: ['users', 'orders', 'items'] });
    const { runId } = await h.engine.triggerRun(jobId);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    assert.equal(run.state, 'success');
    assert.equal(run.runType, 'manual');
    const loads = await h.prisma.taskInstance.findMany({ where: { runId, taskId: 'load' }, orderBy: { mapIndex: 'asc' } });
    assert.deepEqual(loads.map((l) => [l.mapIndex, l.stream, l.state]), [
      [0, 'users', 'success'],
      [1, 'orders', 'success'],
      [2, 'items', 'success'],
    ]);
    // each load saw its own stream's stage output
    assert.deepEqual(loads[1]?.output, { loaded: 'orders', staged: { staged: 'orders' } });
    const stage = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage', mapIndex: 0 } });
    assert.equal(stage.rows, 10n);
    assert.equal(stage.tryNumber, 1);
    const job = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.equal(job.status, 'completed');
    assert.ok(job.lastStartedAt && job.lastCompletedAt && job.lastCompletedAt >= job.lastStartedAt);
    const logs = await h.prisma.taskLog.findMany({ where: { taskInstanceId: stage.id, tryNumber: 1 } });
    assert.ok(logs.some((l) => l.message.includes('started on runner')), 'the try wrote its log lines');
    // The runner that finished the run says its outcome once (QA round 33c F7: no process said it).
    await waitFor(async () => lines.some((l) => l.includes('"run succeeded"')), 'the run outcome line', 5_000);
    const said = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => /^run /.test(String(l['message'])));
    assert.deepEqual(said.map((l) => [l['level'], l['message'], l['runId'], l['jobId'], l['state']]), [['info', 'run succeeded', runId, jobId, 'success']]);
  });

  it("ctx.upstream reads a succeeded instance's output when asked: same stream, a named stream, an unmapped task, or none", async () => {
    const seen: Record<string, unknown> = {};
    await h.startRunner({
      transform: async (ctx) => {
        // a mapped task: its own stream's stage; extract is unmapped; a task that is not upstream of it has not run
        seen[`transform ${ctx.task.stream}`] = [await ctx.upstream('stage'), await ctx.upstream('extract'), await ctx.upstream('archive')];
        return {};
      },
      archive: async (ctx) => {
        // not mapped: a stream is named, or there is none to pick
        seen['archive'] = [await ctx.upstream('stage', 'b'), await ctx.upstream('stage'), await ctx.upstream('load', 'nope')];
        return {};
      },
    });
    const jobId = await h.createJob({ streams: ['a', 'b'] });
    const { runId } = await h.engine.triggerRun(jobId);
    assert.equal((await waitForRun(h.prisma, runId, ['success', 'failed'])).state, 'success');
    assert.deepEqual(seen, {
      'transform a': [{ staged: 'a' }, { streams: ['a', 'b'] }, undefined],
      'transform b': [{ staged: 'b' }, { streams: ['a', 'b'] }, undefined],
      archive: [{ staged: 'b' }, undefined, undefined],
    });
  });

  it('finishes a started run before starting the next one waiting behind it (one runner slot)', async () => {
    const jobId = await h.createJob({ streams: ['a', 'b'], maxActiveRuns: 5 });
    // Both runs' extracts are queued before any runner is up, the first run's first.
    const first = (await h.engine.triggerRun(jobId)).runId;
    await sleep(5); // manual runs are keyed by trigger time
    const second = (await h.engine.triggerRun(jobId)).runId;
    await h.startRunner(undefined, { concurrency: 1 });
    assert.equal((await waitForRun(h.prisma, first, ['success', 'failed'])).state, 'success');
    assert.equal((await waitForRun(h.prisma, second, ['success', 'failed'])).state, 'success');
    // FIFO would start the second run's extract right after the first run's; instead every
    // task of the first run (queued later, as hand-offs) ran before it.
    const firstEnds = await h.prisma.taskInstance.aggregate({ where: { runId: first }, _max: { endedAt: true } });
    const secondExtract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId: second, taskId: 'extract' } });
    assert.ok(firstEnds._max.endedAt && secondExtract.startedAt);
    assert.ok(secondExtract.startedAt >= firstEnds._max.endedAt, 'the second run started only once the first had finished');
  });

  it('retries a failing task with backoff and succeeds', async () => {
    let tries = 0;
    const jobId = await h.createJob({ streams: ['s'] });
    const runner = await h.startRunner({
      transform: async (ctx) => {
        tries++;
        if (ctx.task.tryNumber < 3) throw new Error(`flaky ${ctx.task.tryNumber}`);
        return {};
      },
    });
    const { runId } = await h.engine.triggerRun(jobId);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    await runner.close();
    assert.equal(run.state, 'success');
    const t = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'transform' } });
    assert.equal(t.tryNumber, 3);
    assert.equal(tries, 3);
    // Tries a retry followed are warnings, not errors: the task succeeded.
    assert.equal(await h.prisma.taskLog.count({ where: { taskInstanceId: t.id, level: 'error' } }), 0);
    const failLogs = await h.prisma.taskLog.findMany({ where: { taskInstanceId: t.id, level: 'warn', message: { contains: 'failed' } }, orderBy: { tryNumber: 'asc' } });
    assert.deepEqual(failLogs.map((l) => l.tryNumber), [1, 2]);
    assert.match(failLogs[0]?.message ?? '', /^try 1 of \d+ failed, and is retried: .*flaky 1/);
    // The tries before the latest keep their times (QA round 28: the timeline showed the latest only).
    const earlier = t.earlierTries as { try_number: number; state: string; started_at: string; ended_at: string; error: string | null }[];
    assert.deepEqual(earlier.map((e) => [e.try_number, e.state]), [[1, 'failed'], [2, 'failed']]);
    // Each with its own error (QA round 53a F3: none was kept).
    assert.deepEqual(earlier.map((e) => e.error), ['flaky 1', 'flaky 2']);
    const times = earlier.flatMap((e) => [Date.parse(e.started_at), Date.parse(e.ended_at)]);
    times.push(t.startedAt?.getTime() ?? NaN);
    assert.deepEqual([...times].sort((a, b) => a - b), times, 'each try starts after the one before it ended');
    assert.ok(times[2]! - times[1]! >= 90, `the gap before try 2 is its retry delay (100 ms): ${times[2]! - times[1]!} ms`);
  });

  it('fails a stream after its tries are used up; other streams still load; archive is upstream_failed', async () => {
    const jobId = await h.createJob({ streams: ['good', 'bad'], policies: { load: { retries: 1 } } });
    const runner = await h.startRunner({
      load: async (ctx) => {
        if (ctx.task.stream === 'bad') throw new Error('table is locked');
        return {};
      },
    });
    const { runId } = await h.engine.triggerRun(jobId);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    await runner.close();
    assert.equal(run.state, 'failed');
    assert.match(run.stateMessage ?? '', /task load\[bad\] failed: table is locked/);
    const states = await instanceStates(h.prisma, runId);
    assert.equal(states['load[0]'], 'success');
    assert.equal(states['load[1]'], 'failed');
    assert.equal(states['archive[-1]'], 'upstream_failed');
    const bad = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'load', mapIndex: 1 } });
    assert.equal(bad.tryNumber, 2, 'one retry, then failed');
    // A try a retry follows is a warning; the last is the error (QA round 33c F7: both were errors, worded alike).
    const said = await h.prisma.taskLog.findMany({ where: { taskInstanceId: bad.id, message: { contains: 'failed' } }, orderBy: { id: 'asc' }, select: { level: true, message: true } });
    assert.deepEqual(said.map((l) => [l.level, l.message]), [
      ['warn', 'try 1 of 2 failed, and is retried: table is locked'],
      ['error', 'try 2 of 2 failed, the last: table is locked'],
    ]);
    const job = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.equal(job.status, 'failed');
    assert.ok(job.lastFailedAt);
    assert.match(job.statusMessage ?? '', /table is locked/);
  });

  it('fails at once on a non-retryable error', async () => {
    const jobId = await h.createJob({ streams: ['s'], policies: { extract: { retries: 5 } } });
    const { logger, lines: said } = createMemoryLogger();
    const runner = await h.startRunner(
      {
        extract: async () => {
          throw new NonRetryableTaskError('source_config.token is missing');
        },
      },
      { logger },
    );
    const { runId } = await h.engine.triggerRun(jobId);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    await runner.close();
    assert.equal(run.state, 'failed');
    const extract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
    assert.equal(extract.state, 'failed');
    assert.equal(extract.tryNumber, 1);
    assert.equal(extract.error, 'source_config.token is missing');
    assert.deepEqual(await instanceStates(h.prisma, runId), { 'archive[-1]': 'upstream_failed', 'extract[-1]': 'failed' });
    const lines = await h.prisma.taskLog.findMany({ where: { taskInstanceId: extract.id, level: 'error' } });
    assert.deepEqual(
      lines.map((l) => l.message),
      ['try 1 of 6 failed (not retried: a retry cannot fix this): source_config.token is missing'],
      'the log says why no try 2 of 6 follows',
    );
    const outcome = said.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l['message']).startsWith('run failed'));
    assert.deepEqual(outcome.map((l) => [l['level'], l['message'], l['runId']]), [['warn', 'run failed: task extract failed: source_config.token is missing', runId]]);
  });

  it("follows a Sluice error's own word on retrying: an incompatible schema fails at once, an unavailable service is retried", async () => {
    const jobId = await h.createJob({ streams: ['clash', 'flaky'], policies: { load: { retries: 3, retryDelayMs: 10, maxRetryDelayMs: 10 } } });
    let flakyTries = 0;
    const runner = await h.startRunner({
      load: async (ctx) => {
        if (ctx.task.stream === 'clash') throw new IncompatibleSchemaError('test.clash', 'age', 'long', 'string');
        flakyTries++;
        if (flakyTries < 3) throw new ServiceUnavailableError('object store', '127.0.0.1:9', 'connection refused');
        return {};
      },
    });
    const { runId } = await h.engine.triggerRun(jobId);
    assert.equal((await waitForRun(h.prisma, runId, ['success', 'failed'])).state, 'failed');
    await runner.close();
    const loads = await h.prisma.taskInstance.findMany({ where: { runId, taskId: 'load' }, orderBy: { mapIndex: 'asc' } });
    // retried 3 more times (≈ 2.5 minutes with the real policy) before: a schema clash does not heal
    assert.deepEqual(loads.map((l) => [l.stream, l.state, l.tryNumber]), [
      ['clash', 'failed', 1],
      ['flaky', 'success', 3],
    ]);
    assert.match(loads[0]?.error ?? '', /column "age" has type long in the table but string in the data/);
  });

  it("a database error in a task is recorded as what happened, in one line, without Prisma's call excerpt", async () => {
    const jobId = await h.createJob({ streams: ['s'], policies: { extract: { retries: 0 } } });
    const runner = await h.startRunner({
      extract: async (ctx) => {
        // A second DAG version 1 of the job: refused by the (job_id, version) unique key.
        await ctx.prisma.dag.create({ data: { id: randomUUID(), jobId: ctx.job.id, version: 1 } });
        return {};
      },
    });
    const { runId } = await h.engine.triggerRun(jobId);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    await runner.close();
    assert.equal(run.state, 'failed');
    const extract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
    assert.equal(extract.error, 'Unique constraint failed on the constraint: `dags_job_id_version_key`');
  });

  it('aborts a try that exceeds its timeout and counts it as a failed try', async () => {
    const jobId = await h.createJob({ streams: ['s'], policies: { stage: { timeoutMs: 300, retries: 1 } } });
    let sawAbort = 0;
    const runner = await h.startRunner({
      stage: async (ctx) => {
        ctx.signal.addEventListener('abort', () => sawAbort++);
        if (ctx.task.tryNumber === 1) await sleep(60_000, undefined, { signal: ctx.signal });
        return {};
      },
    });
    const started = Date.now();
    const { runId } = await h.engine.triggerRun(jobId);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    await runner.close();
    assert.equal(run.state, 'success');
    // Far below the 60 s the first try would sleep, with room for a slow host.
    assert.ok(Date.now() - started < 20_000, 'the timeout cut the first try short');
    assert.equal(sawAbort, 1, 'the handler was told to stop');
    const stage = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage' } });
    assert.equal(stage.tryNumber, 2);
    const logs = await h.prisma.taskLog.findMany({ where: { taskInstanceId: stage.id, tryNumber: 1, message: { contains: 'failed' } } });
    assert.match(logs[0]?.message ?? '', /^try 1 of \d+ failed, and is retried: .*timed out after 300 ms/);
    // Said when it happened, before whatever the handler logs while it stops.
    const said = await h.prisma.taskLog.findFirst({ where: { taskInstanceId: stage.id, tryNumber: 1, level: 'warn' }, orderBy: { id: 'asc' } });
    assert.equal(said?.message, "try 1 timed out after 300 ms (the task's timeout_ms): stopping it");
  });

  it("a timed-out try's handler that is slow to stop is waited for: its retry never runs beside it", async () => {
    const jobId = await h.createJob({ streams: ['s'], policies: { stage: { timeoutMs: 300, retries: 1, retryDelayMs: 10, maxRetryDelayMs: 10 } } });
    let firstEnded = 0;
    let secondStarted = 0;
    const runner = await h.startRunner(
      {
        stage: async (ctx) => {
          if (ctx.task.tryNumber === 2) {
            secondStarted = Date.now();
            return {};
          }
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          await sleep(700); // winding down after its signal
          firstEnded = Date.now();
          return {};
        },
      },
      { concurrency: 2 },
    );
    const { runId } = await h.engine.triggerRun(jobId);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    await runner.close();
    assert.equal(run.state, 'success');
    assert.ok(firstEnded > 0 && secondStarted >= firstEnded, `try 2 started ${secondStarted - firstEnded} ms after try 1's handler ended`);
  });

  it('cancels a run: the running try stops, queued tries never start, the run ends cancelled', async () => {
    const jobId = await h.createJob({ streams: ['a', 'b', 'c'] });
    let stopped = 0;
    let transformStarted = 0;
    const runner = await h.startRunner(
      {
        stage: async (ctx) => {
          try {
            await sleep(30_000, undefined, { signal: ctx.signal });
          } catch (err) {
            stopped++;
            throw err;
          }
          return {};
        },
        transform: async () => {
          transformStarted++;
          return {};
        },
      },
      { concurrency: 1, heartbeatMs: 60_000 },
    );
    const { runId } = await h.engine.triggerRun(jobId);
    await waitFor(async () => (await h.prisma.taskInstance.count({ where: { runId, taskId: 'stage', state: 'running' } })) === 1, 'a stage to run');
    const before = Date.now();
    await h.engine.cancelRun(runId);
    await waitFor(async () => stopped === 1, 'the running stage to stop');
    assert.ok(Date.now() - before < 10_000, 'the cancel reached the running try through pub/sub, not the 60 s heartbeat');
    await sleep(300);
    await runner.close();
    const run = await h.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } });
    assert.equal(run.state, 'cancelled');
    const states = Object.values(await instanceStates(h.prisma, runId));
    assert.ok(states.every((s) => s === 'success' || s === 'cancelled'), states.join(','));
    assert.equal(transformStarted, 0);
    // The contract's statuses have no "cancelled": the job is failed, with the time a client reads beside it.
    const job = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.equal(job.status, 'failed');
    assert.equal(job.statusMessage, `run ${runId} was cancelled by an operator`);
    assert.equal(run.stateMessage, 'cancelled by an operator');
    assert.ok(job.lastFailedAt && run.endedAt && job.lastFailedAt.getTime() === run.endedAt.getTime(), 'last_failed_at is the cancel');
    // The try's log says it was cancelled (the engine's line, written whether its runner is there
    // or not: QA round 39b F3), then how it ended (its runner's); a task that never ran has no try to log.
    const stage = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage', tryNumber: 1, state: 'cancelled' } });
    const lines = await h.prisma.taskLog.findMany({ where: { taskInstanceId: stage.id }, orderBy: [{ ts: 'asc' }, { id: 'asc' }] });
    assert.deepEqual(
      lines.map((l) => `${l.level} ${l.message.replace(/runner \S+/, 'runner R')}`),
      [`info try 1 of ${stage.maxTries} started on runner R`, 'info try 1 cancelled: the run was cancelled by an operator; runner R is told to stop it', 'info try 1 stopped: cancelled'],
    );
    const neverRan = await h.prisma.taskInstance.findMany({ where: { runId, tryNumber: 0 } });
    assert.ok(neverRan.length > 0);
    assert.equal(await h.prisma.taskLog.count({ where: { taskInstanceId: { in: neverRan.map((t) => t.id) } } }), 0);
    await assert.rejects(h.engine.cancelRun(runId), /only queued or running runs can be cancelled/);
  });

  it('a cancel its runner learns from a heartbeat (no announcement reached it) ends the try as cancelled, with its last counts (QA round 40a F1)', async () => {
    const jobId = await h.createJob({ streams: ['a'] });
    await h.startRunner(
      {
        stage: async (ctx) => {
          ctx.progress({ rows: 7 });
          await sleep(30_000, undefined, { signal: ctx.signal });
          return {};
        },
      },
      { concurrency: 1, heartbeatMs: 200 },
    );
    const { runId } = await h.engine.triggerRun(jobId);
    const stage = await waitFor(async () => h.prisma.taskInstance.findFirst({ where: { runId, taskId: 'stage', state: 'running' } }), 'the stage to run');
    // The state store's cancel alone: what a runner whose Redis subscription was down meanwhile sees.
    await sqlTransaction(h.prisma, (sql) => h.engine.store.cancelRun(sql, runId));
    await waitFor(async () => (await h.prisma.taskLog.count({ where: { taskInstanceId: stage.id, message: { startsWith: 'try 1 stopped' } } })) === 1, 'the try to stop');
    const lines = await h.prisma.taskLog.findMany({ where: { taskInstanceId: stage.id }, orderBy: [{ ts: 'asc' }, { id: 'asc' }] });
    assert.deepEqual(lines.slice(1).map((l) => `${l.level} ${l.message.replace(/runner \S+/, 'runner R')}`), [
      'info try 1 cancelled: the run was cancelled by an operator; runner R is told to stop it',
      'info try 1 stopped: cancelled',
    ]);
    assert.equal((await h.prisma.taskInstance.findUniqueOrThrow({ where: { id: stage.id } })).rows, 7n, "the try's last counts are recorded");
  });

  it("a cancel's line in the log of a try whose runner has been silent a while says how long (QA round 40a F8: a SIGKILLed runner 'is told to stop it')", async () => {
    const jobId = await h.createJob({ streams: ['a'] });
    await h.startRunner(
      {
        stage: async (ctx) => {
          await sleep(30_000, undefined, { signal: ctx.signal });
          return {};
        },
      },
      { concurrency: 1, heartbeatMs: 60_000 },
    );
    const { runId } = await h.engine.triggerRun(jobId);
    const stage = await waitFor(async () => h.prisma.taskInstance.findFirst({ where: { runId, taskId: 'stage', state: 'running' } }), 'the stage to run');
    // Its last beat 40 s ago, as a runner killed then would have left it (the test's own write).
    await h.prisma.taskInstance.update({ where: { id: stage.id }, data: { heartbeatAt: new Date(Date.now() - 40_000) } });
    await h.engine.cancelRun(runId);
    const line = await waitFor(async () => h.prisma.taskLog.findFirst({ where: { taskInstanceId: stage.id, message: { startsWith: 'try 1 cancelled' } } }), 'the cancel line');
    assert.match(line.message, /^try 1 cancelled: the run was cancelled by an operator; runner \S+, whose last heartbeat was 4\d s ago, is told to stop it$/);
  });

  it('a try declared lost, whose run is cancelled before its retry, says the retry will not run; its frozen runner, told of the cancel, says it was lost (QA round 40a F2, F3)', async () => {
    const jobId = await h.createJob({ streams: ['a'] });
    // A runner whose beats come too seldom to notice the loss: it learns of the cancel from Redis.
    await h.startRunner(
      {
        stage: async (ctx) => {
          if (ctx.task.tryNumber === 1) await sleep(30_000, undefined, { signal: ctx.signal });
          return {};
        },
      },
      { concurrency: 1, heartbeatMs: 60_000 },
    );
    const { runId } = await h.engine.triggerRun(jobId);
    const stage = await waitFor(async () => h.prisma.taskInstance.findFirst({ where: { runId, taskId: 'stage', state: 'running' } }), 'the stage to run');
    // Recovery declares the try lost (its retry not dispatched: it waits as up_for_retry).
    const lost = await sqlTransaction(h.prisma, (sql) => h.engine.store.failLostTry(sql, { instanceId: stage.id, staleBefore: new Date(Date.now() + 60_000) }));
    assert.equal(lost.applied, true);
    const waiting = await h.prisma.taskInstance.findUniqueOrThrow({ where: { id: stage.id } });
    assert.equal(waiting.state, 'up_for_retry');
    await h.engine.cancelRun(runId);
    await waitFor(async () => (await h.prisma.taskLog.count({ where: { taskInstanceId: stage.id, message: { startsWith: 'try 1 stopped' } } })) === 1, 'the frozen try to stop');
    const lines = await h.prisma.taskLog.findMany({ where: { taskInstanceId: stage.id }, orderBy: [{ ts: 'asc' }, { id: 'asc' }] });
    assert.deepEqual(lines.slice(1).map((l) => `${l.level} ${l.message}`), [
      'info the run was cancelled by an operator: try 2, the retry of this one, will not run',
      'warn try 1 stopped: it had been declared lost (no heartbeat for too long), so nothing of it is recorded',
    ]);
    const cancelled = await h.prisma.taskInstance.findUniqueOrThrow({ where: { id: stage.id } });
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.startedAt, null, 'no try ran from the loss to the cancel');
    assert.match(cancelled.error ?? '', /^run cancelled before try 2 started; try 1 failed: runner \S+ stopped heart-beating .*presumed lost$/);
    assert.deepEqual(
      (cancelled.earlierTries as { try_number: number; state: string; started_at: string }[]).map((t) => [t.try_number, t.state, new Date(t.started_at).getTime()]),
      [[1, 'failed', waiting.startedAt?.getTime()]],
    );
    // The lost try keeps its own error, which says it was lost.
    const [lostTry] = cancelled.earlierTries as { error: string | null }[];
    assert.ok(isLostTryError(lostTry?.error ?? null), lostTry?.error ?? 'no error kept');
    // A clear runs try 2 and records try 1 once, as failed.
    await h.engine.clearTask(runId, 'stage', 0);
    const cleared = await h.prisma.taskInstance.findUniqueOrThrow({ where: { id: stage.id } });
    assert.deepEqual((cleared.earlierTries as { try_number: number; state: string }[]).map((t) => [t.try_number, t.state]), [[1, 'failed']]);
  });

  it("a cleared task's retries back off from the start again, not from the tries before the clear (QA round 47b F5)", async () => {
    const jobId = await h.createJob({ streams: ['a'], policies: { extract: { retries: 2, retryDelayMs: 400, maxRetryDelayMs: 60_000 } } });
    await h.startRunner({
      extract: () => Promise.reject(new Error('the source is away')),
    });
    const { runId } = await h.engine.triggerRun(jobId);
    assert.equal((await waitForRun(h.prisma, runId, ['success', 'failed'])).state, 'failed');
    const exhausted = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
    assert.deepEqual([exhausted.state, exhausted.tryNumber, exhausted.maxTries], ['failed', 3, 3]);
    await h.engine.clearTask(runId, 'extract');
    // Try 4, the first after the clear, fails: its retry waits the base delay (before: 400 · 2^3 = 3200 ms, as for a fourth retry).
    const waiting = await waitFor(
      async () => h.prisma.taskInstance.findFirst({ where: { runId, taskId: 'extract', state: 'up_for_retry', tryNumber: 4 } }),
      'try 4 to fail and wait for its retry',
    );
    assert.equal(waiting.maxTries, 6);
    assert.equal((waiting.nextRetryAt?.getTime() ?? 0) - (waiting.endedAt?.getTime() ?? 0), 400);
    const five = await waitFor(async () => h.prisma.taskInstance.findFirst({ where: { runId, taskId: 'extract', state: 'up_for_retry', tryNumber: 5 } }), 'try 5 to fail');
    assert.equal((five.nextRetryAt?.getTime() ?? 0) - (five.endedAt?.getTime() ?? 0), 800, 'then doubles');
    assert.equal((await waitForRun(h.prisma, runId, ['success', 'failed'])).state, 'failed');
  });

  it('a task waiting to retry when its run is cancelled is cancelled with no retry time left on it', async () => {
    const jobId = await h.createJob({ streams: ['a'], policies: { extract: { retries: 2, retryDelayMs: 60_000, maxRetryDelayMs: 60_000 } } });
    let tries = 0;
    await h.startRunner({
      extract: async () => {
        tries++;
        throw new Error('the source is away');
      },
    });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitFor(async () => (await h.prisma.taskInstance.count({ where: { runId, taskId: 'extract', state: 'up_for_retry', nextRetryAt: { not: null } } })) === 1, 'the extract to wait for its retry');
    await h.engine.cancelRun(runId);
    const extract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
    assert.equal(extract.state, 'cancelled');
    assert.equal(extract.nextRetryAt, null, 'a cancelled task waits for no retry');
    assert.equal(tries, 1);
  });

  it('a run that ends while another of the job runs leaves the job running with no message; its failure is in last_failed_at (QA round 48b D3)', async () => {
    const jobId = await h.createJob({ streams: ['a'], maxActiveRuns: 2 });
    // No runner: both runs stay running.
    const { runId: first } = await h.engine.triggerRun(jobId);
    const { runId: second } = await h.engine.triggerRun(jobId);
    await h.engine.cancelRun(first);
    const job = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    // before: "running" with "run … was cancelled by an operator"
    assert.deepEqual([job.status, job.statusMessage], ['running', null]);
    assert.ok(job.lastFailedAt !== null, 'the cancel is the job\'s latest failure');
    await h.engine.cancelRun(second);
    const ended = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.deepEqual([ended.status, ended.statusMessage], ['failed', `run ${second} was cancelled by an operator`]);
  });

  it("a run cancelled while still queued changes none of the job's status columns: it never ran", async () => {
    const jobId = await h.createJob({ streams: ['a'], maxActiveRuns: 1 });
    // No runner: the first run stays running, the second queued behind it.
    const { runId: first } = await h.engine.triggerRun(jobId);
    const { runId: second } = await h.engine.triggerRun(jobId);
    assert.equal((await h.prisma.dagRun.findUniqueOrThrow({ where: { id: second } })).state, 'queued');
    const before = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    await h.engine.cancelRun(second);
    assert.equal((await h.prisma.dagRun.findUniqueOrThrow({ where: { id: second } })).state, 'cancelled');
    const after = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.deepEqual(
      [after.status, after.statusMessage, after.lastFailedAt, after.lastStartedAt],
      [before.status, before.statusMessage, before.lastFailedAt, before.lastStartedAt],
    );
    assert.equal(after.status, 'running');
    assert.equal(after.lastFailedAt, null, 'a client alerting on last_failed_at is not told of a failure');
    // The run that ran still says how it ended.
    await h.engine.cancelRun(first);
    const ended = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.equal(ended.status, 'failed');
    assert.equal(ended.statusMessage, `run ${first} was cancelled by an operator`);
  });

  it("a stopping runner lets its tries finish for a while, then stops them and records them as failed: they are retried at once, and do not count against the task's tries", async () => {
    // No retries, and a long backoff: before, the stopped try was the task's last, and it failed for good.
    const jobId = await h.createJob({ streams: ['a'], policies: { extract: { retries: 0, retryDelayMs: 60_000, maxRetryDelayMs: 60_000 } } });
    let tries = 0;
    const slow = {
      extract: async (ctx: Parameters<typeof noopHandlers.extract>[0]) => {
        tries++;
        if (tries === 1) await sleep(60_000, undefined, { signal: ctx.signal });
        return noopHandlers.extract(ctx);
      },
    };
    const first = await h.startRunner(slow, { runnerId: 'stopping-runner', stopWaitMs: 300 });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitFor(async () => tries === 1, 'the first try to start');
    const before = Date.now();
    await first.close();
    assert.ok(Date.now() - before < 10_000, `closed in ${Date.now() - before} ms`);
    const extract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
    assert.equal(extract.state, 'up_for_retry', 'recorded at once, not left running until its heartbeat is stale');
    assert.equal(extract.error, 'runner stopping-runner stopped before the try finished');
    assert.deepEqual([extract.tryNumber, extract.maxTries], [1, 2], 'the task keeps the tries it had');
    assert.equal(extract.nextRetryAt?.getTime(), extract.endedAt?.getTime(), 'retried at once, not after the backoff');
    await h.startRunner(slow);
    assert.equal((await waitForRun(h.prisma, runId, ['success', 'failed'])).state, 'success');
    assert.equal(tries, 2);
    const logs = await h.prisma.taskLog.findMany({ where: { taskInstanceId: extract.id, tryNumber: 1 }, orderBy: { id: 'asc' } });
    assert.ok(
      logs.some((l) => l.message === "try 1 of 1 ended unfinished, and is retried at once; it does not count against the task's tries: runner stopping-runner stopped before the try finished"),
      logs.map((l) => l.message).join('\n'),
    );
    // The stopped try is kept as one that did not count, not as a failure of its own (QA round 47b
    // F3: the run page showed it red, "try 1 failed"); the try after it counts.
    const done = await h.prisma.taskInstance.findUniqueOrThrow({ where: { id: extract.id } });
    const earlier = done.earlierTries as { try_number: number; state: string; counted: boolean }[];
    assert.deepEqual(earlier.map((e) => [e.try_number, e.state, e.counted]), [[1, 'failed', false]]);
    assert.equal(done.tryUncharged, false, 'the flag went with the try it was for');
  });

  it('a stopping runner records a try whose handler does not stop (an object store that hangs) within its stop, uncharged: it is not left to be declared lost (QA round 56a F1)', async () => {
    const jobId = await h.createJob({ streams: ['a'], policies: { extract: { retries: 0 } } });
    let release = (): void => undefined;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    let tries = 0;
    const deaf = {
      extract: async (ctx: Parameters<typeof noopHandlers.extract>[0]) => {
        tries++;
        // The first try waits on something that does not hear its signal.
        if (tries === 1) await stuck;
        return noopHandlers.extract(ctx);
      },
    };
    const runner = await h.startRunner(deaf, { runnerId: 'deaf-runner', stopWaitMs: 300 });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitFor(async () => tries === 1, 'the first try to start');
    const before = Date.now();
    try {
      await runner.close();
      // before: the handler was waited for 30 s, past a process's stop budget (40 s with the stop wait's 20)
      assert.ok(Date.now() - before < 10_000, `closed in ${Date.now() - before} ms`);
      const extract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
      assert.deepEqual([extract.state, extract.error, extract.tryUncharged], ['up_for_retry', 'runner deaf-runner stopped before the try finished', true]);
    } finally {
      release();
    }
  });

  it('a try whose claim was under way when the runner began to stop is stopped with the others, not run to its end (CI: the stop waited for it)', async () => {
    const jobId = await h.createJob({ streams: ['a'], policies: { extract: { retries: 0 } } });
    let started = 0;
    const slow = {
      extract: async (ctx: Parameters<typeof noopHandlers.extract>[0]) => {
        started++;
        await sleep(60_000, undefined, { signal: ctx.signal });
        return noopHandlers.extract(ctx);
      },
    };
    // The extract's row is locked before any runner exists: the runner's claim of it waits on the lock.
    const { runId } = await h.engine.triggerRun(jobId);
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const locked = new Promise<void>((resolve, reject) => {
      h.prisma
        .$transaction(
          async (tx) => {
            await tx.$queryRaw`SELECT id FROM task_instances WHERE run_id = ${runId}::uuid AND task_id = 'extract' FOR UPDATE`;
            resolve();
            await held;
          },
          { timeout: 60_000 },
        )
        .catch(reject);
    });
    await locked;
    const runner = await h.startRunner(slow, { runnerId: 'claiming-runner', stopWaitMs: 300 });
    await waitFor(
      async () => (await h.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE task_instances%'`)[0]?.n === 1n,
      'the claim to wait on the lock',
    );
    const before = Date.now();
    const closing = runner.close();
    // Past the stop's wait: the try it gave up on was not among the running ones yet.
    await sleep(600);
    release();
    await closing;
    // before: the stop waited for the try to end, here at its 10 s timeout ("closed in 10622 ms"), and charged it
    assert.ok(Date.now() - before < 5_000, `closed in ${Date.now() - before} ms`);
    const extract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
    assert.deepEqual([extract.state, extract.error, extract.tryUncharged], ['up_for_retry', 'runner claiming-runner stopped before the try finished', true]);
    assert.ok(started <= 1);
  });

  it('a try that had done its work when the cancel came shows it: its cancelled instance gets its rows and says so', async () => {
    const jobId = await h.createJob({ streams: ['a'] });
    let finishedAfterCancel = 0;
    const runner = await h.startRunner(
      {
        // Past its point of no return (a load whose commit is under way): it finishes, then answers.
        stage: async (ctx) => {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          await sleep(300);
          finishedAfterCancel++;
          return { rows: 42, bytes: 4200 };
        },
      },
      { concurrency: 1, heartbeatMs: 10_000 },
    );
    const { runId } = await h.engine.triggerRun(jobId);
    await waitFor(async () => (await h.prisma.taskInstance.count({ where: { runId, taskId: 'stage', state: 'running' } })) === 1, 'the stage to run');
    await h.engine.cancelRun(runId);
    const stage = await waitFor(async () => {
      const i = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage' } });
      return i.rows === 42n ? i : undefined;
    }, "the stage's rows to be recorded");
    await runner.close();
    assert.equal(finishedAfterCancel, 1);
    assert.equal(stage.state, 'cancelled', 'the task stays cancelled');
    assert.equal(stage.bytes, 4200n);
    assert.match(stage.error ?? '', /run cancelled after this try had done its work/);
    const lines = await h.prisma.taskLog.findMany({ where: { taskInstanceId: stage.id, tryNumber: 1 }, orderBy: { id: 'asc' } });
    assert.match(lines.at(-1)?.message ?? '', /try 1 finished its work after the run was cancelled; the task stays cancelled/);
    assert.equal((await h.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } })).state, 'cancelled');
  });

  it('clears a failed task: it and its downstream run again in the same run', async () => {
    const jobId = await h.createJob({ streams: ['a', 'b'], policies: { stage: { retries: 0 } } });
    let broken = true;
    const runner = await h.startRunner({
      stage: async (ctx) => {
        if (broken && ctx.task.stream === 'b') throw new Error('bad file');
        return {};
      },
    });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitForRun(h.prisma, runId, ['failed']);
    assert.equal((await instanceStates(h.prisma, runId))['transform[1]'], 'upstream_failed');
    await assert.rejects(h.engine.clearTask(runId, 'load', 0), /only failed, upstream_failed or cancelled/);
    // Below the failure a clear would run nothing: refused, and the finished run keeps its times.
    const ended = await h.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } });
    await assert.rejects(
      h.engine.clearTask(runId, 'transform', 1),
      /task transform\[1\] cannot run again while its upstream stage\[1\] is failed: clear stage\[1\] instead/,
    );
    // The furthest instance up is named: a clear of load[1] would itself be refused for stage[1].
    await assert.rejects(h.engine.clearTask(runId, 'archive'), /task archive cannot run again while its upstream stage\[1\] is failed: clear stage\[1\] instead/);
    assert.deepEqual(await h.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } }), ended, 'the refused clears changed nothing');
    assert.equal((await instanceStates(h.prisma, runId))['transform[1]'], 'upstream_failed');
    assert.equal((await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } })).status, 'failed');
    broken = false;
    const clearedAt = new Date();
    await h.engine.clearTask(runId, 'stage', 1);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    await runner.close();
    assert.equal(run.state, 'success');
    const states = await instanceStates(h.prisma, runId);
    assert.ok(Object.values(states).every((s) => s === 'success'), JSON.stringify(states));
    const stageB = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage', mapIndex: 1 } });
    assert.equal(stageB.tryNumber, 2);
    assert.deepEqual(
      (stageB.earlierTries as { try_number: number; state: string }[]).map((e) => [e.try_number, e.state]),
      [[1, 'failed']],
      'the cleared try is kept among the earlier ones',
    );
    const transformB = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'transform', mapIndex: 1 } });
    assert.deepEqual(transformB.earlierTries, [], 'an instance that had not run before its clear has no earlier try');
    const stageA = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage', mapIndex: 0 } });
    assert.equal(stageA.tryNumber, 1, 'the other stream was not redone');
    const job = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.equal(job.status, 'completed');
    assert.ok(job.lastStartedAt && job.lastStartedAt >= clearedAt, 'the clear started the job again');
    assert.ok(job.lastCompletedAt && job.lastCompletedAt >= job.lastStartedAt, 'and it completed after that');
  });

  it('a try that finds nothing to do ends its instance skipped: downstream runs, and the run succeeds; a map source cannot skip', async () => {
    const jobId = await h.createJob({ streams: ['a', 'b'] });
    const runner = await h.startRunner({
      ...noopHandlers,
      load: async (ctx) => (ctx.task.stream === 'b' ? { skipped: true, output: { why: 'nothing new' } } : {}),
    });
    const { runId } = await h.engine.triggerRun(jobId);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    assert.equal(run.state, 'success');
    const states = await instanceStates(h.prisma, runId);
    assert.equal(states['load[1]'], 'skipped');
    assert.equal(states['load[0]'], 'success');
    assert.equal(states['archive[-1]'], 'success', JSON.stringify(states));
    const loadB = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'load', mapIndex: 1 } });
    assert.deepEqual(loadB.output, { why: 'nothing new' });
    const lines = await h.prisma.taskLog.findMany({ where: { taskInstanceId: loadB.id }, orderBy: { id: 'asc' } });
    assert.equal(lines.at(-1)?.message, 'try 1 skipped');
    await runner.close();

    const other = await h.createJob({ streams: ['a'] });
    const skipping = await h.startRunner({ ...noopHandlers, extract: async (ctx) => ({ skipped: true, mappedStreams: ctx.job.streams }) });
    const second = await h.engine.triggerRun(other);
    assert.equal((await waitForRun(h.prisma, second.runId, ['success', 'failed'])).state, 'failed');
    const extract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId: second.runId, taskId: 'extract' } });
    assert.match(extract.error ?? '', /expands mapped tasks and must report mappedStreams \(it cannot skip\)/);
    await skipping.close();
  });

  it('refuses a clear of a failure that said a clear fails the same way, and of the tasks waiting on it', async () => {
    const jobId = await h.createJob({ streams: ['a', 'b'] });
    const runner = await h.startRunner({
      stage: async (ctx) => {
        if (ctx.task.stream === 'b') throw new UnclearableTaskError('stream "b" was not read to the end');
        return {};
      },
    });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitForRun(h.prisma, runId, ['failed']);
    const stageB = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage', mapIndex: 1 } });
    assert.deepEqual([stageB.state, stageB.tryNumber, stageB.clearable], ['failed', 1, false], 'failed at once, not clearable');
    const ended = await h.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } });
    const job = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    await assert.rejects(
      h.engine.clearTask(runId, 'stage', 1),
      /task stage\[1\] cannot be cleared: its clear would fail the same way \(a new run of the job reads the source again\)\. Its error: stream "b" was not read to the end$/,
    );
    await assert.rejects(h.engine.clearTask(runId, 'archive'), /task archive cannot be cleared: it waits on stage\[1\], whose clear would fail the same way .*stage\[1\]'s error: stream "b"/);
    await assert.rejects(h.engine.clearTask(runId, 'load', 1), /task load\[1\] cannot be cleared: it waits on stage\[1\], whose clear would fail the same way/);
    await runner.close();
    assert.deepEqual(await h.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } }), ended, 'the refused clears changed nothing');
    assert.deepEqual(await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } }), job, 'nor the job');
  });

  it('clears an extract that failed before mapping its streams: the streams and archive run, the run and job succeed', async () => {
    const jobId = await h.createJob({ streams: ['a', 'b'], policies: { extract: { retries: 0 } } });
    let broken = true;
    const archived: string[] = [];
    const runner = await h.startRunner({
      extract: async (ctx) => {
        if (broken) throw new Error('source unreachable');
        return { mappedStreams: ctx.job.streams };
      },
      archive: async (ctx) => {
        archived.push(ctx.run.id);
        return {};
      },
    });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitForRun(h.prisma, runId, ['failed']);
    assert.deepEqual(await instanceStates(h.prisma, runId), { 'archive[-1]': 'upstream_failed', 'extract[-1]': 'failed' });
    await assert.rejects(h.engine.clearTask(runId, 'archive'), /task archive cannot run again while its upstream extract is failed: clear extract instead/);
    broken = false;
    await h.engine.clearTask(runId, 'extract');
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    await runner.close();
    assert.equal(run.state, 'success', run.stateMessage ?? '');
    const states = await instanceStates(h.prisma, runId);
    assert.equal(Object.keys(states).length, 8, JSON.stringify(states));
    assert.ok(Object.values(states).every((s) => s === 'success'), JSON.stringify(states));
    assert.deepEqual(archived, [runId], 'archive ran once, after the loads');
    assert.equal((await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } })).status, 'completed');
  });

  it('a cleared run waits queued while its job already runs max_active_runs runs, then runs after them', async () => {
    const jobId = await h.createJob({ streams: ['a'], maxActiveRuns: 1, policies: { stage: { retries: 0 } } });
    let broken = true;
    let releaseExtract: () => void = () => undefined;
    const extractHeld = new Promise<void>((resolve) => {
      releaseExtract = resolve;
    });
    let holdExtract = false;
    const runner = await h.startRunner({
      extract: async (ctx) => {
        if (holdExtract) await extractHeld;
        return { mappedStreams: ctx.job.streams };
      },
      stage: async () => {
        if (broken) throw new Error('bad file');
        return {};
      },
    });
    const failed = (await h.engine.triggerRun(jobId)).runId;
    assert.equal((await waitForRun(h.prisma, failed, ['success', 'failed'])).state, 'failed');
    broken = false;
    holdExtract = true;
    const busy = (await h.engine.triggerRun(jobId)).runId;
    await waitFor(async () => (await h.prisma.taskInstance.count({ where: { runId: busy, taskId: 'extract', state: 'running' } })) === 1, 'the second run to be running');
    await h.engine.clearTask(failed, 'stage', 0);
    const cleared = await h.prisma.dagRun.findUniqueOrThrow({ where: { id: failed } });
    assert.equal(cleared.state, 'queued', 'the job already runs its one allowed run');
    assert.equal(cleared.endedAt, null);
    assert.equal((await instanceStates(h.prisma, failed))['stage[0]'], 'scheduled', 'nothing of it runs while it waits');
    const waiting = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId: failed, taskId: 'stage' } });
    // before: its last try's start stayed, and the run page counted a growing duration (QA round 22).
    assert.deepEqual([waiting.startedAt, waiting.endedAt], [null, null], 'a cleared instance waiting to run again has no start or end');
    releaseExtract();
    const busyRun = await waitForRun(h.prisma, busy, ['success', 'failed']);
    const rerun = await waitForRun(h.prisma, failed, ['success', 'failed']);
    await runner.close();
    assert.equal(busyRun.state, 'success');
    assert.equal(rerun.state, 'success');
    assert.ok(rerun.startedAt && busyRun.endedAt && rerun.startedAt >= busyRun.endedAt, 'the cleared run started once the running one had ended');
    const job = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.equal(job.status, 'completed');
  });

  it('clears a task of a cancelled run: the run runs again and can succeed', async () => {
    const jobId = await h.createJob({ streams: ['a', 'b'] });
    let hold = true;
    const runner = await h.startRunner({
      transform: async (ctx) => {
        if (hold) await sleep(30_000, undefined, { signal: ctx.signal });
        return {};
      },
    });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitFor(async () => (await h.prisma.taskInstance.count({ where: { runId, taskId: 'transform', state: 'running' } })) === 2, 'both transforms to run');
    await h.engine.cancelRun(runId);
    await waitForRun(h.prisma, runId, ['cancelled']);
    hold = false;
    await assert.rejects(h.engine.clearTask(runId, 'archive'), /task archive cannot run again while its upstream transform\[0\] is cancelled/);
    await h.engine.clearTask(runId, 'transform', 0);
    await h.engine.clearTask(runId, 'transform', 1);
    await assert.rejects(h.engine.clearTask(runId, 'extract'), /extract is success; only failed, upstream_failed or cancelled/);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed']);
    await runner.close();
    assert.equal(run.state, 'success');
    const states = await instanceStates(h.prisma, runId);
    assert.ok(Object.values(states).every((s) => s === 'success'), JSON.stringify(states));
    assert.equal((await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } })).status, 'completed');
  });

  it('concurrent manual triggers of one job each make their own run, in distinct milliseconds', async () => {
    const jobId = await h.createJob({ streams: ['s'], maxActiveRuns: 3 });
    const runs = await Promise.all(Array.from({ length: 30 }, () => h.engine.triggerRun(jobId)));
    const ids = new Set(runs.map((r) => r.runId));
    assert.equal(ids.size, 30);
    const rows = await h.prisma.dagRun.findMany({ where: { jobId }, select: { logicalDate: true, state: true } });
    assert.equal(rows.length, 30);
    assert.equal(new Set(rows.map((r) => r.logicalDate.getTime())).size, 30, 'one logical date per run');
    assert.equal(rows.filter((r) => r.state === 'running').length, 3, 'max_active_runs still holds');
  });

  it('triggers that arrive together are created together; one for a missing job fails alone', async () => {
    const jobId = await h.createJob({ streams: ['s'], maxActiveRuns: 5 });
    const missing = '00000000-0000-4000-8000-000000000000';
    const results = await Promise.allSettled([h.engine.triggerRun(jobId), h.engine.triggerRun(missing), h.engine.triggerRun(jobId)]);
    assert.equal(results[0]?.status, 'fulfilled');
    assert.equal(results[2]?.status, 'fulfilled');
    assert.equal(results[1]?.status, 'rejected');
    assert.match(String(results[1]?.status === 'rejected' ? results[1].reason : ''), /ingestion job/);
    assert.equal(await h.prisma.dagRun.count({ where: { jobId } }), 2);
  });

  it('a run takes the job\'s latest DAG, also one written after this process created runs of an older one', async () => {
    await h.startRunner();
    const jobId = await h.createJob({ streams: ['s'] });
    const first = await waitForRun(h.prisma, (await h.engine.triggerRun(jobId)).runId, ['success', 'failed']);
    assert.equal(first.state, 'success');
    // A second version of the DAG: no stage task between extract and transform.
    const v2 = {
      tasks: ingestionDag().tasks
        .filter((t) => t.taskId !== 'stage')
        .map((t) => (t.taskId === 'transform' ? { ...t, upstreamTaskIds: ['extract'] } : t)),
    };
    const { dagId } = await h.prisma.$transaction((tx) => writeJobDag(tx, jobId, validateDag(v2)));
    const second = await waitForRun(h.prisma, (await h.engine.triggerRun(jobId)).runId, ['success', 'failed']);
    assert.equal(second.state, 'success');
    assert.equal(second.dagId, dagId);
    assert.notEqual(first.dagId, dagId);
    const tasks = await h.prisma.taskInstance.findMany({ where: { runId: second.id }, select: { taskId: true } });
    assert.deepEqual([...new Set(tasks.map((t) => t.taskId))].sort(), ['archive', 'extract', 'load', 'transform']);
  });

  it('queues runs beyond max_active_runs and starts them one at a time', async () => {
    const jobId = await h.createJob({ streams: ['s'], maxActiveRuns: 1 });
    const overlaps: number[] = [];
    let active = 0;
    const runner = await h.startRunner({
      extract: async (ctx) => {
        active++;
        overlaps.push(active);
        await sleep(150);
        active--;
        return { mappedStreams: ctx.job.streams };
      },
    });
    const first = await h.engine.triggerRun(jobId);
    const second = await h.engine.triggerRun(jobId);
    const third = await h.engine.triggerRun(jobId);
    assert.equal((await h.prisma.dagRun.findUniqueOrThrow({ where: { id: second.runId } })).state, 'queued');
    assert.equal((await h.prisma.dagRun.findUniqueOrThrow({ where: { id: third.runId } })).state, 'queued');
    for (const r of [first, second, third]) assert.equal((await waitForRun(h.prisma, r.runId, ['success', 'failed'])).state, 'success');
    await runner.close();
    assert.deepEqual(overlaps, [1, 1, 1], 'never two runs at once');
    const runs = await h.prisma.dagRun.findMany({ where: { jobId }, orderBy: { startedAt: 'asc' } });
    for (let i = 1; i < runs.length; i++) {
      assert.ok((runs[i]?.startedAt ?? 0) >= (runs[i - 1]?.endedAt ?? Infinity), 'each run started after the previous ended');
    }
  });

  it('a trigger that finds a slot free while older runs wait starts the oldest first, and waits itself', async () => {
    const jobId = await h.createJob({ streams: ['s'], maxActiveRuns: 1 });
    // No runner: runs stay as they are.
    const first = await h.engine.triggerRun(jobId);
    const second = await h.engine.triggerRun(jobId);
    assert.deepEqual([first.state, second.state], ['running', 'queued']);
    // A slot frees with nothing starting the queued run yet (a raise written elsewhere).
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { maxActiveRuns: 2 } });
    const third = await h.engine.triggerRun(jobId);
    // before: the third started at once while the second kept waiting.
    assert.equal(third.state, 'queued', 'the answer says it waits');
    const state = async (id: string) => (await h.prisma.dagRun.findUniqueOrThrow({ where: { id } })).state;
    assert.deepEqual([await state(second.runId), await state(third.runId)], ['running', 'queued'], 'the older run took the slot');
  });

  it("a paused job's queued runs wait for its resume; the run under way finishes", async () => {
    const jobId = await h.createJob({ streams: ['s'], maxActiveRuns: 1 });
    const runner = await h.startRunner({
      extract: async (ctx) => {
        await sleep(300);
        return { mappedStreams: ctx.job.streams };
      },
    });
    const first = await h.engine.triggerRun(jobId);
    const second = await h.engine.triggerRun(jobId);
    const third = await h.engine.triggerRun(jobId);
    // Paused while the first runs (the API's PATCH writes the flag): it finishes, the queued ones wait.
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { isPaused: true } });
    assert.equal((await waitForRun(h.prisma, first.runId, ['success', 'failed'])).state, 'success');
    await sleep(1_000);
    const state = async (id: string): Promise<string> => (await h.prisma.dagRun.findUniqueOrThrow({ where: { id } })).state;
    assert.deepEqual([await state(second.runId), await state(third.runId)], ['queued', 'queued'], 'held while paused');
    assert.deepEqual(await sqlTransaction(h.prisma, (sql) => h.engine.store.startQueuedRuns(sql, [jobId])), [], 'a paused job starts none');
    // Resumed: the oldest starts, and the other after it, never two at once.
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { isPaused: false } });
    await h.engine.startQueuedRuns(jobId);
    assert.equal(await state(second.runId), 'running');
    assert.equal(await state(third.runId), 'queued');
    for (const r of [second, third]) assert.equal((await waitForRun(h.prisma, r.runId, ['success', 'failed'])).state, 'success');
    await runner.close();
  });

  it('resumes of one job at once start no more runs than max_active_runs', async () => {
    // No runner: started runs stay running. Two run, four wait; one is cancelled while the job is paused.
    const jobId = await h.createJob({ streams: ['s'], maxActiveRuns: 2 });
    const runs = [];
    for (let i = 0; i < 6; i++) runs.push((await h.engine.triggerRun(jobId)).runId);
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { isPaused: true } });
    await h.engine.cancelRun(runs[0] ?? '');
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { isPaused: false } });
    await Promise.all(Array.from({ length: 4 }, () => h.engine.startQueuedRuns(jobId)));
    const states = await h.prisma.dagRun.findMany({ where: { jobId }, select: { state: true } });
    assert.equal(states.filter((r) => r.state === 'running').length, 2, JSON.stringify(states));
    assert.equal(states.filter((r) => r.state === 'queued').length, 3);
  });

  it('runs of one job ending together: the job status follows and queued runs start, never above max_active_runs', async () => {
    const jobId = await h.createJob({ streams: ['a', 'b'], maxActiveRuns: 2 });
    await h.startRunner(undefined, { concurrency: 20 });
    const ids = (await Promise.all(Array.from({ length: 6 }, () => h.engine.triggerRun(jobId)))).map((r) => r.runId);
    for (const id of ids) assert.equal((await waitForRun(h.prisma, id, ['success', 'failed'])).state, 'success');
    const runs = await h.prisma.dagRun.findMany({ where: { jobId }, select: { id: true, startedAt: true, endedAt: true } });
    for (const r of runs) {
      const overlapping = runs.filter((o) => o.startedAt && o.endedAt && r.startedAt && o.startedAt <= r.startedAt && o.endedAt > r.startedAt);
      assert.ok(overlapping.length <= 2, `at most two runs at once (${overlapping.length} when ${r.id} started)`);
    }
    const job = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.equal(job.status, 'completed');
    assert.match(job.statusMessage ?? '', /^run .+ succeeded$/);
    const lastEnd = Math.max(...runs.map((r) => r.endedAt?.getTime() ?? 0));
    assert.ok(job.lastCompletedAt && job.lastCompletedAt.getTime() >= lastEnd, 'last_completed_at is the last end');
    assert.equal(job.lastFailedAt, null);
  });

  it('queues archive when many loads of a run finish at the same instant (each sees the others under the run lock)', async () => {
    const streams = ['s0', 's1', 's2', 's3', 's4', 's5'];
    const jobId = await h.createJob({ streams, maxActiveRuns: 3 });
    let waiting: (() => void)[] = [];
    const runner = await h.startRunner(
      {
        load: async () => {
          // A barrier: every load of the run returns at once, so their transitions race.
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === streams.length) {
              for (const w of waiting) w();
              waiting = [];
            }
          });
          return {};
        },
      },
      { concurrency: 12 },
    );
    for (let i = 0; i < 3; i++) {
      const { runId } = await h.engine.triggerRun(jobId);
      const run = await waitForRun(h.prisma, runId, ['success', 'failed'], 10_000);
      assert.equal(run.state, 'success', JSON.stringify(await instanceStates(h.prisma, runId)));
    }
    await runner.close();
  });
});
