import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { createMemoryLogger } from '@sluice/logging';
import { LOCK_LOST_SAID, RedisOutages } from './redis-connection.ts';

test("a worker's repeated error is logged once, not at every renewal; another message is logged at once; a lost lock is a warning", () => {
  const { logger, lines } = createMemoryLogger();
  const outages = new RedisOutages('redis://127.0.0.1:1', logger);
  const worker = new EventEmitter();
  outages.follow(worker, 'runner worker');
  // What BullMQ's worker reports every few seconds for each job whose lock Redis lost (emptied under it).
  for (let i = 0; i < 5; i++) worker.emit('error', new Error('could not renew lock for job a'));
  worker.emit('error', new Error('could not renew lock for job b'));
  worker.emit('error', new Error('could not renew lock for job a'));
  for (let i = 0; i < 3; i++) worker.emit('error', new Error('ERR unknown command'));
  // What the worker reports as it completes a job whose key a restarted or emptied Redis no longer has (before: logged as an error; QA round 25).
  worker.emit('error', new Error('Missing key for job c. moveToFinished'));
  // A paused worker's job: its renewal, then its completion, fail in other words; said once for the job (QA round 40a F5).
  worker.emit('error', new Error('could not renew lock for job 5f0e.extract.-1.1'));
  worker.emit('error', new Error('Lock mismatch for job 5f0e.extract.-1.1. Cmd moveToFinished from active'));
  worker.emit('error', new Error('Missing key for job 5f0e.extract.-1.1. moveToFinished'));
  const logged = lines.map((l) => JSON.parse(l) as { level: string; message: string; err: string });
  // A lost lock is what a paused process or an emptied Redis leaves: expected, and said so, as a warning.
  // It does not claim what PostgreSQL decided (before: "its try is declared lost and retried", of tries that counted).
  const lost = `runner worker: ${LOCK_LOST_SAID}`;
  assert.doesNotMatch(LOCK_LOST_SAID, /is declared lost and retried/);
  assert.deepEqual(
    logged.map((l) => [l.level, l.message, l.err]),
    [
      ['warn', lost, 'could not renew lock for job a'],
      ['warn', lost, 'could not renew lock for job b'],
      ['error', 'runner worker error', 'ERR unknown command'],
      ['warn', lost, 'Missing key for job c. moveToFinished'],
      ['warn', lost, 'could not renew lock for job 5f0e.extract.-1.1'],
    ],
  );
});
