/**
 * Jobs the API could not check against their connector (no spec, no catalog: a slow or failing
 * lookup) are checked by their runs. Secrets: the API masks every string of the config until the
 * first run reads the spec; from then on, the fields the spec marks `airbyte_secret`.
 * Transformations: an encryption of a column no stream has fails the run before any load (it
 * would leave the real column in plaintext); a rename of one is a warning. The runs use the
 * repository's test connector.
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

test("a job's first run reads the spec's secret fields, which the API masks from then on instead of every string", { timeout: 120_000 }, async () => {
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
  const read = async (): Promise<{ source_config: Record<string, unknown>; spec_secrets_known: boolean }> => {
    const { source_config, spec_secrets_known } = (await stack.api<{ source_config: Record<string, unknown>; spec_secrets_known: boolean }>('GET', `/api/airbyte/ingest/${job}`)).body;
    return { source_config, spec_secrets_known };
  };
  // Without the spec no one can tell which strings are secrets: all are masked (before, "canary",
  // a secret only the spec names, was answered as it is until the first run).
  assert.deepEqual(await read(), { source_config: { records: 3, canary: '**********', api_token: '**********' }, spec_secrets_known: false });

  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  const run = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(run.state, 'success', JSON.stringify(run.tasks));
  assert.deepEqual(await read(), { source_config: { records: 3, canary: '**********', api_token: '**********' }, spec_secrets_known: true });
  const log = await stack.api<{ lines: { message: string }[] }>('GET', `/api/runs/${t.body.run_id}/tasks/extract/logs`);
  assert.ok(log.body.lines.some((l) => l.message.includes('marks more fields of source_config as secrets (canary)')), JSON.stringify(log.body.lines));
  assert.ok(!JSON.stringify(log.body).includes(canary), 'the secret itself is never in the log');
});

test('an encryption of a column no stream has fails the run before any load; a rename of one is a warning', { timeout: 120_000 }, async () => {
  const key = await stack.api('POST', '/api/encryption-keys', { name: 'pii-unchecked' });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  const create = async (name: string, transformation: Record<string, unknown>): Promise<string> => {
    const r = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
      name,
      source_name: 'source-sluice-test',
      source_config: { records: 3 },
      schema_name: 'unchecked_e2e',
      mode: 'append',
      streams: ['users'],
      column_transformations: [{ stream: null, new_name: null, encryption_key_name: null, ...transformation }],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.job_id;
  };
  const run = async (job: string) => {
    const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
    return stack.waitForRun(t.body.run_id, 90_000);
  };

  const typo = await run(await create('encrypts a typo', { column: 'emial', encryption_key_name: 'pii-unchecked' }));
  assert.equal(typo.state, 'failed');
  const extract = typo.tasks.find((t) => t.task_id === 'extract');
  assert.match(extract?.error ?? '', /^column_transformations\[0\]\.column: no selected stream has a column "emial" \(users: .*email.*\): an encryption that matches no column would leave the real column in plaintext/);
  assert.ok(typo.tasks.every((t) => t.task_id === 'extract' || t.state !== 'success'), 'nothing after extract ran');
  const tables = await stack.db.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM iceberg_tables WHERE table_namespace = 'unchecked_e2e'`;
  assert.equal(Number(tables[0]?.n), 0, 'no table was created');

  // A stream's cursor: its latest value would stay in plaintext in the saved state (QA round 40b F1).
  const cursor = await run(await create('encrypts the cursor', { column: 'seq', encryption_key_name: 'pii-unchecked' }));
  assert.equal(cursor.state, 'failed');
  const refused = cursor.tasks.find((t) => t.task_id === 'extract');
  assert.match(refused?.error ?? '', /column_transformations\[0\] encrypts "seq", the cursor of stream "users": .*: encrypt other columns\. Nothing is read: re-create the job without that encryption \(its saved state can be carried over\)$/);
  assert.equal(refused?.try_number, 1, 'a configuration error is not retried');
  const cursorLog = await stack.api<{ lines: { message: string }[] }>('GET', `/api/runs/${cursor.run_id}/tasks/extract/logs`);
  assert.ok(!cursorLog.body.lines.some((l) => l.message.startsWith('source >')), 'the connector read nothing');

  const rename = await run(await create('renames a typo', { column: 'emial', new_name: 'mail' }));
  assert.equal(rename.state, 'success');
  const log = await stack.api<{ lines: { level: string; message: string }[] }>('GET', `/api/runs/${rename.run_id}/tasks/extract/logs`);
  assert.ok(log.body.lines.some((l) => l.level === 'warn' && /column_transformations\[0\]\.column: no selected stream has a column "emial".*; it changes nothing/.test(l.message)), JSON.stringify(log.body.lines));
});

test("a source_config key the connector's spec does not declare is a run warning: a misspelt key leaves its setting at the default (QA round 35c F2)", { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'misspelt key',
    source_name: 'source-sluice-test',
    source_config: { records: 3, recrods: 100 },
    schema_name: 'unchecked_keys_e2e',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${created.body.job_id}/runs`);
  const run = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(run.state, 'success', JSON.stringify(run.tasks));
  const view = await stack.api<{ warnings: string[] }>('GET', `/api/runs/${t.body.run_id}`);
  assert.ok(
    view.body.warnings.some((w) => /^source_config: recrods is not in source-sluice-test's spec, whose properties are records, .*: the connector may not read it \(a misspelt key leaves its setting at the default\)$/.test(w)),
    JSON.stringify(view.body.warnings),
  );
});
