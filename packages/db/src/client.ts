import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { statementTimeoutFor } from '@sluice/core';
import { PrismaClient } from './generated/client.ts';

export type { PrismaClient } from './generated/client.ts';
export { Prisma } from './generated/client.ts';

/** Each client's connection pool, shared by Prisma and the plain-SQL hot paths (see sql.ts). */
const pools = new WeakMap<PrismaClient, pg.Pool>();

/** How long a statement waits for PostgreSQL's answer unless the caller says otherwise. */
const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/**
 * A Prisma client over the `pg` driver adapter (no engine binary). Its pool (at most `max`
 * connections; a caller waits up to 15 s for one) also serves `sqlTransaction` / `sqlOf`. A
 * statement fails when no answer came within `queryTimeoutMs` (DEFAULT_QUERY_TIMEOUT_MS): a
 * server that stopped answering without closing its connections (hung, paused, or behind a
 * network that drops its packets) is then said to be unreachable, as a stopped one is, where the
 * statement would wait for as long as the kernel keeps the connection. Sluice's statements are
 * short; none needs this long. The caller owns `$disconnect()`, which ends the pool.
 */
export function createPrismaClient(databaseUrl: string, options: { max?: number; queryTimeoutMs?: number } = {}): PrismaClient {
  const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    connectionTimeoutMillis: 15_000,
    query_timeout: queryTimeoutMs,
    // PostgreSQL ends a statement a little before the client would give up on it, so that one
    // waiting on a lock does not run after its caller was told it failed (QA round 31: a trigger
    // answered 503 made its run later); and a transaction left idle for twice that (its process
    // frozen, or cut off) is ended there, which lets its locks go, where it held them for hours.
    statement_timeout: statementTimeoutFor(queryTimeoutMs),
    idle_in_transaction_session_timeout: 2 * queryTimeoutMs,
  });
  // An idle connection the server closed (restart, admin shutdown) is dropped by the pool and
  // the next query opens another; without a listener its error would crash the process. The
  // errors of queries reach their callers.
  pool.on('error', () => undefined);
  // The pool listens to idle connections only: one held by a transaction between its statements
  // (Prisma's interactive transactions, sqlTransaction) that the server ends would emit an error
  // no one hears, and end the process. Each connection gets a listener for its whole life; the
  // transaction's next statement fails instead, and the pool drops the connection.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  // The pool is ours, so $disconnect ends it too — also when only plain SQL used it (Prisma's
  // adapter disposes of an external pool only if Prisma itself connected).
  const disconnect = prisma.$disconnect.bind(prisma);
  Object.defineProperty(prisma, '$disconnect', {
    value: async (): Promise<void> => {
      await disconnect();
      if (!pool.ending) await pool.end();
    },
  });
  pools.set(prisma, pool);
  return prisma;
}

/** The connection pool of a client made by `createPrismaClient`. */
export function poolOf(prisma: PrismaClient): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error('this Prisma client was not made by createPrismaClient: it has no pool for plain SQL');
  return pool;
}
