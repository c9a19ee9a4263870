import pg from 'pg';
import { Redis } from 'ioredis';
import { ServiceUnavailableError, errorMessage } from '@sluice/core';

function describeAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? '6379' : '5432')}`;
  } catch {
    return 'an unparseable URL';
  }
}

/** Connects once to PostgreSQL; a failure becomes one ServiceUnavailableError naming the address and the fix. */
export async function checkPostgres(url: string, timeoutMs = 5000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new ServiceUnavailableError(
      'PostgreSQL',
      describeAddress(url),
      `${errorMessage(err) || 'connection failed'}. Start PostgreSQL there, or set DATABASE_URL=postgresql://user:pass@host:5432/db (unset it to let \`pnpm start\` run a local one)`,
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Pings Redis once with no retries; a failure becomes one ServiceUnavailableError. */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new ServiceUnavailableError(
      'Redis',
      describeAddress(url),
      `${errorMessage(err) || 'connection failed'}. Start Redis there, or set REDIS_URL=redis://host:6379 (unset it to let \`pnpm start\` run a local one)`,
      { cause: err },
    );
  } finally {
    redis.disconnect();
  }
}
