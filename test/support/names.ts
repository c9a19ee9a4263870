import { randomBytes } from 'node:crypto';

/** A BullMQ key prefix of this test's own, so tests never see each other's queues. */
export function testQueuePrefix(): string {
  return `sluice-t-${randomBytes(5).toString('hex')}`;
}

/** Deletes every Redis key under a test's queue prefix (its queues, schedulers and sentinel). */
export async function deleteQueueKeys(
  redis: { scan(cursor: string, match: 'MATCH', pattern: string, count: 'COUNT', n: number): Promise<[string, string[]]>; del(...keys: string[]): Promise<number> },
  queuePrefix: string,
): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${queuePrefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
