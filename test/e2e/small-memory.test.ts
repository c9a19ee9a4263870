/**
 * The documented least DuckDB memory limit (SLUICE_DUCKDB_MEMORY_LIMIT=128MiB) with the real
 * `source-faker`: 200,000 users are staged, transformed and appended, and PyIceberg reads them all.
 * QA round 51b D3: 200,000 users failed to stage at that limit (20,000 did); round 52a D1: their
 * append's transform still failed four times in five once stage fitted. Faker's users (short
 * strings, few distinct values in many columns) are what those failures needed: a file of
 * incompressible columns of the same size fitted.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { countWithPyIceberg } from '../iceberg/pyiceberg.ts';
import { testEnv } from '../support/env.ts';
import { startSluiceStack, type SluiceStack } from '../support/sluice-stack.ts';

const USERS = 200_000;
/** The connectors directory of the e2e tests: source-faker is installed once for them all. */
const connectorsDir = path.join(testEnv.tmpDir, 'connectors-e2e');

let stack: SluiceStack;
before(async () => {
  mkdirSync(connectorsDir, { recursive: true });
  stack = await startSluiceStack({ connectorsDir, storage: 'file', duckdb: { memoryLimit: '128MiB' } });
});
after(async () => {
  await stack.close();
});

test(`${USERS} faker users are staged, transformed and appended under a DuckDB memory limit of 128MiB`, { timeout: 300_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'small memory',
    source_name: 'source-faker',
    source_config: { count: USERS, seed: 7, parallelism: 2, always_updated: false },
    streams: ['users'],
    schema_name: 'small_memory',
    mode: 'append',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${created.body.job_id}/runs`);
  const run = await stack.waitForRun(t.body.run_id, 240_000);
  assert.equal(run.state, 'success', `${run.state_message ?? ''} ${JSON.stringify(run.tasks.filter((x) => x.error !== null))}`);
  for (const task of ['stage', 'transform', 'load']) {
    assert.equal(run.tasks.find((x) => x.task_id === task && x.stream === 'users')?.rows, USERS, task);
  }
  const table = await countWithPyIceberg(stack.db.url, 'small_memory', 'users', false, ['id']);
  assert.equal(table.row_count, USERS);
  assert.equal(table.distinct_counts['id'], USERS);
});
