import { errorSummary, type PrismaClient } from '@sluice/db';
import type { ObjectStore } from '@sluice/storage';
import { secrets } from '@sluice/logging';

/** What /readyz needs of Redis (an ioredis client has it). */
export interface Pingable {
  ping(): Promise<string>;
  /** ioredis' connection status: one that is not connected answers at once, instead of a PING that waits for it. */
  readonly status?: string;
  /** ioredis' options: where the client connects, for the check's message. */
  readonly options?: { host?: string; port?: number; path?: string | null };
}

export interface ReadinessDeps {
  prisma: PrismaClient;
  /** host:port of PostgreSQL (never credentials), for the check's message. */
  postgresAddress: string;
  redis: Pingable;
  store: Pick<ObjectStore, 'ping' | 'rootUrl'>;
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

/** Where a client of ioredis connects: its socket path, or host:port. */
function redisAddress(redis: Pingable): string {
  const o = redis.options;
  if (o?.path) return o.path;
  return `${o?.host ?? 'localhost'}:${o?.port ?? 6379}`;
}

/**
 * One check; a failure is one line that names where the service is (`where`), unless the error
 * already says `address` (a store's own message names its root, PostgreSQL's unreachable error its host).
 */
async function check(where: { label: string; address: string }, fn: () => Promise<unknown>): Promise<CheckResult> {
  try {
    await withTimeout(fn());
    return { ok: true };
  } catch (err) {
    // One line: Prisma's errors carry a multi-line call excerpt.
    const said = clean(errorSummary(err));
    return { ok: false, error: said.includes(where.address) ? said : `${where.label}: ${said}` };
  }
}

/** Checks PostgreSQL, Redis and the object store at once. */
export async function checkReadiness(d: ReadinessDeps): Promise<{ ready: boolean; checks: Record<'postgres' | 'redis' | 'object_store', CheckResult> }> {
  const redisAt = redisAddress(d.redis);
  const [postgres, redis, objectStore] = await Promise.all([
    check({ label: `PostgreSQL at ${d.postgresAddress}`, address: d.postgresAddress }, () => d.prisma.$queryRaw`SELECT 1`),
    check({ label: `Redis at ${redisAt}`, address: redisAt }, () =>
      redisConnected(d.redis) ? d.redis.ping() : Promise.reject(new Error(`not connected (${d.redis.status ?? 'unknown'})`)),
    ),
    check({ label: d.store.rootUrl, address: d.store.rootUrl }, async () => {
      const r = await d.store.ping();
      if (!r.ok) throw new Error(r.error);
    }),
  ]);
  return { ready: postgres.ok && redis.ok && objectStore.ok, checks: { postgres, redis, object_store: objectStore } };
}
