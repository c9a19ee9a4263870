import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProposals } from './build-proposals.ts';
import { metadataEventSchema, type MetadataEvent } from './events.ts';

const jobId = '0d9c7b1e-4b7e-4c55-9d1e-3a2f1b6c7d8e';
const runId = '5b0f6a8e-2f55-4d6e-8f0a-1c2d3e4f5a6b';
const now = new Date('2026-11-28T12:00:00Z');
const options = { env: 'PROD' as const, ownershipType: 'TECHNICAL_OWNER' as const, now };

function build(event: MetadataEvent): ReturnType<typeof buildProposals> {
  return buildProposals(metadataEventSchema.parse(event), options);
}

const loaded = {
  kind: 'table_loaded' as const,
  jobId,
  jobName: 'orders',
  sourceName: 'source-postgres',
  mode: 'append' as const,
  flowUrl: 'http://sluice.test/jobs/1',
  runId,
  namespace: 'sales',
  table: 'orders',
  rowCount: 10,
  snapshotId: '42',
  columns: [{ name: 'id', icebergType: 'long', nullable: false }],
  domain: 'sales',
  tags: ['b', 'a', 'b'],
  ownerId: 'ann',
  sourceStreams: ['public.orders'],
};

test('a loaded table becomes the dataset\'s aspects, in order, with governance last before lineage', () => {
  const ps = build(loaded);
  assert.deepEqual(
    ps.map((p) => `${p.entityUrn.includes('airbyte') ? 'source' : 'table'}:${p.aspectName}`),
    ['status', 'dataPlatformInstance', 'subTypes', 'schemaMetadata', 'datasetProperties', 'domains', 'globalTags', 'ownership', 'upstreamLineage']
      .map((a) => `table:${a}`)
      .concat('source:datasetKey'),
  );
  const tags = ps.find((p) => p.aspectName === 'globalTags');
  assert.deepEqual(tags?.aspect, { tags: [{ tag: 'urn:li:tag:a' }, { tag: 'urn:li:tag:b' }] }, 'tags are deduplicated and sorted');
  const lineage = ps.find((p) => p.aspectName === 'upstreamLineage');
  assert.deepEqual(lineage?.aspect, {
    upstreams: [{
      dataset: 'urn:li:dataset:(urn:li:dataPlatform:airbyte,source-postgres.public.orders,PROD)',
      type: 'TRANSFORMED',
      auditStamp: { time: now.getTime(), actor: 'urn:li:corpuser:sluice' },
    }],
  });
});

test('the event\'s env wins over the publisher\'s, in every URN', () => {
  const ps = build({ ...loaded, env: 'QA' });
  assert.ok(ps.every((p) => p.entityUrn.endsWith(',QA)')));
  assert.deepEqual(ps.find((p) => p.aspectName === 'datasetKey')?.aspect, {
    platform: 'urn:li:dataPlatform:airbyte', name: 'source-postgres.public.orders', origin: 'QA',
  });
});

test('no domain, tags, owner or source streams: those aspects are left out, not emptied', () => {
  const ps = build({ ...loaded, domain: null, tags: [], ownerId: null, sourceStreams: [] });
  const names: string[] = ps.map((p) => p.aspectName);
  for (const a of ['domains', 'globalTags', 'ownership', 'upstreamLineage', 'datasetKey']) assert.ok(!names.includes(a), a);
});

test('a DAG becomes a data flow and one data job per task, with inputs, outputs and upstream jobs', () => {
  const ps = build({
    kind: 'dag',
    jobId,
    jobName: 'orders',
    flowUrl: 'http://sluice.test/jobs/1',
    tasks: [
      { taskId: 'extract', upstream: [], inputs: [{ platform: 'airbyte', name: 'src.s' }], outputs: [] },
      { taskId: 'load', upstream: ['extract', 'extract'], inputs: [], outputs: [{ platform: 'iceberg', name: 'ns.s' }] },
    ],
  });
  const flow = `urn:li:dataFlow:(sluice,${jobId},PROD)`;
  assert.deepEqual(ps.filter((p) => p.entityType === 'dataFlow').map((p) => p.aspectName), ['dataFlowInfo', 'status']);
  const io = ps.find((p) => p.aspectName === 'dataJobInputOutput' && p.entityUrn === `urn:li:dataJob:(${flow},load)`);
  assert.deepEqual(io?.aspect, {
    inputDatasets: [],
    outputDatasets: ['urn:li:dataset:(urn:li:dataPlatform:iceberg,ns.s,PROD)'],
    inputDatajobs: [`urn:li:dataJob:(${flow},extract)`],
  });
  const info = ps.find((p) => p.aspectName === 'dataJobInfo' && p.entityUrn.endsWith(',extract)'));
  assert.deepEqual(info?.aspect, {
    name: 'extract', type: { string: 'COMMAND' }, externalUrl: 'http://sluice.test/jobs/1', flowUrn: flow,
    customProperties: { task_id: 'extract', job_id: jobId }, env: 'PROD',
  });
});

test('events are checked at the edge: ids must be UUIDs and a table needs columns', () => {
  assert.equal(metadataEventSchema.safeParse({ ...loaded, runId: 'run-1' }).success, false);
  assert.equal(metadataEventSchema.safeParse({ ...loaded, columns: [] }).success, false);
  assert.equal(metadataEventSchema.safeParse({ ...loaded, env: 'prod' }).success, false);
});
