/**
 * @sluice/datahub against a real PostgreSQL and a local HTTP server standing in for DataHub GMS:
 * what Sluice sends is checked field by field and validated with DataHub's own Python models;
 * GMS down or refusing never throws, leaves warnings on the run, and the proposals arrive once
 * GMS is back.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataHubPublisher, getJobMetadata, getRunWarnings, type DagShape, type DataHubPublisherOptions, type TableLoaded } from '@sluice/datahub';
import type { PrismaClient } from '@sluice/db';
import { createMemoryLogger } from '@sluice/logging';
import { freePort, startPostgres } from '@sluice/local-services';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testEnv } from '../support/env.ts';
import { GmsStandIn, type WireProposalLike } from './gms-stand-in.ts';
import { validateWithDataHub } from './validate-with-datahub.ts';

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase();
});

after(async () => {
  await db.drop();
});

async function createJob(prisma: PrismaClient, fields: { domain: string | null; tags: string[]; ownerId: string | null }): Promise<string> {
  const id = randomUUID();
  await prisma.ingestionJob.create({
    data: {
      id,
      name: `orders-${id.slice(0, 8)}`,
      sourceName: 'source-faker',
      sourceConfigEncrypted: 'sealed',
      secretPaths: [],
      schemaName: 'raw',
      mode: 'merge',
      streams: ['users', 'purchases'],
      tags: fields.tags,
      domain: fields.domain,
      ownerId: fields.ownerId,
    },
  });
  return id;
}

function tableLoaded(jobId: string, runId: string, table: string, job: { domain: string | null; tags: string[]; ownerId: string | null }): TableLoaded {
  return {
    kind: 'table_loaded',
    jobId,
    jobName: 'faker to raw',
    sourceName: 'source-faker',
    mode: 'merge',
    flowUrl: `http://sluice.test/jobs/${jobId}`,
    runId,
    namespace: 'raw',
    table,
    rowCount: 1234,
    snapshotId: '7180412375813498012',
    columns: [
      { name: 'id', icebergType: 'long', nullable: false, description: 'primary key' },
      { name: 'name', icebergType: 'string', nullable: true },
      { name: 'age', icebergType: 'int', nullable: true },
      { name: 'price', icebergType: 'decimal(10,2)', nullable: true },
      { name: 'is_active', icebergType: 'boolean', nullable: true },
      { name: 'birthday', icebergType: 'date', nullable: true },
      { name: 'created_at', icebergType: 'timestamptz', nullable: true },
      { name: 'alarm', icebergType: 'time', nullable: true },
      { name: 'token', icebergType: 'uuid', nullable: true },
      { name: 'payload', icebergType: 'binary', nullable: true },
      { name: 'emails', icebergType: 'list<string>', nullable: true },
      { name: 'attributes', icebergType: 'map<string, long>', nullable: true },
      { name: 'address', icebergType: 'struct<1: city: optional string, 2: zip: optional string>', nullable: true },
      { name: 'ingestion_time', icebergType: 'timestamptz', nullable: false },
    ],
    keyColumns: ['id'],
    domain: job.domain,
    tags: job.tags,
    ownerId: job.ownerId,
    sourceStreams: [table],
  };
}

function dagShape(jobId: string, job: { domain: string | null; tags: string[]; ownerId: string | null }): DagShape {
  const streams = ['users', 'purchases'];
  return {
    kind: 'dag',
    jobId,
    jobName: 'faker to raw',
    flowUrl: `http://sluice.test/jobs/${jobId}`,
    sourceName: 'source-faker',
    schedule: '0 * * * *',
    domain: job.domain,
    tags: job.tags,
    ownerId: job.ownerId,
    tasks: [
      { taskId: 'extract', taskType: 'extract', upstream: [], inputs: streams.map((s) => ({ platform: 'airbyte', name: `source-faker.${s}` })), outputs: [] },
      { taskId: 'stage', taskType: 'stage', upstream: ['extract'], inputs: [], outputs: [] },
      { taskId: 'transform', taskType: 'transform', upstream: ['stage'], inputs: [], outputs: [] },
      { taskId: 'load', taskType: 'load', upstream: ['transform'], inputs: [], outputs: streams.map((s) => ({ platform: 'iceberg', name: `raw.${s}` })) },
      { taskId: 'archive', taskType: 'archive', upstream: ['load'], inputs: [], outputs: [] },
    ],
  };
}

function publisher(prisma: PrismaClient, options: DataHubPublisherOptions): DataHubPublisher {
  return new DataHubPublisher(prisma, { pollIntervalMs: 50, retryBaseMs: 100, retryMaxMs: 400, compactIntervalMs: 60_000, ...options });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function aspectOf(p: WireProposalLike & { aspect?: { value?: string } }): Record<string, unknown> {
  return JSON.parse(p.aspect?.value ?? 'null') as Record<string, unknown>;
}

function find(gms: GmsStandIn, urnPart: string, aspectName: string): Record<string, unknown> {
  const hits = gms.accepted.filter((p) => p.aspectName === aspectName && p.entityUrn?.includes(urnPart));
  assert.ok(hits.length > 0, `no ${aspectName} proposal for ${urnPart}`);
  return aspectOf(hits[hits.length - 1] as WireProposalLike);
}

const withGovernance = { domain: 'marketing', tags: ['pii', 'tier(1), gold'], ownerId: 'jdoe' };
const withoutGovernance = { domain: null, tags: [], ownerId: null };

test('a job with domain, tags and owner: GMS gets its datasets, flow and jobs, and DataHub\'s models accept every proposal', async () => {
  const gms = new GmsStandIn();
  await gms.up();
  const pub = publisher(db.prisma, { gmsUrl: gms.url, token: 'gms-token-1234' });
  try {
    const jobId = await createJob(db.prisma, withGovernance);
    const runId = randomUUID();
    const recorded = await db.prisma.$transaction(async (tx) => [
      await pub.record(tx, dagShape(jobId, withGovernance)),
      await pub.record(tx, tableLoaded(jobId, runId, 'users', withGovernance)),
      await pub.record(tx, tableLoaded(jobId, runId, 'purchases', { ...withGovernance, domain: 'urn:li:domain:finance' })),
    ]);
    const total = recorded.reduce((n, r) => n + (r.kind === 'recorded' ? r.proposals : 0), 0);
    assert.ok(recorded.every((r) => r.kind === 'recorded'));
    assert.equal(gms.requests.length, 0, 'record() only writes the outbox');

    const flushed = await pub.flush();
    assert.deepEqual(flushed, { sent: total, failed: 0 });
    assert.equal(gms.accepted.length, total);
    const first = gms.requests[0];
    assert.equal(first?.action, 'ingestProposalBatch');
    assert.equal(first?.headers['authorization'], 'Bearer gms-token-1234');
    assert.equal(first?.headers['x-restli-protocol-version'], '2.0.0');

    const users = 'urn:li:dataset:(urn:li:dataPlatform:iceberg,raw.users,PROD)';
    const schema = find(gms, users, 'schemaMetadata') as { schemaName: string; platform: string; fields: { fieldPath: string; nativeDataType: string; nullable: boolean; type: { type: Record<string, unknown> }; isPartOfKey?: boolean }[]; primaryKeys?: string[] };
    assert.equal(schema.schemaName, 'raw.users');
    assert.equal(schema.platform, 'urn:li:dataPlatform:iceberg');
    const typeOf = (f: string): string => Object.keys(schema.fields.find((x) => x.fieldPath === f)?.type.type ?? {})[0] ?? '';
    assert.deepEqual(
      Object.fromEntries(schema.fields.map((f) => [f.fieldPath, typeOf(f.fieldPath).replace('com.linkedin.schema.', '')])),
      {
        id: 'NumberType', name: 'StringType', age: 'NumberType', price: 'NumberType', is_active: 'BooleanType', birthday: 'DateType',
        created_at: 'TimeType', alarm: 'TimeType', token: 'StringType', payload: 'BytesType', emails: 'ArrayType', attributes: 'MapType',
        address: 'RecordType', ingestion_time: 'TimeType',
      },
    );
    assert.equal(schema.fields.find((f) => f.fieldPath === 'price')?.nativeDataType, 'decimal(10,2)');
    assert.equal(schema.fields.find((f) => f.fieldPath === 'id')?.nullable, false);
    assert.equal(schema.fields.find((f) => f.fieldPath === 'id')?.isPartOfKey, true);
    assert.deepEqual(schema.primaryKeys, ['id']);

    const props = find(gms, users, 'datasetProperties') as { customProperties: Record<string, string> };
    assert.deepEqual(props.customProperties, {
      job_name: 'faker to raw', job_id: jobId, source_name: 'source-faker', mode: 'merge', flow_url: `http://sluice.test/jobs/${jobId}`,
      last_run_id: runId, last_run_row_count: '1234', snapshot_id: '7180412375813498012',
    });
    assert.deepEqual(find(gms, users, 'domains'), { domains: ['urn:li:domain:marketing'] });
    assert.deepEqual(find(gms, 'raw.purchases', 'domains'), { domains: ['urn:li:domain:finance'] }, 'a domain URN is kept as is');
    assert.deepEqual(find(gms, users, 'globalTags'), { tags: [{ tag: 'urn:li:tag:pii' }, { tag: 'urn:li:tag:tier%281%29%2C gold' }] });
    assert.deepEqual(find(gms, users, 'ownership'), { owners: [{ owner: 'urn:li:corpuser:jdoe', type: 'TECHNICAL_OWNER' }] });
    const lineage = find(gms, users, 'upstreamLineage') as { upstreams: { dataset: string }[] };
    assert.deepEqual(lineage.upstreams.map((u) => u.dataset), ['urn:li:dataset:(urn:li:dataPlatform:airbyte,source-faker.users,PROD)']);
    assert.deepEqual(find(gms, 'dataPlatform:airbyte,source-faker.users', 'datasetKey'), {
      platform: 'urn:li:dataPlatform:airbyte', name: 'source-faker.users', origin: 'PROD',
    });

    const flow = `urn:li:dataFlow:(sluice,${jobId},PROD)`;
    assert.equal((find(gms, flow, 'dataFlowInfo') as { name: string }).name, 'faker to raw');
    assert.deepEqual(find(gms, flow, 'ownership'), { owners: [{ owner: 'urn:li:corpuser:jdoe', type: 'TECHNICAL_OWNER' }] });
    const jobs = gms.accepted.filter((p) => p.aspectName === 'dataJobInfo').map((p) => p.entityUrn);
    assert.deepEqual(jobs, ['extract', 'stage', 'transform', 'load', 'archive'].map((t) => `urn:li:dataJob:(${flow},${t})`));
    assert.deepEqual(find(gms, `${flow},load)`, 'dataJobInputOutput'), {
      inputDatasets: [],
      outputDatasets: ['raw.users', 'raw.purchases'].map((n) => `urn:li:dataset:(urn:li:dataPlatform:iceberg,${n},PROD)`),
      inputDatajobs: [`urn:li:dataJob:(${flow},transform)`],
    });
    assert.deepEqual((find(gms, `${flow},extract)`, 'dataJobInputOutput') as { inputDatasets: string[] }).inputDatasets, [
      'urn:li:dataset:(urn:li:dataPlatform:airbyte,source-faker.users,PROD)',
      'urn:li:dataset:(urn:li:dataPlatform:airbyte,source-faker.purchases,PROD)',
    ]);

    const validation = validateWithDataHub(gms.requests);
    assert.deepEqual(validation.errors, [], validation.stderr);
    assert.equal(validation.ok, true, validation.stderr);
    assert.equal(validation.proposals, total);

    const metadata = await getJobMetadata(db.prisma, jobId);
    const usersEntity = metadata.entities.find((e) => e.entityUrn === users);
    assert.ok(usersEntity);
    assert.ok(usersEntity.aspects.every((a) => a.delivery === 'sent' && a.sentAt !== null && a.attempts === 1));
    assert.deepEqual(await getRunWarnings(db.prisma, runId), []);
  } finally {
    await pub.stop();
    await gms.down();
  }
});

test("domain, tags and owner are sent once per table and flow: later loads leave what people changed in DataHub's UI", async () => {
  const gms = new GmsStandIn();
  await gms.up();
  const pub = publisher(db.prisma, { gmsUrl: gms.url });
  try {
    const jobId = await createJob(db.prisma, withGovernance);
    const table = `orders_${jobId.slice(0, 8)}`;
    const dataset = `urn:li:dataset:(urn:li:dataPlatform:iceberg,raw.${table},PROD)`;
    const flow = `urn:li:dataFlow:(sluice,${jobId},PROD)`;
    const governed = (urn: string): string[] =>
      gms.accepted.filter((p) => p.entityUrn === urn && ['domains', 'globalTags', 'ownership'].includes(p.aspectName ?? '')).map((p) => p.aspectName ?? '').sort();
    const load = async (tags: string[]): Promise<void> => {
      await db.prisma.$transaction(async (tx) => pub.record(tx, tableLoaded(jobId, randomUUID(), table, { ...withGovernance, tags })));
      assert.equal((await pub.flush()).failed, 0);
    };
    await db.prisma.$transaction(async (tx) => pub.record(tx, dagShape(jobId, withGovernance)));
    await load(withGovernance.tags);
    assert.deepEqual(governed(dataset), ['domains', 'globalTags', 'ownership']);
    assert.deepEqual(governed(flow), ['domains', 'globalTags', 'ownership']);
    const before = gms.accepted.length;

    // Run after run: the table's schema and properties again, its governance not.
    await load(withGovernance.tags);
    await load(withGovernance.tags);
    assert.ok(gms.accepted.length > before, 'the later loads were sent');
    assert.ok(gms.accepted.slice(before).some((p) => p.entityUrn === dataset && p.aspectName === 'datasetProperties'));
    assert.deepEqual(governed(dataset), ['domains', 'globalTags', 'ownership'], 'each sent once');
    await db.prisma.$transaction(async (tx) => pub.record(tx, dagShape(jobId, withGovernance)));
    assert.equal((await pub.flush()).failed, 0);
    assert.deepEqual(governed(flow), ['domains', 'globalTags', 'ownership'], "the flow's too");

    // What the job sets changes (here its tags): that aspect is sent again, the others are not.
    await load(['pii', 'gold']);
    assert.deepEqual(governed(dataset), ['domains', 'globalTags', 'globalTags', 'ownership']);
    assert.deepEqual(find(gms, dataset, 'globalTags'), { tags: [{ tag: 'urn:li:tag:gold' }, { tag: 'urn:li:tag:pii' }] });
  } finally {
    await pub.stop();
    await gms.down();
  }
});

test('a job without domain, tags or owner: no domain, tag or ownership aspect is sent, and every proposal is valid', async () => {
  const gms = new GmsStandIn();
  await gms.up();
  const pub = publisher(db.prisma, { gmsUrl: gms.url, env: 'DEV' });
  try {
    const jobId = await createJob(db.prisma, withoutGovernance);
    const runId = randomUUID();
    await db.prisma.$transaction(async (tx) => {
      await pub.record(tx, dagShape(jobId, withoutGovernance));
      await pub.record(tx, tableLoaded(jobId, runId, 'users', withoutGovernance));
    });
    await pub.flush();
    const aspects = new Set(gms.accepted.map((p) => p.aspectName));
    for (const name of ['schemaMetadata', 'datasetProperties', 'upstreamLineage', 'status', 'dataFlowInfo', 'dataJobInfo', 'dataJobInputOutput']) {
      assert.ok(aspects.has(name), `${name} sent`);
    }
    for (const name of ['domains', 'globalTags', 'ownership']) assert.ok(!aspects.has(name), `${name} not sent`);
    assert.ok(gms.accepted.every((p) => p.entityUrn?.includes(',DEV)')), 'the configured environment is in every URN');
    assert.equal(gms.requests[0]?.headers['authorization'], undefined, 'no token, no Authorization header');

    const validation = validateWithDataHub(gms.requests);
    assert.deepEqual(validation.errors, [], validation.stderr);
    assert.equal(validation.ok, true);
    assert.equal(validation.proposals, gms.accepted.length);
  } finally {
    await pub.stop();
    await gms.down();
  }
});

test('the validation fails on proposals DataHub\'s models refuse', () => {
  const urn = 'urn:li:dataset:(urn:li:dataPlatform:iceberg,raw.users,PROD)';
  const proposal = (aspectName: string, aspect: unknown, entityUrn = urn): unknown => ({
    entityType: 'dataset', entityUrn, changeType: 'UPSERT', aspectName, aspect: { contentType: 'application/json', value: JSON.stringify(aspect) },
  });
  const bad = [
    proposal('schemaMetadata', {
      schemaName: 'raw.users', platform: 'urn:li:dataPlatform:iceberg', version: 0, hash: '',
      platformSchema: { 'com.linkedin.schema.OtherSchema': { rawSchema: '' } },
      fields: [{ fieldPath: 'id', nullable: false, type: { type: { 'com.linkedin.schema.LongType': {} } }, nativeDataType: 'long' }],
    }),
    proposal('status', { removed: false, deletedBy: 'me' }),
    proposal('globalTags', { tags: [{ tag: 'urn:li:tag:a,b' }] }),
    proposal('dataFlowInfo', { name: 'x' }),
    proposal('ownership', { owners: [{ owner: 'urn:li:corpuser:x' }] }),
  ];
  const v = validateWithDataHub([{ action: 'ingestProposalBatch', body: { proposals: bad, async: 'false' } }]);
  assert.equal(v.ok, false);
  bad.forEach((p, j) => {
    assert.ok(v.errors.some((e) => e.startsWith(`request 0 proposal ${j} `)), `refused: ${JSON.stringify(p).slice(0, 160)}`);
  });
  const good = proposal('status', { removed: false });
  assert.deepEqual(validateWithDataHub([{ action: 'ingestProposal', body: { proposal: good, async: 'false' } }]).errors, []);
});

test('without DATAHUB_GMS_URL the metadata is kept, listed for the API, and nothing is sent', async () => {
  const pub = publisher(db.prisma, {});
  assert.equal(pub.sending, false);
  pub.start();
  try {
    const jobId = await createJob(db.prisma, withGovernance);
    const runId = randomUUID();
    // A table of its own: governance already proposed for a table is not proposed again.
    const table = `users_${jobId.slice(0, 8)}`;
    await db.prisma.$transaction(async (tx) => {
      await pub.record(tx, dagShape(jobId, withGovernance));
      await pub.record(tx, tableLoaded(jobId, runId, table, withGovernance));
    });
    assert.deepEqual(await pub.flush(), { sent: 0, failed: 0 });
    const metadata = await getJobMetadata(db.prisma, jobId);
    const urns = metadata.entities.map((e) => e.entityUrn);
    assert.ok(urns.includes(`urn:li:dataset:(urn:li:dataPlatform:iceberg,raw.${table},PROD)`));
    assert.ok(urns.includes(`urn:li:dataFlow:(sluice,${jobId},PROD)`));
    assert.equal(urns.filter((u) => u.startsWith('urn:li:dataJob:')).length, 5);
    const users = metadata.entities.find((e) => e.entityUrn.includes(`raw.${table}`) && e.entityType === 'dataset' && e.entityUrn.includes('iceberg'));
    const aspects = Object.fromEntries(users?.aspects.map((a) => [a.aspectName, a]) ?? []);
    assert.deepEqual(aspects['domains']?.aspect, { domains: ['urn:li:domain:marketing'] });
    assert.equal(aspects['datasetProperties']?.delivery, 'pending');
    assert.equal(aspects['datasetProperties']?.sentAt, null);
    assert.deepEqual(await getRunWarnings(db.prisma, runId), [], 'not configured is not a warning');
  } finally {
    await pub.stop();
  }
});

test('GMS down during a run: nothing throws, the run gets warnings, and the proposals arrive once GMS is back', async () => {
  const gms = new GmsStandIn();
  await gms.up();
  await gms.down();
  const pub = publisher(db.prisma, { gmsUrl: gms.url });
  pub.start();
  try {
    const jobId = await createJob(db.prisma, withGovernance);
    const runId = randomUUID();
    const results = await db.prisma.$transaction(async (tx) => [
      await pub.record(tx, dagShape(jobId, withGovernance)),
      await pub.record(tx, tableLoaded(jobId, runId, 'users', withGovernance)),
    ]);
    assert.ok(results.every((r) => r.kind === 'recorded'));
    const tableProposals = results[1]?.kind === 'recorded' ? results[1].proposals : 0;

    const warnings = await waitFor('a warning on the run', async () => {
      const w = await getRunWarnings(db.prisma, runId);
      return w.length > 0 && w.every((x) => !x.resolved) && w.reduce((n, x) => n + x.proposals, 0) === tableProposals ? w : undefined;
    });
    assert.match(warnings[0]?.error ?? '', /not reachable/);
    assert.match(warnings[0]?.message ?? '', /not delivered yet/);
    assert.ok((warnings[0]?.attempts ?? 0) >= 1);
    assert.ok(warnings[0]?.nextAttemptAt instanceof Date);
    const pending = await getJobMetadata(db.prisma, jobId);
    assert.ok(pending.entities.every((e) => e.aspects.every((a) => a.delivery === 'pending' && a.lastError !== null)));

    await gms.up();
    await waitFor('every proposal delivered', async () => {
      const m = await getJobMetadata(db.prisma, jobId);
      return m.entities.every((e) => e.aspects.every((a) => a.delivery === 'sent')) ? m : undefined;
    });
    const after = await getRunWarnings(db.prisma, runId);
    assert.ok(after.length > 0 && after.every((w) => w.resolved && w.nextAttemptAt === null));
    const validation = validateWithDataHub(gms.requests);
    assert.deepEqual(validation.errors, []);
    assert.equal(validation.ok, true);
    assert.equal(new Set(gms.accepted.map((p) => `${p.entityUrn} ${p.aspectName}`)).size, gms.accepted.length, 'each proposal once');
  } finally {
    await pub.stop();
    await gms.down();
  }
});

test('GMS refusing one proposal: the others of the batch get through, the refused one is a warning and is retried', async () => {
  const gms = new GmsStandIn();
  await gms.up();
  const pub = publisher(db.prisma, { gmsUrl: gms.url });
  try {
    // Earlier tests of this file share the database and may leave undelivered proposals (some
    // with ownership): deliver them first, so the counts below are this test's alone.
    await pub.flush();
    gms.accepted.length = 0;
    gms.requests.length = 0;
    gms.refuse = (p) => p.aspectName === 'ownership';
    const jobId = await createJob(db.prisma, withGovernance);
    const runId = randomUUID();
    await db.prisma.$transaction((tx) => pub.record(tx, tableLoaded(jobId, runId, `users_${jobId.slice(0, 8)}`, withGovernance)));
    const r = await pub.flush();
    assert.equal(r.failed, 1);
    assert.ok(r.sent > 0);
    assert.ok(!gms.accepted.some((p) => p.aspectName === 'ownership'));
    assert.ok(gms.accepted.some((p) => p.aspectName === 'schemaMetadata'));
    const [warning, ...rest] = await getRunWarnings(db.prisma, runId);
    assert.equal(rest.length, 0);
    assert.equal(warning?.proposals, 1);
    assert.match(warning?.error ?? '', /422.*refused ownership/);
    assert.doesNotMatch(warning?.error ?? '', /stackTrace|RestLiServiceException/, 'the stack trace is left out');

    gms.refuse = null;
    pub.start();
    await waitFor('the refused proposal delivered on a later try', () => Promise.resolve(gms.accepted.some((p) => p.aspectName === 'ownership')));
    const [resolved] = await waitFor('the warning resolved', async () => {
      const w = await getRunWarnings(db.prisma, runId);
      return w[0]?.resolved ? w : undefined;
    });
    assert.equal(resolved?.proposals, 1);
  } finally {
    await pub.stop();
    await gms.down();
  }
});

test('an unsent proposal is replaced by a newer one for the same aspect: only the newest is sent', async () => {
  const gms = new GmsStandIn();
  await gms.up();
  const pub = publisher(db.prisma, { gmsUrl: gms.url });
  try {
    const jobId = await createJob(db.prisma, withoutGovernance);
    const [run1, run2] = [randomUUID(), randomUUID()];
    await db.prisma.$transaction((tx) => pub.record(tx, tableLoaded(jobId, run1, 'users', withoutGovernance)));
    await db.prisma.$transaction((tx) => pub.record(tx, tableLoaded(jobId, run2, 'users', withoutGovernance)));
    await pub.flush();
    const props = gms.accepted.filter((p) => p.aspectName === 'datasetProperties');
    assert.equal(props.length, 1);
    assert.equal((aspectOf(props[0] as WireProposalLike) as { customProperties: { last_run_id: string } }).customProperties.last_run_id, run2);
    const rows = await db.prisma.datahubProposal.findMany({ where: { jobId, aspectName: 'datasetProperties' }, orderBy: { id: 'asc' } });
    assert.deepEqual(rows.map((r) => [r.runId, r.status]), [[run1, 'superseded'], [run2, 'sent']]);
  } finally {
    await pub.stop();
    await gms.down();
  }
});

test('two senders at once deliver every proposal exactly once', async () => {
  const gms = new GmsStandIn();
  await gms.up();
  const a = publisher(db.prisma, { gmsUrl: gms.url, batchSize: 5 });
  const b = publisher(db.prisma, { gmsUrl: gms.url, batchSize: 5 });
  try {
    const jobId = await createJob(db.prisma, withGovernance);
    const runId = randomUUID();
    let total = 0;
    await db.prisma.$transaction(async (tx) => {
      for (const t of ['t1', 't2', 't3', 't4']) {
        const r = await a.record(tx, tableLoaded(jobId, runId, t, withGovernance));
        if (r.kind === 'recorded') total += r.proposals;
      }
    });
    const [ra, rb] = await Promise.all([a.flush(), b.flush()]);
    assert.equal(ra.sent + rb.sent, total);
    assert.equal(gms.accepted.length, total);
    assert.equal(new Set(gms.accepted.map((p) => `${p.entityUrn} ${p.aspectName}`)).size, total);
  } finally {
    await a.stop();
    await b.stop();
    await gms.down();
  }
});

test('an invalid event is skipped with its reason and never throws', async () => {
  const pub = publisher(db.prisma, {});
  const jobId = await createJob(db.prisma, withoutGovernance);
  const event = { ...tableLoaded(jobId, randomUUID(), 'users', withoutGovernance), columns: [] };
  const r = await db.prisma.$transaction((tx) => pub.record(tx, event));
  assert.equal(r.kind, 'skipped');
  assert.match(r.kind === 'skipped' ? r.reason : '', /columns/);
  assert.equal(await db.prisma.datahubProposal.count({ where: { jobId } }), 0);
});

test('housekeeping deletes replaced deliveries but keeps the newest metadata and the runs\' warnings', async () => {
  const own = await createTestDatabase();
  const gms = new GmsStandIn();
  await gms.up();
  const sender = publisher(own.prisma, { gmsUrl: gms.url });
  const housekeeper = publisher(own.prisma, { compactIntervalMs: 50 });
  try {
    const jobId = await createJob(own.prisma, withGovernance);
    const [run1, run2] = [randomUUID(), randomUUID()];
    gms.refuse = (p) => p.aspectName === 'ownership';
    await own.prisma.$transaction((tx) => sender.record(tx, tableLoaded(jobId, run1, 'users', withGovernance)));
    assert.equal((await sender.flush()).failed, 1);
    gms.refuse = null;
    sender.start();
    await waitFor('run 1 fully delivered', async () => ((await getRunWarnings(own.prisma, run1))[0]?.resolved ? true : undefined));
    // Run 2's job has another owner now: its ownership replaces run 1's (the row that carried an error).
    await own.prisma.$transaction((tx) => sender.record(tx, tableLoaded(jobId, run2, 'users', { ...withGovernance, ownerId: 'asmith' })));
    await waitFor('run 2 delivered', async () => ((await own.prisma.datahubProposal.count({ where: { runId: run2, status: { not: 'sent' } } })) === 0 ? true : undefined));
    const before = await own.prisma.datahubProposal.count({ where: { runId: run1 } });
    assert.ok(before > 1);

    housekeeper.start();
    const left = await waitFor('run 1\'s replaced rows deleted', async () => {
      const rows = await own.prisma.datahubProposal.findMany({ where: { runId: run1 } });
      return rows.length < before ? rows : undefined;
    });
    // Run 2 proposed no domain or tags (run 1's, unchanged): run 1's rows of them are still the
    // newest and stay; so does its replaced ownership row, which carried an error.
    assert.deepEqual(left.map((r) => r.aspectName).sort(), ['domains', 'globalTags', 'ownership'], 'the newest rows, and the one that carried an error, are kept');
    assert.equal((await getRunWarnings(own.prisma, run1))[0]?.resolved, true);
    const metadata = await getJobMetadata(own.prisma, jobId);
    const users = metadata.entities.find((e) => e.entityUrn === 'urn:li:dataset:(urn:li:dataPlatform:iceberg,raw.users,PROD)');
    assert.ok(users && users.aspects.length >= 9 && users.aspects.every((a) => a.delivery === 'sent'));
    assert.deepEqual(users.aspects.filter((a) => a.runId !== run2).map((a) => a.aspectName).sort(), ['domains', 'globalTags']);
  } finally {
    await sender.stop();
    await housekeeper.stop();
    await gms.down();
    await own.drop();
  }
});

test('PostgreSQL away under the sender: one warning, one line when the outbox can be read again, and nothing lost', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(testEnv.tmpDir, 'datahub-pg-away-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  let server = await startPostgres(path.join(dir, 'pg'), port, { durable: false });
  const own = await createTestDatabase({ serverUrl: server.url });
  const { logger, lines } = createMemoryLogger();
  const gms = new GmsStandIn();
  await gms.up();
  const pub = publisher(own.prisma, { gmsUrl: gms.url, pollIntervalMs: 20, logger });
  try {
    pub.start();
    await server.stop();
    await sleep(400); // about twenty polls
    server = await startPostgres(path.join(dir, 'pg'), port, { durable: false });
    const deadline = Date.now() + 30_000;
    while (!lines.some((l) => l.includes('the outbox can be read again')) && Date.now() < deadline) await sleep(50);
    const said = lines.map((l) => JSON.parse(l) as { level: string; message: string; error?: string }).filter((l) => l.message.startsWith('DataHub sender:'));
    assert.deepEqual(
      said.map((l) => [l.level, l.message]),
      [
        ['warn', 'DataHub sender: the outbox could not be read or updated; trying again every poll'],
        ['info', 'DataHub sender: the outbox can be read again'],
      ],
    );
    assert.match(said[0]?.error ?? '', new RegExp(`^PostgreSQL is (unreachable|not reachable).*127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(said[0]?.error ?? '', /\n/);
    // And it still delivers.
    const jobId = await createJob(own.prisma, withoutGovernance);
    await own.prisma.$transaction((tx) => pub.record(tx, tableLoaded(jobId, randomUUID(), 'users', withoutGovernance)));
    // The running sender delivers it (a flush here could find the rows already claimed by its poll).
    await waitFor('proposals to reach GMS after the outage', async () => gms.accepted.some((p) => p.aspectName === 'datasetProperties'));
  } finally {
    await pub.stop();
    await gms.down();
    await own.drop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
