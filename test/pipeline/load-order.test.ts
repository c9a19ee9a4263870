/**
 * The order of two runs' loads of a stream, as PostgreSQL records them (packages/runner's
 * later-read.ts `loadOrder`): a load is placed at its commit, not at the end of the try that
 * recorded it. CI saw a run's load refused as overlapping because the other run's retry, which only
 * found that run's earlier commit, ended after this run had read.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOrder } from '../../packages/runner/src/tasks/later-read.ts';
import { createHarness, waitFor, waitForRun, type Harness } from '../engine/support/harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const extractStart = async (runId: string): Promise<Date | null> =>
  (await h.prisma.taskInstance.findFirst({ where: { runId, taskId: 'extract' }, select: { startedAt: true } }))?.startedAt ?? null;

test("a load whose commit came before this run read does not overlap it, although its try ended after", async () => {
  const jobId = await h.createJob({ streams: ['s'], maxActiveRuns: 2 });
  // Set by the test and by the first run's load, read by both.
  const seen: { second: string | null; committedAt: Date | null } = { second: null, committedAt: null };
  await h.startRunner({
    // The first run's load: its rows go in, then its try goes on (a state save that waits, a
    // retry finding the commit) until the second run has read; it answers its commit's time.
    load: async (ctx) => {
      if (ctx.run.id === seen.second) return { output: { committed_at: new Date().toISOString() } };
      const committedAt = new Date();
      seen.committedAt = committedAt;
      await waitFor(async () => seen.second !== null && (await extractStart(seen.second)) !== null, "the second run's extract to start", 30_000);
      return { output: { committed_at: committedAt.toISOString() } };
    },
  });
  const first = (await h.engine.triggerRun(jobId)).runId;
  await waitFor(async () => seen.committedAt !== null, "the first run's commit");
  const second = (await h.engine.triggerRun(jobId)).runId;
  seen.second = second;
  await waitForRun(h.prisma, first, ['success']);
  const read = await extractStart(second);
  const firstLoad = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId: first, taskId: 'load' } });
  const { committedAt } = seen;
  assert.ok(read !== null && committedAt !== null && firstLoad.endedAt !== null);
  // What made it look like an overlap: the first run's load ended after the second run read.
  assert.ok(committedAt < read && firstLoad.endedAt > read, `committed ${committedAt.toISOString()}, read ${read.toISOString()}, ended ${firstLoad.endedAt.toISOString()}`);
  const order = await loadOrder(h.prisma, { jobId, runId: second, stream: 's', appendIncremental: true });
  assert.deepEqual(order, { extractStartedAt: read, conflict: null });

  // A commit after this run read does overlap it.
  await h.prisma.$executeRaw`UPDATE task_instances SET output = jsonb_build_object('committed_at', ${new Date(read.getTime() + 1).toISOString()}::text) WHERE id = ${firstLoad.id}::uuid`;
  const later = await loadOrder(h.prisma, { jobId, runId: second, stream: 's', appendIncremental: true });
  assert.equal(later.conflict?.kind, 'overlap');
  assert.equal(later.conflict?.runId, first);
  await waitForRun(h.prisma, second, ['success']);
});
