import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.ts';

export type { PrismaClient } from './generated/client.ts';
export { Prisma } from './generated/client.ts';

/** A Prisma client over the `pg` driver adapter (no engine binary). The caller owns `$disconnect()`. */
export function createPrismaClient(databaseUrl: string, options: { max?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.max ?? 10 });
  return new PrismaClient({ adapter });
}
