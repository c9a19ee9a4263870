/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- answers are parsed JSON; the assertions check their shape */
/**
 * POST /api/airbyte/ingest with an `Idempotency-Key`: a client that retries a create (after a
 * timeout, say) gets the job its first request made, never a second one — also when the retry
 * arrives while the first is still waiting for the connector — and a key reused for another
 * request is refused. Real HTTP, PostgreSQL and Redis; the connector's discover is a stand-in
 * that waits for the test, so that two creates overlap for certain.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DiscoverCatalog } from '@sluice/api';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';

const DEV = 'dev-token-idempotent-0123';
let api: ApiHarness;
let discovers = 0;
/** While set, discover waits for it: creates that reach discover stay in flight. */
let gate: Promise<void> | null = null;

const discoverCatalog: DiscoverCatalog = async () => {
  discovers += 1;
  if (gate) await gate;
  return {
    streams: [
      {
        name: 'users',
        json_schema: { type: 'object', properties: { id: { type: 'integer' }, email: { type: 'string' } } },
        supported_sync_modes: ['full_refresh'],
        source_defined_primary_key: [['id']],
      },
    ],
  };
};

before(async () => {
  api = await startApi({ devToken: DEV, discoverCatalog });
});
after(async () => {
  await api.close();
});

const create = (body: unknown, key?: string) =>
  api.request('POST', '/api/airbyte/ingest', { token: DEV, body, ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }) });

async function jobsNamed(name: string): Promise<string[]> {
  const rows = await api.db.prisma.ingestionJob.findMany({ where: { name }, select: { id: true } });
  return rows.map((r) => r.id);
}

test('a create repeated with its key answers the first job, marked as replayed, without asking the connector again', async () => {
  const body = ingestBody({ name: 'retried', streams: ['users'], source_config: { count: 10, password: 'hunter2' } });
  const first = await create(body, 'key-retried-1');
  assert.equal(first.status, 201, first.text);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  const asked = discovers;

  const again = await create(body, 'key-retried-1');
  assert.equal(again.status, 201, again.text);
  assert.deepEqual(again.body, first.body, 'the same answer, flow_url included');
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(discovers, asked, 'the repeat did not run discover');
  assert.deepEqual(await jobsNamed('retried'), [first.body.job_id]);
  assert.equal(await api.db.prisma.dag.count({ where: { jobId: first.body.job_id } }), 1);
});

test('two creates with one key in flight at once make one job; both answer it', async () => {
  let open!: () => void;
  gate = new Promise((resolve) => (open = resolve));
  const body = ingestBody({ name: 'overlapping', streams: ['users'] });
  const before = discovers;
  const a = create(body, 'key-overlap');
  const b = create(body, 'key-overlap');
  // Both are past the key lookup (nothing was stored yet) and waiting in discover.
  while (discovers < before + 2) await new Promise((r) => setTimeout(r, 10));
  open();
  gate = null;
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(ra.status, 201, ra.text);
  assert.equal(rb.status, 201, rb.text);
  assert.equal(ra.body.job_id, rb.body.job_id);
  assert.deepEqual(
    [ra.headers.get('idempotent-replayed'), rb.headers.get('idempotent-replayed')].sort(),
    ['true', null].sort(),
    'one made the job, the other answered it',
  );
  assert.deepEqual(await jobsNamed('overlapping'), [ra.body.job_id]);
});

test('the key with a different request is refused with 422 naming the job, and stores nothing', async () => {
  const body = ingestBody({ name: 'keyed', streams: ['users'], source_config: { count: 10, password: 'hunter2' } });
  const first = await create(body, 'key-reused');
  assert.equal(first.status, 201, first.text);

  const otherName = await create({ ...body, name: 'keyed, renamed' }, 'key-reused');
  assert.equal(otherName.status, 422, otherName.text);
  assert.equal(otherName.body.job_id, null);
  assert.match(otherName.body.error, new RegExp(`Idempotency-Key "key-reused" was used to create job ${first.body.job_id} with a different request`));

  // The config is compared through the sealed copy: a changed secret is a different request too.
  const otherSecret = await create({ ...body, source_config: { count: 10, password: 'hunter3' } }, 'key-reused');
  assert.equal(otherSecret.status, 422, otherSecret.text);
  assert.doesNotMatch(otherSecret.text, /hunter/);

  assert.deepEqual(await jobsNamed('keyed'), [first.body.job_id]);
  assert.deepEqual(await jobsNamed('keyed, renamed'), []);
});

test('a deleted job still answers its key: the retry of a create never makes a second job', async () => {
  const body = ingestBody({ name: 'deleted later', streams: ['users'] });
  const first = await create(body, 'key-deleted');
  assert.equal(first.status, 201, first.text);
  const del = await api.request('DELETE', `/api/airbyte/ingest/${first.body.job_id}`, { token: DEV });
  assert.equal(del.status, 200, del.text);
  const again = await create(body, 'key-deleted');
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body.job_id, first.body.job_id);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
});

test("a create repeated after the job's config was changed (PATCH) still answers that job; a different request under its key is still refused", async () => {
  const body = ingestBody({ name: 'changed later', streams: ['users'], source_config: { count: 10, password: 'hunter2' } });
  const first = await create(body, 'key-changed');
  assert.equal(first.status, 201, first.text);
  const patched = await api.request('PATCH', `/api/airbyte/ingest/${first.body.job_id}`, { token: DEV, body: { source_config: { count: 20, password: 'rotated-pw' } } });
  assert.equal(patched.status, 200, patched.text);
  const again = await create(body, 'key-changed');
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body.job_id, first.body.job_id);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  const other = await create({ ...body, name: 'changed later, renamed' }, 'key-changed');
  assert.equal(other.status, 422, other.text);
  assert.deepEqual(await jobsNamed('changed later'), [first.body.job_id]);
});

test("keys are each owner's own; without a key every create makes a job", async () => {
  const forAlice = await create(ingestBody({ name: 'per owner', streams: ['users'], owner_id: 'alice' }), 'shared-key');
  const forBob = await create(ingestBody({ name: 'per owner', streams: ['users'], owner_id: 'bob' }), 'shared-key');
  assert.equal(forAlice.status, 201, forAlice.text);
  assert.equal(forBob.status, 201, forBob.text);
  assert.notEqual(forAlice.body.job_id, forBob.body.job_id);

  const plain = ingestBody({ name: 'no key', streams: ['users'] });
  const one = await create(plain);
  const two = await create(plain);
  assert.equal(one.status, 201, one.text);
  assert.equal(two.status, 201, two.text);
  assert.equal((await jobsNamed('no key')).length, 2);
});

test('a key sent as a structured-field string is the same key as sent bare', async () => {
  const body = ingestBody({ name: 'quoted key', streams: ['users'] });
  const bare = await create(body, '8e0f1d8c-quoted');
  const quoted = await create(body, '"8e0f1d8c-quoted"');
  assert.equal(quoted.status, 201, quoted.text);
  assert.equal(quoted.body.job_id, bare.body.job_id);
});

test('a bad key is refused with 400 naming the header, and stores nothing', async () => {
  for (const [key, said] of [
    ['""', /Idempotency-Key header: must be 1–255 printable ASCII characters .*got an empty value/],
    // Sent empty (curl leaves out a header given as "Name: ", so a client that meant it sends "Name;"): refused, not ignored (QA round 28 asked).
    ['', /Idempotency-Key header: must be 1–255 printable ASCII characters .*got an empty value/],
    ['   ', /Idempotency-Key header: .*got an empty value/],
    ['k'.repeat(256), /Idempotency-Key header: .*got 256 characters/],
    ['clé-é', /Idempotency-Key header: must be 1–255 printable ASCII/],
  ] as const) {
    const r = await create(ingestBody({ name: 'bad key', streams: ['users'] }), key);
    assert.equal(r.status, 400, `${key}: ${r.text}`);
    assert.equal(r.body.job_id, null);
    assert.match(r.body.error, said);
  }
  assert.deepEqual(await jobsNamed('bad key'), []);
});

test('the OpenAPI document describes the header and the 422', async () => {
  const doc = await api.request('GET', '/openapi.json');
  const op = doc.body.paths['/api/airbyte/ingest'].post;
  const header = op.parameters.find((p: { name: string }) => p.name === 'Idempotency-Key');
  assert.equal(header.in, 'header');
  assert.equal(header.schema.maxLength, 255);
  assert.ok(op.responses['422'], 'a 422 answer is documented');
});
