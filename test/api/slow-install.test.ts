/* eslint-disable @typescript-eslint/no-unsafe-member-access -- answers are parsed JSON; the assertions check their shape */
/**
 * A create during a connector's first install, with the API's real connector lookups: pip's index
 * here is a server that accepts connections and never answers, so the install outlasts every
 * lookup's budget (a second, in this file). The spec lookup waits the budget; the check and the
 * discover that follow do not wait it again for the same install (QA rounds 35c F2, 36b F5), and
 * the job is stored unchecked, its config masked whole until the spec is read. Closed, the lookups
 * stop the install they started (QA round 38a F4: its pip outlived the API).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryLogger } from '@sluice/logging';
import { connectorLookups } from '../../packages/cli/src/connector-lookups.ts';
import { testEnv } from '../support/env.ts';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';

const DEV = 'dev-token-slow-install-01';
const BUDGET_MS = 1_000;
let api: ApiHarness;
let index: net.Server;
const held: net.Socket[] = [];
const lookups = createMemoryLogger();
let connectorsDir: string;
let stopLookups: () => void;

before(async () => {
  index = net.createServer((socket) => {
    held.push(socket); // accepted, never answered: pip waits on it
  });
  await new Promise<void>((resolve) => index.listen(0, '127.0.0.1', resolve));
  const port = (index.address() as net.AddressInfo).port;
  // The install's pip inherits this process's environment.
  process.env['PIP_INDEX_URL'] = `http://127.0.0.1:${port}/simple`;
  connectorsDir = mkdtempSync(path.join(testEnv.tmpDir, 'connectors-slow-install-'));
  const { close, ...lookupFns } = connectorLookups(connectorsDir, lookups.logger, { budgetMs: BUDGET_MS });
  stopLookups = close;
  api = await startApi({ devToken: DEV, ui: false, ...lookupFns });
});
after(async () => {
  stopLookups();
  await api.close();
  for (const s of held) s.destroy();
  await new Promise<void>((resolve) => index.close(() => resolve()));
});

test("a create during a connector's install waits the budget once, not again for its check and discover, and stores the job unchecked", async () => {
  const name = 'source-sluice-slow-install';
  const r = await api.request('POST', '/api/airbyte/ingest', {
    token: DEV,
    body: ingestBody({ name: 'installing', source_name: name, source_config: { host: 'db.example', count: 3 } }),
  });
  assert.equal(r.status, 201, r.text);
  // The answer says what the job's first run checks instead (QA round 40b F2: a plain 201).
  assert.equal(r.headers.get('sluice-unchecked'), 'spec, catalog, connection');
  const said = lookups.lines.map((l) => (JSON.parse(l) as { message: string }).message);
  assert.ok(said.includes(`no spec of ${name} within ${BUDGET_MS / 1000} s: the job is checked without it (secrets found by key name); later requests use it once ready`), said.join('\n'));
  // Before: each waited the budget for the same install, and then said it came late.
  assert.ok(said.includes(`no connection check of ${name}: it is still being installed: the connection is tried when the job runs`), said.join('\n'));
  assert.ok(said.includes(`no catalog of ${name}: it is still being installed: streams and columns are checked when the job runs`), said.join('\n'));
  assert.ok(!said.some((m) => m.startsWith(`no connection check of ${name} within`) || m.startsWith(`no catalog of ${name} within`)), said.join('\n'));

  const job = await api.request('GET', `/api/airbyte/ingest/${String(r.body.job_id)}`, { token: DEV });
  assert.equal(job.body.spec_secrets_known, false);
  assert.deepEqual(job.body.source_config, { host: '**********', count: 3 });
});

/** The pids of processes whose command line names the connectors directory (the install's venv and pip). */
function installProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(connectorsDir)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

test('closed, the lookups stop the install they started: its pip does not outlive the API, and its unfinished virtualenv is removed', async () => {
  // The create above started the install; pip waits on the index that never answers.
  let running: number[] = [];
  for (let i = 0; i < 200 && running.length === 0; i++) {
    running = installProcesses();
    if (running.length === 0) await sleep(50);
  }
  assert.ok(running.length > 0, 'no install process is running');
  stopLookups();
  let left = running;
  for (let i = 0; i < 200 && left.length > 0; i++) {
    await sleep(50);
    left = installProcesses();
  }
  assert.deepEqual(left, [], `still running after the close: ${left.join(', ')}`);
  // The install's temp directory goes with it (and its lock is given back).
  let entries = readdirSync(connectorsDir);
  for (let i = 0; i < 100 && entries.some((e) => e.startsWith('.tmp-')); i++) {
    await sleep(50);
    entries = readdirSync(connectorsDir);
  }
  assert.ok(!entries.some((e) => e.startsWith('.tmp-')), entries.join(', '));
});
