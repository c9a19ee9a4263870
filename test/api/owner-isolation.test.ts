/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- answers are parsed JSON; the assertions check their shape */
/**
 * Owner isolation: a caller who is not admin sees and touches only its own jobs, their runs and
 * keys; another owner's ids answer 404 on every route, exactly as ids that do not exist.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';
import { startTestIssuer, type TestIssuer } from './test-issuer.ts';

let issuer: TestIssuer;
let api: ApiHarness;
let alice: string;
let bob: string;
let admin: string;
let aliceJob: string;
let aliceRun: string;

before(async () => {
  issuer = await startTestIssuer();
  api = await startApi({ issuer: issuer.issuer, audience: issuer.audience, ui: false });
  alice = await issuer.sign({ sub: 'alice', scope: 'sluice:write' });
  bob = await issuer.sign({ sub: 'bob', scope: 'sluice:write' });
  admin = await issuer.sign({ sub: 'root', scope: 'sluice:admin' });
  const r = await api.request('POST', '/api/airbyte/ingest', { token: alice, body: ingestBody({ name: 'alice job' }) });
  assert.equal(r.status, 201, r.text);
  aliceJob = r.body.job_id;
  const run = await api.request('POST', `/api/airbyte/ingest/${aliceJob}/runs`, { token: alice });
  assert.equal(run.status, 201, run.text);
  aliceRun = run.body.run_id;
  assert.equal((await api.request('POST', '/api/airbyte/ingest', { token: bob, body: ingestBody({ name: 'bob job' }) })).status, 201);
});
after(async () => {
  await api.close();
  await issuer.close();
});

test("another owner's job answers 404 on every job and run route", async () => {
  const routes: [string, string, unknown?][] = [
    ['GET', `/api/airbyte/ingest/${aliceJob}`],
    ['PATCH', `/api/airbyte/ingest/${aliceJob}`, { paused: true }],
    ['DELETE', `/api/airbyte/ingest/${aliceJob}`],
    ['POST', `/api/airbyte/ingest/${aliceJob}/runs`],
    ['GET', `/api/airbyte/ingest/${aliceJob}/runs`],
    ['POST', `/api/airbyte/ingest/${aliceJob}/runs/cancel`],
    ['GET', `/api/jobs/${aliceJob}`],
    ['GET', `/api/runs/${aliceRun}`],
    ['POST', `/api/runs/${aliceRun}/cancel`],
    ['POST', `/api/runs/${aliceRun}/tasks/extract/clear`],
    ['GET', `/api/runs/${aliceRun}/tasks/extract/logs`],
    ['GET', `/api/runs/${aliceRun}/tasks/extract/logs/text`],
  ];
  for (const [method, route, body] of routes) {
    const r = await api.request(method, route, { token: bob, ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, 404, `${method} ${route}: ${r.text}`);
    assert.ok(!r.text.includes('alice job'), 'nothing of the job leaks');
  }
  const job = await api.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id: aliceJob } });
  assert.equal(job.isPaused, false, "bob's PATCH changed nothing");
  assert.equal(job.isDeleted, false, "bob's DELETE changed nothing");
  assert.equal(await api.db.prisma.dagRun.count({ where: { jobId: aliceJob } }), 1, "bob's trigger created no run");
  const run = await api.db.prisma.dagRun.findUniqueOrThrow({ where: { id: aliceRun } });
  assert.notEqual(run.state, 'cancelled', "bob's cancel did nothing");
});

test('a 404 for a foreign id reads the same as for a missing one', async () => {
  const foreign = await api.request('GET', `/api/jobs/${aliceJob}`, { token: bob });
  const missing = await api.request('GET', '/api/jobs/00000000-0000-4000-8000-000000000000', { token: bob });
  assert.equal(foreign.status, missing.status);
  assert.equal(foreign.body.error.replace(aliceJob, 'ID'), missing.body.error.replace('00000000-0000-4000-8000-000000000000', 'ID'));
});

test('lists show only the caller\'s jobs; an admin sees all and can filter by owner', async () => {
  const mine = await api.request('GET', '/api/airbyte/ingest', { token: bob });
  assert.deepEqual(mine.body.jobs.map((j: { name: string }) => j.name), ['bob job']);
  const sneaky = await api.request('GET', '/api/airbyte/ingest?owner_id=alice', { token: bob });
  assert.equal(sneaky.body.jobs.length, 0);
  const all = await api.request('GET', '/api/airbyte/ingest', { token: admin });
  assert.deepEqual(all.body.jobs.map((j: { name: string }) => j.name).sort(), ['alice job', 'bob job']);
  const filtered = await api.request('GET', '/api/airbyte/ingest?owner_id=alice', { token: admin });
  assert.deepEqual(filtered.body.jobs.map((j: { name: string }) => j.name), ['alice job']);
});

test("an admin reads and controls another owner's job", async () => {
  const r = await api.request('GET', `/api/runs/${aliceRun}`, { token: admin });
  assert.equal(r.status, 200, r.text);
  const p = await api.request('PATCH', `/api/airbyte/ingest/${aliceJob}`, { token: admin, body: { paused: true } });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.is_paused, true);
});

test("encryption keys: another owner's key is neither listed, rotated nor usable", async () => {
  assert.equal((await api.request('POST', '/api/encryption-keys', { token: alice, body: { name: 'alice-key' } })).status, 201);
  const list = await api.request('GET', '/api/encryption-keys', { token: bob });
  assert.ok(!list.body.keys.some((k: { name: string }) => k.name === 'alice-key'));
  assert.equal((await api.request('POST', '/api/encryption-keys/alice-key/rotate', { token: bob })).status, 404);
  const use = await api.request('POST', '/api/airbyte/ingest', {
    token: bob,
    body: ingestBody({ column_transformations: [{ column: 'email', encryption_key_name: 'alice-key' }] }),
  });
  assert.equal(use.status, 400);
  assert.match(use.body.error, /encryption key "alice-key" does not exist/);
});
