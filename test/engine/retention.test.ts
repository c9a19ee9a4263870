/**
 * The runners' retention sweep on real PostgreSQL and a real object store: a successful run's
 * archive goes after SLUICE_ARCHIVE_RETENTION_DAYS, a failed or cancelled run's staging after
 * SLUICE_STAGING_RETENTION_DAYS, each once; runs under way and younger runs are not touched. A
 * finished run's rows go after SLUICE_RUN_HISTORY_RETENTION_DAYS, once its files are settled.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NonRetryableTaskError } from '@sluice/core';
import { createMemoryLogger } from '@sluice/logging';
import { removeExpiredRunFiles, removeExpiredRunHistory } from '@sluice/runner';
import { openCatalog, type IcebergCatalog } from '@sluice/iceberg';
import { openObjectStore, type ObjectStore } from '@sluice/storage';
import { testEnv } from '../support/env.ts';
import { createHarness, testLogger, waitFor, waitForRun, type Harness } from './support/harness.ts';

const DAY = 86_400_000;

function ended(at: Date | null): Date {
  assert.ok(at, 'a finished run has an end time');
  return at;
}

describe('retention sweep', () => {
  let h: Harness;
  let dir: string;
  let store: ObjectStore;
  let catalog: IcebergCatalog;
  beforeEach(async () => {
    h = await createHarness();
    dir = await mkdtemp(path.join(testEnv.tmpDir, 'retention-'));
    store = openObjectStore(`file://${dir}`);
    catalog = openCatalog({ type: 'sql', uri: h.db.url, store, logger: testLogger });
  });
  afterEach(async () => {
    await catalog.close();
    await h.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A runner whose extracts fail for good while `source.broken` (its token missing, as a source says). */
  const startRunnerOfSource = async (broken: boolean) => {
    const source = { broken };
    const runner = await h.startRunner({
      extract: async (ctx) => {
        if (source.broken) throw new NonRetryableTaskError('source_config.token is missing');
        return { mappedStreams: ctx.job.streams };
      },
    });
    return { runner, source };
  };

  const keys = async (prefix: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const o of store.list(prefix)) out.push(o.key);
    return out.sort();
  };

  it("removes an old successful run's archive and a failed or cancelled run's staging, once each; keeps what is young or under way", async () => {
    const ok = await h.createJob({ streams: ['a'] });
    const broken = await h.createJob({ streams: ['a'] });
    const held = await h.createJob({ streams: ['a'] });
    const running = await h.createJob({ streams: ['a'] });
    const brokenJobs = new Set([broken]);
    const heldJobs = new Set([held, running]);
    const runner = await h.startRunner({
      extract: async (ctx) => {
        if (brokenJobs.has(ctx.job.id)) throw new NonRetryableTaskError('source_config.token is missing');
        if (heldJobs.has(ctx.job.id)) await sleep(60_000, undefined, { signal: ctx.signal });
        return { mappedStreams: ctx.job.streams };
      },
    });
    let underWay: string | undefined;
    try {
      const success = (await h.engine.triggerRun(ok)).runId;
      const failed = (await h.engine.triggerRun(broken)).runId;
      const cancelled = (await h.engine.triggerRun(held)).runId;
      underWay = (await h.engine.triggerRun(running)).runId;
      assert.equal((await waitForRun(h.prisma, success, ['success', 'failed'])).state, 'success');
      assert.equal((await waitForRun(h.prisma, failed, ['success', 'failed'])).state, 'failed');
      await waitFor(async () => (await h.prisma.taskInstance.count({ where: { runId: cancelled, taskId: 'extract', state: 'running' } })) === 1, 'the held extract to run');
      await h.engine.cancelRun(cancelled);
      await waitForRun(h.prisma, cancelled, ['cancelled']);
      // What the runs left, as archive and a failed extract leave it.
      for (const [key, body] of [
        [`archive/${success}/raw/a/part-00000.jsonl`, 'x'],
        [`staging/${failed}/raw/a/part-00000.jsonl`, 'x'],
        [`staging/${cancelled}/raw/a/part-00000.jsonl`, 'x'],
        [`staging/${underWay}/raw/a/part-00000.jsonl`, 'x'],
      ] as const) {
        await store.put(key, body);
      }
      const deps = { prisma: h.prisma, store, catalog, logger: testLogger };
      const policy = { archiveDays: 30, stagingDays: 7, historyDays: 0 };

      // A day later nothing is old enough.
      assert.equal(await removeExpiredRunFiles(deps, policy, new Date(Date.now() + DAY)), 0);
      // Eight days later: the failed and the cancelled runs' staging goes; the archive stays.
      const { logger, lines } = createMemoryLogger();
      assert.equal(await removeExpiredRunFiles({ ...deps, logger }, policy, new Date(Date.now() + 8 * DAY)), 2);
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { message: string }).message),
        ['retention: swept 2 finished runs past the retention, removing 2 staging or archive files'],
      );
      assert.deepEqual(await keys('staging/'), [`staging/${underWay}/raw/a/part-00000.jsonl`], 'a run under way keeps its staging');
      assert.deepEqual(await keys('archive/'), [`archive/${success}/raw/a/part-00000.jsonl`]);
      // With the archive kept for ever (0), the successful run is never swept.
      assert.equal(await removeExpiredRunFiles(deps, { archiveDays: 0, stagingDays: 7, historyDays: 0 }, new Date(Date.now() + 400 * DAY)), 0);
      // Thirty-one days later the archive goes too; then nothing is left to do.
      assert.equal(await removeExpiredRunFiles(deps, policy, new Date(Date.now() + 31 * DAY)), 1);
      // A run with no files left is swept, and no file is said to have gone (QA round 42a F5).
      await store.deletePrefix(`staging/${underWay}/`);
      await h.engine.cancelRun(underWay);
      await waitForRun(h.prisma, underWay, ['cancelled']);
      lines.length = 0;
      assert.equal(await removeExpiredRunFiles({ ...deps, logger }, policy, new Date(Date.now() + 31 * DAY)), 1);
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { message: string }).message),
        ['retention: swept 1 finished run past the retention, removing 0 staging or archive files'],
      );
      assert.deepEqual(await keys('archive/'), []);
      assert.equal(await removeExpiredRunFiles(deps, policy, new Date(Date.now() + 32 * DAY)), 0, 'each run is swept once');
      assert.equal(await h.prisma.runFileRemoval.count(), 4);
    } finally {
      if (underWay) await h.engine.cancelRun(underWay).catch(() => undefined);
      await runner.close();
    }
  });

  it("a deleted job's failed run loses its staging an hour after it ended, also when the policy keeps everything", async () => {
    const job = await h.createJob({ streams: ['a'] });
    const kept = await h.createJob({ streams: ['a'] });
    const runner = await h.startRunner({
      extract: async () => {
        throw new NonRetryableTaskError('source_config.token is missing');
      },
    });
    try {
      const runs = [(await h.engine.triggerRun(job)).runId, (await h.engine.triggerRun(kept)).runId];
      for (const id of runs) assert.equal((await waitForRun(h.prisma, id, ['success', 'failed'])).state, 'failed');
      for (const id of runs) await store.put(`staging/${id}/raw/a/part-00000.jsonl`, 'x');
      // Deleted as the API deletes it (the flag; its runs had ended). No clear runs its run again.
      await h.prisma.ingestionJob.update({ where: { id: job }, data: { isDeleted: true } });
      const deps = { prisma: h.prisma, store, catalog, logger: testLogger };
      const keepAll = { archiveDays: 0, stagingDays: 0, historyDays: 0 };
      assert.equal(await removeExpiredRunFiles(deps, keepAll, new Date(Date.now() + 30 * 60_000)), 0, 'not within the hour');
      // before: kept for ever with this policy, plaintext of encrypted columns included (QA round 23).
      assert.equal(await removeExpiredRunFiles(deps, keepAll, new Date(Date.now() + 2 * 3_600_000)), 1);
      assert.deepEqual(await keys('staging/'), [`staging/${runs[1]}/raw/a/part-00000.jsonl`], "the job still there keeps its run's staging for a clear");
    } finally {
      await runner.close();
    }
  });

  it("once the sweep removed a failed run's staging, a clear whose first task reads its upstream tasks' files is refused, saying why (QA round 42a F1)", async () => {
    const job = await h.createJob({ streams: ['a'] });
    const runner = await h.startRunner({
      load: async () => {
        throw new NonRetryableTaskError('the table refused the batch');
      },
    });
    try {
      const runId = (await h.engine.triggerRun(job)).runId;
      const failed = await waitForRun(h.prisma, runId, ['success', 'failed']);
      assert.equal(failed.state, 'failed');
      await store.put(`staging/${runId}/transformed/a/part-00000.parquet`, 'x');
      assert.equal(await removeExpiredRunFiles({ prisma: h.prisma, store, catalog, logger: testLogger }, { archiveDays: 0, stagingDays: 7, historyDays: 0 }, new Date(ended(failed.endedAt).getTime() + 8 * DAY)), 1);
      const removedAt = (await h.prisma.runFileRemoval.findUniqueOrThrow({ where: { runId } })).removedAt.toISOString();
      await assert.rejects(
        h.engine.clearTask(runId, 'load', 0),
        new RegExp(`^ConflictError: task load\\[0\\] cannot run again: it reads what its upstream tasks left in this run's staging files, and the retention sweep removed them on ${removedAt.replace(/\./g, '\\.')} .*A new run of the job reads the source again$`),
      );
      await assert.rejects(h.engine.clearTask(runId, 'archive'), /^ConflictError: task archive cannot run again: its clear would run load\[0\] first, which reads what its upstream tasks left/);
      assert.equal((await h.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } })).state, 'failed', 'nothing was cleared');
    } finally {
      await runner.close();
    }
  });

  it('sweeps a run again when a clear re-ran it after its first sweep, by the state it ended in the second time', async () => {
    const job = await h.createJob({ streams: ['a'] });
    const { runner, source } = await startRunnerOfSource(true);
    try {
      const runId = (await h.engine.triggerRun(job)).runId;
      const failed = await waitForRun(h.prisma, runId, ['success', 'failed']);
      assert.equal(failed.state, 'failed');
      await store.put(`staging/${runId}/raw/a/part-00000.jsonl`, 'x');
      const deps = { prisma: h.prisma, store, catalog, logger: testLogger };
      // Ages of 50 ms; each sweep's clock is set from the run's own end, so a slow host cannot
      // make a run older than the test means it to be.
      const policy = { archiveDays: 50 / DAY, stagingDays: 50 / DAY, historyDays: 0 };
      const after = (end: Date | null, ms: number): Date => new Date(ended(end).getTime() + ms);
      assert.equal(await removeExpiredRunFiles(deps, policy, after(failed.endedAt, 60)), 1);
      assert.deepEqual(await keys('staging/'), []);
      const first = await h.prisma.runFileRemoval.findUniqueOrThrow({ where: { runId } });
      // The re-run must end after the first sweep's clock.
      await sleep(100);

      source.broken = false;
      await h.engine.clearTask(runId, 'extract');
      const rerun = await waitForRun(h.prisma, runId, ['success', 'failed']);
      assert.equal(rerun.state, 'success');
      assert.ok(ended(rerun.endedAt) > first.removedAt, 'the re-run ended after the first sweep');
      await store.put(`archive/${runId}/raw/a/part-00000.jsonl`, 'x');
      assert.equal(await removeExpiredRunFiles(deps, policy, after(rerun.endedAt, 10)), 0, 'the run ended again less than 50 ms ago');
      assert.equal(await removeExpiredRunFiles(deps, policy, after(rerun.endedAt, 60)), 1, 'ended again after its first sweep, so swept again');
      assert.deepEqual(await keys('archive/'), []);
      const second = await h.prisma.runFileRemoval.findUniqueOrThrow({ where: { runId } });
      assert.ok(second.removedAt > first.removedAt);
      assert.equal(await removeExpiredRunFiles(deps, policy, after(rerun.endedAt, 120)), 0, 'and once only');
    } finally {
      await runner.close();
    }
  });

  it("deletes a finished run's history after SLUICE_RUN_HISTORY_RETENTION_DAYS once its files are settled; keeps each job's latest run, and runs with a pending stream state", async () => {
    const job = await h.createJob({ streams: ['a'] });
    const { runner, source } = await startRunnerOfSource(false);
    try {
      const run = async (): Promise<string> => {
        const { runId } = await h.engine.triggerRun(job);
        await waitForRun(h.prisma, runId, ['success', 'failed']);
        return runId;
      };
      const oldest = await run();
      const pending = await run();
      source.broken = true;
      const failed = await run();
      source.broken = false;
      const latest = await run();
      // A load's state still waiting for its commit to be seen (ADR 0025) holds its run.
      await h.prisma.pendingStreamState.create({ data: { jobId: job, streamKey: 'a', runId: pending, state: {}, namespace: 'n', tableName: 't', taskId: 'load' } });
      const deps = { prisma: h.prisma, store, catalog, logger: testLogger };
      const policy = { archiveDays: 0, stagingDays: 7, historyDays: 30 };
      const instances = (await h.prisma.taskInstance.findMany({ where: { runId: oldest }, select: { id: true } })).map((i) => i.id);
      const lines = (): Promise<number> => h.prisma.taskLog.count({ where: { taskInstanceId: { in: instances } } });
      assert.ok((await lines()) > 0, 'the run has log lines to delete');

      assert.equal(await removeExpiredRunHistory(deps, policy, new Date(Date.now() + 29 * DAY)), 0, 'not old enough');
      assert.equal(await removeExpiredRunHistory(deps, { ...policy, historyDays: 0 }, new Date(Date.now() + 400 * DAY)), 0, '0 keeps every run');
      // Thirty-one days on: the oldest run goes (its archive is kept for ever by the policy, so
      // its files are settled); the failed run's staging has not been removed yet, so it stays.
      assert.equal(await removeExpiredRunHistory(deps, policy, new Date(Date.now() + 31 * DAY)), 1);
      const left = async (): Promise<string[]> => (await h.prisma.dagRun.findMany({ where: { jobId: job }, orderBy: { logicalDate: 'asc' }, select: { id: true } })).map((r) => r.id);
      assert.deepEqual(await left(), [pending, failed, latest]);
      assert.equal(await h.prisma.taskInstance.count({ where: { runId: oldest } }), 0, 'its task instances go with it');
      assert.equal(await lines(), 0, 'and their log lines');
      // Once the files sweep has removed the failed run's staging, its rows go too.
      assert.equal(await removeExpiredRunFiles(deps, policy, new Date(Date.now() + 31 * DAY)), 1);
      assert.equal(await removeExpiredRunHistory(deps, policy, new Date(Date.now() + 31 * DAY)), 1);
      assert.deepEqual(await left(), [pending, latest], 'the run with a pending state and the latest run stay');
      await h.prisma.pendingStreamState.deleteMany({ where: { runId: pending } });
      assert.equal(await removeExpiredRunHistory(deps, policy, new Date(Date.now() + 400 * DAY)), 1);
      assert.deepEqual(await left(), [latest], "the job's latest run stays, however old");
    } finally {
      await runner.close();
    }
  });

  it('the files a run kept when its history went are removed by a file retention set later (QA round 42a F2)', async () => {
    const job = await h.createJob({ streams: ['a'] });
    const { runner, source } = await startRunnerOfSource(false);
    try {
      const run = async (): Promise<{ id: string; endedAt: Date }> => {
        const { runId } = await h.engine.triggerRun(job);
        return { id: runId, endedAt: ended((await waitForRun(h.prisma, runId, ['success', 'failed'])).endedAt) };
      };
      const archived = await run();
      source.broken = true;
      const failed = await run();
      source.broken = false;
      await run(); // the job's latest run, kept
      await store.put(`archive/${archived.id}/raw/a/part-00000.jsonl`, 'x');
      await store.put(`staging/${failed.id}/raw/a/part-00000.jsonl`, 'x');
      const deps = { prisma: h.prisma, store, catalog, logger: testLogger };
      // Files kept for ever, history for 30 days: the two runs' rows go, their files stay.
      const keepFiles = { archiveDays: 0, stagingDays: 0, historyDays: 30 };
      assert.equal(await removeExpiredRunFiles(deps, keepFiles, new Date(Date.now() + 31 * DAY)), 0);
      assert.equal(await removeExpiredRunHistory(deps, keepFiles, new Date(Date.now() + 31 * DAY)), 2);
      assert.equal(await h.prisma.dagRun.count({ where: { id: { in: [archived.id, failed.id] } } }), 0);
      assert.deepEqual(await keys(''), [`archive/${archived.id}/raw/a/part-00000.jsonl`, `staging/${failed.id}/raw/a/part-00000.jsonl`]);
      // The operator then sets a staging retention of 7 days and an archive one of 90: the staging
      // is old enough, the archive not yet.
      const later = { archiveDays: 90, stagingDays: 7, historyDays: 30 };
      assert.equal(await removeExpiredRunFiles(deps, later, new Date(failed.endedAt.getTime() + 40 * DAY)), 1);
      assert.deepEqual(await keys(''), [`archive/${archived.id}/raw/a/part-00000.jsonl`]);
      // The archive's run, and the job's latest run (its row kept), whose archive is due too.
      assert.equal(await removeExpiredRunFiles(deps, later, new Date(archived.endedAt.getTime() + 91 * DAY)), 2);
      assert.deepEqual(await keys(''), []);
      assert.equal(await h.prisma.keptRunFiles.count(), 0, 'each is forgotten once its files are gone');
      assert.equal(await removeExpiredRunFiles(deps, later, new Date(archived.endedAt.getTime() + 400 * DAY)), 0);
    } finally {
      await runner.close();
    }
  });
});
