import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { fireTimesBetween, latestFireTime, normalizeSchedule, normalizeTimeZone } from '@sluice/core/cron';
import type { Logger } from '@sluice/logging';
import { sqlOf, type PrismaClient } from '@sluice/db';
import { JOB_CATALOG, QUEUE_NAMES, parsePayload, schedulerId, type JobPayload } from './job-catalog.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { RedisOutages } from './redis-connection.ts';
import type { StateStore } from './state-store.ts';

/** At most this many missed runs are created by one catch-up. */
export const MAX_CATCHUP_RUNS = 100;

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
   * is the next cron time after now) unless the job has `catchup`: then every missed fire since
   * the latest scheduled run (or the job's creation), at most MAX_CATCHUP_RUNS, becomes a run;
   * those runs queue behind max_active_runs.
   *
   * `afterOutage` (the scheduler's reconciliation: at its start, and when Redis was emptied): a
   * fire due while no scheduler ran, or whose pending job Redis lost, would otherwise be dropped
   * by the upsert, which schedules the next fire after now. Without `catchup`, the latest such
   * fire becomes a run, as Airflow runs the latest interval when catch-up is off: the latest cron
   * time at or before now, when it is later than the job's latest scheduled run and than the
   * moment its schedule became active (created, resumed, changed), so a fire skipped by a pause
   * is not one. Its run is unique per logical date like any fire's.
   */
  async sync(jobId: string, options: { afterOutage?: boolean } = {}): Promise<void> {
    const job = await this.prisma.ingestionJob.findUnique({
      where: { id: jobId },
      select: { schedule: true, timezone: true, isPaused: true, isDeleted: true, catchup: true, createdAt: true, scheduleActiveSince: true },
    });
    const id = schedulerId(jobId);
    if (!job || job.isDeleted || job.isPaused || job.schedule === null) {
      await this.queue.removeJobScheduler(id);
      return;
    }
    const pattern = normalizeSchedule(job.schedule, { allowSeconds: this.options.allowSeconds ?? false });
    const tz = normalizeTimeZone(job.timezone);
    if (job.catchup) await this.#catchUp(jobId, pattern, tz, job.createdAt);
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

  async #catchUp(jobId: string, pattern: string, tz: string, createdAt: Date): Promise<void> {
    const last = await this.prisma.dagRun.findFirst({
      where: { jobId, runType: 'scheduled' },
      orderBy: { logicalDate: 'desc' },
      select: { logicalDate: true },
    });
    const from = last?.logicalDate ?? createdAt;
    const missed = fireTimesBetween(pattern, tz, from, new Date(), MAX_CATCHUP_RUNS, { allowSeconds: this.options.allowSeconds ?? false });
    for (const logicalDate of missed) await this.createScheduledRun(jobId, logicalDate);
    if (missed.length > 0) this.logger.info('caught up missed schedule fires', { jobId, runs: missed.length });
  }

  /** One run per (job, logical date): a second fire for the same time creates nothing. */
  async createScheduledRun(jobId: string, logicalDate: Date): Promise<string | null> {
    const r = await this.store.createRun(sqlOf(this.prisma), { jobId, runType: 'scheduled', logicalDate, requireActiveSchedule: true });
    await this.dispatcher.dispatch(r.dispatches);
    return r.created ? r.runId : null;
  }

  /** Handles a `schedule.fire` job: the fire time (`prevMillis`) is the run's logical date. */
  async fire(job: Job): Promise<string | null> {
    const { jobId } = parsePayload('schedule.fire', job.data);
    const logicalDate = new Date(job.opts.prevMillis ?? job.timestamp);
    try {
      return await this.createScheduledRun(jobId, logicalDate);
    } catch (err) {
      if (err instanceof Error && err.name === 'NotFoundError') {
        this.logger.warn('schedule fired for a job that no longer exists; removing its scheduler', { jobId });
        await this.queue.removeJobScheduler(schedulerId(jobId));
        return null;
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
