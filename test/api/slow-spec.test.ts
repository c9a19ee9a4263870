/* eslint-disable @typescript-eslint/no-unsafe-member-access -- answers are parsed JSON; the assertions check their shape */
/**
 * A connector whose `spec` command is slow (not an install), with the API's real connector
 * lookups: a shell-script connector on PATH whose spec sleeps past the lookups' budget (a second,
 * here) while its check and discover answer at once. One spec process serves every request that
 * asks while it runs, and a create's check and discover do not start it again (QA round 38a F3:
 * three spec commands for one create, which waited the budget twice and went on unchecked).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryLogger } from '@sluice/logging';
import { connectorLookups } from '../../packages/cli/src/connector-lookups.ts';
import { testEnv } from '../support/env.ts';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';

const DEV = 'dev-token-slow-spec-01';
const BUDGET_MS = 1_000;
const NAME = 'source-sluice-slow-spec';
const SPEC_SLEEP_S = 4;
let api: ApiHarness;
let bin: string;
let stopLookups: () => void;
const lookups = createMemoryLogger();
const savedPath = process.env['PATH'];

const CONNECTOR = `#!/bin/sh
here=$(dirname "$0")
case "$1" in
  spec)
    echo started >> "$here/spec-starts"
    sleep ${SPEC_SLEEP_S}
    echo '{"type":"SPEC","spec":{"connectionSpecification":{"type":"object","properties":{"host":{"type":"string"},"password":{"type":"string","airbyte_secret":true},"check_fail":{"type":"boolean"}}}}}'
    ;;
  check)
    if grep -q check_fail "$3"; then
      echo '{"type":"CONNECTION_STATUS","connectionStatus":{"status":"FAILED","message":"no route to the host"}}'
    else
      echo '{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}'
    fi
    ;;
  discover)
    echo '{"type":"CATALOG","catalog":{"streams":[{"name":"users","json_schema":{"type":"object","properties":{"id":{"type":"integer"}}},"supported_sync_modes":["full_refresh"]}]}}'
    ;;
esac
`;

before(async () => {
  bin = mkdtempSync(path.join(testEnv.tmpDir, 'slow-spec-bin-'));
  writeFileSync(path.join(bin, NAME), CONNECTOR);
  chmodSync(path.join(bin, NAME), 0o755);
  // The lookups find a connector on PATH first, as PyAirbyte does.
  process.env['PATH'] = `${bin}${path.delimiter}${savedPath ?? ''}`;
  const { close, ...lookupFns } = connectorLookups(mkdtempSync(path.join(testEnv.tmpDir, 'connectors-slow-spec-')), lookups.logger, { budgetMs: BUDGET_MS });
  stopLookups = close;
  api = await startApi({ devToken: DEV, ui: false, ...lookupFns });
});
after(async () => {
  stopLookups();
  await api.close();
  process.env['PATH'] = savedPath;
});

const said = (): string[] => lookups.lines.map((l) => (JSON.parse(l) as { message: string }).message);
const specStarts = (): number => readFileSync(path.join(bin, 'spec-starts'), 'utf8').trim().split('\n').length;

test('a slow spec: the check still runs and refuses a config, and one spec process serves the requests that ask while it runs', async () => {
  const refused = await api.request('POST', '/api/airbyte/ingest', {
    token: DEV,
    body: ingestBody({ name: 'slow spec refused', source_name: NAME, streams: ['users'], source_config: { host: 'db.example', password: 'pw-slow-spec-1', check_fail: true } }),
  });
  // Before: the check started the spec again for its masking, waited the budget for it, and the job went in unchecked.
  assert.equal(refused.status, 400, refused.text);
  assert.match(String(refused.body.error), /^source_config: source-sluice-slow-spec cannot connect with it: no route to the host/);
  assert.ok(said().includes(`no spec of ${NAME} within ${BUDGET_MS / 1000} s: the job is checked without it (secrets found by key name); later requests use it once ready`), said().join('\n'));
  assert.ok(!said().some((m) => m.startsWith(`no connection check of ${NAME}`) || m.startsWith(`no catalog of ${NAME}`)), said().join('\n'));

  const created = await api.request('POST', '/api/airbyte/ingest', {
    token: DEV,
    body: ingestBody({ name: 'slow spec', source_name: NAME, streams: ['users'], source_config: { host: 'db.example', password: 'pw-slow-spec-2' } }),
  });
  assert.equal(created.status, 201, created.text);
  const id = String(created.body.job_id);

  // The background lookup waits on the same spec process; once it answers, the job shows what is no secret.
  let job = await api.request('GET', `/api/airbyte/ingest/${id}`, { token: DEV });
  for (let i = 0; i < 300 && job.body.spec_secrets_known !== true; i++) {
    await sleep(50);
    job = await api.request('GET', `/api/airbyte/ingest/${id}`, { token: DEV });
  }
  assert.equal(job.body.spec_secrets_known, true, 'the spec never came');
  assert.deepEqual(job.body.source_config, { host: 'db.example', password: '**********' });
  assert.equal(specStarts(), 1, 'spec processes started');
});
