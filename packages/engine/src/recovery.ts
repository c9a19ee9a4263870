import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isDatabaseUnreachable, sqlOf, sqlTransaction, type PrismaClient } from '@sluice/db';
import type { Logger } from '@sluice/logging';
import type { Dispatcher } from './dispatcher.ts';
import { rebuildMarkerKey, sentinelKey } from './redis-keys.ts';
import type { Schedules } from './schedules.ts';
import type { StateStore, TaskDispatch } from './state-store.ts';

export interface RecoveryOptions {
  /**
   * A running try whose heartbeat is older than this is declared lost and retried. Runners beat
   * every few seconds (runner option `heartbeatMs`), so this must be several beats long.
   */
  staleAfterMs: number;
  /**
   * Queued tries older than this are enqueued again on every sweep (a no-op when their job is
   * still in Redis: job ids are derived from the try), which repairs a dispatch lost between
   * commit and enqueue.
   */
  requeueAfterMs: number;
  /**
   * How often a sweep also compares every active job's schedule with its job scheduler in Redis
   * and makes up fires that made no run (Schedules.reconcile): Redis restored from an older snapshot,
   * a scheduler that was frozen. Fires younger than this are left to BullMQ.
   */
  scheduleAuditMs: number;
}

/** KEYS[1] the rebuild's marker, KEYS[2] the sentinel: the sentinel is set (and the marker removed) only if the marker is there. */
const SET_SENTINEL_IF_MARKED = `if redis.call('exists', KEYS[1]) == 1 then redis.call('set', KEYS[2], ARGV[1]); redis.call('del', KEYS[1]); return 1 end return 0`;

/**
 * PostgreSQL is the truth; Redis can be lost. Recovery puts Redis back in line:
 * - when the sentinel key is missing (first start, or Redis restarted empty / was flushed):
 *   every active job's scheduler is upserted and every queued or up_for_retry try is enqueued,
 *   and then the sentinel is set;
 * - on every sweep: lost tries (stale heartbeat) are failed and retried, and tries queued for
 *   longer than `requeueAfterMs` are enqueued again.
 * Several schedulers may sweep at once: every write is a guarded transition and every enqueue
 * is idempotent, so they never double a run or a task.
 */
export class Recovery {
  /**
   * From when missed heartbeats count (epoch ms): no runner could beat while PostgreSQL was away,
   * so no try is lost for staleAfterMs after it is back. Infinity from a sweep that found it
   * unreachable until the first one that reaches it again.
   */
  #beatsCountFrom = 0;
  /** When the first sweep that could not reach PostgreSQL ran, until one reaches it again (epoch ms). */
  #unreachableSince: number | null = null;
  /** Whether a sweep of this scheduler has ended: until then, a Redis without the sentinel is a first start's (the first sweep failed). */
  #startedOnce = false;
  /** When the schedules were last compared with Redis (a full sweep counts). */
  #auditedAt = Date.now();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly store: StateStore,
    private readonly dispatcher: Dispatcher,
    private readonly schedules: Schedules,
    private readonly logger: Logger,
    private readonly options: RecoveryOptions,
  ) {}

  /**
   * One pass. Answers whether Redis had been emptied (the sentinel was missing). `full` (a
   * scheduler's first pass) reconciles every schedule and queued try even when Redis looks intact:
   * an API that died between its commit and its syncSchedule left a schedule behind.
   */
  async sweep(options: { full?: boolean } = {}): Promise<{ redisWasEmpty: boolean; requeued: number; lost: number }> {
    try {
      return await this.#sweep(options);
    } catch (err) {
      if (isDatabaseUnreachable(err)) {
        this.#beatsCountFrom = Infinity;
        this.#unreachableSince ??= Date.now();
      }
      throw err;
    }
  }

  async #sweep(options: { full?: boolean }): Promise<{ redisWasEmpty: boolean; requeued: number; lost: number }> {
    // The sentinel is set back only once the rebuild is done: set first, another scheduler's audit
    // would take the schedules not yet rebuilt for a Redis unlike PostgreSQL, and a rebuild that
    // failed half-way would not be tried again.
    const sentinel = sentinelKey(this.queuePrefix);
    const redisWasEmpty = (await this.redis.exists(sentinel)) === 0;
    const marker = redisWasEmpty ? rebuildMarkerKey(this.queuePrefix, randomUUID()) : null;
    // Kept an hour at most: a rebuild that failed leaves none behind for long.
    if (marker !== null) await this.redis.set(marker, '1', 'PX', 3_600_000);
    if (redisWasEmpty && (options.full || !this.#startedOnce)) {
      // A scheduler starting on an empty Redis: a first start, or a Redis without persistence
      // (as `pnpm start` runs it) that restarted with it. Nothing is wrong.
      this.logger.info('Redis holds no Sluice sentinel (first start, or Redis restarted empty): building schedules and queues from PostgreSQL');
    } else if (redisWasEmpty) {
      this.logger.warn('Redis holds no Sluice sentinel: it was emptied or restarted while Sluice ran; rebuilding schedules and queues from PostgreSQL');
    }
    const full = redisWasEmpty || (options.full ?? false);
    const lost = await this.failLostTries();
    const outage = this.#unreachableSince;
    if (full || outage !== null) {
      // Fires during an outage wait for PostgreSQL; one dropped meanwhile is made up here.
      await this.schedules.reconcile({ graceMs: this.options.scheduleAuditMs, upsertAll: true, ...(outage === null ? {} : { outageSince: new Date(outage) }) });
      this.#unreachableSince = null;
      this.#auditedAt = Date.now();
      await this.startQueuedRuns();
    } else if (Date.now() - this.#auditedAt >= this.options.scheduleAuditMs) {
      this.#auditedAt = Date.now();
      await this.schedules.reconcile({ graceMs: this.options.scheduleAuditMs, stillIntact: async () => (await this.redis.exists(sentinel)) === 1 });
      await this.startQueuedRuns();
    }
    const requeued = await this.requeue(full ? new Date() : new Date(Date.now() - this.options.requeueAfterMs));
    if (marker !== null) {
      // Set only if this rebuild's marker is still there: a Redis emptied again during the rebuild
      // lost part of it, and the next sweep rebuilds again.
      await this.redis.eval(SET_SENTINEL_IF_MARKED, 2, marker, sentinel, new Date().toISOString());
    }
    this.#startedOnce = true;
    return { redisWasEmpty, requeued, lost };
  }

  /**
   * Starts queued runs that max_active_runs allows in jobs that are not paused: a resume whose
   * API process stopped between its commit and starting them (runs otherwise start when a run of
   * their job ends). Answers how many first tasks it enqueued.
   */
  async startQueuedRuns(): Promise<number> {
    const dispatches = await sqlTransaction(this.prisma, (sql) => this.store.startQueuedRuns(sql, null));
    if (dispatches.length > 0) this.logger.info('started queued runs that a free slot allowed', { firstTasks: dispatches.length });
    await this.dispatcher.dispatch(dispatches);
    return dispatches.length;
  }

  /** Enqueues every queued / up_for_retry try of a running run that was queued before `before`. */
  async requeue(before: Date): Promise<number> {
    // Driven from the running runs (few, indexed) to their instances: task_instances has no index
    // on state, so that its state changes can be heap-only updates (see the migration).
    const rows = await sqlOf(this.prisma).query<
      { id: string; run_id: string; task_id: string; map_index: number; try_number: number; state: string; next_retry_at: Date | null }[]
    >`
      SELECT ti.id, ti.run_id, ti.task_id, ti.map_index, ti.try_number, ti.state::text AS state, ti.next_retry_at
      FROM dag_runs r JOIN task_instances ti ON ti.run_id = r.id
      WHERE r.state = 'running' AND ((ti.state = 'queued' AND ti.queued_at <= ${before}) OR ti.state = 'up_for_retry')`;
    const now = Date.now();
    const dispatches: TaskDispatch[] = rows.map((r) => ({
      instanceId: r.id,
      runId: r.run_id,
      taskId: r.task_id,
      mapIndex: r.map_index,
      tryNumber: r.try_number + 1,
      delayMs: r.state === 'up_for_retry' && r.next_retry_at ? Math.max(0, r.next_retry_at.getTime() - now) : 0,
    }));
    await this.dispatcher.dispatch(dispatches);
    return dispatches.length;
  }

  /**
   * Fails (for retry) every running try whose heartbeat is stale — unless PostgreSQL came back
   * from an outage less than staleAfterMs ago: its runners could not beat while it was away (their
   * tries may well be alive, and report once they reach it), so the clock restarts when it is back.
   */
  async failLostTries(): Promise<number> {
    if (this.#beatsCountFrom === Infinity) {
      // Said only once it answers: while it is still away, this throws and the sweep fails again.
      await sqlOf(this.prisma).query`SELECT 1`;
      this.#beatsCountFrom = Date.now();
      this.logger.info(`PostgreSQL is reachable again: no running try is declared lost for ${this.options.staleAfterMs} ms, while runners resume heart-beating`);
    }
    if (Date.now() - this.#beatsCountFrom < this.options.staleAfterMs) return 0;
    const staleBefore = new Date(Date.now() - this.options.staleAfterMs);
    // A running try belongs to a running run: found from the runs, as in `requeue`.
    const stale = await sqlOf(this.prisma).query<{ id: string; run_id: string; task_id: string; runner_id: string | null; try_number: number }[]>`
      SELECT ti.id, ti.run_id, ti.task_id, ti.runner_id, ti.try_number
      FROM dag_runs r JOIN task_instances ti ON ti.run_id = r.id
      WHERE r.state = 'running' AND ti.state = 'running' AND ti.heartbeat_at < ${staleBefore}`;
    let lost = 0;
    for (const s of stale) {
      const r = await sqlTransaction(this.prisma, async (sql) => {
        const result = await this.store.failLostTry(sql, { instanceId: s.id, staleBefore });
        if (result.applied) {
          // The dead runner could not write its own last line: say in the try's log what happened,
          // as a warning when a retry follows, the error when it was the task's last try (QA round 34a F2).
          const [after] = await sql.query<{ state: string }[]>`SELECT state::text AS state FROM task_instances WHERE id = ${s.id}::uuid`;
          const retried = after?.state === 'up_for_retry';
          const said = `try ${s.try_number} lost: runner ${s.runner_id ?? '?'} stopped heart-beating${retried ? '; it is retried' : ''}`;
          await sql.execute`
            INSERT INTO task_logs (task_instance_id, try_number, level, message)
            VALUES (${s.id}::uuid, ${s.try_number}::int, ${retried ? 'warn' : 'error'}, ${said})`;
        }
        return result;
      });
      if (!r.applied) continue; // it beat in the meantime, or another scheduler got there first
      lost++;
      this.logger.warn('task try lost: its runner stopped heart-beating', { runId: s.run_id, taskId: s.task_id, runnerId: s.runner_id });
      await this.dispatcher.dispatch(r.dispatches);
    }
    return lost;
  }
}
