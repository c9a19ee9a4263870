/**
 * SLUICE_CATALOG_MAX_AGE_MINUTES=0: extract discovers the source on every run, as PyAirbyte does.
 * A source that sends only the columns of the catalog it is given (source-file, database sources:
 * the test connector's `project_records`) never shows a column it added in its records, so only a
 * discover finds it (QA round 37a F1: with the day's reuse, such a column was left out of four runs
 * without a word). Read back with PyIceberg.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { putTestConnectorOnPath } from '../connectors/support.ts';
import { readWithPyIceberg } from '../iceberg/pyiceberg.ts';
import { testEnv } from '../support/env.ts';
import { startSluiceStack, type RunView, type SluiceStack } from '../support/sluice-stack.ts';

let stack: SluiceStack;
before(async () => {
  putTestConnectorOnPath();
  stack = await startSluiceStack({ storage: 'file', connectorsDir: path.join(testEnv.tmpDir, 'connectors-catalog-age'), catalogMaxAgeMs: 0 });
});
after(async () => {
  await stack.close();
});

async function runJob(jobId: string): Promise<RunView> {
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${jobId}/runs`);
  const run = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(run.state, 'success', JSON.stringify(run.tasks.map((x) => [x.task_id, x.error])));
  return run;
}

const extractLog = async (runId: string): Promise<string[]> =>
  (await stack.api<{ lines: { message: string }[] }>('GET', `/api/runs/${runId}/tasks/extract/logs`)).body.lines.map((l) => l.message);

test('with a catalog age of 0 every run discovers: a column a projecting source added is loaded by the next run', { timeout: 180_000 }, async () => {
  const sourceFile = path.join(testEnv.tmpDir, `source-projects-${Date.now()}.json`);
  await writeFile(sourceFile, JSON.stringify({ records: 2, project_records: true }));
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'projecting source',
    source_name: 'source-sluice-test',
    source_config: { records: 2, source_file: sourceFile },
    schema_name: 'catalog_age',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const first = await runJob(created.body.job_id);
  // The source adds a column and declares it; its records carry it only when the catalog it is given does.
  await writeFile(sourceFile, JSON.stringify({ records: 4, project_records: true, extra_field: 'nickname', declare_extra: true }));
  const second = await runJob(created.body.job_id);
  const users = await readWithPyIceberg(stack.db.url, 'catalog_age', 'users', false);
  // With the catalog of the first run reused, records 3 and 4 came without their nickname.
  assert.deepEqual(
    users.rows.map((r) => [Number(r['seq']), r['nickname'] ?? null]).sort((a, b) => Number(a[0]) - Number(b[0])),
    [[1, null], [2, null], [3, 'x3'], [4, 'x4']],
  );
  for (const run of [first, second]) assert.ok(!(await extractLog(run.run_id)).some((l) => l.startsWith('using the catalog discovered at')), 'no stored catalog is used');
  // Each says why it discovered (QA round 37c F3: an aged-out catalog's discover was not said).
  assert.ok((await extractLog(first.run_id)).includes('discovering the source: no catalog is stored for this job yet'));
  assert.ok((await extractLog(second.run_id)).includes('discovering the source: SLUICE_CATALOG_MAX_AGE_MINUTES=0 discovers on every run'));
  // A changed source_config drops the catalog: said as that, not as a job that never had one (QA round 49a: "… yet").
  const patched = await stack.api('PATCH', `/api/airbyte/ingest/${created.body.job_id}`, { source_config: { records: 3, source_file: sourceFile } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const third = await runJob(created.body.job_id);
  assert.ok(
    (await extractLog(third.run_id)).some((l) => /^discovering the source: the job's source_config was changed at \S+, and the catalog discovered with the one before was dropped$/.test(l)),
    (await extractLog(third.run_id)).join('\n'),
  );
});
