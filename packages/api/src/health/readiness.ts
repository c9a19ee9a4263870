import { errorSummary, type PrismaClient } from '@sluice/db';
import type { ObjectStore } from '@sluice/storage';
import { secrets } from '@sluice/logging';

/** What /readyz needs of Redis (an ioredis client has it). */
export interface Pingable {
  ping(): Promise<string>;
  /** ioredis' connection status: one that is not connected answers at once, instead of a PING that waits for it. */
  readonly status?: string;
}

export interface ReadinessDeps {
  prisma: PrismaClient;
  redis: Pingable;
  store: Pick<ObjectStore, 'ping'>;
}

export type CheckResult = { ok: true } | { ok: false; error: string };

const TIMEOUT_MS = 3000;

/**
 * Whether the client is connected to Redis, or may connect when asked: ioredis' status is 'ready',
 * or 'wait' (a lazy client not connected yet, which a command connects). A client without a status
 * counts as connected; its PING says.
 */
export function redisConnected(redis: Pingable): boolean {
  return redis.status === undefined || redis.status === 'ready' || redis.status === 'wait';
}


function withTimeout<T>(p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS).unref()),
  ]);
}

/** Errors may carry connection URLs: drop credentials and registered secrets before answering. */
function clean(message: string): string {
  return secrets.mask(message.replace(/\/\/[^/@\s]*@/g, '//'));
}

async function check(fn: () => Promise<unknown>): Promise<CheckResult> {
  try {
    await withTimeout(fn());
    return { ok: true };
  } catch (err) {
    // One line: Prisma's errors carry a multi-line call excerpt.
    return { ok: false, error: clean(errorSummary(err)) };
  }
}

/** Checks PostgreSQL, Redis and the object store at once. */
export async function checkReadiness(d: ReadinessDeps): Promise<{ ready: boolean; checks: Record<'postgres' | 'redis' | 'object_store', CheckResult> }> {
  const [postgres, redis, objectStore] = await Promise.all([
    check(() => d.prisma.$queryRaw`SELECT 1`),
    check(() => (redisConnected(d.redis) ? d.redis.ping() : Promise.reject(new Error(`not connected (${d.redis.status ?? 'unknown'})`)))),
    check(async () => {
      const r = await d.store.ping();
      if (!r.ok) throw new Error(r.error);
    }),
  ]);
  return { ready: postgres.ok && redis.ok && objectStore.ok, checks: { postgres, redis, object_store: objectStore } };
}
