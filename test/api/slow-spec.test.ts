/* eslint-disable @typescript-eslint/no-unsafe-member-access -- answers are parsed JSON; the assertions check their shape */
/**
 * A connector whose `spec` command is slow (not an install), with the API's real connector
 * lookups: a shell-script connector on PATH whose spec sleeps past the lookups' budget (a second,
 * here) while its check and discover answer at once. One spec process serves every request that
 * asks while it runs, and a create's check and discover do not start it again (QA round 38a F3:
 * three spec commands for one create, which waited the budget twice and went on unchecked), and
 * a spec this process has read is used at once, whatever command of the lookups still runs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveConnector } from '@sluice/connectors';
import { createMemoryLogger } from '@sluice/logging';
import { connectorLookups } from '../../packages/cli/src/connector-lookups.ts';
import { testEnv } from '../support/env.ts';
import { setSpecSleep, specStarts, writeSlowSpecConnector } from '../support/slow-spec-connector.ts';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';

const DEV = 'dev-token-slow-spec-01';
const BUDGET_MS = 1_000;
const NAME = 'source-sluice-slow-spec';
/** A second connector, for a spec command that hangs. */
const HUNG = 'source-sluice-hung-spec';
let api: ApiHarness;
let bin: string;
let stopLookups: () => void;
const lookups = createMemoryLogger();
const savedPath = process.env['PATH'];

before(async () => {
  bin = mkdtempSync(path.join(testEnv.tmpDir, 'slow-spec-bin-'));
  for (const name of [NAME, HUNG]) writeSlowSpecConnector(bin, name);
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
const lateSpecLines = (name: string): string[] => said().filter((m) => m.startsWith(`no spec of ${name} within`));

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
  // The refusal's hint waited a little for the spec, without saying so as a lookup that goes on without it
  // (QA round 39a F1: it waited the budget again, and said "the job is checked without it" of a refused job).
  assert.equal(lateSpecLines(NAME).length, 1, said().join('\n'));

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
  assert.equal(specStarts(bin, NAME), 1, 'spec processes started');
});

test('a spec read while a spec command of the lookups hangs is used at once: requests do not wait on the hung one (QA round 39a F2)', async () => {
  setSpecSleep(bin, HUNG, 600);
  const body = (name: string) => ingestBody({ name, source_name: HUNG, streams: ['users'], source_config: { host: 'db.example', password: 'pw-hung-spec' } });
  const retryKey = randomUUID();
  const first = await api.request('POST', '/api/airbyte/ingest', { token: DEV, body: body('hung spec 1'), headers: { 'Idempotency-Key': retryKey } });
  assert.equal(first.status, 201, first.text);
  assert.equal(first.headers.get('sluice-unchecked'), 'spec');
  // A client that timed out on the slow create retries it: the replay says the job went in unchecked (QA round 40c F3: it said nothing).
  const replayed = await api.request('POST', '/api/airbyte/ingest', { token: DEV, body: body('hung spec 1'), headers: { 'Idempotency-Key': retryKey } });
  assert.equal(replayed.status, 201, replayed.text);
  assert.equal(replayed.body.job_id, first.body.job_id);
  assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
  assert.equal(replayed.headers.get('sluice-unchecked'), 'spec');
  assert.equal(lateSpecLines(HUNG).length, 1, said().join('\n'));
  // A new config checked while the spec still hangs: the answer names what was not checked (QA round 40c F2: a plain 200).
  const patched = await api.request('PATCH', `/api/airbyte/ingest/${String(first.body.job_id)}`, { token: DEV, body: { source_config: { host: 'db2.example', password: 'pw-hung-spec-b' } } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.headers.get('sluice-unchecked'), 'spec');
  assert.equal(lateSpecLines(HUNG).length, 2, said().join('\n'));
  // A run's extract in this process reads the spec (its command answers at once now), while the lookups' still hangs.
  setSpecSleep(bin, HUNG, 0);
  const connector = await resolveConnector(HUNG);
  await connector.spec();
  const secondKey = randomUUID();
  const second = await api.request('POST', '/api/airbyte/ingest', { token: DEV, body: body('hung spec 2'), headers: { 'Idempotency-Key': secondKey } });
  assert.equal(second.status, 201, second.text);
  assert.equal(second.headers.get('sluice-unchecked'), null, 'every check was made');
  const secondAgain = await api.request('POST', '/api/airbyte/ingest', { token: DEV, body: body('hung spec 2'), headers: { 'Idempotency-Key': secondKey } });
  assert.equal(secondAgain.headers.get('idempotent-replayed'), 'true');
  assert.equal(secondAgain.headers.get('sluice-unchecked'), null, "a checked create's replay has none either");
  assert.equal(lateSpecLines(HUNG).length, 2, 'the second create did not wait for the hung command');
  const job = await api.request('GET', `/api/airbyte/ingest/${String(second.body.job_id)}`, { token: DEV });
  assert.equal(job.body.spec_secrets_known, true);
  assert.deepEqual(job.body.source_config, { host: 'db.example', password: '**********' });
  assert.equal(specStarts(bin, HUNG), 2, 'the hung one and the run\'s');
});

test('a dozen connector commands at once print no listener-leak warning (QA round 43a F8: a raw, non-JSON line amid the logs)', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `source-sluice-busy-spec-${i}`);
  for (const name of names) writeSlowSpecConnector(bin, name, 2);
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    const answers = await Promise.all(
      names.map((name) =>
        api.request('POST', '/api/airbyte/ingest', { token: DEV, body: ingestBody({ name, source_name: name, streams: ['users'], source_config: { host: 'db.example', password: 'pw-busy' } }) }),
      ),
    );
    assert.deepEqual(answers.map((a) => a.status), names.map(() => 201));
    // Every spec command was under way at once (each sleeps past the budget), each listening for the lookups' stop.
    assert.deepEqual(names.map((name) => specStarts(bin, name)), names.map(() => 1));
    await sleep(100);
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
});
