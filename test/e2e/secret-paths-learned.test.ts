/**
 * A job created where its connector's spec could not be read (the API answers without it) has its
 * secrets found by key name only; its first run reads the spec and from then on the API masks the
 * fields the spec alone marks `airbyte_secret`. The run uses the repository's test connector.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { putTestConnectorOnPath } from '../connectors/support.ts';
import { testEnv } from '../support/env.ts';
import { startSluiceStack, type SluiceStack } from '../support/sluice-stack.ts';

let stack: SluiceStack;
before(async () => {
  putTestConnectorOnPath();
  // This stack's API has no connector lookups: it checks jobs without the spec, as a busy or offline lookup would.
  stack = await startSluiceStack({ storage: 'file', connectorsDir: path.join(testEnv.tmpDir, 'connectors-secret-paths') });
});
after(async () => {
  await stack.close();
});

test("a job's first run adds the spec's secret fields to what the API masks", { timeout: 120_000 }, async () => {
  const canary = 'canary-learned-7f3a9c';
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'learns secrets',
    source_name: 'source-sluice-test',
    source_config: { records: 3, canary, api_token: 'tok-by-name-1234' },
    schema_name: 'secrets_e2e',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const config = async (): Promise<Record<string, unknown>> =>
    (await stack.api<{ source_config: Record<string, unknown> }>('GET', `/api/airbyte/ingest/${job}`)).body.source_config;
  // Without the spec only the key name gives a secret away.
  assert.deepEqual(await config(), { records: 3, canary, api_token: '**********' });

  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  const run = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(run.state, 'success', JSON.stringify(run.tasks));
  assert.deepEqual(await config(), { records: 3, canary: '**********', api_token: '**********' });
  const log = await stack.api<{ lines: { message: string }[] }>('GET', `/api/runs/${t.body.run_id}/tasks/extract/logs`);
  assert.ok(log.body.lines.some((l) => l.message.includes('marks more fields of source_config as secrets (canary)')), JSON.stringify(log.body.lines));
  assert.ok(!JSON.stringify(log.body).includes(canary), 'the secret itself is never in the log');
});
