/**
 * A connector-wide (GLOBAL) state, as CDC sources save it, holds every stream's position in one
 * value: the API shows it as one entry, refuses to reset one stream of it (saying why), and resets
 * all of it, after which the next run reads every stream again. The runs use the repository's
 * test connector.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { putTestConnectorOnPath } from '../connectors/support.ts';
import { testEnv } from '../support/env.ts';
import { startSluiceStack, type RunView, type SluiceStack } from '../support/sluice-stack.ts';

let stack: SluiceStack;
before(async () => {
  putTestConnectorOnPath();
  stack = await startSluiceStack({ storage: 'file', connectorsDir: path.join(testEnv.tmpDir, 'connectors-state') });
});
after(async () => {
  await stack.close();
});

test('a GLOBAL state is shown as one entry, cannot be reset for one stream, and is reset whole', { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'cdc-like',
    source_name: 'source-sluice-test',
    source_config: { records: 4, state_type: 'global' },
    schema_name: 'state_e2e',
    mode: 'append',
    streams: ['users', 'orders'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const run = async (): Promise<RunView> => {
    const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
    const r = await stack.waitForRun(t.body.run_id, 90_000);
    assert.equal(r.state, 'success', JSON.stringify(r.tasks));
    return r;
  };
  const loaded = (r: RunView): number[] => ['users', 'orders'].map((s) => r.tasks.find((t) => t.task_id === 'load' && t.stream === s)?.rows ?? -1);
  assert.deepEqual(loaded(await run()), [4, 4]);
  const state = await stack.api<{ streams: { stream: string | null; kind: string }[] }>('GET', `/api/airbyte/ingest/${job}/state`);
  assert.deepEqual(state.body.streams.map((s) => [s.stream, s.kind]), [[null, 'global']]);
  assert.deepEqual(loaded(await run()), [0, 0], 'incremental: nothing new');

  const one = await stack.api<{ error: string }>('DELETE', `/api/airbyte/ingest/${job}/state?stream=users`);
  assert.equal(one.status, 409, JSON.stringify(one.body));
  assert.match(one.body.error, /is connector-wide \(GLOBAL\): it holds "users" with every other stream and cannot be reset for one; reset all of it/);
  const all = await stack.api<{ reset: (string | null)[] }>('DELETE', `/api/airbyte/ingest/${job}/state`);
  assert.deepEqual(all.body.reset, [null]);
  assert.deepEqual(loaded(await run()), [4, 4], 'every stream read from the start');
});
