import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { latestFireTime, missedFireTimes, normalizeSchedule, normalizeTimeZone } from '@sluice/core/cron';
import type { Logger } from '@sluice/logging';
import { errorSummary, isDatabaseUnreachable, sqlOf, type PrismaClient } from '@sluice/db';
import { JOB_CATALOG, QUEUE_NAMES, parsePayload, schedulerId, type JobPayload } from './job-catalog.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { RedisOutages } from './redis-connection.ts';
import type { StateStore } from './state-store.ts';

/** At most this many missed runs are created by one catch-up. */
export const MAX_CATCHUP_RUNS = 100;

/** The longest pause between a waiting fire's tries to reach PostgreSQL. */
const FIRE_RETRY_MAX_MS = 30_000;

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
    this.queue = new Queue(QUEUE_NAMES.schedules, { connection, prefix: queuePrefix });
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
    const job = await this.prisma.ingestionJob.findUnique({
      where: { id: jobId },
      select: { schedule: true, timezone: true, isPaused: true, isDeleted: true, catchup: true, scheduleSetAt: true, scheduleActiveSince: true },
    });
    const id = schedulerId(jobId);
    if (!job || job.isDeleted || job.isPaused || job.schedule === null) {
      await this.queue.removeJobScheduler(id);
      return;
    }
    const pattern = normalizeSchedule(job.schedule, { allowSeconds: this.options.allowSeconds ?? false });
    const tz = normalizeTimeZone(job.timezone);
    if (job.catchup) await this.#catchUp(jobId, pattern, tz, job.scheduleSetAt, options.outageSince);
    else if (options.afterOutage) await this.#missedFire(jobId, pattern, tz, job.scheduleActiveSince);
    const fire = JOB_CATALOG['schedule.fire'];
    await this.queue.upsertJobScheduler(id, { pattern, tz }, { name: 'schedule.fire', data: { jobId }, opts: fire.options });
  }

  async #missedFire(jobId: string, pattern: string, tz: string, activeSince: Date): Promise<void> {
    const allowSeconds = this.options.allowSeconds ?? false;
    const due = latestFireTime(pattern, tz, new Date(), { allowSeconds });
    if (!due || due <= activeSince) return;
    const last = await this.prisma.dagRun.findFirst({
      where: { jobId, runType: 'scheduled' },
      orderBy: { logicalDate: 'desc' },
      select: { logicalDate: true },
    });
    if (last && due <= last.logicalDate) return;
    const runId = await this.createScheduledRun(jobId, due);
    if (runId) this.logger.info('created the run of a schedule fire missed while no scheduler ran', { jobId, runId, logicalDate: due.toISOString() });
  }

  async #catchUp(jobId: string, pattern: string, tz: string, scheduleSetAt: Date, outageSince: Date | undefined): Promise<void> {
    const last = await this.prisma.dagRun.findFirst({
      where: { jobId, runType: 'scheduled' },
      orderBy: { logicalDate: 'desc' },
      select: { logicalDate: true },
    });
    // Fires of this schedule only: none from before it was set (an on-demand job given a
    // schedule, a daily one made hourly).
    const since = (t: Date): Date => (t > scheduleSetAt ? t : scheduleSetAt);
    let from = since(last?.logicalDate ?? scheduleSetAt);
    if (outageSince && outageSince < from) from = since(outageSince);
    const due = missedFireTimes(pattern, tz, from, new Date(), MAX_CATCHUP_RUNS, { allowSeconds: this.options.allowSeconds ?? false });
    if (due.leftOut) {
      const { first, last: latest, count } = due.leftOut;
      this.logger.warn(
        `catch-up runs the latest ${MAX_CATCHUP_RUNS} missed fires; ${count >= 10_000 ? 'at least 10000' : count} earlier ones, ${first.toISOString()} to ${latest.toISOString()}, get no run`,
        { jobId },
      );
    }
    let created = 0;
    // A fire time that has its run already creates nothing (runs are unique per logical date).
    for (const logicalDate of due.times) if (await this.createScheduledRun(jobId, logicalDate)) created++;
    if (created > 0) this.logger.info('caught up missed schedule fires', { jobId, runs: created });
  }

  /** One run per (job, logical date): a second fire for the same time creates nothing. */
  async createScheduledRun(jobId: string, logicalDate: Date): Promise<string | null> {
    const r = await this.store.createRun(sqlOf(this.prisma), { jobId, runType: 'scheduled', logicalDate, requireActiveSchedule: true });
    await this.dispatcher.dispatch(r.dispatches);
    return r.created ? r.runId : null;
  }

  /**
   * Handles a `schedule.fire` job: the fire time (`prevMillis`) is the run's logical date. While
   * PostgreSQL cannot be reached the fire waits for it (said once, then tried again after 1 s,
   * 2 s, … up to FIRE_RETRY_MAX_MS), so that an outage over a fire time delays its run instead of
   * losing it. `signal` (the scheduler closing) ends the wait with the error: BullMQ then tries the
   * fire again later, on this scheduler or another.
   */
  async fire(job: Job, signal?: AbortSignal): Promise<string | null> {
    const { jobId } = parsePayload('schedule.fire', job.data);
    const logicalDate = new Date(job.opts.prevMillis ?? job.timestamp);
    for (let waited = 0; ; waited++) {
      try {
        const runId = await this.createScheduledRun(jobId, logicalDate);
        if (waited > 0) this.logger.info('PostgreSQL answered: the waiting schedule fire went on', { jobId, logicalDate: logicalDate.toISOString() });
        return runId;
      } catch (err) {
        if (err instanceof Error && err.name === 'NotFoundError') {
          this.logger.warn('schedule fired for a job that no longer exists; removing its scheduler', { jobId });
          await this.queue.removeJobScheduler(schedulerId(jobId));
          return null;
        }
        if (!isDatabaseUnreachable(err) || signal?.aborted) throw err;
        if (waited === 0) {
          this.logger.warn('a schedule fire waits for PostgreSQL to create its run', { jobId, logicalDate: logicalDate.toISOString(), err: errorSummary(err) });
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
