import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configureDuckDb, withDuckDb } from './duckdb.ts';

test("the writer's DuckDB (merges) is made with the memory limit configured before its first use", async () => {
  configureDuckDb({ memoryLimit: '256MB' });
  const limit = await withDuckDb(async (c) => String((await c.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]?.[0]));
  assert.equal(limit, '244.1 MiB');
});
