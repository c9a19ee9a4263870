/**
 * A job's saved connector state across the job's life: a connector-wide (GLOBAL) state, as CDC
 * sources save it, holds every stream's position in one value: the API shows it as one entry,
 * refuses to reset one stream of it (saying why), and resets all of it, after which the next run
 * reads every stream again. A source_config changed by PATCH keeps the state; a connector's own
 * refresh of its config is saved, but never over one an operator set meanwhile. The runs use the
 * repository's test connector.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openSourceConfig } from '@sluice/crypto';
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

test("a job's source_config changed by PATCH keeps its saved state: the next run reads on from it, with the new config", { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'rotated credentials',
    source_name: 'source-sluice-test',
    source_config: { records: 4, canary: 'first-secret-value' },
    schema_name: 'state_rotated',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const run = async (): Promise<number> => {
    const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
    const r = await stack.waitForRun(t.body.run_id, 90_000);
    assert.equal(r.state, 'success', JSON.stringify(r.tasks));
    return r.tasks.find((t) => t.task_id === 'load')?.rows ?? -1;
  };
  assert.equal(await run(), 4);
  const changed = await stack.api<{ source_config: Record<string, unknown> }>('PATCH', `/api/airbyte/ingest/${job}`, { source_config: { records: 6, canary: '**********' } });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.deepEqual(changed.body.source_config, { records: 6, canary: '**********' });
  assert.equal(await run(), 2, 'records 5 and 6: read on from the saved state, with the new record count');
  const row = await stack.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id: job } });
  assert.deepEqual(openSourceConfig(stack.keyring, job, row.sourceConfigEncrypted), { records: 6, canary: 'first-secret-value' });
});

test("a config a run's connector refreshes after the job's source_config was replaced is not saved over it", { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'refresh after rotation',
    source_name: 'source-sluice-test',
    source_config: { records: 2, api_token: 'token-before', control_token: 'token-refreshed', control_delay_seconds: 8 },
    schema_name: 'state_refresh_race',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  const log = async (): Promise<string> => {
    const r = await stack.api<{ lines?: { message: string }[] }>('GET', `/api/runs/${t.body.run_id}/tasks/extract/logs`);
    return (r.body.lines ?? []).map((l) => l.message).join('\n');
  };
  const deadline = Date.now() + 60_000;
  while (!(await log()).includes('before updating the config')) {
    assert.ok(Date.now() < deadline, 'the connector did not start waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
  // Replaced while the connector waits to hand back its refresh of the config it was given.
  const rotated = { records: 2, api_token: 'token-rotated' };
  const changed = await stack.api('PATCH', `/api/airbyte/ingest/${job}`, { source_config: rotated });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  const r = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(r.state, 'success', JSON.stringify(r.tasks));
  assert.match(await log(), /the connector updated its configuration, but the job's source_config was changed since this try read it: the connector's update is not saved/);
  const row = await stack.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id: job } });
  assert.deepEqual(openSourceConfig(stack.keyring, job, row.sourceConfigEncrypted), rotated);
});

test("without a change, a connector's refreshed config is saved for the next runs", { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'refresh',
    source_name: 'source-sluice-test',
    source_config: { records: 2, api_token: 'token-before', control_token: 'token-refreshed' },
    schema_name: 'state_refresh',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  const r = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(r.state, 'success', JSON.stringify(r.tasks));
  const row = await stack.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id: job } });
  assert.deepEqual(openSourceConfig(stack.keyring, job, row.sourceConfigEncrypted), { records: 2, api_token: 'token-refreshed' });
});
