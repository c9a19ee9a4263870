import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, type Job, type RepeatStrategy } from 'bullmq';
import type { Redis } from 'ioredis';
import { latestFireTime, missedFireTimes, nextFireTimes, normalizeSchedule, normalizeTimeZone } from '@sluice/core/cron';
import type { Logger } from '@sluice/logging';
import { errorSummary, isDatabaseUnreachable, sqlOf, sqlTransaction, type PrismaClient } from '@sluice/db';
import { JOB_CATALOG, QUEUE_NAMES, parsePayload, schedulerId, type JobPayload } from './job-catalog.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { RedisOutages } from './redis-connection.ts';
import type { FiresWithoutRun, StateStore } from './state-store.ts';

/** At most this many missed runs are created by one catch-up. */
export const MAX_CATCHUP_RUNS = 100;

/**
 * The next fire of a job scheduler after `millis`, by core's cron — the one catch-up, missed fires
 * and the UI's "next fire" use — for BullMQ's queue and worker of fires. BullMQ's own strategy uses
 * the cron-parser it bundles, an older version, which skips the day of a spring-forward that jumps
 * over midnight in some zones (a daily job in America/Santiago, Havana, Beirut or Cairo lost that
 * day's run). Patterns reach it as `sync` set them, already checked.
 */
export const cronRepeatStrategy: RepeatStrategy = (millis, opts) =>
  opts.pattern ? nextFireTimes(opts.pattern, opts.tz ?? 'UTC', new Date(millis), 1, { allowSeconds: true })[0]?.getTime() : undefined;

/** The longest pause between a waiting fire's tries to reach PostgreSQL. */
const FIRE_RETRY_MAX_MS = 30_000;

/** An active job's schedule as its runs are made from it. */
interface ActiveSchedule {
  pattern: string;
  tz: string;
  catchup: boolean;
  /** When this schedule was set: no catch-up before it. */
  scheduleSetAt: Date;
  /** When it became active (created, resumed, changed): no missed fire before it. */
  scheduleActiveSince: Date;
  /** The latest fire time skipped on purpose (a scheduled run was waiting): no missed fire at or before it. */
  skippedFireAt: Date | null;
}

export interface ScheduleOptions {
  /** Accept six-field (seconds) cron expressions: for tests only. */
  allowSeconds?: boolean;
}

/**
 * Keeps each job's BullMQ job scheduler in line with the job row, and turns a scheduler's
 * fire into a run. One scheduler per active job (scheduled, not paused, not deleted), id
 * `job-<jobId>`, with the job's cron pattern and time zone.
 */
export class Schedules {
  // NameType is string: BullMQ types upsertJobScheduler's scheduler id with the job-name type.
  readonly queue: Queue<JobPayload<'schedule.fire'>, unknown, string>;

  constructor(
    connection: Redis,
    queuePrefix: string,
    private readonly prisma: PrismaClient,
    private readonly store: StateStore,
    private readonly dispatcher: Dispatcher,
    private readonly logger: Logger,
    outages: RedisOutages,
    private readonly options: ScheduleOptions = {},
  ) {
    this.queue = new Queue(QUEUE_NAMES.schedules, { connection, prefix: queuePrefix, settings: { repeatStrategy: cronRepeatStrategy } });
    outages.follow(this.queue, 'schedule queue');
  }

  /**
   * Upserts or removes the job's scheduler. Resuming does not replay missed fires (the next fire
   * is the next cron time after now) unless the job has `catchup`: then the missed fires since
   * the latest scheduled run (and not before the schedule was set: `schedule_set_at`) become
   * runs, the latest MAX_CATCHUP_RUNS of them (earlier ones are named in a warning); those runs
   * queue behind max_active_runs.
   *
   * `afterOutage` (the scheduler's reconciliation: at its start, and when Redis was emptied): a
   * fire due while no scheduler ran, or whose pending job Redis lost, would otherwise be dropped
   * by the upsert, which schedules the next fire after now. Without `catchup`, the latest such
   * fire becomes a run, as Airflow runs the latest interval when catch-up is off: the latest cron
   * time at or before now, when it is later than the job's latest scheduled run and than the
   * moment its schedule became active (created, resumed, changed), so a fire skipped by a pause
   * is not one. Its run is unique per logical date like any fire's.
   *
   * `outageSince` (the first sweep that reaches PostgreSQL again after it was away): a `catchup`
   * job's fires since then that made no run (a fire can be dropped while none of the scheduler's
   * slots is free to wait for PostgreSQL, see `fire`) become runs too, holes between later runs
   * included.
   */
  async sync(jobId: string, options: { afterOutage?: boolean; outageSince?: Date } = {}): Promise<void> {
    const schedule = await this.#activeSchedule(jobId);
    const id = schedulerId(jobId);
    if (schedule === null) {
      await this.queue.removeJobScheduler(id);
      return;
    }
    await this.#makeUp(jobId, schedule, { latestMissed: options.afterOutage ?? false, ...(options.outageSince ? { outageSince: options.outageSince } : {}) });
    const fire = JOB_CATALOG['schedule.fire'];
    await this.queue.upsertJobScheduler(id, { pattern: schedule.pattern, tz: schedule.tz }, { name: 'schedule.fire', data: { jobId }, opts: fire.options });
  }

  /**
   * Brings every job's BullMQ job scheduler in line with PostgreSQL; answers how many differed.
   *
   * `upsertAll` (the recovery sweep at a scheduler's start, after Redis was emptied, after an
   * outage of PostgreSQL): every active job's scheduler is upserted by `sync` as after an outage,
   * with `outageSince`.
   *
   * Otherwise (the periodic audit) each is compared first. Redis may hold an older state than
   * PostgreSQL without being empty (restored from a snapshot, a failover to a replica that
   * lagged), which the sentinel does not tell: a scheduler missing, or with another pattern or
   * time zone, is upserted the same way, and said in a warning. The others get
   * `makeUpMissedFires`.
   *
   * Either way, a scheduler of a job no longer active is removed. `stillIntact` is asked before
   * the warning: a Redis emptied during the comparison is not called stale.
   */
  async reconcile(options: { graceMs: number; upsertAll?: boolean; outageSince?: Date; stillIntact?: () => Promise<boolean> }): Promise<number> {
    const jobs = await this.prisma.ingestionJob.findMany({
      where: { isDeleted: false, isPaused: false, schedule: { not: null } },
      select: { id: true, schedule: true, timezone: true },
    });
    const held = new Map((await this.queue.getJobSchedulers()).map((s) => [s.key, s]));
    const afterOutage = { afterOutage: true, ...(options.outageSince ? { outageSince: options.outageSince } : {}) };
    let differed = 0;
    for (const j of jobs) {
      const id = schedulerId(j.id);
      const inRedis = held.get(id);
      held.delete(id);
      try {
        const pattern = normalizeSchedule(j.schedule ?? '', { allowSeconds: this.options.allowSeconds ?? false });
        const same = inRedis?.pattern === pattern && inRedis.tz === normalizeTimeZone(j.timezone);
        if (!same) differed++;
        if (same && !options.upsertAll) await this.makeUpMissedFires(j.id, options.graceMs);
        else await this.sync(j.id, afterOutage);
      } catch (err) {
        this.logger.error('could not check a job schedule', { jobId: j.id, err: errorSummary(err) });
      }
    }
    for (const key of held.keys()) {
      // Removed only if its job is still not active once looked at alone (it may have become so meanwhile).
      const jobId = key.startsWith('job-') ? key.slice('job-'.length) : null;
      if (jobId === null) continue;
      differed++;
      await this.sync(jobId);
    }
    // A Redis emptied during this comparison (its sentinel gone) is no stale one: the next sweep rebuilds it.
    if (differed > 0 && !options.upsertAll && (options.stillIntact === undefined || (await options.stillIntact()))) {
      this.logger.warn(`Redis held ${differed} job scheduler${differed === 1 ? '' : 's'} unlike PostgreSQL (restored from an older snapshot, or a failover?): set again from PostgreSQL`);
    }
    return differed;
  }

  /**
   * The periodic check of one active job whose scheduler Redis holds as it should: the fires
   * older than `graceMs` that made no run — fires BullMQ dropped while the scheduler could not
   * take them (a scheduler frozen or asleep gets one late fire, and the next after now) — are
   * made up as after an outage: a `catchup` job's every one, another job's latest. A fire younger
   * than `graceMs` may still be on its way through BullMQ (runs are unique per logical date
   * either way).
   */
  async makeUpMissedFires(jobId: string, graceMs: number): Promise<void> {
    const schedule = await this.#activeSchedule(jobId);
    if (schedule !== null) await this.#makeUp(jobId, schedule, { latestMissed: true, until: new Date(Date.now() - graceMs) });
  }

  /** The job's schedule, checked, when it is active (scheduled, not paused, not deleted); else null. */
  async #activeSchedule(jobId: string): Promise<ActiveSchedule | null> {
    const job = await this.prisma.ingestionJob.findUnique({
      where: { id: jobId },
      select: { schedule: true, timezone: true, isPaused: true, isDeleted: true, catchup: true, scheduleSetAt: true, scheduleActiveSince: true, skippedFireAt: true },
    });
    if (!job || job.isDeleted || job.isPaused || job.schedule === null) return null;
    return {
      pattern: normalizeSchedule(job.schedule, { allowSeconds: this.options.allowSeconds ?? false }),
      tz: normalizeTimeZone(job.timezone),
      catchup: job.catchup,
      scheduleSetAt: job.scheduleSetAt,
      scheduleActiveSince: job.scheduleActiveSince,
      skippedFireAt: job.skippedFireAt,
    };
  }

  /**
   * Runs for fires up to `until` (default now) that made none: a `catchup` job's every one (see
   * `sync` for `outageSince`), another job's latest when `latestMissed`.
   */
  async #makeUp(jobId: string, s: ActiveSchedule, o: { latestMissed: boolean; until?: Date; outageSince?: Date }): Promise<void> {
    const until = o.until ?? new Date();
    if (s.catchup) await this.#catchUp(jobId, s, o.outageSince, until);
    else if (o.latestMissed) await this.#missedFire(jobId, s, until);
  }

  /** The logical date of the job's latest scheduled run, or null. */
  async #latestScheduledRun(jobId: string): Promise<Date | null> {
    const run = await this.prisma.dagRun.findFirst({ where: { jobId, runType: 'scheduled' }, orderBy: { logicalDate: 'desc' }, select: { logicalDate: true } });
    return run?.logicalDate ?? null;
  }

  /**
   * The fires of the schedule before `due` that made no run of their own (null when none): those
   * after the job's latest scheduled run before `due` and after the schedule's start — without
   * catchup, when it became active (a fire while paused is none) and after a fire skipped on
   * purpose (ADR 0026); with catchup, when it was set (a catch-up past MAX_CATCHUP_RUNS leaves the
   * earliest out). A run made on time finds none.
   */
  async #firesWithoutRunBefore(jobId: string, s: ActiveSchedule, due: Date): Promise<FiresWithoutRun | null> {
    const previous = await this.prisma.dagRun.findFirst({
      where: { jobId, runType: 'scheduled', logicalDate: { lt: due } },
      orderBy: { logicalDate: 'desc' },
      select: { logicalDate: true },
    });
    const bounds = [previous?.logicalDate, s.catchup ? s.scheduleSetAt : s.scheduleActiveSince, s.catchup ? null : s.skippedFireAt];
    const from = new Date(Math.max(...bounds.map((d) => d?.getTime() ?? 0)));
    const before = new Date(due.getTime() - 1);
    if (before <= from) return null;
    const fires = missedFireTimes(s.pattern, s.tz, from, before, 1, { allowSeconds: this.options.allowSeconds ?? false });
    const last = fires.times.at(-1);
    if (last === undefined) return null;
    return { count: fires.times.length + (fires.leftOut?.count ?? 0), first: fires.leftOut?.first ?? last, last };
  }

  /**
   * Without catchup, the latest fire time up to now when it is later than `due`: a fire made up,
   * or one that waited (for PostgreSQL, a busy scheduler), is superseded by a later one that came
   * meanwhile, and its run is made for that one (whose own fire then finds it made). So an outage
   * over several fires makes one run, for the latest, in whatever order the fires and the
   * make-up come. Else `due`.
   */
  #latestFor(s: ActiveSchedule, due: Date): Date {
    if (s.catchup) return due;
    const latest = latestFireTime(s.pattern, s.tz, new Date(), { allowSeconds: this.options.allowSeconds ?? false });
    return latest !== undefined && latest > due ? latest : due;
  }

  async #missedFire(jobId: string, s: ActiveSchedule, until: Date): Promise<void> {
    const missed = latestFireTime(s.pattern, s.tz, until, { allowSeconds: this.options.allowSeconds ?? false });
    if (!missed) return;
    const due = this.#latestFor(s, missed);
    if (due <= s.scheduleActiveSince) return;
    // A fire skipped because the job's scheduled run already waited (ADR 0026) made no run on
    // purpose, and is not made up once that run has started (QA round 28: it was, a minute later).
    if (s.skippedFireAt && due <= s.skippedFireAt) return;
    const last = await this.#latestScheduledRun(jobId);
    if (last && due <= last) return;
    // Run creation skips it again while that run waits; that skip was said when the fire came (the
    // audit comes every scheduleAuditMs).
    const runId = await this.createScheduledRun(jobId, due, { sayIfSkipped: false, schedule: s });
    if (runId) this.logger.info('created the run of a missed schedule fire', { jobId, runId, logicalDate: due.toISOString() });
  }

  async #catchUp(jobId: string, s: ActiveSchedule, outageSince: Date | undefined, until: Date): Promise<void> {
    const { scheduleSetAt } = s;
    const last = await this.#latestScheduledRun(jobId);
    // Fires of this schedule only: none from before it was set (an on-demand job given a
    // schedule, a daily one made hourly).
    const since = (t: Date): Date => (t > scheduleSetAt ? t : scheduleSetAt);
    let from = since(last ?? scheduleSetAt);
    if (outageSince && outageSince < from) from = since(outageSince);
    const due = missedFireTimes(s.pattern, s.tz, from, until, MAX_CATCHUP_RUNS, { allowSeconds: this.options.allowSeconds ?? false });
    if (due.leftOut) {
      const { first, last: latest, count } = due.leftOut;
      this.logger.warn(
        `catch-up runs the latest ${MAX_CATCHUP_RUNS} missed fires; ${count >= 10_000 ? 'at least 10000' : count} earlier ones, ${first.toISOString()} to ${latest.toISOString()}, get no run`,
        { jobId },
      );
    }
    let created = 0;
    // A fire time that has its run already creates nothing (runs are unique per logical date).
    for (const logicalDate of due.times) if (await this.createScheduledRun(jobId, logicalDate, { schedule: s })) created++;
    if (created > 0) this.logger.info('caught up missed schedule fires', { jobId, runs: created });
  }

  /**
   * One run per (job, logical date): a second fire for the same time creates nothing. Nor does a
   * fire of a busy job without catchup whose scheduled run already waits queued (said in the log).
   */
  async createScheduledRun(jobId: string, logicalDate: Date, o: { sayIfSkipped?: boolean; schedule?: ActiveSchedule | null } = {}): Promise<string | null> {
    const schedule = o.schedule === undefined ? await this.#activeSchedule(jobId) : o.schedule;
    const missedFires = schedule === null ? null : await this.#firesWithoutRunBefore(jobId, schedule, logicalDate);
    const input = { jobId, runType: 'scheduled' as const, logicalDate, requireActiveSchedule: true };
    // The run and what it says of the fires before it are written together.
    const r =
      missedFires === null
        ? await this.store.createRun(sqlOf(this.prisma), input)
        : await sqlTransaction(this.prisma, (sql) => this.store.createRun(sql, { ...input, missedFires }));
    if (r.created && missedFires !== null) {
      this.logger.info(`the run of this fire follows ${missedFires.count} fire${missedFires.count === 1 ? '' : 's'} that made no run of their own`, {
        jobId,
        runId: r.runId,
        logicalDate: logicalDate.toISOString(),
        firstMissed: missedFires.first.toISOString(),
        lastMissed: missedFires.last.toISOString(),
      });
    }
    await this.dispatcher.dispatch(r.dispatches);
    // Older runs waited with a slot free (a resume makes its catch-up runs first): they start first.
    if (r.startQueued) await this.dispatcher.dispatch(await sqlTransaction(this.prisma, (sql) => this.store.startQueuedRuns(sql, [jobId])));
    if (r.skipped && schedule !== null) {
      // Kept, so that the make-up of missed fires knows this one made no run on purpose; not
      // when the schedule changed meanwhile (a change forgets the old schedule's skipped fire).
      await this.prisma.$executeRaw`
        UPDATE ingestion_jobs SET skipped_fire_at = ${logicalDate}
        WHERE id = ${jobId}::uuid AND schedule_set_at = ${schedule.scheduleSetAt} AND (skipped_fire_at IS NULL OR skipped_fire_at < ${logicalDate})`;
      if (o.sayIfSkipped ?? true) {
        this.logger.info('schedule fire skipped: the job runs max_active_runs runs and its scheduled run already waits queued (catchup is off)', {
          jobId,
          logicalDate: logicalDate.toISOString(),
          waitingRunId: r.runId,
        });
      }
    }
    return r.created ? r.runId : null;
  }

  /**
   * Handles a `schedule.fire` job: the fire time (`prevMillis`) is the run's logical date. While
   * PostgreSQL cannot be reached the fire waits for it (said once, then tried again after 1 s,
   * 2 s, … up to FIRE_RETRY_MAX_MS), so that an outage over a fire time delays its run instead of
   * losing it. `signal` (the scheduler closing) ends the wait with the error: BullMQ then tries the
   * fire again later, on this scheduler or another. Answers the run it created, with its logical
   * date (a late fire's may be a later fire time's); null when it created none.
   */
  async fire(job: Job, signal?: AbortSignal): Promise<{ runId: string; logicalDate: Date } | null> {
    const { jobId } = parsePayload('schedule.fire', job.data);
    const fired = new Date(job.opts.prevMillis ?? job.timestamp);
    for (let waited = 0; ; waited++) {
      try {
        const schedule = await this.#activeSchedule(jobId);
        const logicalDate = schedule === null ? fired : this.#latestFor(schedule, fired);
        if (logicalDate > fired) {
          this.logger.info('a late schedule fire makes the run of the latest fire time instead (catchup is off)', {
            jobId,
            fireTime: fired.toISOString(),
            logicalDate: logicalDate.toISOString(),
          });
        }
        const runId = await this.createScheduledRun(jobId, logicalDate, { schedule });
        if (waited > 0) this.logger.info('PostgreSQL answered: the waiting schedule fire went on', { jobId, logicalDate: logicalDate.toISOString() });
        return runId === null ? null : { runId, logicalDate };
      } catch (err) {
        if (err instanceof Error && err.name === 'NotFoundError') {
          this.logger.warn('schedule fired for a job that no longer exists; removing its scheduler', { jobId });
          await this.queue.removeJobScheduler(schedulerId(jobId));
          return null;
        }
        if (!isDatabaseUnreachable(err) || signal?.aborted) throw err;
        if (waited === 0) {
          this.logger.warn('a schedule fire waits for PostgreSQL to create its run', { jobId, logicalDate: fired.toISOString(), err: errorSummary(err) });
        }
        try {
          await sleep(Math.min(1000 * 2 ** waited, FIRE_RETRY_MAX_MS), undefined, { signal });
        } catch {
          throw err;
        }
      }
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
