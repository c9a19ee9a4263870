import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NonRetryableTaskError } from '@sluice/core';
import { outOfDuckDbMemory, withDuckDb } from './duckdb-session.ts';

const memoryLimit = (settings?: { memoryLimit?: string }) =>
  withDuckDb(async (c) => String((await c.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]?.[0]), settings);

test("a task's DuckDB session takes the memory limit it is given, and DuckDB's own default without one", async () => {
  assert.equal(await memoryLimit({ memoryLimit: '256MB' }), '244.1 MiB');
  assert.notEqual(await memoryLimit(), '244.1 MiB');
});

test("DuckDB's out-of-memory error becomes a failure no retry changes, naming the setting; other errors are left as they are (QA round 42b F1)", async () => {
  // A real one: a sort of 20 million rows in DuckDB's least memory, without a place to spill to.
  const err = await withDuckDb(async (c) => {
    await c.run("SET temp_directory = ''");
    await c.run('SELECT * FROM range(20000000) t(i) ORDER BY i DESC');
  }, { memoryLimit: '16MB' }).then(
    () => assert.fail('the sort fitted'),
    (e: unknown) => e,
  );
  const failure = outOfDuckDbMemory(err, 'stream users: the merge into shop.users', '16MB');
  assert.ok(failure instanceof NonRetryableTaskError);
  assert.match(failure.message, /^stream users: the merge into shop\.users did not fit in SLUICE_DUCKDB_MEMORY_LIMIT=16MB: give the runners a higher limit and clear this task \(DuckDB: Out of Memory Error: [^\n]+\)$/);
  assert.equal(outOfDuckDbMemory(err, 'transform', undefined)?.message.startsWith("transform did not fit in DuckDB's memory limit:"), true);
  assert.equal(outOfDuckDbMemory(new Error('Catalog Error: Table with name t does not exist!'), 'transform', '16MB'), null);
});
