import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPrismaClient, migrate, type PrismaClient } from '@sluice/db';
import { testEnv } from './env.ts';

export interface TestDatabase {
  /** URL of a fresh, migrated database of this test's own. */
  url: string;
  prisma: PrismaClient;
  /** Disconnects and drops the database. */
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Creates an empty database on the test server (or on `serverUrl`'s); `migrated` (default)
 * applies Sluice's migrations.
 */
export async function createTestDatabase(options: { migrated?: boolean; serverUrl?: string } = {}): Promise<TestDatabase> {
  const name = `sluice_t_${randomBytes(6).toString('hex')}`;
  const serverUrl = options.serverUrl ?? testEnv.databaseUrl;
  const admin = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  if (options.migrated ?? true) await migrate(url);
  const prisma = createPrismaClient(url, { max: 5 });
  return {
    url,
    prisma,
    async drop() {
      await prisma.$disconnect();
      const a = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
