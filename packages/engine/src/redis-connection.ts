import { errorMessage, isSocketError } from '@sluice/core';
import { FailureStreak, type Logger } from '@sluice/logging';
import { Redis } from 'ioredis';

/**
 * An ioredis connection fit for BullMQ workers (no per-command retry limit: a blocked worker
 * waits for Redis to come back instead of failing its commands). Long-lived connections of a
 * component are made by its RedisOutages instead, so that losing Redis is reported once.
 */
export function createRedis(redisUrl: string): Redis {
  return new Redis(redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/**
 * Closes a connection unless it is closed already (BullMQ closes some connections it was given).
 * A connection that is not ready (Redis away, or never reached) is dropped: QUIT would wait for it.
 */
export async function quitRedis(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  try {
    await connection.quit();
  } catch (err) {
    if (!(err instanceof Error && err.message.includes('Connection is closed'))) throw err;
  }
}

/** Errors that mean Redis cannot be reached, as opposed to a command or script that failed. */
function isUnreachable(err: unknown): boolean {
  return isSocketError(err) || (err instanceof Error && /Connection is closed|Stream isn't writeable/.test(err.message));
}

/**
 * BullMQ's words for a job whose lock (or whole key) its worker no longer holds: the process was
 * paused (SIGSTOP, a stalled VM) or Redis was emptied or restarted under it. Expected then, and
 * harmless: PostgreSQL, not the BullMQ job, decides the try's outcome. A try whose heartbeat went
 * stale meanwhile was declared lost and retried, and its late outcome is refused by the try's
 * guard; any other's counts (Redis emptied under a try that kept beating).
 */
const LOCK_LOST = /(?:could not renew lock for job|Missing lock for job|Lock mismatch for job|Missing key for job) (\S+?)\.?(?:\s|$)/;

/** What the log says of a lost lock: that the try's outcome is PostgreSQL's to decide, not what it decided. */
export const LOCK_LOST_SAID =
  "a job's BullMQ lock or key was lost (the process was paused, or Redis emptied or restarted under it): PostgreSQL decides its try's outcome, which counts unless the try was declared lost meanwhile (its heartbeat stale) and retried, or its run was cancelled";

/** A queue's or worker's error message logged again only after this long (the count of repeats is said then). */
const REPEATED_ERROR_MS = 5 * 60_000;

/**
 * One component's view of its Redis: the connections it makes here, and the BullMQ queues and
 * workers it follows. While Redis is away, ioredis and BullMQ retry on their own and every
 * attempt of every connection reports an error; this turns them into one warning when Redis is
 * lost and one line when a connection is ready again. Errors that are not about reaching Redis
 * (a queue's or worker's own failures) are logged each, the same message once in
 * REPEATED_ERROR_MS: a worker whose job locks Redis lost (emptied under it) fails to renew each
 * of them every few seconds until the job ends.
 */
export class RedisOutages {
  readonly #outage: FailureStreak;
  readonly #connections: Redis[] = [];
  #dropped = false;
  /** Per error line (`what` and message): when it was last logged, and how often it came since. */
  readonly #repeats = new Map<string, { loggedAt: number; since: number }>();

  constructor(
    readonly redisUrl: string,
    private readonly logger: Logger,
  ) {
    const address = new URL(redisUrl).host || redisUrl;
    this.#outage = new FailureStreak(
      (err) => logger.warn(`Redis at ${address} is unreachable (${errorMessage(err)}): retrying; queued tries and schedule fires wait until it is back`),
      () => logger.info(`Redis at ${address} is reachable again`),
    );
  }

  /** A new connection (as `createRedis`) whose errors and returns are reported here. */
  connection(): Redis {
    const c = createRedis(this.redisUrl);
    c.on('error', (err: unknown) => this.#outage.failed(err));
    c.on('ready', () => this.#outage.succeeded());
    this.#connections.push(c);
    return c;
  }

  /**
   * For a component about to close: when none of its connections is ready (Redis is away), drops
   * them all at once; the caller then closes without waiting for anything Redis would answer (a
   * Redis that may not come back). What closing would still have written there (a completion, a
   * last dispatch) PostgreSQL has, and recovery redoes. Answers whether they are dropped (now or by
   * an earlier call).
   */
  dropIfAway(): boolean {
    if (this.#dropped) return true;
    if (this.#connections.length === 0 || this.#connections.some((c) => c.status === 'ready')) return false;
    this.#dropped = true;
    // Info, not a warning: the outage itself was said when it began.
    this.logger.info('Redis is unreachable: closing without waiting for it (PostgreSQL has what it would have been told; recovery redoes it)');
    for (const c of this.#connections) c.disconnect();
    return true;
  }

  #logError(what: string, message: string): void {
    const lockLost = LOCK_LOST.exec(message);
    if (lockLost) {
      // Once per job: a paused worker's job fails to renew its lock, then to complete (a lock
      // mismatch, a missing key), each said in other words (QA round 40a F5: three lines for one job).
      this.#logRepeated('warn', `${what}: ${LOCK_LOST_SAID}`, message, `lock\u0000${what}\u0000${lockLost[1] ?? ''}`);
    } else {
      this.#logRepeated('error', `${what} error`, message);
    }
  }

  #logRepeated(level: 'warn' | 'error', said: string, message: string, key = `${said}\u0000${message}`): void {
    const now = Date.now();
    const seen = this.#repeats.get(key);
    if (seen && now - seen.loggedAt < REPEATED_ERROR_MS) {
      seen.since += 1;
      return;
    }
    if (this.#repeats.size > 1_000) this.#repeats.clear();
    this.#repeats.set(key, { loggedAt: now, since: 0 });
    this.logger.log(level, said, { err: message, ...(seen && seen.since > 0 ? { repeatedSinceLastLogged: seen.since } : {}) });
  }

  /** Follows a BullMQ queue or worker: its connections' errors arrive as its own 'error' events. */
  follow(emitter: { on(event: 'error', listener: (err: Error) => void): unknown }, what: string): void {
    emitter.on('error', (err: Error) => {
      if (isUnreachable(err)) this.#outage.failed(err);
      else this.#logError(what, err.message);
    });
  }
}
