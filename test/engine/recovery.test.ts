/**
 * PostgreSQL is the truth: a Redis emptied mid-run and a runner killed with SIGKILL mid-task
 * are both repaired by the scheduler's recovery, and the run completes.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createMemoryLogger } from '@sluice/logging';
import { freePort, startPostgres, startRedis, type LocalService } from '@sluice/local-services';
import { schedulerId, sentinelKey } from '@sluice/engine';
import type { TaskContext } from '@sluice/runner';
import { testEnv } from '../support/env.ts';
import { createHarness, instanceStates, waitFor, waitForRun, type Harness } from './support/harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('recovery', () => {
  let h: Harness;
  let redisServer: LocalService | undefined;
  /** A PostgreSQL server of the test's own (stopped after the harness that uses it closed), and its directory. */
  let ownPostgres: { server: LocalService; dir: string } | undefined;
  beforeEach(() => {
    redisServer = undefined;
    ownPostgres = undefined;
  });
  afterEach(async () => {
    await h.close();
    await redisServer?.stop();
    if (ownPostgres) {
      await ownPostgres.server.stop();
      rmSync(ownPostgres.dir, { recursive: true, force: true });
    }
  });

  /**
   * Starts a PostgreSQL server of the test's own (stopped after the harness that uses it closed):
   * `stop` and `start` take it away and bring it back on the same port and data.
   */
  async function ownPostgresServer(name: string): Promise<{ url: string; port: number; stop(): Promise<void>; start(): Promise<void> }> {
    const dir = mkdtempSync(path.join(testEnv.tmpDir, `${name}-`));
    chmodSync(dir, 0o755);
    const port = await freePort();
    const own = { server: await startPostgres(path.join(dir, 'pg'), port, { durable: false }), dir };
    ownPostgres = own;
    return {
      url: own.server.url,
      port,
      stop: () => own.server.stop(),
      async start() {
        own.server = await startPostgres(path.join(dir, 'pg'), port, { durable: false });
      },
    };
  }

  it('an empty Redis at a scheduler\'s start is a line of information; emptied while it runs, a warning', async () => {
    h = await createHarness();
    const { logger, lines } = createMemoryLogger();
    await h.startScheduler({ sweepIntervalMs: 30, logger });
    const said = (): { level: string; message: string }[] =>
      lines.map((l) => JSON.parse(l) as { level: string; message: string }).filter((l) => /no Sluice sentinel/.test(l.message));
    // before: a warning on every start of `pnpm start`, whose local Redis keeps nothing
    assert.deepEqual(said().map((l) => l.level), ['info']);
    assert.match(said()[0]?.message ?? '', /first start, or Redis restarted empty/);
    const redis = new Redis(h.redisUrl);
    try {
      await redis.del(sentinelKey(h.queuePrefix));
    } finally {
      redis.disconnect();
    }
    await waitFor(async () => said().length === 2, 'a sweep to find the sentinel gone', 10_000);
    assert.equal(said()[1]?.level, 'warn');
    assert.match(said()[1]?.message ?? '', /emptied or restarted while Sluice ran/);
  });

  it('sweeps slower than their interval do not queue up: a scheduler stops after the one under way', { timeout: 120_000 }, async () => {
    h = await createHarness();
    for (let i = 0; i < 20; i++) await h.createJob({ streams: ['a'], schedule: '0 0 1 1 *' });
    // Every tick finds the last sweep (an audit of 20 schedules) still going.
    const scheduler = await h.startScheduler({ sweepIntervalMs: 1, scheduleAuditMs: 1 });
    await sleep(3_000);
    const before = Date.now();
    await scheduler.close();
    // Queued behind each other, 3 s of ticks were thousands of sweeps to wait for (it took minutes).
    assert.ok(Date.now() - before < 10_000, `closed in ${Date.now() - before} ms`);
  });

  it("two schedulers and a Redis emptied again and again: the one that rebuilds is not taken for a Redis unlike PostgreSQL by the other's audit", { timeout: 120_000 }, async () => {
    redisServer = await startRedis(path.join(testEnv.tmpDir, `redis-two-${process.pid}`), await freePort());
    h = await createHarness({ redisUrl: redisServer.url });
    const jobs: string[] = [];
    for (let i = 0; i < 20; i++) jobs.push(await h.createJob({ streams: ['a'], schedule: '0 0 1 1 *' }));
    const logs = [createMemoryLogger(), createMemoryLogger()];
    for (const { logger } of logs) await h.startScheduler({ sweepIntervalMs: 50, scheduleAuditMs: 50, logger });
    const messages = (): string[] => logs.flatMap(({ lines }) => lines.map((l) => (JSON.parse(l) as { message: string }).message));
    const admin = new Redis(redisServer.url);
    try {
      for (let flush = 1; flush <= 3; flush++) {
        const rebuiltBefore = messages().filter((m) => /no Sluice sentinel/.test(m)).length;
        await admin.flushall();
        await waitFor(async () => (await admin.exists(sentinelKey(h.queuePrefix))) === 1, `the sentinel after flush ${flush}`, 20_000);
        const held = await h.engine.schedules.queue.getJobSchedulers();
        assert.equal(held.length, jobs.length, `every schedule is back once the sentinel is (flush ${flush})`);
        assert.ok(messages().filter((m) => /no Sluice sentinel/.test(m)).length > rebuiltBefore, 'a scheduler said it rebuilt');
        await sleep(300); // audits of both schedulers after the rebuild
      }
    } finally {
      admin.disconnect();
    }
    assert.deepEqual(messages().filter((m) => /unlike PostgreSQL/.test(m)), [], 'no audit took a rebuild under way for a stale Redis');
  });

  it('Redis flushed mid-run: queued tries and schedules come back, the run completes', async () => {
    // FLUSHALL on the shared test Redis would hit other tests: this test gets a Redis of its own.
    redisServer = await startRedis(path.join(testEnv.tmpDir, `redis-flush-${process.pid}`), await freePort());
    h = await createHarness({ redisUrl: redisServer.url });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let staged = 0;
    await h.startRunner(
      {
        stage: async () => {
          staged++;
          await gate;
          return {};
        },
      },
      { concurrency: 1 },
    );
    const scheduler = await h.startScheduler({ sweepIntervalMs: 300 });
    const jobId = await h.createJob({ streams: ['a', 'b', 'c'], schedule: '0 0 1 1 *' });
    assert.ok(await h.engine.schedules.queue.getJobScheduler(schedulerId(jobId)), 'scheduler exists before the flush');
    const { runId } = await h.engine.triggerRun(jobId);
    // stage[0] runs (blocked on the gate); stage[1] and stage[2] wait in Redis.
    await waitFor(async () => staged === 1 && (await h.prisma.taskInstance.count({ where: { runId, taskId: 'stage', state: 'queued' } })) === 2, 'one stage running, two queued');

    const admin = new Redis(redisServer.url);
    await admin.flushall();
    assert.equal(await admin.dbsize(), 0);
    await admin.quit();

    release();
    const run = await waitForRun(h.prisma, runId, ['success', 'failed'], 20_000);
    assert.equal(run.state, 'success', JSON.stringify(await instanceStates(h.prisma, runId)));
    assert.equal(staged, 3, 'the two tries lost with Redis were dispatched again');
    await waitFor(async () => h.engine.schedules.queue.getJobScheduler(schedulerId(jobId)), 'the job scheduler to be recreated');
    const r = await scheduler.sweep();
    assert.equal(r.redisWasEmpty, false, 'the sentinel is back');
  });

  it('Redis away: a manual trigger answers within seconds, and its run starts and completes when Redis is back', { timeout: 60_000 }, async () => {
    const dir = path.join(testEnv.tmpDir, `redis-away-${process.pid}`);
    const port = await freePort();
    redisServer = await startRedis(dir, port);
    h = await createHarness({ redisUrl: redisServer.url });
    await h.startRunner();
    const jobId = await h.createJob({ streams: ['a'] });
    await redisServer.stop();

    const asked = Date.now();
    const { runId, waitsForRedis } = await h.engine.triggerRun(jobId);
    const answeredMs = Date.now() - asked;
    assert.ok(answeredMs < 5_000, `the trigger answered after ${answeredMs} ms`);
    // And it says that the run waits for Redis (QA round 27: only the log did).
    assert.equal(waitsForRedis, true);
    // PostgreSQL has the run; nothing can start without Redis.
    assert.equal((await h.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } })).state, 'running');
    await new Promise((r) => setTimeout(r, 300));
    const waiting = await instanceStates(h.prisma, runId);
    assert.equal(waiting['extract[-1]'], 'queued', JSON.stringify(waiting));
    assert.ok(Object.values(waiting).every((st) => st === 'queued' || st === 'scheduled'), JSON.stringify(waiting));

    redisServer = await startRedis(dir, port);
    const run = await waitForRun(h.prisma, runId, ['success', 'failed'], 30_000);
    assert.equal(run.state, 'success', JSON.stringify(await instanceStates(h.prisma, runId)));
  });

  it('Redis away: the runner and the scheduler stop without waiting for it; the try given up is retried once it is back', { timeout: 60_000 }, async () => {
    const dir = path.join(testEnv.tmpDir, `redis-away-close-${process.pid}`);
    const port = await freePort();
    redisServer = await startRedis(dir, port);
    h = await createHarness({ redisUrl: redisServer.url });
    let givenUp = 0;
    const runner = await h.startRunner({
      stage: async (ctx) => {
        try {
          await sleep(30_000, undefined, { signal: ctx.signal });
        } catch (err) {
          givenUp++;
          throw err;
        }
        return {};
      },
    });
    const scheduler = await h.startScheduler();
    const jobId = await h.createJob({ streams: ['a'] });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitFor(async () => (await h.prisma.taskInstance.count({ where: { runId, taskId: 'stage', state: 'running' } })) === 1, 'the stage to run');
    await redisServer.stop();
    await sleep(500); // the connections see the server go
    for (const [what, component] of [['runner', runner], ['scheduler', scheduler]] as const) {
      const asked = Date.now();
      // Before, each waited for Redis for good (`pnpm start` gave up on each after 10 s).
      const outcome = await Promise.race([component.close().then(() => 'closed'), sleep(20_000, 'still waiting')]);
      assert.equal(outcome, 'closed', `${what}: ${Date.now() - asked} ms`);
    }
    assert.equal(givenUp, 1, 'the running try was told to stop');
    // Redis back (empty), a runner and a scheduler again: the try given up is found stale and retried.
    redisServer = await startRedis(dir, port);
    await h.startRunner();
    await h.startScheduler();
    const run = await waitForRun(h.prisma, runId, ['success', 'failed'], 30_000);
    assert.equal(run.state, 'success', JSON.stringify(await instanceStates(h.prisma, runId)));
    assert.equal((await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage' } })).tryNumber, 2);
  });

  /**
   * A run of a job whose stage holds, PostgreSQL stopped under it for longer than the scheduler's
   * staleAfterMs, then lets go: `afterWork` runs (PostgreSQL still away) and the stage returns;
   * PostgreSQL comes back and the run succeeds. Answers the run, its stage instance, how often the
   * stage ran, and the stage's log lines.
   */
  /** One job run whose stage tries (one per stream) end while PostgreSQL is away; the runner's process log goes to `lines`. */
  async function stageAcrossPostgresOutage(
    name: string,
    afterWork: (ctx: TaskContext) => Promise<void>,
    streams: string[] = ['a'],
  ): Promise<{ runId: string; stage: { tryNumber: number; endedAt: Date | null }; stageTries: number; messages: string[]; backAt: number; lines: string[] }> {
    const pg = await ownPostgresServer(name);
    h = await createHarness({ databaseServerUrl: pg.url });
    const { logger, lines } = createMemoryLogger();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let stageTries = 0;
    await h.startRunner(
      {
        stage: async (ctx) => {
          stageTries++;
          await held;
          await afterWork(ctx);
          return {};
        },
      },
      { logger },
    );
    await h.startScheduler(); // declares a try lost after 3 s without a heartbeat
    const jobId = await h.createJob({ streams });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitFor(async () => (await h.prisma.taskInstance.count({ where: { runId, taskId: 'stage', state: 'running' } })) === streams.length, 'the stages to run');
    await pg.stop();
    release();
    await sleep(4_000); // longer than staleAfterMs: no heartbeat could be written meanwhile
    await pg.start();
    const backAt = Date.now();
    const run = await waitForRun(h.prisma, runId, ['success', 'failed'], 30_000);
    assert.equal(run.state, 'success', JSON.stringify(await instanceStates(h.prisma, runId)));
    const stage = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage' } });
    const messages = (await h.prisma.taskLog.findMany({ where: { taskInstanceId: stage.id }, orderBy: { id: 'asc' } })).map((l) => l.message);
    return { runId, stage, stageTries, messages, backAt, lines };
  }

  it('PostgreSQL away when a try finishes: its lines and outcome wait for it; the try is neither declared lost nor done again', { timeout: 60_000 }, async () => {
    const { stage, stageTries, messages, backAt } = await stageAcrossPostgresOutage('report-pg-away', async (ctx) => {
      ctx.log.info('staged while PostgreSQL was away');
    });
    // The try's end is when it ended, not when its report could be written (QA round 30a: a try's
    // duration counted the outage).
    assert.ok(stage.endedAt && stage.endedAt.getTime() < backAt - 2_000, `ended ${stage.endedAt?.toISOString() ?? 'never'}, PostgreSQL back ${new Date(backAt).toISOString()}`);
    // before: the report failed, the try stayed running, was declared lost and staged again (try 2)
    assert.deepEqual([stage.tryNumber, stageTries], [1, 1], 'one try, recorded when PostgreSQL was back');
    const kept = messages.indexOf('staged while PostgreSQL was away');
    assert.ok(kept > 0, `the line logged during the outage was kept and written: ${messages.join(' | ')}`);
    assert.ok(kept < messages.indexOf('try 1 succeeded'), 'before the outcome');
    assert.ok(!messages.some((m) => /lost|stopped heart-beating/.test(m)), messages.join(' | '));
  });

  it("PostgreSQL away when a try's handler writes after its work (an extract's catalog, a run warning): the write waits for it; the work is not done again", { timeout: 60_000 }, async () => {
    const { stage, stageTries, messages, runId, lines } = await stageAcrossPostgresOutage(
      'handler-pg-away',
      async (ctx) => {
        // before (QA round 25): such a write failed the try, and its retry did the work again.
        const jobs = await ctx.whenReachable('the count', () => ctx.prisma.ingestionJob.count());
        await ctx.warnRun(`written when PostgreSQL was back (${jobs} job) by ${ctx.task.stream ?? '?'}`);
      },
      ['a', 'b'],
    );
    assert.deepEqual([stage.tryNumber, stageTries], [1, 2], 'one try a stream');
    assert.deepEqual([...(await h.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } })).warnings].sort(), ['written when PostgreSQL was back (1 job) by a', 'written when PostgreSQL was back (1 job) by b']);
    assert.ok(messages.includes('PostgreSQL is unreachable: the count waits for it (at most 10 min)'), messages.join(' | '));
    // The process log says the outage once for both tries, not each try's wait (QA round 56a F6: a line per extract).
    const said = lines.map((l) => JSON.parse(l) as { level: string; message: string }).filter((l) => /^PostgreSQL/.test(l.message));
    assert.deepEqual(said.map((l) => [l.level, l.message.replace(/:.*$/, '')]), [
      ['warn', 'PostgreSQL is unreachable'],
      ['info', 'PostgreSQL is reachable again'],
    ]);
  });

  it("a handler's transaction that outlives its time limit (a PostgreSQL that hangs under it) is written again, not the try failed", { timeout: 60_000 }, async () => {
    h = await createHarness();
    let attempts = 0;
    await h.startRunner({
      stage: async (ctx) => {
        await ctx.whenReachable('the slow write', () =>
          ctx.prisma.$transaction(
            async (tx) => {
              attempts += 1;
              // The first attempt is held past its limit, as a hung server holds it (Prisma's P2028).
              if (attempts === 1) await tx.$executeRaw`SELECT pg_sleep(0.5)`;
              await tx.$queryRaw`SELECT 1`;
            },
            { timeout: 200 },
          ),
        );
        return {};
      },
    });
    const jobId = await h.createJob({ streams: ['a'] });
    const { runId } = await h.engine.triggerRun(jobId);
    // before (QA round 29): the try failed with "a PostgreSQL transaction took too long", and its work was done again
    assert.equal((await waitForRun(h.prisma, runId, ['success', 'failed'], 30_000)).state, 'success');
    const stage = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage' } });
    assert.deepEqual([stage.tryNumber, attempts], [1, 2]);
  });

  it("PostgreSQL away under a running try: its log says once that heartbeats fail, and once that they work again", { timeout: 60_000 }, async () => {
    const pg = await ownPostgresServer('beat-pg-away');
    h = await createHarness({ databaseServerUrl: pg.url });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { logger, lines } = createMemoryLogger();
    // Two running tries: the process says the outage once, not once per try.
    const runner = await h.startRunner({ stage: async () => held.then(() => ({})) }, { heartbeatMs: 200, logger });
    await h.startScheduler();
    const jobId = await h.createJob({ streams: ['a', 'b'] });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitFor(async () => (await h.prisma.taskInstance.count({ where: { runId, taskId: 'stage', state: 'running' } })) === 2, 'the stages to run');
    await pg.stop();
    await sleep(2_000); // about ten beats
    await pg.start();
    await sleep(1_000); // beats that work again
    release();
    assert.equal((await waitForRun(h.prisma, runId, ['success', 'failed'], 30_000)).state, 'success');
    const stage = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage' } });
    const messages = (await h.prisma.taskLog.findMany({ where: { taskInstanceId: stage.id }, orderBy: { id: 'asc' } })).map((l) => l.message);
    assert.deepEqual(
      messages.filter((m) => /heartbeat/.test(m)).map((m) => m.replace(/ err="PostgreSQL is not reachable at [^"]*"$/, '')),
      ['heartbeat failed; trying again every beat', 'heartbeats work again'],
    );
    // The process log: once down, once back, for both tries (before: two lines each way, per try; QA round 29).
    await runner.close();
    const said = lines.map((l) => JSON.parse(l) as { level: string; message: string }).filter((l) => l.level !== 'debug' && /PostgreSQL|heartbeat|log lines/.test(l.message));
    assert.deepEqual(said.map((l) => [l.level, l.message.replace(/:.*$/, '')]), [
      ['warn', 'PostgreSQL is unreachable'],
      ['info', 'PostgreSQL is reachable again'],
    ]);
  });

  it('PostgreSQL away under the scheduler: one line saying so when the sweeps start failing, one when it is back', { timeout: 60_000 }, async () => {
    const pg = await ownPostgresServer('sweep-pg-away');
    h = await createHarness({ databaseServerUrl: pg.url });
    const { logger, lines } = createMemoryLogger();
    await h.startScheduler({ sweepIntervalMs: 30, logger });
    await pg.stop();
    await new Promise((r) => setTimeout(r, 500)); // about fifteen sweeps
    await pg.start();
    await waitFor(async () => lines.some((l) => l.includes('PostgreSQL is reachable again')), 'a sweep to work again', 30_000);
    await new Promise((r) => setTimeout(r, 300)); // more sweeps, which work
    const said = lines.map((l) => JSON.parse(l) as { level: string; message: string; err?: string }).filter((l) => /recovery sweep|^PostgreSQL/.test(l.message));
    // before: "recovery sweep failed" (an error) opened the outage, and two lines closed it (QA round 29)
    assert.deepEqual(said.map((l) => [l.level, l.message.replace(/:.*$/, '')]), [
      ['warn', 'PostgreSQL is unreachable'],
      ['info', 'PostgreSQL is reachable again'],
    ]);
    assert.match(said[0]?.err ?? '', new RegExp(`^PostgreSQL is (unreachable|not reachable).*127\\.0\\.0\\.1:${pg.port}`));
  });

  /**
   * A job firing every second (max_active_runs only queues its runs) and a scheduler over a
   * PostgreSQL of its own, stopped for `outageMs` after two fires: the scheduled runs' fire times
   * (a function to read them again), the scheduler's log lines and when the outage began and ended.
   */
  async function everySecondAcrossOutage(name: string, catchup: boolean, outageMs: number) {
    const pg = await ownPostgresServer(name);
    h = await createHarness({ databaseServerUrl: pg.url });
    const { logger, lines } = createMemoryLogger();
    const jobId = await h.createJob({ schedule: '* * * * * *', catchup, maxActiveRuns: 1000 });
    await h.startScheduler({ sweepIntervalMs: 200, logger });
    const harness = h;
    const fireTimes = async (): Promise<number[]> =>
      (await harness.prisma.dagRun.findMany({ where: { jobId, runType: 'scheduled' }, select: { logicalDate: true }, orderBy: { logicalDate: 'asc' } })).map((r) => r.logicalDate.getTime());
    await waitFor(async () => (await fireTimes()).length >= 2, 'two fires before the outage', 15_000);
    await pg.stop();
    const stoppedAt = Date.now();
    await sleep(outageMs);
    await pg.start();
    return { fireTimes, lines, stoppedAt, backAt: Date.now() };
  }

  it('PostgreSQL away over schedule fires: every fire makes its run once it is back, none is lost; "reachable again" is said once, when it is', { timeout: 90_000 }, async () => {
    // Catching up, each fire time must have its run. The outage is longer than the scheduler's
    // four slots can wait through (one fire a second): the fires after those are dropped by BullMQ
    // while it has no slot, and the recovery sweep makes them up.
    const { fireTimes, lines, stoppedAt, backAt } = await everySecondAcrossOutage('fire-pg-away', true, 7_000);
    const gaps = await waitFor(
      async () => {
        const times = await fireTimes();
        const last = times.at(-1) ?? 0;
        if (last < backAt + 1_000) return undefined;
        const missing = [];
        for (let t = times[0] ?? 0; t <= last; t += 1_000) if (!times.includes(t)) missing.push(new Date(t).toISOString());
        return missing.length === 0 ? [] : undefined;
      },
      'a run for every second from the first fire on',
      30_000,
    ).catch(async (err: unknown) => {
      const times = await fireTimes();
      throw new Error(`${String(err)}: runs at ${times.map((t) => new Date(t).toISOString().slice(17, 21)).join(' ')} (PostgreSQL stopped ${new Date(stoppedAt).toISOString()})`);
    });
    assert.deepEqual(gaps, []);
    const messages = lines.map((l) => JSON.parse(l) as { level: string; message: string; ts?: string; timestamp?: string });
    assert.ok(messages.some((m) => m.message === 'a schedule fire waits for PostgreSQL to create its run'), 'a waiting fire says so');
    const back = messages.filter((m) => m.message.startsWith('PostgreSQL is reachable again'));
    assert.equal(back.length, 1, back.map((m) => m.message).join(' | '));
  });

  it('PostgreSQL away over schedule fires of a job without catchup: one run, for the latest fire time, not one per waiting fire (QA round 28)', { timeout: 90_000 }, async () => {
    // Fewer seconds than the scheduler's slots: every fire of the outage waits for PostgreSQL.
    const { fireTimes, lines, stoppedAt, backAt } = await everySecondAcrossOutage('fire-pg-away-latest', false, 3_500);
    await waitFor(async () => ((await fireTimes()).at(-1) ?? 0) >= backAt + 1_000, 'fires after the outage', 30_000);
    const times = await fireTimes();
    // before: each waiting fire made its own run, and the sweep made one more. Now the fires that
    // waited make one run, for the latest of them when PostgreSQL answered again — which may be up
    // to a second before the restart returned (backAt), so that run's time is anywhere in the outage.
    const said = `runs at ${times.map((t) => new Date(t).toISOString().slice(17, 21)).join(' ')} (stopped ${new Date(stoppedAt).toISOString()}, back ${new Date(backAt).toISOString()})`;
    const during = times.filter((t) => t > stoppedAt && t < backAt - 1_000);
    assert.ok(during.length <= 1, `one run for the fires that waited: ${said}`);
    const skipped = [];
    for (let t = Math.ceil(stoppedAt / 1_000) * 1_000; t < backAt - 1_000; t += 1_000) if (!times.includes(t)) skipped.push(t);
    assert.ok(skipped.length >= 1, `the fires of the outage but the latest have no run: ${said}`);
    const messages = lines.map((l) => JSON.parse(l) as { message: string; runId?: string; logicalDate?: string });
    assert.ok(messages.some((m) => m.message === 'a late schedule fire makes the run of the latest fire time instead (catchup is off)'), 'a late fire says so');
    // Each "created" line names its run's own logical date (QA round 29: a late fire's line named its fire time).
    const created = messages.filter((m) => m.message === 'scheduled run created');
    assert.ok(created.length > 0);
    for (const m of created) {
      const run = await h.prisma.dagRun.findUniqueOrThrow({ where: { id: m.runId ?? '' } });
      assert.equal(m.logicalDate, run.logicalDate.toISOString(), `run ${m.runId ?? ''}`);
    }
  });

  it('a runner killed with SIGKILL mid-task: the try is declared lost, retried elsewhere, the run completes', async () => {
    h = await createHarness();
    await h.startScheduler({ staleAfterMs: 1_500, sweepIntervalMs: 300 });
    const jobId = await h.createJob({ streams: ['s'] });
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'support/runner-process.ts')], {
      env: {
        ...process.env,
        TEST_DATABASE_URL: h.db.url,
        REDIS_URL: h.redisUrl,
        TEST_QUEUE_PREFIX: h.queuePrefix,
        TEST_RUNNER_ID: 'doomed-runner',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('ready')) resolve();
      });
      child.on('exit', () => reject(new Error('the runner child exited before it was ready')));
    });
    const { runId } = await h.engine.triggerRun(jobId);
    await waitFor(
      async () => h.prisma.taskInstance.findFirst({ where: { runId, taskId: 'stage', state: 'running', runnerId: 'doomed-runner' } }),
      'the child to run stage',
      20_000,
    );
    await waitFor(
      async () => (await h.prisma.taskLog.count({ where: { message: { startsWith: 'staging, step' } } })) >= 10,
      'the try to have written lines',
      20_000,
    );
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const killedAt = Date.now();

    await h.startRunner();
    const run = await waitForRun(h.prisma, runId, ['success', 'failed'], 20_000);
    assert.equal(run.state, 'success');
    const stage = await h.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'stage' } });
    assert.equal(stage.tryNumber, 2, 'retried once');
    assert.notEqual(stage.runnerId, 'doomed-runner');
    assert.ok(Date.now() - killedAt < 10_000, 'noticed within staleAfterMs + sweep interval (plus the run)');
    // A lost try a retry follows is a warning, not an error line that pages (QA round 34a F2).
    const lostLog = await h.prisma.taskLog.findMany({ where: { taskInstanceId: stage.id, tryNumber: 1, level: 'warn', message: { contains: 'lost' } } });
    assert.equal(lostLog[0]?.message, 'try 1 lost: runner doomed-runner stopped heart-beating; it is retried');
    // A lost try ends at its last sign of life — its last heartbeat or log line, whichever is later —
    // not when it was declared lost (QA round 30a), nor before lines it wrote (QA round 35b F4).
    const [lost] = stage.earlierTries as { try_number: number; ended_at: string }[];
    assert.equal(lost?.try_number, 1);
    assert.ok(Date.parse(lost?.ended_at ?? '') <= killedAt, `try 1 ended ${lost?.ended_at ?? 'never'}, killed ${new Date(killedAt).toISOString()}`);
    const [lastLine] = await h.prisma.taskLog.findMany({ where: { taskInstanceId: stage.id, tryNumber: 1, message: { startsWith: 'staging, step' } }, orderBy: { id: 'desc' }, take: 1 });
    assert.ok(lastLine, 'the try logged before it was killed');
    assert.ok(Date.parse(lost?.ended_at ?? '') >= lastLine.ts.getTime(), `try 1 ended ${lost?.ended_at ?? 'never'}, before its line of ${lastLine.ts.toISOString()}`);
  });

  it("a scheduler's sweep starts the queued runs of a job resumed by an API that stopped before starting them", async () => {
    h = await createHarness();
    const jobId = await h.createJob({ streams: ['s'], maxActiveRuns: 1, isPaused: true });
    const a = await h.engine.triggerRun(jobId);
    const b = await h.engine.triggerRun(jobId);
    await h.engine.cancelRun(a.runId);
    const state = async (): Promise<string> => (await h.prisma.dagRun.findUniqueOrThrow({ where: { id: b.runId } })).state;
    assert.equal(await state(), 'queued', "the cancel freed a slot, but the job is paused");
    // Resumed, as the API's PATCH commits it, and nothing more.
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { isPaused: false } });
    await h.startScheduler();
    assert.equal(await state(), 'running');
  });

  it('a scheduler start restores a job scheduler missing from a Redis that was not emptied', async () => {
    h = await createHarness();
    const first = await h.startScheduler();
    const jobId = await h.createJob({ schedule: '@daily', timezone: 'Europe/Berlin' });
    // As if the API committed the job and died before syncSchedule.
    await h.engine.schedules.queue.removeJobScheduler(schedulerId(jobId));
    assert.equal((await first.sweep()).redisWasEmpty, false);
    assert.equal(await h.engine.schedules.queue.getJobScheduler(schedulerId(jobId)), undefined, 'a periodic sweep does not look');
    await h.startScheduler();
    const restored = await h.engine.schedules.queue.getJobScheduler(schedulerId(jobId));
    assert.equal(restored?.pattern, '0 0 * * *');
    assert.equal(restored?.tz, 'Europe/Berlin');
  });
});

