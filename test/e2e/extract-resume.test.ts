/**
 * A connector that fails late in a sync (after it read some streams to the end) does not make the
 * next try of the extract read those streams again: the try reads only the others, and the run
 * loads every record once (read back with PyIceberg) — unless another run of the job has read the
 * source since, whose rows would be newer. On the extract's last try, the streams read to the end
 * are loaded, and the run fails at the one that was not (ADR 0022); when the connector fails after
 * it read every stream to the end, every stream is loaded and the run fails at its archive — also when
 * that archive is retried after a try that deleted the run's staging. The runs use the repository's
 * test connector, whose `fail_after` counts the records of one process: a try that reads fewer
 * than that gets through.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { lostTryError } from '@sluice/core/states';
import type { TaskHandlers } from '@sluice/runner';
import { putTestConnectorOnPath } from '../connectors/support.ts';
import { readWithPyIceberg } from '../iceberg/pyiceberg.ts';
import { testEnv } from '../support/env.ts';
import { startSluiceStack, type RunView, type SluiceStack } from '../support/sluice-stack.ts';

/**
 * The archive of a job named `archive lost…` does its work on its first try, then that try dies as
 * if its runner were killed before it recorded its outcome: the retry finds the work done.
 */
function loseFirstArchiveAfterItsWork(h: TaskHandlers): TaskHandlers {
  return {
    ...h,
    archive: async (ctx) => {
      if (!ctx.job.name.startsWith('archive lost') || ctx.task.tryNumber > 1) return h.archive(ctx);
      await h.archive(ctx).catch(() => undefined);
      throw new Error('runner lost after the archive did its work (test)');
    },
  };
}

/** Set to a job's id: the next first try of its extract fails as a try declared lost does, with the error recovery gives it. */
let loseNextExtractOf: string | null = null;
function loseFirstExtract(h: TaskHandlers): TaskHandlers {
  return {
    ...h,
    extract: async (ctx) => {
      if (ctx.job.id !== loseNextExtractOf || ctx.task.tryNumber > 1) return h.extract(ctx);
      loseNextExtractOf = null;
      throw new Error(lostTryError('runner-killed-by-test', new Date()));
    },
  };
}

let stack: SluiceStack;
before(async () => {
  putTestConnectorOnPath();
  stack = await startSluiceStack({ storage: 's3', connectorsDir: path.join(testEnv.tmpDir, 'connectors-resume'), wrapHandlers: (h) => loseFirstExtract(loseFirstArchiveAfterItsWork(h)) });
});
after(async () => {
  await stack.close();
});

/** users and orders, 1,000 records each; the connector fails after its 1,250th record (in orders). */
const failingLate = { records: 1000, state_every: 100, fail: 'transient_error', fail_after: 1250 };

async function createJob(name: string, schema: string, extractRetries: number, more: Record<string, unknown> = {}): Promise<string> {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name,
    source_name: 'source-sluice-test',
    source_config: failingLate,
    schema_name: schema,
    mode: 'append',
    streams: ['users', 'orders'],
    ...more,
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
  assert.match(
    await extractLog(run.run_id, 1),
    /kept users \(1000 records\), read to the end, and orders \(200 records\) up to the last state the connector sent, for the next try of this extract: it reads orders only/,
  );
  assert.match(await extractLog(run.run_id, 2), /resuming: users \(1000 records, read to the end by the try that started .*\) is not read again/);
  assert.match(await extractLog(run.run_id, 2), /resuming: orders is read on from its last state, after the 200 records an earlier try kept/);
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

test('a stream larger than the connector can read in one try is read across tries, each on from the last state the one before kept', { timeout: 180_000 }, async () => {
  // 3,000 users; every try fails after its 1,250th record, with a state every 100 records.
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'one long stream',
    source_name: 'source-sluice-test',
    source_config: { records: 3000, state_every: 100, fail: 'transient_error', fail_after: 1250 },
    schema_name: 'e2e_resume_long',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const dag = await stack.db.prisma.dag.findFirstOrThrow({ where: { jobId: created.body.job_id } });
  await stack.db.prisma.dagTask.updateMany({ where: { dagId: dag.id, taskType: 'extract' }, data: { retries: 3, retryDelayMs: 200, maxRetryDelayMs: 200 } });
  const run = await trigger(created.body.job_id);
  assert.equal(run.state, 'success', `${run.state_message ?? ''} ${JSON.stringify(run.tasks)}`);
  assert.equal(task(run, 'extract')?.try_number, 3);
  assert.match(await extractLog(run.run_id, 1), /kept users \(1200 records\) up to the last state the connector sent/);
  assert.match(await extractLog(run.run_id, 2), /resuming: users is read on from its last state, after the 1200 records an earlier try kept/);
  assert.match(await extractLog(run.run_id, 2), /kept users \(2400 records\) up to the last state the connector sent/);
  assert.equal(task(run, 'load', 'users')?.rows, 3000);
  assert.deepEqual(await seqs('e2e_resume_long', 'users'), Array.from({ length: 3000 }, (_, i) => i + 1), 'each record once');
});

test("on its last try, an extract that fails late loads the streams it read to the end; the run fails at the stream it did not read, which the next run reads", { timeout: 240_000 }, async () => {
  // The job encrypts users' emails: their plaintext must not outlive the load, though archive never runs.
  assert.equal((await stack.api('POST', '/api/encryption-keys', { name: 'e2e-last-try' })).status, 201);
  const job = await createJob('last try', 'e2e_resume_last', 0, { column_transformations: [{ column: 'email', stream: 'users', encryption_key_name: 'e2e-last-try' }] });
  const failed = await trigger(job);
  assert.equal(failed.state, 'failed');
  assert.equal(task(failed, 'extract')?.state, 'success', 'extract hands over what it read to the end');
  assert.equal(task(failed, 'extract')?.rows, 1000);
  assert.equal(task(failed, 'load', 'users')?.state, 'success');
  assert.equal(task(failed, 'load', 'users')?.rows, 1000);
  const stage = task(failed, 'stage', 'orders');
  assert.equal(stage?.state, 'failed');
  assert.equal(stage?.try_number, 1, 'not retried: no retry of stage can read the source');
  assert.match(stage?.error ?? '', /stream "orders" was not read to the end: the connector failed on the extract's last try \(.*induced transient_error.*\)\. Its records are not loaded and its saved state is unchanged: the next run reads it again/);
  assert.equal(task(failed, 'load', 'orders')?.state, 'upstream_failed');
  assert.equal(task(failed, 'archive')?.state, 'upstream_failed');
  assert.match(failed.state_message ?? '', /stream "orders" was not read to the end/, "the run's message is the stream's failure");
  const detail = await stack.api<{ warnings: string[] }>('GET', `/api/runs/${failed.run_id}`);
  assert.ok(
    detail.body.warnings.some((w) => /the connector failed on the extract's last try \(.*\) after it read users to the end: it is loaded; orders is not, and the next run reads it again \(from the saved state, where there is one\)/.test(w)),
    JSON.stringify(detail.body.warnings),
  );
  assert.match(await extractLog(failed.run_id, 1), /this was the extract's last try: users \(1000 records\), read to the end, is loaded; orders was not read to the end, and the next run reads it again/);
  assert.deepEqual(await seqs('e2e_resume_last', 'users'), oneToThousand);
  const left: string[] = [];
  for await (const o of stack.store.list(`staging/${failed.run_id}/raw/orders/`)) left.push(o.key);
  assert.deepEqual(left, [], "the part orders' cut kept is removed: no try of this run reads it");
  const staged: string[] = [];
  for await (const o of stack.store.list(`staging/${failed.run_id}/`)) staged.push(o.key);
  assert.deepEqual(
    staged.filter((k) => /\/(raw|staged|rejects)\//.test(k)),
    [],
    "no plaintext of users' encrypted column stays in staging: archive, which removes it, never runs in this run",
  );
  assert.ok(staged.some((k) => k.includes('/transformed/users/')), 'what was loaded (encrypted) stays with the failed run');
  const state = async (): Promise<Record<string, unknown>> => {
    const r = await stack.api<{ streams: { stream: string; state: { stream: { stream_state: unknown } } }[] }>('GET', `/api/airbyte/ingest/${job}/state`);
    return Object.fromEntries(r.body.streams.map((st) => [st.stream, st.state.stream.stream_state]));
  };
  assert.deepEqual(await state(), { users: { seq: 1000 } }, "orders keeps the state it was read from (none)");
  const status = await stack.api<{ status: string }>('GET', `/api/jobs/${job}`);
  assert.equal(status.body.status, 'failed');

  // The next run reads users on from its saved state (no new records) and orders from the start: 1,000 records, under fail_after.
  const next = await trigger(job);
  assert.equal(next.state, 'success', `${next.state_message ?? ''} ${JSON.stringify(next.tasks)}`);
  assert.equal(task(next, 'load', 'users')?.rows, 0);
  assert.equal(task(next, 'load', 'orders')?.rows, 1000);
  assert.deepEqual(await seqs('e2e_resume_last', 'users'), oneToThousand, 'users once');
  assert.deepEqual(await seqs('e2e_resume_last', 'orders'), oneToThousand);
  assert.deepEqual(await state(), { users: { seq: 1000 }, orders: { seq: 1000 } });
});

test('a connector that fails after it reported every stream COMPLETE: the run loads every stream once and fails at its archive, and the next run reads on from the saved state (QA round 44b F1)', { timeout: 240_000 }, async () => {
  // As source-s3 does when a file of the bucket cannot be parsed: every stream ends, then the read fails.
  const job = await createJob('fails at its end', 'e2e_resume_end', 3, { source_config: { records: 1000, state_every: 100, fail: 'system_error', fail_at_end: true } });
  const failed = await trigger(job);
  assert.equal(failed.state, 'failed', JSON.stringify(failed.tasks));
  const extract = task(failed, 'extract');
  assert.equal(extract?.state, 'success');
  assert.equal(extract?.try_number, 1, 'not retried: a retry would resume every stream as read, and read nothing');
  assert.equal(extract?.rows, 2000);
  for (const stream of ['users', 'orders']) {
    assert.equal(task(failed, 'load', stream)?.state, 'success');
    assert.equal(task(failed, 'load', stream)?.rows, 1000);
  }
  const archive = task(failed, 'archive');
  assert.equal(archive?.state, 'failed');
  assert.equal(archive?.try_number, 1);
  assert.match(
    archive?.error ?? '',
    new RegExp(
      "^the connector failed after it reported every stream COMPLETE \\(.*induced system_error.*\\): every stream is loaded, with the state the connector sent, " +
        `and the run's staging files are archived to s3://\\S+/archive/${failed.run_id}/\\. The run fails so that the failure is seen`,
    ),
  );
  assert.match(failed.state_message ?? '', /the connector failed after it reported every stream COMPLETE/, "the run's message is the connector's failure");
  const detail = await stack.api<{ warnings: string[] }>('GET', `/api/runs/${failed.run_id}`);
  assert.ok(
    detail.body.warnings.some((w) => /^the connector failed \(.*induced system_error.*\) after it reported every stream COMPLETE: users, orders are loaded, with the state the connector sent, and the run fails at its archive/.test(w)),
    JSON.stringify(detail.body.warnings),
  );
  assert.ok(detail.body.warnings.every((w) => !/;\s+(is|are) not/.test(w)), `no warning names an empty list of streams: ${JSON.stringify(detail.body.warnings)}`);
  const left: string[] = [];
  for await (const o of stack.store.list(`staging/${failed.run_id}/`)) left.push(o.key);
  assert.deepEqual(left, [], 'archive did its work before it failed');
  const clear = await stack.api<{ error: string }>('POST', `/api/runs/${failed.run_id}/tasks/archive/clear`);
  assert.equal(clear.status, 409, JSON.stringify(clear.body));
  assert.match(clear.body.error, /^task archive cannot be cleared: its clear would fail the same way/);
  assert.deepEqual(await seqs('e2e_resume_end', 'users'), oneToThousand);
  assert.deepEqual(await seqs('e2e_resume_end', 'orders'), oneToThousand);
  const state = await stack.api<{ streams: { stream: string; state: { stream: { stream_state: unknown } } }[] }>('GET', `/api/airbyte/ingest/${job}/state`);
  assert.deepEqual(Object.fromEntries(state.body.streams.map((st) => [st.stream, st.state.stream.stream_state])), { orders: { seq: 1000 }, users: { seq: 1000 } });
  assert.equal((await stack.api<{ status: string }>('GET', `/api/jobs/${job}`)).body.status, 'failed');

  // The source still fails at its end, but has nothing new: the next run loads nothing twice.
  const next = await trigger(job);
  assert.equal(next.state, 'failed');
  assert.equal(task(next, 'load', 'users')?.rows, 0);
  assert.equal(task(next, 'load', 'orders')?.rows, 0);
  assert.deepEqual(await seqs('e2e_resume_end', 'users'), oneToThousand, 'users once');
  assert.deepEqual(await seqs('e2e_resume_end', 'orders'), oneToThousand, 'orders once');
});

/** A job of the test connector whose archive deletes the staging files and whose first archive try is lost after its work. */
async function createArchiveLostJob(name: string, schema: string, sourceConfig: Record<string, unknown>): Promise<string> {
  const job = await createJob(`archive lost: ${name}`, schema, 3, { source_config: sourceConfig, archive_staging: false });
  const dag = await stack.db.prisma.dag.findFirstOrThrow({ where: { jobId: job } });
  await stack.db.prisma.dagTask.updateMany({ where: { dagId: dag.id, taskType: 'archive' }, data: { retryDelayMs: 200, maxRetryDelayMs: 200 } });
  return job;
}

async function stagingLeft(runId: string): Promise<string[]> {
  const left: string[] = [];
  for await (const o of stack.store.list(`staging/${runId}/`)) left.push(o.key);
  return left;
}

async function archiveLog(runId: string, tryNumber: number): Promise<string> {
  const r = await stack.api<{ lines: { message: string }[] }>('GET', `/api/runs/${runId}/tasks/archive/logs?try=${tryNumber}`);
  return r.body.lines.map((l) => l.message).join('\n');
}

test("an archive retried after a try that deleted the run's staging (archive_staging false) finds its work done, and the run succeeds", { timeout: 180_000 }, async () => {
  const job = await createArchiveLostJob('deleted', 'e2e_archive_lost', { records: 100, state_every: 10 });
  const run = await trigger(job);
  // before: the retry found no extract manifest and failed the run ("has no extract manifest in staging or archive")
  assert.equal(run.state, 'success', `${run.state_message ?? ''} ${JSON.stringify(task(run, 'archive'))}`);
  assert.equal(task(run, 'archive')?.try_number, 2);
  assert.match(await archiveLog(run.run_id, 1), /deleted \d+ staging files/);
  assert.match(await archiveLog(run.run_id, 2), /an earlier try of this archive deleted the run's staging files \(its extract manifest last\); 0 were left to delete/);
  assert.deepEqual(await stagingLeft(run.run_id), []);
  assert.deepEqual(await seqs('e2e_archive_lost', 'users'), Array.from({ length: 100 }, (_, i) => i + 1));
});

test("a connector that fails after every stream COMPLETE, its archive retried after a try that deleted the staging: the run still fails with the connector's failure", { timeout: 180_000 }, async () => {
  const job = await createArchiveLostJob('connector failed at its end', 'e2e_archive_lost_end', { records: 100, state_every: 10, fail: 'system_error', fail_at_end: true });
  const run = await trigger(job);
  assert.equal(run.state, 'failed', JSON.stringify(run.tasks));
  const archive = task(run, 'archive');
  assert.equal(archive?.try_number, 2);
  // before: "run … has no extract manifest in staging or archive", the connector's failure lost
  assert.match(
    archive?.error ?? '',
    /^the connector failed after it reported every stream COMPLETE \(.*induced system_error.*\): every stream is loaded, with the state the connector sent, and the run's staging files are deleted\./s,
  );
  assert.match(run.state_message ?? '', /the connector failed after it reported every stream COMPLETE/);
  assert.deepEqual(await stagingLeft(run.run_id), []);
  assert.equal(task(run, 'load', 'users')?.rows, 100);
});

test("an extract's retry does not resume from its checkpoint when another run of the job has read the source since", { timeout: 240_000 }, async () => {
  const job = await createJob('read since', 'e2e_resume_since', 1);
  // The first try's failure is seen before the retry starts; a second run may read meanwhile.
  const dag = await stack.db.prisma.dag.findFirstOrThrow({ where: { jobId: job } });
  await stack.db.prisma.dagTask.updateMany({ where: { dagId: dag.id, taskType: 'extract' }, data: { retryDelayMs: 4000, maxRetryDelayMs: 4000 } });
  await stack.db.prisma.ingestionJob.update({ where: { id: job }, data: { maxActiveRuns: 2 } });
  const a = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  assert.equal(a.status, 201, JSON.stringify(a.body));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await stack.api<RunView>('GET', `/api/runs/${a.body.run_id}`);
    const extract = task(r.body, 'extract');
    if (extract?.state === 'up_for_retry') {
      // The run says when the retry starts: the try's end plus the backoff.
      assert.equal(Date.parse(extract.next_retry_at ?? '') - Date.parse(extract.ended_at ?? ''), 4000, JSON.stringify(extract));
      break;
    }
    assert.ok(Date.now() < deadline, `run A's extract did not fail its first try: ${JSON.stringify(r.body.tasks)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const b = await trigger(job);
  const runA = await stack.waitForRun(a.body.run_id, 120_000);
  const log = await extractLog(runA.run_id, 2);
  assert.match(log, new RegExp(`an earlier try kept users, read to the end, and orders, up to the last state; run ${b.run_id} of this job has read the source since \\(its rows are newer\\), so every stream is read again`));
  assert.doesNotMatch(log, /resuming:/);
});

test('a failed or cancelled extract shows the records its log says it read, not those of its last heartbeat', { timeout: 180_000 }, async () => {
  // Failed: 550 users read, the last state at 500; the try is the last, so nothing is retried.
  const job = await createJob('counts of a failure', 'e2e_counts', 0, { source_config: { records: 1000, state_every: 100, fail: 'transient_error', fail_after: 550 } });
  const failedRun = await trigger(job);
  assert.equal(failedRun.state, 'failed', JSON.stringify(failedRun.tasks));
  assert.match(await extractLog(failedRun.run_id, 1), /550 records were read before the failure \(users 550, orders 0\)/);
  assert.equal(task(failedRun, 'extract')?.rows, 550, 'what was read, not what the checkpoint kept (500) nor a heartbeat');

  // Cancelled while the connector reads (a record every 10 ms), once a heartbeat has shown rows.
  const slow = await createJob('counts of a cancel', 'e2e_counts_cancel', 0, { source_config: { records: 2000, record_delay_seconds: 0.01 } });
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${slow}/runs`);
  assert.equal(t.status, 201, JSON.stringify(t.body));
  const runId = t.body.run_id;
  const until = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (!(await ok())) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const extractOf = async (): Promise<RunView['tasks'][number] | undefined> => task((await stack.api<RunView>('GET', `/api/runs/${runId}`)).body, 'extract');
  await until('the extract to show rows', async () => ((await extractOf())?.rows ?? 0) > 0);
  assert.equal((await stack.api('POST', `/api/runs/${runId}/cancel`)).status, 200);
  assert.equal((await stack.waitForRun(runId, 60_000)).state, 'cancelled');
  let said = NaN;
  await until('the extract to log what it read', async () => {
    const m = /(\d+) records were read before it was stopped/.exec(await extractLog(runId, 1));
    said = Number(m?.[1]);
    return m !== null;
  });
  // The try's last counts are written once its connector has stopped, after that line.
  await until(`the extract's rows to be the ${said} its log says`, async () => (await extractOf())?.rows === said);
});

test("an extract's retry after a try lost with its runner does not discover the source again: the loss was not the catalog's (QA round 53a F3)", { timeout: 180_000 }, async () => {
  const job = await createJob('extract lost', 'e2e_resume_lost', 2, { source_config: { records: 10 }, streams: ['users'] });
  // The first run discovers and stores the catalog.
  assert.equal((await trigger(job)).state, 'success');
  // The second run's first try is lost; its retry reads with the stored catalog.
  loseNextExtractOf = job;
  const run = await trigger(job);
  assert.equal(loseNextExtractOf, null, 'the first try was lost');
  assert.equal(run.state, 'success', JSON.stringify(run.tasks.map((x) => [x.task_id, x.try_number, x.error])));
  assert.equal(task(run, 'extract')?.try_number, 2);
  const retry = await extractLog(run.run_id, 2);
  // Before: "discovering the source again: this extract's try 1 failed (…), and a catalog older than the source can be why".
  assert.doesNotMatch(retry, /discovering the source again/);
  assert.match(retry, /try 2 of \d+ started on runner/, 'the retry ran and logged');
  // The lost try keeps its error among the earlier tries.
  const view = await stack.api<{ tasks: { task_id: string; earlier_tries: { try_number: number; error: string | null }[] }[] }>('GET', `/api/runs/${run.run_id}`);
  const earlier = view.body.tasks.find((x) => x.task_id === 'extract')?.earlier_tries;
  assert.equal(earlier?.length, 1);
  assert.match(earlier?.[0]?.error ?? '', /^runner runner-killed-by-test stopped heart-beating .*; the try is presumed lost$/);
});
