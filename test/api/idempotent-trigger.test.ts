/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- answers are parsed JSON; the assertions check their shape */
/**
 * POST /api/airbyte/ingest/{job_id}/runs with an `Idempotency-Key`: a client that retries a
 * trigger (after a timeout, say) gets the run its first request made, never a second run — also
 * when the two arrive at once (QA round 48b D6: the header was ignored and a retry made a second
 * run). Real HTTP, PostgreSQL and Redis.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';

const DEV = 'dev-token-idempotent-trigger-0123';
let api: ApiHarness;

before(async () => {
  api = await startApi({ devToken: DEV, ui: false });
});
after(async () => {
  await api.close();
});

async function newJob(name: string): Promise<string> {
  const r = await api.request('POST', '/api/airbyte/ingest', { token: DEV, body: ingestBody({ name, streams: ['users'] }) });
  assert.equal(r.status, 201, r.text);
  return r.body.job_id as string;
}

const trigger = (jobId: string, key?: string) =>
  api.request('POST', `/api/airbyte/ingest/${jobId}/runs`, { token: DEV, ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }) });

const runsOf = async (jobId: string): Promise<string[]> =>
  (await api.db.prisma.dagRun.findMany({ where: { jobId }, orderBy: { logicalDate: 'asc' }, select: { id: true } })).map((r) => r.id);

test('a trigger repeated with its key answers the first run, marked as replayed; another key, or none, makes another run', async () => {
  const jobId = await newJob('retried trigger');
  const first = await trigger(jobId, 'trigger-key-1');
  assert.equal(first.status, 201, first.text);
  assert.equal(first.body.state, 'running');
  assert.equal(first.headers.get('idempotent-replayed'), null);

  const again = await trigger(jobId, 'trigger-key-1');
  assert.equal(again.status, 201, again.text);
  assert.deepEqual(again.body, first.body, 'the same run, in the same state');
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(await runsOf(jobId), [first.body.run_id]);

  const other = await trigger(jobId, 'trigger-key-2');
  assert.equal(other.status, 201, other.text);
  assert.notEqual(other.body.run_id, first.body.run_id);
  assert.equal(other.body.state, 'queued', 'behind the first (max_active_runs 1)');
  assert.equal(other.headers.get('idempotent-replayed'), null);
  const plain = [await trigger(jobId), await trigger(jobId)];
  assert.deepEqual(
    plain.map((r) => r.status),
    [201, 201],
  );
  assert.equal((await runsOf(jobId)).length, 4);
  assert.ok(api.logs.some((l) => l.includes('run trigger repeated; answered the run its idempotency key made') && l.includes(first.body.run_id)));
});

test('triggers with one key in flight at once make one run, which every one of them answers', async () => {
  const jobId = await newJob('overlapping triggers');
  const answers = await Promise.all(Array.from({ length: 8 }, () => trigger(jobId, 'trigger-overlap')));
  for (const a of answers) assert.equal(a.status, 201, a.text);
  const runIds = new Set(answers.map((a) => a.body.run_id as string));
  assert.equal(runIds.size, 1, `one run: ${[...runIds].join(', ')}`);
  assert.equal(answers.filter((a) => a.headers.get('idempotent-replayed') === null).length, 1, 'one trigger made it, the others answered it');
  assert.deepEqual(await runsOf(jobId), [...runIds]);
});

test("a replay answers the run's state now: a run cancelled since is answered cancelled", async () => {
  const jobId = await newJob('cancelled trigger');
  const first = await trigger(jobId, 'trigger-cancelled');
  assert.equal(first.status, 201, first.text);
  const cancel = await api.request('POST', `/api/runs/${first.body.run_id}/cancel`, { token: DEV });
  assert.equal(cancel.status, 200, cancel.text);
  const again = await trigger(jobId, 'trigger-cancelled');
  assert.equal(again.status, 201, again.text);
  assert.deepEqual(again.body, { run_id: first.body.run_id, job_id: jobId, state: 'cancelled', message: null });
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(await runsOf(jobId), [first.body.run_id]);
});

test("keys are each job's own; a deleted job's key answers 409, as any trigger of it", async () => {
  const a = await newJob('keyed trigger a');
  const b = await newJob('keyed trigger b');
  const ra = await trigger(a, 'shared-trigger-key');
  const rb = await trigger(b, 'shared-trigger-key');
  assert.equal(ra.status, 201, ra.text);
  assert.equal(rb.status, 201, rb.text);
  assert.notEqual(ra.body.run_id, rb.body.run_id);
  assert.equal(rb.headers.get('idempotent-replayed'), null);

  assert.equal((await api.request('DELETE', `/api/airbyte/ingest/${a}`, { token: DEV })).status, 200);
  const afterDelete = await trigger(a, 'shared-trigger-key');
  assert.equal(afterDelete.status, 409, afterDelete.text);
  assert.match(afterDelete.body.error, new RegExp(`job ${a} is deleted`));
});

test('a bad key is refused with 400 naming the header, and makes no run', async () => {
  const jobId = await newJob('bad trigger key');
  for (const [key, said] of [
    ['', /Idempotency-Key header: must be 1–255 printable ASCII characters .*got an empty value/],
    ['k'.repeat(256), /Idempotency-Key header: .*got 256 characters/],
    ['clé', /Idempotency-Key header: must be 1–255 printable ASCII/],
  ] as const) {
    const r = await trigger(jobId, key);
    assert.equal(r.status, 400, `${key}: ${r.text}`);
    assert.match(r.body.error, said);
  }
  assert.deepEqual(await runsOf(jobId), []);
});

test('the OpenAPI document describes the header on the trigger, and that a replay may answer any run state', async () => {
  const doc = await api.request('GET', '/openapi.json');
  const op = doc.body.paths['/api/airbyte/ingest/{job_id}/runs'].post;
  const header = op.parameters.find((p: { name: string }) => p.name === 'Idempotency-Key');
  assert.equal(header.in, 'header');
  assert.equal(header.schema.maxLength, 255);
  assert.match(op.description, /Idempotent-Replayed: true/);
  assert.deepEqual(doc.body.components.schemas.TriggeredRun.properties.state.enum, ['queued', 'running', 'success', 'failed', 'cancelled']);
});

test("the function's form without a key, which processes of the version before call beside a migrated database, still makes runs", async () => {
  const jobId = await newJob('older process');
  const dag = await api.db.prisma.dag.findFirstOrThrow({ where: { jobId }, select: { id: true } });
  const runId = '6f1c2a4e-0000-4000-8000-000000000001';
  const rows = await api.db.prisma.$queryRaw<{ outcome: string; run_id: string }[]>`
    SELECT outcome, run_id FROM sluice_create_run(${jobId}::uuid, ${dag.id}::uuid, ${runId}::uuid, 'manual'::"RunType", now(), true, false, now(),
      ARRAY[]::uuid[], ARRAY[]::text[], ARRAY[]::int[], ARRAY[]::text[], ARRAY[]::int[], ARRAY[]::text[])`;
  assert.deepEqual(rows, [{ outcome: 'created', run_id: runId }]);
  assert.deepEqual(await runsOf(jobId), [runId]);
});
