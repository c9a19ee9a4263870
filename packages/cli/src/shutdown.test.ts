import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryLogger } from '@sluice/logging';
import { closeAll } from './shutdown.ts';

const said = (lines: string[]): string[] => lines.map((l) => (JSON.parse(l) as { level: string; message: string })).map((l) => `${l.level}: ${l.message}`);

test('steps close in reverse order of opening; one that takes too long is said as a wait given up, with what it leaves, and the next runs anyway', async () => {
  const { logger, lines } = createMemoryLogger();
  const closed: string[] = [];
  const started = Date.now();
  await closeAll(logger, [
    { name: 'api', close: async () => void closed.push('api') },
    {
      name: 'runner',
      close: () => new Promise<void>(() => undefined), // a try whose outcome waits for PostgreSQL
      timeoutMs: 200,
      givenUp: 'a try whose outcome was not recorded is retried once its heartbeat is stale',
    },
    { name: 'scheduler', close: async () => void closed.push('scheduler') },
  ]);
  assert.deepEqual(closed, ['scheduler', 'api']);
  assert.ok(Date.now() - started < 5_000, 'the runner step was given up after its own time');
  // before (QA round 29b F8): "stopping runner failed: Error: did not finish within 40000 ms"
  assert.deepEqual(said(lines), ['warn: stopping runner: gave up waiting after 0.2 s; a try whose outcome was not recorded is retried once its heartbeat is stale']);
});

test('a step that fails is said, and the steps before it still close', async () => {
  const { logger, lines } = createMemoryLogger();
  const closed: string[] = [];
  await closeAll(logger, [
    { name: 'api', close: async () => void closed.push('api') },
    { name: 'redis', close: () => Promise.reject(new Error('connection already closed')) },
  ]);
  assert.deepEqual(closed, ['api']);
  assert.deepEqual(said(lines), ['warn: stopping redis failed: connection already closed']);
});
