/**
 * DataHub down during a run: the run still succeeds, shows a warning through the API, and once
 * GMS is back every proposal (the DAG's flow and jobs, the table's dataset with domain, tags and
 * owner) arrives and passes DataHub's own Python models. The run uses the repo's test connector.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, test } from 'node:test';
import { putTestConnectorOnPath } from '../connectors/support.ts';
import { GmsStandIn } from '../datahub/gms-stand-in.ts';
import { validateWithDataHub } from '../datahub/validate-with-datahub.ts';
import { testEnv } from '../support/env.ts';
import { startSluiceStack, type RunView, type SluiceStack } from '../support/sluice-stack.ts';

let stack: SluiceStack;
const gms = new GmsStandIn();

before(async () => {
  putTestConnectorOnPath();
  // "Down" as a proxy in front of a stopped GMS answers: 503 to everything. (Closing the port
  // instead would free it for another server of this run to take before GMS comes back.)
  await gms.up();
  gms.failWith = 503;
  stack = await startSluiceStack({
    storage: 'file',
    connectorsDir: path.join(testEnv.tmpDir, 'connectors-datahub'),
    datahub: { gmsUrl: gms.url, pollIntervalMs: 100, retryBaseMs: 200, retryMaxMs: 400, requestTimeoutMs: 2000 },
  });
});
after(async () => {
  await stack.close();
  await gms.down();
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a run succeeds while DataHub is down, warns, and the metadata arrives once DataHub is back', { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'orders to lake',
    source_name: 'source-sluice-test',
    source_config: { records: 25 },
    schema_name: 'dh_e2e',
    mode: 'append',
    streams: ['users'],
    domain: 'urn:li:domain:sales',
    tags: ['pii', 'raw'],
    owner_id: 'alice',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  const run = await stack.waitForRun(t.body.run_id, 60_000);
  assert.equal(run.state, 'success', JSON.stringify(run.tasks));

  const warned = await until('a DataHub warning on the run', async () => {
    const r = await stack.api<RunView & { warnings: string[] }>('GET', `/api/runs/${run.run_id}`);
    return r.body.warnings.some((w) => /DataHub/.test(w)) ? r.body.warnings : undefined;
  });
  assert.ok(warned.length > 0);
  assert.equal(gms.accepted.length, 0);
  assert.ok(gms.requests.length > 0, 'the sender tried while GMS was down');

  gms.failWith = null;
  const dataset = 'urn:li:dataset:(urn:li:dataPlatform:iceberg,dh_e2e.users,PROD)';
  const flow = `urn:li:dataFlow:(sluice,${job},PROD)`;
  const loadJob = `urn:li:dataJob:(${flow},load`;
  // The table's proposals belong to the run, the DAG's to the job; batches arrive one after
  // another: wait until every expected aspect has been delivered.
  const aspectsOf = (match: (urn: string) => boolean): Set<string | undefined> =>
    new Set(gms.accepted.filter((p) => p.entityUrn !== undefined && match(p.entityUrn)).map((p) => p.aspectName));
  const datasetAspects = ['schemaMetadata', 'datasetProperties', 'domains', 'globalTags', 'ownership', 'upstreamLineage'];
  const delivered = (): boolean =>
    datasetAspects.every((a) => aspectsOf((u) => u === dataset).has(a)) &&
    aspectsOf((u) => u === flow).has('dataFlowInfo') &&
    aspectsOf((u) => u.startsWith(loadJob)).has('dataJobInputOutput');
  await until('the table and DAG metadata at GMS', async () => (delivered() ? true : undefined));
  await until('the warning to clear', async () => {
    const r = await stack.api<{ warnings: string[] }>('GET', `/api/runs/${run.run_id}`);
    return r.body.warnings.some((w) => /DataHub/.test(w)) ? undefined : true;
  });
  const v = validateWithDataHub(gms.requests);
  assert.equal(v.ok, true, `${v.errors.join('\n')}\n${v.stderr}`);
  assert.ok(v.proposals >= gms.accepted.length);
});

test("a deleted job's flow and data jobs are marked removed in DataHub; the job that takes its table over withdraws the domain and tags it does not set", { timeout: 180_000 }, async () => {
  gms.failWith = null;
  const create = async (name: string, over: Record<string, unknown>): Promise<string> => {
    const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
      name,
      source_name: 'source-sluice-test',
      source_config: { records: 3 },
      schema_name: 'dh_takeover',
      mode: 'append',
      streams: ['users'],
      ...over,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.job_id;
  };
  const run = async (job: string): Promise<string> => {
    const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
    const r = await stack.waitForRun(t.body.run_id, 60_000);
    assert.equal(r.state, 'success', JSON.stringify(r.tasks));
    return t.body.run_id;
  };
  /** The newest aspect GMS took for an entity, parsed. */
  const latest = (urn: string, aspectName: string): unknown => {
    const p = gms.accepted.filter((a) => a.entityUrn === urn && a.aspectName === aspectName).at(-1);
    return p?.aspect?.value === undefined ? undefined : JSON.parse(p.aspect.value);
  };
  const dataset = 'urn:li:dataset:(urn:li:dataPlatform:iceberg,dh_takeover.users,PROD)';

  const first = await create('tagged', { domain: 'urn:li:domain:sales', tags: ['pii'], owner_id: 'alice' });
  await run(first);
  const flow = `urn:li:dataFlow:(sluice,${first},PROD)`;
  await until('the tagged job at GMS', async () => (latest(flow, 'dataFlowInfo') !== undefined && latest(dataset, 'globalTags') !== undefined ? true : undefined));
  assert.deepEqual(latest(dataset, 'globalTags'), { tags: [{ tag: 'urn:li:tag:pii' }] });
  const dataJobs = [...new Set(gms.accepted.flatMap((a) => (a.entityUrn?.startsWith(`urn:li:dataJob:(${flow},`) ? [a.entityUrn] : [])))];
  assert.equal(dataJobs.length, 5, `extract, stage, transform, load, archive: ${dataJobs.join(' ')}`);

  assert.equal((await stack.api('DELETE', `/api/airbyte/ingest/${first}`)).status, 200);
  await until('the flow and its data jobs removed at GMS', async () =>
    [flow, ...dataJobs].every((urn) => isDeepStrictEqual(latest(urn, 'status'), { removed: true })) ? true : undefined,
  );
  assert.deepEqual(latest(dataset, 'status'), { removed: false }, 'the table stays');

  // A deleted job's table goes to a job of the same owner (an admin creates it for alice; QA round 31c).
  const second = await create('untagged', { owner_id: 'alice' });
  await run(second);
  await until("the new owner's table metadata at GMS", async () =>
    isDeepStrictEqual(latest(dataset, 'globalTags'), { tags: [] }) && isDeepStrictEqual(latest(dataset, 'domains'), { domains: [] }) ? true : undefined,
  );
  const owners = (latest(dataset, 'ownership') as { owners: { owner: string }[] }).owners.map((o) => o.owner);
  assert.deepEqual(owners, ['urn:li:corpuser:alice'], "the new job's owner");
  const withdrawn = gms.accepted.filter((a) => a.entityUrn === dataset && (a.aspectName === 'globalTags' || a.aspectName === 'domains')).length;
  // New rows (a load of none commits nothing and tells DataHub nothing).
  assert.equal((await stack.api('PATCH', `/api/airbyte/ingest/${second}`, { source_config: { records: 5 } })).status, 200);
  const again = await run(second);
  const lastRun = (): unknown => (latest(dataset, 'datasetProperties') as { customProperties?: { last_run_id?: string } } | undefined)?.customProperties?.last_run_id;
  await until('the second run at GMS', async () => (lastRun() === again ? true : undefined));
  assert.equal(gms.accepted.filter((a) => a.entityUrn === dataset && (a.aspectName === 'globalTags' || a.aspectName === 'domains')).length, withdrawn, 'withdrawn once');
  const v = validateWithDataHub(gms.requests);
  assert.equal(v.ok, true, `${v.errors.join('\n')}\n${v.stderr}`);
});

test("an extract that ends after its job was deleted records no DAG for it: the flow stays removed", { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'deleted mid-extract',
    source_name: 'source-sluice-test',
    source_config: { records: 2, sleep_seconds: 3 },
    schema_name: 'dh_deleted_mid_extract',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  await until('the extract to run', async () =>
    (await stack.db.prisma.taskInstance.findFirst({ where: { runId: t.body.run_id, taskId: 'extract', state: 'running' } })) ? true : undefined,
  );
  // The delete's commit, landing while the connector reads (its cancel of the run is not sent here).
  await stack.db.prisma.ingestionJob.update({ where: { id: job }, data: { isDeleted: true, deletedAt: new Date() } });
  await until('the extract to end', async () =>
    (await stack.db.prisma.taskInstance.findFirst({ where: { runId: t.body.run_id, taskId: 'extract', state: 'success' } })) ? true : undefined,
  );
  assert.equal(await stack.db.prisma.datahubProposal.count({ where: { jobId: job, entityType: { in: ['dataFlow', 'dataJob'] } } }), 0);
  await stack.waitForRun(t.body.run_id, 60_000);
});
