/**
 * A try's log as handlers write it (ctx.log): every level lands in task_logs under the try, in
 * order, with meta appended as JSON and secrets masked (Sluice's own registered values,
 * secret-named keys) — not with other jobs' config secrets, which would blank a job's own words.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configSecrets, REDACTED, secrets } from '@sluice/logging';
import { createHarness, waitForRun, type Harness } from './support/harness.ts';

describe('task log', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(async () => {
    await h.close();
  });

  it('records every level of a try, masks secrets and appends meta', async () => {
    const secret = 'canary-value-7f3a9c';
    secrets.add(secret);
    try {
      const runner = await h.startRunner({
        extract: async (ctx) => {
          ctx.log.debug('resolving the connector');
          ctx.log.info(`connecting with ${secret}`, { api_key: 'plain-key-value', streams: 2 });
          ctx.log.log('warn', 'slow source', { waited_ms: 1500, detail: `token=${secret}` });
          ctx.log.error('one stream had bad rows');
          ctx.log.info('Starting sync', { origin: 'connector' });
          ctx.log.warn('Traceback (most recent call last):', { origin: 'stderr' });
          return { mappedStreams: ctx.job.streams };
        },
      });
      const jobId = await h.createJob({ streams: ['a'] });
      const { runId } = await h.engine.triggerRun(jobId);
      assert.equal((await waitForRun(h.prisma, runId, ['success', 'failed'])).state, 'success');
      const extract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
      const lines = await h.prisma.taskLog.findMany({ where: { taskInstanceId: extract.id, tryNumber: 1 }, orderBy: { id: 'asc' } });
      const mine = lines.filter((l) => !/^try \d/.test(l.message)).map((l) => [l.level, l.message]);
      assert.deepEqual(mine, [
        ['debug', 'resolving the connector'],
        ['info', `connecting with ${REDACTED} api_key=${REDACTED} streams=2`],
        ['warn', `slow source waited_ms=1500 detail="token=${REDACTED}"`],
        ['error', 'one stream had bad rows'],
        // A connector's line says where it came from as its prefix (QA round 34a: a literal {"origin":…} ended it).
        ['info', 'source > Starting sync'],
        ['warn', 'source stderr > Traceback (most recent call last):'],
      ]);
      assert.match(lines[0]?.message ?? '', /^try 1 of \d+ started on runner /, 'the claim\'s line comes first');
      assert.equal(lines.at(-1)?.message, 'try 1 succeeded', 'the success\'s line follows the handler\'s lines');
      assert.equal(lines.length, 8);
      assert.ok(lines.every((l) => !l.message.includes(secret) && !l.message.includes('plain-key-value')));
      await runner.close();
    } finally {
      secrets.remove(secret);
    }
  });

  it("masks no other job's config secret: a word of this job that is one stays as written", async () => {
    // Another job's connector config (opened in this process) holds "basic" under a secret-named key.
    const word = 'basic-auth-word';
    configSecrets.add(word);
    // Closed at the end: the file's next test starts a runner of its own on the same queue.
    const runner = await h.startRunner({
      extract: async (ctx) => {
        ctx.log.info(`committed 1 row to qa_${word}.users`);
        return { mappedStreams: ctx.job.streams };
      },
    });
    try {
      const jobId = await h.createJob({ streams: ['a'] });
      const { runId } = await h.engine.triggerRun(jobId);
      assert.equal((await waitForRun(h.prisma, runId, ['success', 'failed'])).state, 'success');
      const extract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
      const lines = await h.prisma.taskLog.findMany({ where: { taskInstanceId: extract.id, tryNumber: 1 }, orderBy: { id: 'asc' } });
      assert.ok(lines.some((l) => l.message === `committed 1 row to qa_${word}.users`), JSON.stringify(lines.map((l) => l.message)));
    } finally {
      configSecrets.remove(word);
      await runner.close();
    }
  });

  it('a line or a run warning with the NUL character is written with U+FFFD; the lines beside it are kept (QA round 43a F5)', async () => {
    const runner = await h.startRunner({
      extract: async (ctx) => {
        ctx.log.info('before');
        ctx.log.warn('source_config: k\u0000 is not in the spec');
        await ctx.warnRun('source_config: k\u0000 is not in the spec');
        ctx.log.info('after');
        return { mappedStreams: ctx.job.streams };
      },
    });
    const jobId = await h.createJob({ streams: ['a'] });
    const { runId } = await h.engine.triggerRun(jobId);
    assert.equal((await waitForRun(h.prisma, runId, ['success', 'failed'])).state, 'success', 'the warning did not fail the try');
    const extract = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
    const lines = (await h.prisma.taskLog.findMany({ where: { taskInstanceId: extract.id, tryNumber: 1 }, orderBy: { id: 'asc' } })).map((l) => l.message);
    assert.deepEqual(lines.filter((l) => !/^try \d/.test(l)), ['before', 'source_config: k\uFFFD is not in the spec', 'source_config: k\uFFFD is not in the spec', 'after']);
    const run = await h.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } });
    assert.deepEqual(run.warnings, ['source_config: k\uFFFD is not in the spec']);
    await runner.close();
  });
});
