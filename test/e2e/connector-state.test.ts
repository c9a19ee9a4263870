/**
 * A job's saved connector state across the job's life: a connector-wide (GLOBAL) state, as CDC
 * sources save it, holds every stream's position in one value: the API shows it as one entry,
 * refuses to reset one stream of it (saying why), and resets all of it, after which the next run
 * reads every stream again. A source_config changed by PATCH keeps the state; a connector's own
 * refresh of its config is saved, but never over one an operator set meanwhile. A load lost between
 * its commit and its state's save leaves that state to the next run, which reads on from it. The
 * runs use the repository's test connector.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openSourceConfig } from '@sluice/crypto';
import { saveStreamStateRow } from '@sluice/db';
import { putTestConnectorOnPath } from '../connectors/support.ts';
import { readWithPyIceberg } from '../iceberg/pyiceberg.ts';
import { testEnv } from '../support/env.ts';
import { startSluiceStack, type RunView, type SluiceStack } from '../support/sluice-stack.ts';

let stack: SluiceStack;
before(async () => {
  putTestConnectorOnPath();
  stack = await startSluiceStack({ storage: 'file', connectorsDir: path.join(testEnv.tmpDir, 'connectors-state') });
});
after(async () => {
  await stack.close();
});

type StateView = {
  streams: { stream: string | null; kind: string; state: Record<string, unknown>; run_id: string | null }[];
  pending: { stream: string; run_id: string; table: string; state: { stream: { stream_state: unknown } }; recorded_at: string }[];
};

/** A job of the test connector over users and orders. */
async function createJob(name: string, schema: string, over: { mode?: string; source_config?: Record<string, unknown> } = {}): Promise<string> {
  const mode = over.mode ?? 'append';
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name,
    source_name: 'source-sluice-test',
    source_config: over.source_config ?? { records: 4 },
    schema_name: schema,
    mode,
    streams: ['users', 'orders'],
    ...(mode === 'merge' ? { merge: 'id' } : {}),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.job_id;
}

/** Triggers a run, waits for its success, and answers the rows loaded into users and orders. */
async function runLoading(job: string): Promise<number[]> {
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  const r = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(r.state, 'success', JSON.stringify(r.tasks));
  return ['users', 'orders'].map((s) => r.tasks.find((x) => x.task_id === 'load' && x.stream === s)?.rows ?? -1);
}

test('a GLOBAL state is shown as one entry, cannot be reset for one stream, and is reset whole', { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'cdc-like',
    source_name: 'source-sluice-test',
    source_config: { records: 4, state_type: 'global' },
    schema_name: 'state_e2e',
    mode: 'append',
    streams: ['users', 'orders'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const run = async (): Promise<RunView> => {
    const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
    const r = await stack.waitForRun(t.body.run_id, 90_000);
    assert.equal(r.state, 'success', JSON.stringify(r.tasks));
    return r;
  };
  const loaded = (r: RunView): number[] => ['users', 'orders'].map((s) => r.tasks.find((t) => t.task_id === 'load' && t.stream === s)?.rows ?? -1);
  assert.deepEqual(loaded(await run()), [4, 4]);
  const state = await stack.api<{ streams: { stream: string | null; kind: string }[] }>('GET', `/api/airbyte/ingest/${job}/state`);
  assert.deepEqual(state.body.streams.map((s) => [s.stream, s.kind]), [[null, 'global']]);
  assert.deepEqual(loaded(await run()), [0, 0], 'incremental: nothing new');

  const one = await stack.api<{ error: string }>('DELETE', `/api/airbyte/ingest/${job}/state?stream=users`);
  assert.equal(one.status, 409, JSON.stringify(one.body));
  assert.match(one.body.error, /is connector-wide \(GLOBAL\): it holds "users" with every other stream and cannot be reset for one; reset all of it/);
  const all = await stack.api<{ reset: (string | null)[] }>('DELETE', `/api/airbyte/ingest/${job}/state`);
  assert.deepEqual(all.body.reset, [null]);
  assert.deepEqual(loaded(await run()), [4, 4], 'every stream read from the start');
});

test("a job's source_config changed by PATCH keeps its saved state: the next run reads on from it, with the new config", { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'rotated credentials',
    source_name: 'source-sluice-test',
    source_config: { records: 4, canary: 'first-secret-value' },
    schema_name: 'state_rotated',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const run = async (): Promise<number> => {
    const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
    const r = await stack.waitForRun(t.body.run_id, 90_000);
    assert.equal(r.state, 'success', JSON.stringify(r.tasks));
    return r.tasks.find((t) => t.task_id === 'load')?.rows ?? -1;
  };
  assert.equal(await run(), 4);
  const changed = await stack.api<{ source_config: Record<string, unknown> }>('PATCH', `/api/airbyte/ingest/${job}`, { source_config: { records: 6, canary: '**********' } });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.deepEqual(changed.body.source_config, { records: 6, canary: '**********' });
  assert.equal(await run(), 2, 'records 5 and 6: read on from the saved state, with the new record count');
  const row = await stack.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id: job } });
  assert.deepEqual(openSourceConfig(stack.keyring, job, row.sourceConfigEncrypted), { records: 6, canary: 'first-secret-value' });
});

test("a config a run's connector refreshes after the job's source_config was replaced is not saved over it", { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'refresh after rotation',
    source_name: 'source-sluice-test',
    source_config: { records: 2, api_token: 'token-before', control_token: 'token-refreshed', control_delay_seconds: 8 },
    schema_name: 'state_refresh_race',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  const log = async (): Promise<string> => {
    const r = await stack.api<{ lines?: { message: string }[] }>('GET', `/api/runs/${t.body.run_id}/tasks/extract/logs`);
    return (r.body.lines ?? []).map((l) => l.message).join('\n');
  };
  const deadline = Date.now() + 60_000;
  while (!(await log()).includes('before updating the config')) {
    assert.ok(Date.now() < deadline, 'the connector did not start waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
  // Replaced while the connector waits to hand back its refresh of the config it was given.
  const rotated = { records: 2, api_token: 'token-rotated' };
  const changed = await stack.api('PATCH', `/api/airbyte/ingest/${job}`, { source_config: rotated });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  const r = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(r.state, 'success', JSON.stringify(r.tasks));
  assert.match(await log(), /the connector updated its configuration, but the job's source_config was changed since this try read it: the connector's update is not saved/);
  assert.match(await log(), /the catalog discovered is not kept: the job's source_config was changed since this try read it/);
  const row = await stack.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id: job } });
  assert.deepEqual(openSourceConfig(stack.keyring, job, row.sourceConfigEncrypted), rotated);
  assert.equal(row.sourceCatalog, null, 'discovered with the replaced config: the next extract discovers again');
});

test("without a change, a connector's refreshed config is saved for the next runs", { timeout: 120_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'refresh',
    source_name: 'source-sluice-test',
    source_config: { records: 2, api_token: 'token-before', control_token: 'token-refreshed' },
    schema_name: 'state_refresh',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  const r = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(r.state, 'success', JSON.stringify(r.tasks));
  const row = await stack.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id: job } });
  assert.deepEqual(openSourceConfig(stack.keyring, job, row.sourceConfigEncrypted), { records: 2, api_token: 'token-refreshed' });
  assert.ok(row.sourceConfigChangedAt !== null, 'a retried create of this job is told by its digest from now on');
});

test("PUT …/state replaces a job's saved state: another job's carries over, a cursor moved back reads that window again", { timeout: 180_000 }, async () => {
  const put = (job: string, state: unknown[]) => stack.api<StateView & { error: string }>('PUT', `/api/airbyte/ingest/${job}/state`, { state });

  const first = await createJob('state source', 'state_import_a');
  assert.deepEqual(await runLoading(first), [4, 4]);
  const saved = await stack.api<StateView>('GET', `/api/airbyte/ingest/${first}/state`);
  assert.equal(saved.body.streams.length, 2);

  // A new job (say, the first one re-created with another definition) takes the first's state over:
  // GET's answer is PUT as it is (before: only {"state": [...]} was taken; QA round 24).
  const second = await createJob('state taken over', 'state_import_b');
  const taken = await stack.api<StateView & { error: string }>('PUT', `/api/airbyte/ingest/${second}/state`, saved.body);
  assert.equal(taken.status, 200, JSON.stringify(taken.body));
  assert.deepEqual(taken.body.streams.map((s) => [s.stream, s.kind, s.state, s.run_id]), saved.body.streams.map((s) => [s.stream, s.kind, s.state, null]));
  assert.deepEqual(await runLoading(second), [0, 0], 'read on from the state it was given: nothing new');

  // A cursor moved back: the next run reads users 2–4 again; orders' state is gone, so all of them.
  const back = await put(second, [{ type: 'STREAM', stream: { stream_descriptor: { name: 'users' }, stream_state: { seq: 1 } } }]);
  assert.equal(back.status, 200, JSON.stringify(back.body));
  assert.deepEqual(back.body.streams.map((s) => s.stream), ['users']);
  // A run whose extract started before the import (its failed load cleared later, say) saves nothing over it.
  const older = await stack.db.prisma.dagRun.findFirstOrThrow({ where: { jobId: second }, orderBy: { createdAt: 'desc' } });
  const late = { type: 'STREAM', stream: { stream_descriptor: { name: 'users' }, stream_state: { seq: 4 } } };
  assert.equal(await saveStreamStateRow(stack.db.prisma, { jobId: second, runId: older.id, streamKey: 'users', kind: 'stream', state: late }), 'superseded');
  assert.deepEqual((await stack.api<StateView>('GET', `/api/airbyte/ingest/${second}/state`)).body.streams.map((s) => s.state), [back.body.streams[0]?.state]);
  assert.deepEqual(await runLoading(second), [3, 4]);
  const after = await stack.api<StateView>('GET', `/api/airbyte/ingest/${second}/state`);
  assert.ok(after.body.streams.every((s) => s.run_id !== null), "the run's saves replaced the imported states");

  // Refused, the saved state untouched.
  const before = (await stack.api<StateView>('GET', `/api/airbyte/ingest/${second}/state`)).body.streams;
  const users = { type: 'STREAM', stream: { stream_descriptor: { name: 'users' }, stream_state: { seq: 0 } } };
  const foreign = await put(second, [users, { type: 'STREAM', stream: { stream_descriptor: { name: 'invoices' }, stream_state: { seq: 1 } } }]);
  assert.equal(foreign.status, 400, JSON.stringify(foreign.body));
  assert.match(foreign.body.error, /^state\[1\]: stream "invoices" is not a stream of this job \(its streams: users, orders\)$/);
  // A stream of the job under a namespace the source does not have: the connector would never read it.
  const namespaced = { type: 'STREAM', stream: { stream_descriptor: { name: 'users', namespace: 'x' }, stream_state: { seq: 2 } } };
  const elsewhere = await put(second, [users, namespaced]);
  assert.equal(elsewhere.status, 400, JSON.stringify(elsewhere.body));
  assert.equal(elsewhere.body.error, `state[1]: stream "x.users" is not in the source's catalog, which has "users" (no namespace): a state is read under its stream's exact namespace`);
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${second}/runs`);
  const busy = await put(second, [users]);
  assert.equal(busy.status, 409, JSON.stringify(busy.body));
  assert.match(busy.body.error, new RegExp(`cannot be replaced: run ${t.body.run_id} of this job is running, and would save its state over the change`));
  assert.equal((await stack.waitForRun(t.body.run_id, 90_000)).state, 'success');
  const query = await stack.api<{ error: string }>('PUT', `/api/airbyte/ingest/${second}/state?stream=users`, { state: [] });
  assert.equal(query.status, 400, JSON.stringify(query.body));
  assert.match(query.body.error, /^stream: unknown query parameter: PUT \/api\/airbyte\/ingest\/\{job_id\}\/state takes none$/);
  const overwrite = await createJob('state overwrite', 'state_import_c', { mode: 'overwrite' });
  const unused = await put(overwrite, [users]);
  assert.equal(unused.status, 400, JSON.stringify(unused.body));
  assert.match(unused.body.error, /overwrites its tables: each run reads every stream whole and is handed no saved state/);
  assert.deepEqual((await stack.api<StateView>('GET', `/api/airbyte/ingest/${second}/state`)).body.streams.map((s) => s.state), before.map((s) => s.state));
});

test("a state of the other kind than the connector saves is refused while the job has the connector's; imported anyway (after a reset), the first run's saves replace it", { timeout: 180_000 }, async () => {
  const kinds = async (job: string): Promise<string[]> => (await stack.api<StateView>('GET', `/api/airbyte/ingest/${job}/state`)).body.streams.map((s) => `${s.stream ?? '*'}:${s.kind}`);
  const streamState = (name: string, seq: number) => ({ type: 'STREAM', stream: { stream_descriptor: { name }, stream_state: { seq } } });
  const globalState = (seq: number) => ({
    type: 'GLOBAL',
    global: { shared_state: {}, stream_states: ['users', 'orders'].map((name) => ({ stream_descriptor: { name }, stream_state: { seq } })) },
  });

  // A connector that saves one GLOBAL state.
  const global = await createJob('global connector', 'state_kind_global', { source_config: { records: 4, state_type: 'global' } });
  assert.deepEqual(await runLoading(global), [4, 4]);
  const refused = await stack.api<{ error: string }>('PUT', `/api/airbyte/ingest/${global}/state`, { state: [streamState('users', 2)] });
  assert.equal(refused.status, 400, JSON.stringify(refused.body));
  assert.match(refused.body.error, /^state: this job's connector saves one connector-wide GLOBAL state \(run .* saved it\): give that kind, or reset the saved state first/);
  assert.equal((await stack.api('DELETE', `/api/airbyte/ingest/${global}/state`)).status, 200);
  assert.equal((await stack.api('PUT', `/api/airbyte/ingest/${global}/state`, { state: [streamState('users', 2)] })).status, 200);
  assert.deepEqual(await runLoading(global), [2, 4], 'the connector read users on from the import, orders from the start');
  assert.deepEqual(await kinds(global), ['*:global'], "the connector's GLOBAL state replaced the imported STREAM one");
  assert.deepEqual(await runLoading(global), [0, 0], 'nothing read twice');

  // A connector that saves STREAM states, handed a GLOBAL one.
  const perStream = await createJob('stream connector', 'state_kind_stream', { source_config: { records: 4, state_type: 'stream' } });
  assert.equal((await stack.api('PUT', `/api/airbyte/ingest/${perStream}/state`, { state: [globalState(3)] })).status, 200);
  assert.deepEqual(await runLoading(perStream), [1, 1]);
  assert.deepEqual(await kinds(perStream), ['orders:stream', 'users:stream']);
  assert.deepEqual(await runLoading(perStream), [0, 0], 'nothing read twice');
});

/**
 * Makes the database refuse, with `message`, the writes a trigger `on` ("BEFORE UPDATE ON table")
 * and `when` (its row condition) picks, as an outage there would. Answers the undo.
 */
async function refuseWrites(name: string, on: string, when: string, message: string): Promise<() => Promise<void>> {
  await stack.db.prisma.$executeRawUnsafe(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}'; END $$`);
  await stack.db.prisma.$executeRawUnsafe(`CREATE TRIGGER ${name} ${on} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${name}()`);
  return async () => {
    await stack.db.prisma.$executeRawUnsafe(`DROP TRIGGER ${name} ON ${on.replace(/^.* ON /, '')}`);
    await stack.db.prisma.$executeRawUnsafe(`DROP FUNCTION ${name}()`);
  };
}

/**
 * Makes the database refuse every save of the job's connector state, as an outage between a load's
 * commit and its save does (a runner killed there ends the same way, less reproducibly); gives the
 * job's loads one retry after `retryDelayMs`, as an operator can set it (before the job's first run,
 * which reads its DAG once). Answers the undo.
 */
async function refuseStateSaves(job: string, retryDelayMs = 200): Promise<() => Promise<void>> {
  await stack.db.prisma.dagTask.updateMany({ where: { dag: { jobId: job }, taskType: 'load' }, data: { retries: 1, retryDelayMs, maxRetryDelayMs: retryDelayMs } });
  return refuseWrites(`refuse_state_${job.replaceAll('-', '_')}`, 'BEFORE INSERT OR UPDATE ON stream_states', `NEW.job_id = '${job}'::uuid`, 'the database refuses to save this state (test outage)');
}

/** A run whose loads committed and could not save their state: it fails, and the tables hold its rows. */
async function runLosingStateSaves(job: string): Promise<RunView> {
  const allow = await refuseStateSaves(job);
  try {
    const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
    const r = await stack.waitForRun(t.body.run_id, 90_000);
    assert.equal(r.state, 'failed', JSON.stringify(r.tasks));
    for (const stream of ['users', 'orders']) {
      const load = r.tasks.find((x) => x.task_id === 'load' && x.stream === stream);
      assert.equal(load?.state, 'failed', JSON.stringify(load));
      assert.equal(load.try_number, 2, 'the retry found the commit of the first try, and failed to save too');
      assert.match(load.error ?? '', new RegExp(`^\\w+\\.${stream} is loaded, but the stream's connector state could not be saved after it \\(.*the database refuses to save this state`, 's'));
      assert.match(load.error ?? '', /the job's next run saves it before it reads the source, so no record is loaded twice$/);
    }
    return r;
  } finally {
    await allow();
  }
}

async function waitUntil(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const seqs = async (ns: string, table: string): Promise<number[]> =>
  (await readWithPyIceberg(stack.db.url, ns, table, stack.s3)).rows.map((r) => Number(r['seq'])).sort((a, b) => a - b);

test("a load that committed and was lost before saving its state: the next run saves that state first, reads on from it, and appends no row twice", { timeout: 180_000 }, async () => {
  const job = await createJob('lost save', 'state_lost_save');
  const lost = await runLosingStateSaves(job);
  assert.deepEqual(await seqs('state_lost_save', 'users'), [1, 2, 3, 4], 'the failed run committed its rows');
  const view = (await stack.api<StateView>('GET', `/api/airbyte/ingest/${job}/state`)).body;
  assert.deepEqual(view.streams, [], 'and saved no state');
  // What the next run takes up is shown, pending (QA round 22: GET said nothing was saved, and the UI "reads every stream from the start").
  assert.deepEqual(
    view.pending.map((p) => [p.stream, p.run_id, p.table, p.state.stream.stream_state]).sort(),
    [['orders', lost.run_id, 'state_lost_save.orders', { seq: 4 }], ['users', lost.run_id, 'state_lost_save.users', { seq: 4 }]],
  );

  assert.equal((await stack.api('PATCH', `/api/airbyte/ingest/${job}`, { source_config: { records: 6 } })).status, 200);
  assert.deepEqual(await runLoading(job), [2, 2], 'records 5 and 6 only: read on from the state of the commit that was lost');
  for (const table of ['users', 'orders']) assert.deepEqual(await seqs('state_lost_save', table), [1, 2, 3, 4, 5, 6], `${table}: every record once`);
  assert.equal(await stack.db.prisma.pendingStreamState.count({ where: { jobId: job } }), 0, 'nothing left pending');
  const said = await stack.db.prisma.taskLog.findMany({ where: { message: { contains: `run ${lost.run_id} committed stream` } }, select: { message: true } });
  assert.deepEqual(
    said.map((l) => l.message.replace(/^run \S+ committed stream "(\w+)" to (\S+) but (was lost before saving its connector state).*/, '$1 $2 $3')).sort(),
    ['orders state_lost_save.orders was lost before saving its connector state', 'users state_lost_save.users was lost before saving its connector state'],
    "the next extract's log says what it saved",
  );
});

test("a lost load's state is forgotten with the saved state: after a reset of its stream, the next run reads that stream from the start", { timeout: 180_000 }, async () => {
  const job = await createJob('lost save, then reset', 'state_lost_reset');
  await runLosingStateSaves(job);
  const reset = await stack.api<{ reset: (string | null)[] }>('DELETE', `/api/airbyte/ingest/${job}/state?stream=users`);
  assert.equal(reset.status, 200, JSON.stringify(reset.body));
  assert.deepEqual(reset.body.reset, ['users'], 'the pending state it forgot is said (before: none)');
  assert.deepEqual((await stack.api<StateView>('GET', `/api/airbyte/ingest/${job}/state`)).body.pending.map((p) => p.stream), ['orders']);
  assert.deepEqual(await runLoading(job), [4, 0], 'users read again as asked; orders read on from the lost commit\'s state');
  assert.deepEqual(await seqs('state_lost_reset', 'orders'), [1, 2, 3, 4]);
});

test("a load whose commit never happened leaves no state behind: the next run reads those records again, and none is lost", { timeout: 180_000 }, async () => {
  const job = await createJob('lost commit', 'state_lost_commit');
  // The job's policy as an operator sets it (read when the job's DAG is first used): no retry of a load.
  await stack.db.prisma.dagTask.updateMany({ where: { dag: { jobId: job }, taskType: 'load' }, data: { retries: 0 } });
  assert.deepEqual(await runLoading(job), [4, 4]);
  assert.equal((await stack.api('PATCH', `/api/airbyte/ingest/${job}`, { source_config: { records: 6 } })).status, 200);
  // The catalog refuses the commits (records 5 and 6 are never loaded), after the loads recorded the state they were to save.
  const allow = await refuseWrites('refuse_lost_commit', 'BEFORE UPDATE ON iceberg_tables', "OLD.table_namespace = 'state_lost_commit'", 'the catalog refuses this commit (test outage)');
  try {
    const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
    const r = await stack.waitForRun(t.body.run_id, 90_000);
    assert.equal(r.state, 'failed', JSON.stringify(r.tasks));
    assert.match(r.tasks.find((x) => x.task_id === 'load' && x.stream === 'users')?.error ?? '', /the catalog refuses this commit/);
  } finally {
    await allow();
  }
  assert.equal(await stack.db.prisma.pendingStreamState.count({ where: { jobId: job } }), 2, 'the states the loads were to save are pending');
  assert.deepEqual(await runLoading(job), [2, 2], 'records 5 and 6 read again: their commit never happened');
  for (const table of ['users', 'orders']) assert.deepEqual(await seqs('state_lost_commit', table), [1, 2, 3, 4, 5, 6], `${table}: every record once`);
  assert.equal(await stack.db.prisma.pendingStreamState.count({ where: { jobId: job } }), 0);
});

test("with max_active_runs 2, a run that reads while another run's load has committed and not saved its state reads on from that commit", { timeout: 180_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'two at once, one load lost',
    source_name: 'source-sluice-test',
    source_config: { records: 4 },
    schema_name: 'state_lost_concurrent',
    mode: 'append',
    streams: ['users', 'orders'],
    max_active_runs: 2,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  // The first run's loads commit and cannot save their state; their retry waits 15 s, so the run
  // stays under way (as a run whose load was lost does until the try is declared lost).
  const allow = await refuseStateSaves(job, 15_000);
  let first: string;
  try {
    first = (await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`)).body.run_id;
    for (const deadline = Date.now() + 60_000; ; ) {
      const loads = await stack.db.prisma.taskInstance.findMany({ where: { runId: first, taskId: 'load' }, select: { state: true } });
      if (loads.length === 2 && loads.every((l) => l.state === 'up_for_retry')) break;
      if (Date.now() > deadline) throw new Error(`the first run's loads did not wait to retry: ${JSON.stringify(loads)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await allow();
  }
  assert.deepEqual(await seqs('state_lost_concurrent', 'users'), [1, 2, 3, 4], 'the first run committed its rows');
  assert.equal((await stack.api('PATCH', `/api/airbyte/ingest/${job}`, { source_config: { records: 6 } })).status, 200);
  const second = await stack.api<{ run_id: string; state: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  assert.equal(second.body.state, 'running', 'two runs at once');
  const r = await stack.waitForRun(second.body.run_id, 90_000);
  assert.equal(r.state, 'success', JSON.stringify(r.tasks));
  assert.deepEqual(['users', 'orders'].map((s) => r.tasks.find((x) => x.task_id === 'load' && x.stream === s)?.rows), [2, 2], 'records 5 and 6 only');
  for (const table of ['users', 'orders']) assert.deepEqual(await seqs('state_lost_concurrent', table), [1, 2, 3, 4, 5, 6], `${table}: every record once`);
  // The first run's retry finds its own commit and succeeds (before: refused as older than the
  // second run's read, "nothing is missing", although its rows were in the table).
  const ended = await stack.waitForRun(first, 90_000);
  assert.equal(ended.state, 'success', JSON.stringify(ended.tasks));
  for (const table of ['users', 'orders']) assert.deepEqual(await seqs('state_lost_concurrent', table), [1, 2, 3, 4, 5, 6], `${table}: still every record once`);
});

test("runs at once of an incremental append job with a GLOBAL state: the run whose read another's load overlapped skips its load, saves no state past it, and the next run reads what it skipped", { timeout: 240_000 }, async () => {
  const sourceFile = path.join(testEnv.tmpDir, `source-overlap-${Date.now()}.json`);
  await writeFile(sourceFile, JSON.stringify({ records: 4 }));
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'overlapping global reads',
    source_name: 'source-sluice-test',
    source_config: { state_type: 'global', source_file: sourceFile },
    schema_name: 'state_overlap',
    mode: 'append',
    streams: ['users'],
    max_active_runs: 2,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  const trigger = async (): Promise<string> => (await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`)).body.run_id;
  assert.equal((await stack.waitForRun(await trigger(), 90_000)).state, 'success');

  // Run A reads records 5–6 from the saved state (seq 4); while it reads, the source grows to 8 and
  // run B reads 5–8 from the same state, slowly: A's load commits and saves its state (seq 6) after
  // B began reading, and before B's load.
  await writeFile(sourceFile, JSON.stringify({ records: 6, record_delay_seconds: 0.5, log_lines: 1 }));
  const a = await trigger();
  // The connector's read has taken its settings once it logs (it reads the file at each command).
  await waitUntil(async () => {
    const extract = await stack.db.prisma.taskInstance.findFirst({ where: { runId: a, taskId: 'extract' }, select: { id: true } });
    return extract !== null && (await stack.db.prisma.taskLog.count({ where: { taskInstanceId: extract.id, message: { contains: 'chatter 0' } } })) > 0;
  }, "run A's read to start");
  await writeFile(sourceFile, JSON.stringify({ records: 8, record_delay_seconds: 2 }));
  const b = await trigger();
  const [ra, rb] = [await stack.waitForRun(a, 120_000), await stack.waitForRun(b, 120_000)];
  // Before (QA round 48b O13): B's load failed ("appending them would append those twice"), and the job said failed.
  assert.equal(ra.state, 'success', JSON.stringify(ra.tasks));
  assert.equal(rb.state, 'success', JSON.stringify(rb.tasks));
  assert.equal(rb.tasks.find((t) => t.task_id === 'load')?.state, 'skipped');
  const warnings = (await stack.api<{ warnings: string[] }>('GET', `/api/runs/${b}`)).body.warnings;
  assert.ok(
    warnings.some((w) => new RegExp(`^stream users: not loaded — run ${a} of this job loaded state_overlap\\.users at .*, after this run began reading .* so nothing of them is missing$`).test(w)),
    JSON.stringify(warnings),
  );
  // Said once in the load's log, as a warning (QA round 52a O5: at info and again at warn).
  const loads = await stack.db.prisma.taskInstance.findMany({ where: { runId: b, taskId: 'load' }, select: { id: true } });
  const said = await stack.db.prisma.taskLog.findMany({ where: { taskInstanceId: { in: loads.map((l) => l.id) }, message: { startsWith: 'stream users: not loaded' } }, select: { level: true } });
  assert.deepEqual(said.map((l) => l.level), ['warn']);
  assert.deepEqual(await seqs('state_overlap', 'users'), [1, 2, 3, 4, 5, 6], "B appended nothing: its rows 5 and 6 repeat A's");
  const state = await stack.api<StateView>('GET', `/api/airbyte/ingest/${job}/state`);
  assert.deepEqual(state.body.streams.map((s) => [s.kind, s.run_id]), [['global', a]], "B's state (seq 8) was not saved over A's");

  // The next run reads on from A's state: 7 and 8, which only B had read, are loaded once.
  await writeFile(sourceFile, JSON.stringify({ records: 8 }));
  assert.equal((await stack.waitForRun(await trigger(), 90_000)).state, 'success');
  assert.deepEqual(await seqs('state_overlap', 'users'), [1, 2, 3, 4, 5, 6, 7, 8]);
  const status = await stack.api<{ status: string }>('GET', `/api/airbyte/ingest/${job}`);
  assert.equal(status.body.status, 'completed');
});
