import { randomBytes } from 'node:crypto';

/** A BullMQ key prefix of this test's own, so tests never see each other's queues. */
export function testQueuePrefix(): string {
  return `sluice-t-${randomBytes(5).toString('hex')}`;
}
