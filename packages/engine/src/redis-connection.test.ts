import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { createMemoryLogger } from '@sluice/logging';
import { RedisOutages } from './redis-connection.ts';

test("a worker's repeated error is logged once, not at every renewal; another message is logged at once", () => {
  const { logger, lines } = createMemoryLogger();
  const outages = new RedisOutages('redis://127.0.0.1:1', logger);
  const worker = new EventEmitter();
  outages.follow(worker, 'runner worker');
  // What BullMQ's worker reports every few seconds for each job whose lock Redis lost (emptied under it).
  for (let i = 0; i < 5; i++) worker.emit('error', new Error('could not renew lock for job a'));
  worker.emit('error', new Error('could not renew lock for job b'));
  worker.emit('error', new Error('could not renew lock for job a'));
  const logged = lines.map((l) => JSON.parse(l) as { level: string; message: string; err: string });
  assert.deepEqual(
    logged.map((l) => [l.level, l.message, l.err]),
    [
      ['error', 'runner worker error', 'could not renew lock for job a'],
      ['error', 'runner worker error', 'could not renew lock for job b'],
    ],
  );
});
