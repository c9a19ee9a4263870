/**
 * DataHub down during a run: the run still succeeds, shows a warning through the API, and once
 * GMS is back every proposal (the DAG's flow and jobs, the table's dataset with domain, tags and
 * owner) arrives and passes DataHub's own Python models. The run uses the repo's test connector.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
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
