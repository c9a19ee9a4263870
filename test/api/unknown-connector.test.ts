/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call -- answers are parsed JSON; the assertions check their shape */
/**
 * A job for a connector that exists nowhere Sluice looks (not on PATH, not on pip's index, no
 * Docker) is refused at create, as PyAirbyte refuses a source it does not know, with the API's
 * real connector lookups (pip asks PyPI; the answer is "no such package").
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger } from '@sluice/logging';
import { connectorLookups } from '../../packages/cli/src/connector-lookups.ts';
import { testEnv } from '../support/env.ts';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';

const DEV = 'dev-token-unknown-conn-01';
let api: ApiHarness;
let stopLookups: () => void;

before(async () => {
  const connectorsDir = mkdtempSync(path.join(testEnv.tmpDir, 'connectors-unknown-'));
  const { close, ...lookups } = connectorLookups(connectorsDir, createLogger({ silent: true }));
  stopLookups = close;
  api = await startApi({ devToken: DEV, ui: false, ...lookups });
});
after(async () => {
  stopLookups();
  await api.close();
});

test('a source_name no index has is refused at create, naming where it was looked for; nothing is stored', async () => {
  const name = 'source-sluice-no-such-connector';
  const r = await api.request('POST', '/api/airbyte/ingest', { token: DEV, body: ingestBody({ name: 'ghost', source_name: name, source_config: {} }) });
  // before: 201, and every run failed at extract
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.job_id, null);
  assert.equal(r.body.error, `source_name: no connector "${name}": not on PATH, and pip's index has no package airbyte-${name} (nor Docker to run an image)`);
  const list = await api.request('GET', '/api/airbyte/ingest', { token: DEV });
  assert.ok(!list.body.jobs.some((j: { name: string }) => j.name === 'ghost'), 'no job was stored');
});
