/**
 * A connector that fails late in a sync (after it read some streams to the end) does not make the
 * next try of the extract read those streams again: the try reads only the others, and the run
 * loads every record once (read back with PyIceberg). A cleared extract resumes the same way,
 * unless another run of the job has read the source since, whose rows would be newer. The runs
 * use the repository's test connector, whose `fail_after` counts the records of one process: a
 * try that reads fewer than that gets through.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { putTestConnectorOnPath } from '../connectors/support.ts';
import { readWithPyIceberg } from '../iceberg/pyiceberg.ts';
import { testEnv } from '../support/env.ts';
import { startSluiceStack, type RunView, type SluiceStack } from '../support/sluice-stack.ts';

let stack: SluiceStack;
before(async () => {
  putTestConnectorOnPath();
  stack = await startSluiceStack({ storage: 's3', connectorsDir: path.join(testEnv.tmpDir, 'connectors-resume') });
});
after(async () => {
  await stack.close();
});

/** users and orders, 1,000 records each; the connector fails after its 1,250th record (in orders). */
const failingLate = { records: 1000, state_every: 100, fail: 'transient_error', fail_after: 1250 };

async function createJob(name: string, schema: string, extractRetries: number): Promise<string> {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name,
    source_name: 'source-sluice-test',
    source_config: failingLate,
    schema_name: schema,
    mode: 'append',
    streams: ['users', 'orders'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  // The job's retry policy, as an operator sets it: a short delay keeps the test short.
  const dag = await stack.db.prisma.dag.findFirstOrThrow({ where: { jobId: created.body.job_id } });
  await stack.db.prisma.dagTask.updateMany({ where: { dagId: dag.id, taskType: 'extract' }, data: { retries: extractRetries, retryDelayMs: 200, maxRetryDelayMs: 200 } });
  return created.body.job_id;
}

async function trigger(job: string): Promise<RunView> {
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  assert.equal(t.status, 201, JSON.stringify(t.body));
  return stack.waitForRun(t.body.run_id, 120_000);
}

async function extractLog(runId: string, tryNumber: number): Promise<string> {
  const r = await stack.api<{ lines: { message: string }[] }>('GET', `/api/runs/${runId}/tasks/extract/logs?try=${tryNumber}`);
  return r.body.lines.map((l) => l.message).join('\n');
}

async function clearExtract(runId: string): Promise<RunView> {
  const c = await stack.api('POST', `/api/runs/${runId}/tasks/extract/clear`);
  assert.equal(c.status, 200, JSON.stringify(c.body));
  return stack.waitForRun(runId, 120_000);
}

const task = (run: RunView, id: string, stream: string | null = null) => run.tasks.find((t) => t.task_id === id && t.stream === stream);

async function seqs(ns: string, name: string): Promise<number[]> {
  const t = await readWithPyIceberg(stack.db.url, ns, name, stack.s3);
  return t.rows.map((r) => Number(r['seq'])).sort((a, b) => a - b);
}

const oneToThousand = Array.from({ length: 1000 }, (_, i) => i + 1);

test("a late connector failure: the extract's retry reads only the streams not yet read to the end, and every record loads once", { timeout: 180_000 }, async () => {
  const job = await createJob('fails late', 'e2e_resume', 3);
  const run = await trigger(job);
  assert.equal(run.state, 'success', `${run.state_message ?? ''} ${JSON.stringify(run.tasks)}`);
  assert.equal(task(run, 'extract')?.try_number, 2);
  assert.equal(task(run, 'extract')?.rows, 2000, "the kept stream's records count in the extract's rows");
  assert.match(await extractLog(run.run_id, 1), /kept users \(1000 records\), read to the end, for the next try of this extract: it reads orders only/);
  assert.match(await extractLog(run.run_id, 2), /resuming: users \(1000 records, read to the end by the try that started .*\) is not read again/);
  assert.equal(task(run, 'load', 'users')?.rows, 1000);
  assert.equal(task(run, 'load', 'orders')?.rows, 1000);
  assert.deepEqual(await seqs('e2e_resume', 'users'), oneToThousand);
  assert.deepEqual(await seqs('e2e_resume', 'orders'), oneToThousand);
  const state = await stack.api<{ streams: { stream: string; state: { stream: { stream_state: unknown } } }[] }>('GET', `/api/airbyte/ingest/${job}/state`);
  assert.deepEqual(
    Object.fromEntries(state.body.streams.map((s) => [s.stream, s.state.stream.stream_state])),
    { orders: { seq: 1000 }, users: { seq: 1000 } },
    "the kept stream's state is saved with the run's",
  );
});

test('a cleared extract resumes from its checkpoint, unless another run of the job has read the source since', { timeout: 240_000 }, async () => {
  // Resumes: nothing read the source between the failure and the clear.
  const job = await createJob('cleared', 'e2e_resume_clear', 0);
  const failed = await trigger(job);
  assert.equal(failed.state, 'failed');
  const cleared = await clearExtract(failed.run_id);
  assert.equal(cleared.state, 'success', `${cleared.state_message ?? ''} ${JSON.stringify(cleared.tasks)}`);
  assert.match(await extractLog(failed.run_id, 2), /resuming: users/);
  assert.deepEqual(await seqs('e2e_resume_clear', 'users'), oneToThousand);
  assert.deepEqual(await seqs('e2e_resume_clear', 'orders'), oneToThousand);

  // Does not resume: run B read the source after run A's kept stream was read.
  const other = await createJob('read since', 'e2e_resume_since', 0);
  const a = await trigger(other);
  assert.equal(a.state, 'failed');
  const b = await trigger(other);
  assert.equal(b.state, 'failed');
  const again = await clearExtract(a.run_id);
  assert.equal(again.state, 'failed', 'read every stream again, and failed at the same record');
  const log = await extractLog(a.run_id, 2);
  assert.match(log, new RegExp(`an earlier try kept users, read to the end; run ${b.run_id} of this job has read the source since \\(its rows are newer\\), so every stream is read again`));
  assert.doesNotMatch(log, /resuming:/);
});
