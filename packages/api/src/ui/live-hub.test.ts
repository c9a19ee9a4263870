import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, createMemoryLogger } from '@sluice/logging';
import { LiveHub } from './live-hub.ts';

const logger = createLogger({ silent: true });

function recorder<T>(): {
  changes: T[];
  previous: (T | undefined)[];
  gone: number;
  stale: boolean[];
  listener: { change(p: T, previous: T | undefined): void; gone(): void; stale(s: boolean): void };
} {
  const r = {
    changes: [] as T[],
    previous: [] as (T | undefined)[],
    gone: 0,
    stale: [] as boolean[],
    listener: {
      change: (p: T, previous: T | undefined) => {
        r.changes.push(p);
        r.previous.push(previous);
      },
      gone: () => void (r.gone += 1),
      stale: (s: boolean) => void r.stale.push(s),
    },
  };
  return r;
}

test('one fetch per tick serves every watcher of a topic, and only changes are sent', async () => {
  const hub = new LiveHub({ intervalMs: 20, logger });
  let fetches = 0;
  let value = 1;
  const fetch = (): Promise<{ v: number }> => {
    fetches += 1;
    return Promise.resolve({ v: value });
  };
  const a = recorder<{ v: number }>();
  const b = recorder<{ v: number }>();
  const offA = hub.subscribe('run:1', fetch, a.listener);
  await sleep(5);
  const offB = hub.subscribe('run:1', fetch, b.listener);
  assert.deepEqual(b.changes, [{ v: 1 }], 'a late watcher gets the current payload at once');
  await sleep(100);
  assert.deepEqual(a.changes, [{ v: 1 }], 'an unchanged payload is not sent again');
  const before = fetches;
  value = 2;
  await sleep(60);
  assert.deepEqual(a.changes, [{ v: 1 }, { v: 2 }]);
  assert.deepEqual(b.changes, [{ v: 1 }, { v: 2 }]);
  // Each hears, with a change, the payload it heard before (for a change sent as a difference).
  assert.deepEqual(a.previous, [undefined, { v: 1 }]);
  assert.deepEqual(b.previous, [undefined, { v: 1 }]);
  assert.ok(fetches - before <= 4, `two watchers share the ticks (${fetches - before} fetches in ~3 ticks)`);
  offA();
  offB();
  assert.equal(hub.topicCount, 0, 'a topic nobody watches is dropped');
  const idle = fetches;
  await sleep(80);
  assert.equal(fetches, idle, 'nothing is polled while nobody watches');
  hub.close();
});

test('a topic whose fetch answers null tells its watchers it is gone, once', async () => {
  const hub = new LiveHub({ intervalMs: 10, logger });
  let there = true;
  const r = recorder<string>();
  hub.subscribe('job:1', () => Promise.resolve(there ? 'x' : null), r.listener);
  await sleep(30);
  there = false;
  await sleep(60);
  assert.deepEqual(r.changes, ['x']);
  assert.equal(r.gone, 1);
  assert.equal(hub.topicCount, 0);
  hub.close();
});

test('a failing fetch is retried on the next tick without dropping watchers, and logged once until it works again', async () => {
  const { logger: captured, lines } = createMemoryLogger();
  const hub = new LiveHub({ intervalMs: 10, logger: captured });
  let calls = 0;
  const r = recorder<number>();
  hub.subscribe('jobs:*', () => {
    calls += 1;
    if (calls < 6) return Promise.reject(new Error('PostgreSQL is not reachable at 127.0.0.1:5432: ECONNREFUSED'));
    return Promise.resolve(7);
  }, r.listener);
  await sleep(150);
  assert.deepEqual(r.changes, [7]);
  assert.equal(r.gone, 0);
  assert.ok(calls >= 6, `${calls} fetches`);
  const said = lines.map((l) => (JSON.parse(l) as { message: string }).message);
  assert.deepEqual(said, ['live update query failed; retrying every tick', 'live updates resumed'], 'five failed ticks, one warning');
  // Its watcher was told, once, that nothing could be read, and once that it can again (QA round 17: the page said "live").
  assert.deepEqual(r.stale, [true, false]);
  hub.close();
});

test('a watcher that comes while the fetch fails hears at once that the topic is stale', async () => {
  const hub = new LiveHub({ intervalMs: 10, logger });
  let failing = false;
  const first = recorder<number>();
  hub.subscribe('run:9', () => (failing ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve(1)), first.listener);
  await sleep(30);
  failing = true;
  await sleep(40);
  const late = recorder<number>();
  hub.subscribe('run:9', () => Promise.resolve(1), late.listener);
  assert.deepEqual(late.changes, [1], 'the last payload read');
  assert.deepEqual(late.stale, [true], 'marked out of date');
  failing = false;
  await sleep(40);
  assert.deepEqual(first.stale, [true, false]);
  assert.deepEqual(late.stale, [true, false]);
  hub.close();
});
