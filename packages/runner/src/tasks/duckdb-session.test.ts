import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDuckDb } from './duckdb-session.ts';

const memoryLimit = (settings?: { memoryLimit?: string }) =>
  withDuckDb(async (c) => String((await c.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]?.[0]), settings);

test("a task's DuckDB session takes the memory limit it is given, and DuckDB's own default without one", async () => {
  assert.equal(await memoryLimit({ memoryLimit: '256MB' }), '244.1 MiB');
  assert.notEqual(await memoryLimit(), '244.1 MiB');
});
