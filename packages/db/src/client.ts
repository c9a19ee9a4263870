import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/client.ts';

export type { PrismaClient } from './generated/client.ts';
export { Prisma } from './generated/client.ts';

/** Each client's connection pool, shared by Prisma and the plain-SQL hot paths (see sql.ts). */
const pools = new WeakMap<PrismaClient, pg.Pool>();

/**
 * A Prisma client over the `pg` driver adapter (no engine binary). Its pool (at most `max`
 * connections; a caller waits up to 15 s for one) also serves `sqlTransaction` / `sqlOf`.
 * The caller owns `$disconnect()`, which ends the pool.
 */
export function createPrismaClient(databaseUrl: string, options: { max?: number } = {}): PrismaClient {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.max ?? 10, connectionTimeoutMillis: 15_000 });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(prisma, pool);
  return prisma;
}

/** The connection pool of a client made by `createPrismaClient`. */
export function poolOf(prisma: PrismaClient): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error('this Prisma client was not made by createPrismaClient: it has no pool for plain SQL');
  return pool;
}
