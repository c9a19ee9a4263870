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
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectorNotFoundError } from '@sluice/core';
import { createMemoryLogger } from '@sluice/logging';
import { connectorLookups } from '../../packages/cli/src/connector-lookups.ts';
import { testEnv } from '../support/env.ts';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';

const DEV = 'dev-token-unknown-conn-01';
let api: ApiHarness;
let stopLookups: () => void;
const lookupLog = createMemoryLogger();

before(async () => {
  const connectorsDir = mkdtempSync(path.join(testEnv.tmpDir, 'connectors-unknown-'));
  const { close, ...lookups } = connectorLookups(connectorsDir, lookupLog.logger);
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

test('a source_name found nowhere is answered so again at once, without another install (QA round 43a F10: a virtualenv built at each create)', async () => {
  const name = 'source-sluice-no-such-connector-twice';
  const body = ingestBody({ name: 'ghost twice', source_name: name, source_config: {} });
  const first = await api.request('POST', '/api/airbyte/ingest', { token: DEV, body });
  assert.equal(first.status, 400, first.text);
  const again = await api.request('POST', '/api/airbyte/ingest', { token: DEV, body });
  assert.deepEqual([again.status, again.body.error], [400, first.body.error]);
  const lookedUp = lookupLog.lines.map((l) => (JSON.parse(l) as { message: string }).message).filter((m) => m.startsWith(`looking up connector ${name} `));
  assert.equal(lookedUp.length, 1, 'one lookup, for the first create');
});

test('a connector found nowhere is looked up again once the memory of it has passed (a connector installed after the refusal is found)', async () => {
  const log = createMemoryLogger();
  const name = 'source-sluice-no-such-connector-later';
  const { close, getConnectorSpec } = connectorLookups(mkdtempSync(path.join(testEnv.tmpDir, 'connectors-unknown-later-')), log.logger, { notFoundMemoryMs: 1_000 });
  try {
    const lookedUp = (): number => log.lines.filter((l) => (JSON.parse(l) as { message: string }).message.startsWith(`looking up connector ${name} `)).length;
    await assert.rejects(getConnectorSpec(name), ConnectorNotFoundError);
    await assert.rejects(getConnectorSpec(name), ConnectorNotFoundError);
    assert.equal(lookedUp(), 1, 'the second answered from memory');
    await sleep(1_100);
    await assert.rejects(getConnectorSpec(name), ConnectorNotFoundError);
    assert.equal(lookedUp(), 2, 'looked up again after the memory passed');
  } finally {
    close();
  }
});
