import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configureDuckDb, withDuckDb, WRITES_PER_INSTANCE } from './duckdb.ts';

test("the writer's DuckDB (merges) is made with the memory limit configured before its first use", async () => {
  configureDuckDb({ memoryLimit: '256MB' });
  const limit = await withDuckDb(async (c) => String((await c.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]?.[0]));
  assert.equal(limit, '244.1 MiB');
});

/** Whether the instance the connection is on holds table `t` (an in-memory table lives as long as its instance). */
const holdsT = async (c: Parameters<Parameters<typeof withDuckDb>[0]>[0]): Promise<boolean> =>
  Number((await c.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'`)).getRows()[0]?.[0]) === 1;

/** A write that makes table `t` and stays under way until released; `done` settles once it has ended. */
async function heldWrite(onEnd: () => void = () => undefined): Promise<{ release: () => void; done: Promise<void> }> {
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  let made: () => void = () => undefined;
  const created = new Promise<void>((r) => (made = r));
  const done = withDuckDb(async (c) => {
    await c.run('CREATE TABLE t (x INTEGER)');
    made();
    await held;
    onEnd();
  });
  await created;
  return { release, done };
}

test("writes under way at once share the writer's DuckDB; once none is, it is closed, and the next write has a new one (QA round 54d: a process-long instance kept every merge's memory)", async () => {
  const { release, done: first } = await heldWrite();
  // While the first is under way, a second one is on the same instance: it sees the first's table.
  const sawShared = await withDuckDb(holdsT);
  release();
  await first;
  assert.equal(sawShared, true, 'concurrent writes share one instance (and its memory limit)');
  // None under way now: the instance was closed, and the next write's is new.
  assert.equal(await withDuckDb(holdsT), false, 'the idle instance was closed');
});

test("writes that overlap without a gap do not keep one writer DuckDB for ever: after WRITES_PER_INSTANCE writes it is retired, and the next write waits for it to close", async () => {
  const events: string[] = [];
  const { release, done: first } = await heldWrite(() => events.push('first done'));
  // The first write stays under way while the instance takes its other writes: all on the same one.
  for (let i = 1; i < WRITES_PER_INSTANCE; i++) assert.equal(await withDuckDb(holdsT), true, `write ${i + 1} shares the instance`);
  // The instance has taken its writes: the next one waits until it is closed, then has a new one.
  const next = withDuckDb(async (c) => {
    events.push('next ran');
    return holdsT(c);
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(events, [], 'the next write waits while the retired instance has a write under way');
  release();
  await first;
  assert.equal(await next, false, 'the next write is on a new instance');
  assert.deepEqual(events, ['first done', 'next ran']);
});
