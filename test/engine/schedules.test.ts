/**
 * Cron schedules through BullMQ job schedulers and real schedulers: firing, pause, resume
 * (with and without catch-up), and two schedulers at once never doubling a run or a task.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryLogger } from '@sluice/logging';
import { cronRepeatStrategy, quitRedis, Schedules, schedulerId } from '@sluice/engine';
import { NonRetryableTaskError } from '@sluice/core';
import { createHarness, waitFor, waitForRun, type Harness } from './support/harness.ts';

describe('schedules', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const scheduledRuns = (jobId: string) =>
    h.prisma.dagRun.findMany({ where: { jobId, runType: 'scheduled' }, orderBy: { logicalDate: 'asc' } });

  it('fires a seconds-level cron: one successful run per fire, logical date = fire time', async () => {
    await h.startRunner();
    await h.startScheduler();
    const jobId = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', maxActiveRuns: 5 });
    await waitFor(async () => (await scheduledRuns(jobId)).filter((r) => r.state === 'success').length >= 3, '3 scheduled runs');
    const runs = await scheduledRuns(jobId);
    for (const r of runs) assert.equal(r.logicalDate.getTime() % 1000, 0, 'fire times are whole seconds');
    const times = runs.map((r) => r.logicalDate.getTime());
    assert.equal(new Set(times).size, times.length);
    for (let i = 1; i < times.length; i++) assert.ok((times[i] ?? 0) - (times[i - 1] ?? 0) >= 1000);
    const job = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.ok(job.lastCompletedAt);
  });

  it('a fire due while no scheduler ran becomes a run when one starts: the latest, and only since the schedule became active', async () => {
    const jobId = await h.createJob({ streams: ['s'], schedule: '*/2 * * * * *', maxActiveRuns: 5 });
    const resumed = await h.createJob({ streams: ['s'], schedule: '*/2 * * * * *', maxActiveRuns: 5 });
    await sleep(4_500); // two fire times or more pass with no scheduler running
    // The second job's schedule became active just now (as a resume or a schedule change makes it).
    const activeSince = new Date();
    await h.prisma.ingestionJob.update({ where: { id: resumed }, data: { scheduleActiveSince: activeSince } });
    const before = Date.now();
    await h.startScheduler();
    const after = Date.now();
    // before: the start replaced the overdue fire with the next one, and the run was never made.
    // The start's sweep makes the latest fire time at or before it (a fire time may pass while the
    // scheduler starts on a slow host: then that one); its worker takes later fires.
    const made = (await scheduledRuns(jobId)).map((r) => r.logicalDate.getTime()).filter((t) => t <= after);
    assert.ok(made.length >= 1, 'the latest missed fire became a run');
    assert.ok(made.every((t) => t >= before - 2_000 && t % 2_000 === 0), `only the latest missed fire, not every one: ${made.map((t) => before - t).join(', ')} ms before the start`);
    assert.deepEqual((await scheduledRuns(resumed)).filter((r) => r.logicalDate <= activeSince), [], 'fires before the schedule became active are not missed ones');
  });

  it('a run made after fires that made none says how many, the first and the last; a run made on time says none (QA round 41a F3)', async () => {
    await h.startRunner();
    const jobId = await h.createJob({ streams: ['s'], schedule: '*/2 * * * * *', maxActiveRuns: 5 });
    const { scheduleActiveSince } = await h.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    await sleep(5_000); // two fire times or more pass with no scheduler running
    await h.startScheduler();
    await waitFor(async () => (await scheduledRuns(jobId)).length >= 4, 'the make-up run and three fires after it');
    const runs = await scheduledRuns(jobId);
    // Each run names the whole 2 s steps strictly between the run before it (the first: the
    // schedule's activation) and its own fire time: none when it was fired on time.
    let previous = scheduleActiveSince.getTime();
    for (const r of runs) {
      const at = r.logicalDate.getTime();
      const firstStep = previous - (previous % 2_000) + 2_000;
      const expected = at > firstStep ? { count: (at - firstStep) / 2_000, first: new Date(firstStep).toISOString(), last: new Date(at - 2_000).toISOString() } : { count: 0 };
      const got = r.missedFires === 0 ? { count: 0 } : { count: r.missedFires, first: r.firstMissedFireAt?.toISOString(), last: r.lastMissedFireAt?.toISOString() };
      assert.deepEqual(got, expected, `run at ${r.logicalDate.toISOString()}`);
      previous = at;
    }
    assert.ok((runs[0]?.missedFires ?? 0) >= 1, 'the make-up run follows the fires no scheduler took');
    assert.ok(runs.slice(1).some((r) => r.missedFires === 0), 'a fire taken on time follows none');
  });

  it('refuses an invalid schedule or time zone with a clear message', async () => {
    await assert.rejects(h.createJob({ schedule: '61 * * * *' }), /minute field: 61 is outside 0-59/);
    await assert.rejects(h.createJob({ schedule: '@daily', timezone: 'Moon/Base' }), /not an IANA time zone/);
  });

  it('pause stops fires; resume starts again without replaying the paused time', async () => {
    await h.startRunner();
    await h.startScheduler();
    const jobId = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', maxActiveRuns: 5 });
    await waitFor(async () => (await scheduledRuns(jobId)).length >= 1, 'a first fire');
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { isPaused: true } });
    await h.engine.syncSchedule(jobId);
    assert.equal(await h.engine.schedules.queue.getJobScheduler(schedulerId(jobId)), undefined, 'scheduler removed');
    await sleep(1200); // a fire already in flight may still land
    const pausedCount = (await scheduledRuns(jobId)).length;
    await sleep(2500);
    assert.equal((await scheduledRuns(jobId)).length, pausedCount, 'no fires while paused');

    const resumedAt = Date.now();
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { isPaused: false } });
    await h.engine.syncSchedule(jobId);
    await waitFor(async () => (await scheduledRuns(jobId)).length > pausedCount, 'a fire after resume');
    const after = (await scheduledRuns(jobId)).slice(pausedCount);
    assert.ok(after.every((r) => r.logicalDate.getTime() >= resumedAt - 1000), 'no run for a second spent paused');
  });

  it('resume with catchup creates the missed runs, queued behind max_active_runs', async () => {
    const jobId = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', catchup: true, isPaused: true });
    // The job was created paused: catch-up starts from its creation.
    await sleep(3100);
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { isPaused: false } });
    await h.engine.syncSchedule(jobId);
    const runs = await scheduledRuns(jobId);
    assert.ok(runs.length >= 3, `missed fires became runs (${runs.length})`);
    assert.equal(runs.filter((r) => r.state === 'running').length, 1, 'max_active_runs = 1: one runs, the rest queue');
    await h.startRunner();
    await waitFor(async () => (await scheduledRuns(jobId)).slice(0, runs.length).every((r) => r.state === 'success'), 'caught-up runs done');
  });

  it('a busy job without catchup keeps one scheduled run waiting: later fires add none, and say so; with catchup each queues', async () => {
    // No scheduler runs: the fires are made here, at whole seconds past.
    const base = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const at = (s: number): Date => new Date(base + s * 1000);
    const { logger, lines } = createMemoryLogger();
    const connection = h.engine.outages.connection();
    const schedules = new Schedules(connection, h.queuePrefix, h.prisma, h.engine.store, h.engine.dispatcher, logger, h.engine.outages, { allowSeconds: true });
    try {
      const jobId = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *' });
      const first = await schedules.createScheduledRun(jobId, at(0));
      const waiting = await schedules.createScheduledRun(jobId, at(1));
      assert.ok(first !== null && waiting !== null);
      assert.equal(await schedules.createScheduledRun(jobId, at(2)), null, 'a third fire while one waits: no run');
      assert.equal(await schedules.createScheduledRun(jobId, at(3)), null);
      // A second delivery of the waiting run's own fire is the run itself, not a skip.
      assert.equal(await schedules.createScheduledRun(jobId, at(1)), null);
      assert.deepEqual((await scheduledRuns(jobId)).map((r) => [r.id, r.state]), [[first, 'running'], [waiting, 'queued']]);
      const skips = lines
        .map((l) => JSON.parse(l) as { level: string; message: string; logicalDate?: string; waitingRunId?: string })
        .filter((l) => l.message.startsWith('schedule fire skipped'));
      assert.deepEqual(skips.map((l) => [l.level, l.logicalDate, l.waitingRunId]), [['info', at(2).toISOString(), waiting], ['info', at(3).toISOString(), waiting]]);
      // A trigger by hand is asked for: it queues beside the waiting scheduled run.
      assert.equal((await h.engine.triggerRun(jobId)).state, 'queued');

      // Made paused, then made active in PostgreSQL alone: its schedule's sync would catch up the
      // fires since its creation, and on a slow host a second can pass between the two (CI saw a
      // fifth run made so).
      const caught = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', catchup: true, isPaused: true });
      await h.prisma.ingestionJob.update({ where: { id: caught }, data: { isPaused: false } });
      for (let i = 0; i < 4; i++) assert.notEqual(await schedules.createScheduledRun(caught, at(i)), null, `catchup: fire ${i} has its run`);
      assert.deepEqual((await scheduledRuns(caught)).map((r) => r.state), ['running', 'queued', 'queued', 'queued']);
    } finally {
      await schedules.close();
      await quitRedis(connection);
    }
  });

  it('a fire skipped while a scheduled run waited is not made up once that run has started (QA round 28)', async () => {
    // Minutely; no scheduler runs: the fires are made here, at the last minutes' starts. Started
    // early in a minute: a new minute during the test is a fire of its own without a run, which the
    // audit rightly makes up (CI saw a third run so, in session 38).
    if (Date.now() % 60_000 > 45_000) await sleep(60_000 - (Date.now() % 60_000) + 100);
    const thisMinute = Math.floor(Date.now() / 60_000) * 60_000;
    const minute = (k: number): Date => new Date(thisMinute + k * 60_000);
    const connection = h.engine.outages.connection();
    const schedules = new Schedules(connection, h.queuePrefix, h.prisma, h.engine.store, h.engine.dispatcher, createMemoryLogger().logger, h.engine.outages);
    try {
      const jobId = await h.createJob({ streams: ['s'], schedule: '* * * * *' });
      await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { scheduleActiveSince: minute(-10) } });
      const first = await schedules.createScheduledRun(jobId, minute(-3));
      const waiting = await schedules.createScheduledRun(jobId, minute(-2));
      assert.ok(first !== null && waiting !== null);
      assert.equal(await schedules.createScheduledRun(jobId, minute(-1)), null, 'skipped: a run waits');
      assert.equal(await schedules.createScheduledRun(jobId, minute(0)), null, 'skipped: a run waits');
      await h.engine.cancelRun(first);
      await waitFor(async () => (await h.prisma.dagRun.findUniqueOrThrow({ where: { id: waiting } })).state !== 'queued', 'the waiting run to start');
      // The audit finds the latest fire time without a run: it was skipped on purpose. Before: it made that fire's run.
      await schedules.makeUpMissedFires(jobId, 0);
      assert.deepEqual((await scheduledRuns(jobId)).map((r) => r.id), [first, waiting]);
    } finally {
      await schedules.close();
      await quitRedis(connection);
    }
  });

  it('a schedule that fires faster than its runs end leaves one scheduled run waiting, not a growing queue', async () => {
    // No runner: the first run never ends while the scheduler fires every second. Its audit looks
    // for fires that made no run every sweep: a skipped one is not made up, nor said again.
    const { logger, lines } = createMemoryLogger();
    await h.startScheduler({ logger, sweepIntervalMs: 100, scheduleAuditMs: 300 });
    const jobId = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *' });
    await sleep(4_500);
    const states = (await scheduledRuns(jobId)).map((r) => r.state);
    assert.deepEqual(states, ['running', 'queued'], `runs after 4 fires or more: ${states.join(', ')}`);
    const skipped = lines.map((l) => JSON.parse(l) as { message: string; logicalDate?: string }).filter((l) => l.message.startsWith('schedule fire skipped'));
    assert.ok(skipped.length >= 1, 'later fires were skipped');
    assert.equal(new Set(skipped.map((l) => l.logicalDate)).size, skipped.length, `each skipped fire said once: ${skipped.map((l) => l.logicalDate).join(', ')}`);
  });

  it("a resume's catch-up runs wait behind the runs queued before it: the oldest starts first", async () => {
    const jobId = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', catchup: true, isPaused: true });
    // Paused and never run: a trigger by hand starts, a second waits; the first is cancelled, and
    // the second stays held by the pause. No runner: nothing ends on its own.
    const first = await h.engine.triggerRun(jobId);
    const held = await h.engine.triggerRun(jobId);
    assert.deepEqual([first.state, held.state], ['running', 'queued']);
    // Its schedule counts from here: a fire time between the job's creation and the trigger would
    // make a catch-up run older than the one queued by hand, and rightly start first.
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { scheduleSetAt: new Date() } });
    await h.engine.cancelRun(first.runId);
    await sleep(2_100); // fires missed while paused
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { isPaused: false } });
    // As the API's resume does: the schedule (its catch-up runs), then the queued runs.
    await h.engine.syncSchedule(jobId);
    await h.engine.startQueuedRuns(jobId);
    const caught = await scheduledRuns(jobId);
    assert.ok(caught.length >= 2, `missed fires became runs (${caught.length})`);
    // before: the first catch-up run started at once, ahead of the run queued before it (QA round 22).
    assert.equal((await h.prisma.dagRun.findUniqueOrThrow({ where: { id: held.runId } })).state, 'running', 'the oldest queued run starts');
    assert.deepEqual(caught.map((r) => r.state), caught.map(() => 'queued'), 'the catch-up runs wait behind it');
  });

  it("a cleared run waiting to run again is not the fire's run: a fire behind it still queues its own", async () => {
    const jobId = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', policies: { extract: { retries: 0 } } });
    const base = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const at = (s: number): Date => new Date(base + s * 1000);
    let broken = true;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runner = await h.startRunner({
      extract: async (ctx) => {
        if (broken) throw new NonRetryableTaskError('the source refused');
        await held;
        return { mappedStreams: ctx.job.streams };
      },
    });
    const connection = h.engine.outages.connection();
    const schedules = new Schedules(connection, h.queuePrefix, h.prisma, h.engine.store, h.engine.dispatcher, createMemoryLogger().logger, h.engine.outages, { allowSeconds: true });
    try {
      const failed = await schedules.createScheduledRun(jobId, at(0));
      assert.ok(failed !== null);
      assert.equal((await waitForRun(h.prisma, failed, ['success', 'failed'])).state, 'failed');
      broken = false;
      const busy = await schedules.createScheduledRun(jobId, at(1));
      assert.ok(busy !== null);
      await h.engine.clearTask(failed, 'extract');
      assert.equal((await h.prisma.dagRun.findUniqueOrThrow({ where: { id: failed } })).state, 'queued', 'cleared, it waits behind the busy run');
      // before: the fire was skipped, the cleared run taken for the waiting one (QA round 22).
      const next = await schedules.createScheduledRun(jobId, at(2));
      assert.ok(next !== null, "the fire made its run");
      assert.equal((await h.prisma.dagRun.findUniqueOrThrow({ where: { id: next } })).state, 'queued');
      assert.equal(await schedules.createScheduledRun(jobId, at(3)), null, 'and the fire after it is skipped: that run waits');
      release();
      for (const id of [busy, failed, next]) assert.equal((await waitForRun(h.prisma, id, ['success', 'failed'])).state, 'success');
    } finally {
      release();
      await runner.close();
      await schedules.close();
      await quitRedis(connection);
    }
  });

  it('catch-up runs the latest 100 missed fires, and says which earlier ones get no run', async () => {
    const jobId = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', catchup: true, isPaused: true, maxActiveRuns: 1000 });
    // As if paused for 150 s since its schedule was set.
    const setAt = new Date(Date.now() - 150_000);
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { createdAt: setAt, scheduleSetAt: setAt, isPaused: false } });
    const { logger, lines } = createMemoryLogger();
    const connection = h.engine.outages.connection();
    const schedules = new Schedules(connection, h.queuePrefix, h.prisma, h.engine.store, h.engine.dispatcher, logger, h.engine.outages, { allowSeconds: true });
    const resumedAt = Date.now();
    try {
      await schedules.sync(jobId);
    } finally {
      await schedules.close();
      await quitRedis(connection);
    }
    const runs = await scheduledRuns(jobId);
    assert.equal(runs.length, 100);
    const oldest = runs[0]?.logicalDate.getTime() ?? 0;
    assert.ok(oldest >= resumedAt - 101_000 && oldest > setAt.getTime() + 40_000, `the latest fires, next to now (oldest ${new Date(oldest).toISOString()})`);
    const warning = lines.map((l) => JSON.parse(l) as { level: string; message: string }).find((l) => l.message.startsWith('catch-up runs the latest 100'));
    assert.equal(warning?.level, 'warn');
    const leftOutLast = new Date(oldest - 1000).toISOString();
    assert.match(warning?.message ?? '', new RegExp(`; \\d+ earlier ones, ${new Date(setAt.getTime() - (setAt.getTime() % 1000) + 1000).toISOString()} to ${leftOutLast}, get no run`));
    // The oldest run says which fires it follows got none: every whole second since the schedule was set.
    const firstLeftOut = setAt.getTime() - (setAt.getTime() % 1000) + 1000;
    assert.deepEqual(
      { count: runs[0]?.missedFires, first: runs[0]?.firstMissedFireAt?.toISOString(), last: runs[0]?.lastMissedFireAt?.toISOString() },
      { count: (oldest - firstLeftOut) / 1000, first: new Date(firstLeftOut).toISOString(), last: leftOutLast },
    );
    assert.deepEqual(runs.slice(1).filter((r) => r.missedFires !== 0 || r.firstMissedFireAt !== null), [], 'the later catch-up runs follow runs');
  });

  it('catch-up runs no fire from before the schedule was set: an on-demand job given a schedule starts from then', async () => {
    const jobId = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', catchup: true, isPaused: true });
    // Created (on demand) 30 s ago; its schedule set just now.
    const setAt = new Date();
    await h.prisma.ingestionJob.update({ where: { id: jobId }, data: { createdAt: new Date(setAt.getTime() - 30_000), scheduleSetAt: setAt, isPaused: false } });
    await h.engine.syncSchedule(jobId);
    const runs = await scheduledRuns(jobId);
    // A second may have begun since the schedule was set: its fire is one of this schedule's.
    assert.ok(runs.length <= Math.ceil((Date.now() - setAt.getTime()) / 1000), `${runs.length} runs`);
    assert.deepEqual(runs.filter((r) => r.logicalDate <= setAt), [], 'no backfill of the time without a schedule');
  });

  it("the periodic audit puts back a job scheduler Redis lost without being emptied, and makes up fires no scheduler took", async () => {
    const { logger, lines } = createMemoryLogger();
    const connection = h.engine.outages.connection();
    const schedules = new Schedules(connection, h.queuePrefix, h.prisma, h.engine.store, h.engine.dispatcher, logger, h.engine.outages, { allowSeconds: true });
    try {
      // No scheduler takes the fires (one frozen, asleep): BullMQ keeps one due fire, and makes
      // the next only once that one is taken.
      const caught = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', catchup: true, maxActiveRuns: 100 });
      const latest = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', maxActiveRuns: 100 });
      // Redis restored from a snapshot taken before this one was resumed: its scheduler is not there.
      const lost = await h.createJob({ streams: ['s'], schedule: '*/1 * * * * *', maxActiveRuns: 100 });
      await h.engine.schedules.queue.removeJobScheduler(schedulerId(lost));
      const initial = (await scheduledRuns(caught)).length; // its creation's catch-up may have made one
      await sleep(4_200);
      assert.equal((await scheduledRuns(caught)).length, initial, 'no fire was taken');

      assert.equal(await schedules.reconcile({ graceMs: 1_000 }), 1, 'one scheduler put back');
      const after = Date.now();
      assert.ok(await h.engine.schedules.queue.getJobScheduler(schedulerId(lost)), 'its scheduler is back');
      const warned = lines.map((l) => JSON.parse(l) as { level: string; message: string }).filter((l) => l.message.startsWith('Redis held 1 job scheduler unlike PostgreSQL'));
      assert.deepEqual(warned.map((l) => l.level), ['warn']);
      // The catch-up job gets every fire older than the grace; the other one its latest.
      const seconds = (await scheduledRuns(caught)).map((r) => r.logicalDate.getTime());
      assert.ok(seconds.length >= initial + 3, `${seconds.length} runs`);
      assert.ok(seconds.every((t, i) => i === 0 || t - (seconds[i - 1] ?? 0) === 1_000), 'one a second, no hole');
      assert.ok((seconds.at(-1) ?? 0) <= after - 1_000, 'none younger than the grace');
      assert.equal((await scheduledRuns(latest)).length, 1, 'without catch-up: the latest missed fire only');
    } finally {
      await schedules.close();
      await quitRedis(connection);
    }
  });

  it("BullMQ's next fire is core's: a daily midnight in Santiago fires on the day its clocks skip midnight", async () => {
    const next = (from: string, pattern: string, tz: string) => new Date((cronRepeatStrategy(Date.parse(from), { pattern, tz }) as number | undefined) ?? 0).toISOString();
    // 2026-09-06 00:00 does not exist there (the clocks go to 01:00): BullMQ's own strategy went on to the 7th.
    assert.equal(next('2026-09-05T05:00:00Z', '0 0 * * *', 'America/Santiago'), '2026-09-06T04:00:00.000Z');
    assert.equal(next('2026-09-06T05:00:00Z', '0 0 * * *', 'America/Santiago'), '2026-09-07T03:00:00.000Z');
    // The scheduler BullMQ keeps for a job has the next fire this strategy gives.
    const jobId = await h.createJob({ streams: ['s'], schedule: '0 0 * * *', timezone: 'America/Santiago' });
    const held = await h.engine.schedules.queue.getJobScheduler(schedulerId(jobId));
    assert.equal(held?.next, cronRepeatStrategy(Date.now(), { pattern: '0 0 * * *', tz: 'America/Santiago' }));
  });

  it('two schedulers at once: every fire makes exactly one run, every task runs once', async () => {
    await h.startRunner();
    await h.startScheduler();
    await h.startScheduler();
    const jobId = await h.createJob({ streams: ['a', 'b'], schedule: '*/1 * * * * *', maxActiveRuns: 10 });
    // A duplicated delivery of one fire, through both paths at once.
    const t = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
    const both = await Promise.all([h.engine.schedules.createScheduledRun(jobId, t), h.engine.schedules.createScheduledRun(jobId, t)]);
    assert.equal(both.filter((r) => r !== null).length, 1, 'one of two simultaneous fires created the run');
    await waitFor(async () => (await scheduledRuns(jobId)).filter((r) => r.state === 'success').length >= 4, '4 scheduled runs', 20_000);
    const runs = await scheduledRuns(jobId);
    const times = runs.map((r) => r.logicalDate.getTime());
    assert.equal(new Set(times).size, times.length, 'no two runs for one fire time');
    const done = await h.prisma.taskInstance.findMany({ where: { run: { jobId }, state: 'success' } });
    assert.ok(done.length >= 4 * 8);
    assert.ok(done.every((i) => i.tryNumber === 1), 'no task ran twice');
    const starts = await h.prisma.taskLog.groupBy({ by: ['taskInstanceId'], where: { message: { contains: 'started on runner' } }, _count: true });
    assert.ok(starts.every((s) => s._count === 1), 'each task instance started once');
  });
});
