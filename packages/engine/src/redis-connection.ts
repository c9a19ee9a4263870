import { Redis } from 'ioredis';

/**
 * An ioredis connection fit for BullMQ workers (no per-command retry limit: a blocked worker
 * waits for Redis to come back instead of failing its commands).
 */
export function createRedis(redisUrl: string): Redis {
  return new Redis(redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/** Closes a connection unless it is closed already (BullMQ closes some connections it was given). */
export async function quitRedis(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  try {
    await connection.quit();
  } catch (err) {
    if (!(err instanceof Error && err.message.includes('Connection is closed'))) throw err;
  }
}
