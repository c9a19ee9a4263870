/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- answers are parsed JSON; the assertions check their shape */
/**
 * Job management over HTTP with the real engine: PATCH (schedule, time zone, pause) and soft
 * delete change the BullMQ job scheduler in Redis; trigger, list and read runs; cancel a run;
 * clear a failed task; read a task's log by try; named encryption keys.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { queuedRunWait, RUNNER_WAIT_SAID_MS } from '@sluice/core/states';
import { sqlTransaction } from '@sluice/db';
import { EncryptionKeyStore, MasterKeyring } from '@sluice/crypto';
import { schedulerId } from '@sluice/engine';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';

const DEV = 'dev-token-management-01';
let api: ApiHarness;

before(async () => {
  api = await startApi({ devToken: DEV, ui: false });
});
after(async () => {
  await api.close();
});

const req = (method: string, route: string, body?: unknown) => api.request(method, route, { token: DEV, ...(body === undefined ? {} : { body }) });
const scheduler = (jobId: string) => api.engine.schedules.queue.getJobScheduler(schedulerId(jobId));

/** Claims a task instance's first try and reports it succeeded, as a runner would. */
async function succeedAsRunner(runId: string, task: { taskId: string; mapIndex?: number }, mappedStreams?: string[]): Promise<void> {
  const ti = await api.db.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: task.taskId, mapIndex: task.mapIndex ?? -1 } });
  const ref = { instanceId: ti.id, tryNumber: 1, runnerId: 'test-runner' };
  await sqlTransaction(api.db.prisma, async (sql) => {
    assert.ok((await api.engine.store.claimTries(sql, [ref]))[0], `${task.taskId} claimed`);
    await api.engine.store.finishTries(sql, [{ runId, tryRef: ref, outcome: { kind: 'success', output: {}, rows: 0, bytes: 0, mappedStreams } }]);
  });
}

describe('schedule, pause, delete', () => {
  test('creating a scheduled job registers its scheduler; PATCH changes it; pause and delete remove it', async () => {
    const c = await req('POST', '/api/airbyte/ingest', ingestBody({ schedule: '0 * * * *' }));
    assert.equal(c.status, 201, c.text);
    const id = c.body.job_id as string;
    assert.equal((await scheduler(id))?.pattern, '0 * * * *');

    const createdActive = (await api.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } })).scheduleActiveSince.getTime();
    const p = await req('PATCH', `/api/airbyte/ingest/${id}`, { schedule: '15 4 * * *', timezone: 'America/New_York' });
    assert.ok((await api.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } })).scheduleActiveSince.getTime() > createdActive, 'a new schedule is active from now');
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.schedule, '15 4 * * *');
    assert.equal(p.body.timezone, 'America/New_York');
    assert.equal(p.body.catchup, false, 'catch-up is off unless asked for');
    // When it fires next (QA round 27: only the UI said): 04:15 in New York, within the next day.
    const next = new Date(p.body.next_fire_at as string);
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(next);
    assert.equal(local, '04:15:00');
    assert.ok(next.getTime() > Date.now() && next.getTime() <= Date.now() + 25 * 3600_000, p.body.next_fire_at as string);
    const withCatchup = await req('PATCH', `/api/airbyte/ingest/${id}`, { catchup: true });
    assert.equal(withCatchup.status, 200, withCatchup.text);
    assert.equal(withCatchup.body.catchup, true);
    assert.equal((await api.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } })).catchup, true);
    const s = await scheduler(id);
    assert.equal(s?.pattern, '15 4 * * *');
    assert.equal(s?.tz, 'America/New_York');

    // When the schedule last became active: a scheduler back from an outage runs no fire before it.
    const activeSince = async (): Promise<number> => (await api.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } })).scheduleActiveSince.getTime();
    const changedAt = await activeSince();
    const paused = await req('PATCH', `/api/airbyte/ingest/${id}`, { paused: true });
    assert.equal(paused.body.is_paused, true);
    assert.equal(paused.body.next_fire_at, null, 'a paused job does not fire');
    assert.equal(await scheduler(id), undefined, 'a paused job has no scheduler');
    assert.equal(await activeSince(), changedAt, 'pausing does not move it');
    const resumed = await req('PATCH', `/api/airbyte/ingest/${id}`, { paused: false });
    assert.equal(resumed.body.is_paused, false);
    assert.equal(resumed.body.next_fire_at, p.body.next_fire_at);
    assert.equal((await scheduler(id))?.pattern, '15 4 * * *');
    assert.ok((await activeSince()) > changedAt, 'resuming moves it');
    // is_paused, the name GET answers (and Airflow's PATCH takes), does the same (before: "unknown field"; QA round 28).
    const byGetName = await req('PATCH', `/api/airbyte/ingest/${id}`, { is_paused: true });
    assert.equal(byGetName.status, 200, byGetName.text);
    assert.equal(byGetName.body.is_paused, true);
    assert.equal(await scheduler(id), undefined);
    const both = await req('PATCH', `/api/airbyte/ingest/${id}`, { is_paused: false, paused: true });
    assert.equal(both.status, 400, both.text);
    assert.match(both.body.error, /is_paused: says the opposite of paused/);
    assert.equal((await req('PATCH', `/api/airbyte/ingest/${id}`, { is_paused: false, paused: false })).body.is_paused, false);
    assert.equal((await scheduler(id))?.pattern, '15 4 * * *');

    const d = await req('DELETE', `/api/airbyte/ingest/${id}`);
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.body, { flow_url: c.body.flow_url, job_id: id, error: null, cancelled_run_ids: [] });
    assert.equal(await scheduler(id), undefined, 'a deleted job has no scheduler');
    const row = await api.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } });
    assert.equal(row.isDeleted, true, 'the row stays (soft delete)');
    assert.equal((await req('DELETE', `/api/airbyte/ingest/${id}`)).status, 200, 'deleting twice is harmless');
    assert.equal((await req('PATCH', `/api/airbyte/ingest/${id}`, { paused: true })).status, 409);
    assert.equal((await req('POST', `/api/airbyte/ingest/${id}/runs`)).status, 409);
    const list = await req('GET', '/api/airbyte/ingest');
    assert.ok(!list.body.jobs.some((j: { job_id: string }) => j.job_id === id), 'deleted jobs are not listed by default');
    const withDeleted = await req('GET', '/api/airbyte/ingest?include_deleted=true');
    const deleted = (withDeleted.body.jobs as { job_id: string; next_fire_at: string | null }[]).find((j) => j.job_id === id);
    assert.ok(deleted);
    assert.equal(deleted.next_fire_at, null, 'a deleted job does not fire');
    const onDemand = await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'on demand only' }));
    assert.equal((await req('GET', `/api/airbyte/ingest/${onDemand.body.job_id as string}`)).body.next_fire_at, null);
  });

  test('PATCH validates: bad cron, bad zone, unknown field, empty body', async () => {
    const c = await req('POST', '/api/airbyte/ingest', ingestBody());
    const id = c.body.job_id as string;
    const cases: [unknown, RegExp][] = [
      [{ schedule: '* * * * * * *' }, /schedule: .*7 fields/],
      // valid fields, no date: answered 200 before while the old schedule kept firing
      [{ schedule: '0 0 30 2 *' }, /schedule: "0 0 30 2 \*" matches no date that occurs/],
      [{ timezone: 'Nowhere/Special' }, /timezone: /],
      [{ schedule: '0 * * * *', paused: 'yes' }, /paused: /],
      // Only that (before: "…; body: give at least one of …" too; QA round 25).
      [{ colour: 'x' }, /^colour: unknown field$/],
      // A field only GET answers is read-only, not unknown (QA round 55c F7).
      [{ job_id: id, status: 'running', schedule: '0 * * * *' }, /^job_id: is read-only: GET answers it, and no PATCH changes it; status: is read-only: GET answers it, and no PATCH changes it$/],
      [
        { streams: ['orders'], mode: 'merge' },
        /^streams: is set when the job is created and cannot be changed \(the job's is \[\]\); mode: is set when the job is created and cannot be changed \(the job's is "append"\)\. PATCH changes schedule, timezone, paused, catchup, max_active_runs, source_config, and takes a field of the job sent with the value GET answers as no change\. To change the others, delete the job and create it again /,
      ],
      [{ owner_id: 'x' }, /^owner_id: is set when the job is created and cannot be changed/],
      [{ schedule: ' ' }, /^schedule: is empty: give a cron expression, or null for a job that runs on demand only$/],
      [{ schedule: '0 * * * *', timezone: 'UTC\u0000' }, /^timezone: must not contain the NUL character \(U\+0000\)$/],
      [{}, /at least one of schedule, timezone, paused, catchup, max_active_runs, source_config/],
      [{ source_config: 'x' }, /^source_config: /],
      [{ catchup: 'yes' }, /catchup: /],
    ];
    for (const [body, expected] of cases) {
      const r = await req('PATCH', `/api/airbyte/ingest/${id}`, body);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.job_id, null);
      assert.match(r.body.error, expected);
    }
    const row = await api.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } });
    assert.equal(row.schedule, null);
    assert.equal(row.timezone, 'UTC');
  });

  test("PATCH takes the job's definition fields sent back with the values GET answers as no change, and refuses a change of one, naming it", async () => {
    const created = await req(
      'POST',
      '/api/airbyte/ingest',
      ingestBody({
        name: 'sent back',
        mode: 'merge',
        streams: ['users', 'products'],
        merge: 'id',
        tags: ['pii'],
        column_transformations: [{ column: 'email', stream: 'users', new_name: 'mail' }],
      }),
    );
    assert.equal(created.status, 201, created.text);
    const id = created.body.job_id as string;
    const got = (await req('GET', `/api/airbyte/ingest/${id}`)).body as Record<string, unknown>;
    const definition = Object.fromEntries(
      ['name', 'source_name', 'schema_name', 'mode', 'streams', 'merge', 'domain', 'tags', 'owner_id', 'column_transformations', 'archive_staging', 'add_ingestion_metadata'].map((k) => [k, got[k]]),
    );
    // GET, change the schedule, PATCH the definition back (before: 400 "name: is set when the job is created …", QA round 48b D5).
    const back = await req('PATCH', `/api/airbyte/ingest/${id}`, { ...definition, schedule: '0 5 * * *' });
    assert.equal(back.status, 200, back.text);
    assert.equal(back.body.schedule, '0 5 * * *');
    // The create's own form of the same values is the same definition.
    const asCreated = await req('PATCH', `/api/airbyte/ingest/${id}`, {
      streams: ['users', 'products'],
      merge: ' id ',
      column_transformations: [{ column: 'email', stream: 'users', new_name: 'mail' }],
      schedule: '0 6 * * *',
    });
    assert.equal(asCreated.status, 200, asCreated.text);
    // A stream is named exactly: " users" is another stream (QA round 55c F2).
    const spaced = await req('PATCH', `/api/airbyte/ingest/${id}`, { streams: [' users', 'products'], schedule: '0 6 * * *' });
    assert.equal(spaced.status, 400, spaced.text);
    assert.match(spaced.body.error, /^streams: is set when the job is created and cannot be changed/);
    const changed = await req('PATCH', `/api/airbyte/ingest/${id}`, { ...definition, name: 'renamed', streams: ['products', 'users'], schedule: '0 7 * * *' });
    assert.equal(changed.status, 400, changed.text);
    assert.match(changed.body.error, /^name: is set when the job is created and cannot be changed \(the job's is "sent back"\); streams: is set when the job is created and cannot be changed \(the job's is \["users","products"\]\)\. PATCH changes/);
    assert.doesNotMatch(changed.body.error, /mode:|tags:|merge:/, 'the fields sent unchanged are not named');
    const onlyDefinition = await req('PATCH', `/api/airbyte/ingest/${id}`, { name: 'sent back', mode: 'merge' });
    assert.equal(onlyDefinition.status, 400, onlyDefinition.text);
    assert.match(onlyDefinition.body.error, /give at least one of schedule, timezone, paused, catchup, max_active_runs, source_config \(name, mode: the job's already, which changes nothing\)/);
    const row = await api.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } });
    assert.equal(row.schedule, '0 6 * * *', 'the refused PATCH changed nothing');
    assert.equal(row.name, 'sent back');
  });

  test('a method a path does not take is 405 with Allow; a body a route does not read is refused', async () => {
    const put = await req('PUT', '/api/airbyte/ingest', ingestBody());
    assert.equal(put.status, 405, put.text); // was 404 "route PUT … not found"
    assert.equal(put.headers.get('allow'), 'GET, HEAD, OPTIONS, POST');
    // In the contract's shape, as every error of the ingest routes (before: {error}; QA round 25).
    assert.deepEqual(Object.keys(put.body).sort(), ['error', 'flow_url', 'job_id']);
    assert.equal(put.body.error, 'PUT is not allowed on /api/airbyte/ingest (allowed: GET, HEAD, OPTIONS, POST)');
    const del = await req('DELETE', '/api/runs/00000000-0000-4000-8000-000000000000');
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'GET, HEAD, OPTIONS');
    assert.deepEqual(Object.keys(del.body), ['error'], 'outside the ingest routes, {error}');
    assert.equal((await req('GET', '/api/nothing/here')).status, 404);
    // What express cannot read is the client's mistake, said, not a 500 with a stack (QA round 43a F1, F2).
    const escape = await api.request('GET', '/api/airbyte/ingest/%ff', { token: null });
    assert.deepEqual([escape.status, escape.body.error], [400, 'path: a percent-escape in it does not decode (e.g. %ff): escape each byte of UTF-8 as %XX']);
    assert.equal((await req('GET', '/api/runs/x/tasks/%E0%A4%A/logs')).status, 400);
    const gzip = await api.request('POST', '/api/airbyte/ingest', { token: DEV, raw: '{}', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    assert.deepEqual([gzip.status, gzip.body.error], [400, 'body: does not decode by its Content-Encoding (gzip, deflate or br)']);
    const deflate = await api.request('POST', '/api/airbyte/ingest', { token: DEV, raw: 'not deflated', headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' } });
    assert.deepEqual([deflate.status, deflate.body.error], [400, 'body: does not decode by its Content-Encoding (gzip, deflate or br)']);

    const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'no conf' }))).body.job_id as string;
    // Airflow's trigger takes a conf; this one does not: it was ignored and a run started
    const conf = await req('POST', `/api/airbyte/ingest/${own}/runs`, { conf: { day: '2026-01-01' } });
    assert.equal(conf.status, 400, conf.text);
    assert.match(conf.body.error, /^body: POST \/api\/airbyte\/ingest\/\{job_id\}\/runs takes no request body: a run has no conf of its own \(Airflow's `conf`\); it runs with its job's settings, which PATCH changes$/);
    assert.equal((await api.db.prisma.dagRun.count({ where: { jobId: own } })), 0, 'no run was started');
    // A body of another type says something too (before: it was ignored and a run started; QA round 25).
    const text = await api.request('POST', `/api/airbyte/ingest/${own}/runs`, { token: DEV, raw: 'please do not run', headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 400, text.text);
    assert.match(text.body.error, /takes no request body/);
    assert.equal((await api.db.prisma.dagRun.count({ where: { jobId: own } })), 0, 'no run was started');
    assert.equal((await req('POST', `/api/airbyte/ingest/${own}/runs`, {})).status, 201, 'an empty object is no body');
    // A route that takes no query parameters refuses them, as list routes refuse unknown ones (before: ignored; QA round 21).
    const withQuery = await req('GET', `/api/airbyte/ingest/${own}?include_deleted=true`);
    assert.equal(withQuery.status, 400, withQuery.text);
    assert.equal(withQuery.body.error, 'include_deleted: unknown query parameter: GET /api/airbyte/ingest/{job_id} takes none');
    const listed = await req('GET', '/api/airbyte/ingest?colour=red');
    assert.equal(listed.status, 400, listed.text);
    // Named as a query parameter, with those the route takes (before: "colour: unknown field"; QA round 28).
    assert.equal(listed.body.error, 'colour: unknown query parameter: GET /api/airbyte/ingest takes owner_id, status, name, include_deleted, limit, offset');
    const purge = await req('DELETE', `/api/airbyte/ingest/${own}?purge=true`);
    assert.equal(purge.status, 400, purge.text);
    assert.match(purge.body.error, /^purge: unknown query parameter: DELETE \/api\/airbyte\/ingest\/\{job_id\} takes none$/);
    // A value of the wrong kind is said in Sluice's words, never zod's ("Invalid input: expected number, received NaN").
    assert.equal((await req('GET', `/api/airbyte/ingest/${own}/runs?state=bogus`)).body.error, 'state: must be one of "queued", "running", "success", "failed", "cancelled"');
    assert.match((await req('GET', '/api/airbyte/ingest?status=bogus')).body.error, /^status: must be one of "new", /);
    assert.equal((await req('PATCH', `/api/airbyte/ingest/${own}`, { max_active_runs: 0 })).body.error, 'max_active_runs: must be 1 or more');
    // Past 2^53, the bound alone (QA round 43a F9: zod's "Too big: expected int to be <=9007199254740991" beside it).
    assert.equal((await req('PATCH', `/api/airbyte/ingest/${own}`, { max_active_runs: 9223372036854775807 })).body.error, 'max_active_runs: must be 100 or less');
    // A parameter given twice is said so (before: "limit: must be a whole number from 1 to 200", which both were; QA round 29).
    assert.equal((await req('GET', '/api/airbyte/ingest?limit=2&limit=3')).body.error, 'limit: is given 2 times: give it once');
  });

  test('list filters by name and status, and pages', async () => {
    for (const n of ['alpha one', 'alpha two', 'beta', '50%_off\\x']) await req('POST', '/api/airbyte/ingest', ingestBody({ name: n }));
    // LIKE's wildcards and escape are matched as typed (before: "_" and "%" matched any job; QA round 25).
    const named = async (q: string): Promise<string[]> => (await req('GET', `/api/airbyte/ingest?name=${encodeURIComponent(q)}`)).body.jobs.map((j: { name: string }) => j.name) as string[];
    assert.deepEqual(await named('_'), ['50%_off\\x']);
    assert.deepEqual(await named('%'), ['50%_off\\x']);
    assert.deepEqual(await named('a_one'), []);
    assert.deepEqual(await named('0%_OFF\\'), ['50%_off\\x']);
    const alpha = await req('GET', '/api/airbyte/ingest?name=ALPHA&limit=1');
    assert.equal(alpha.body.total, 2);
    assert.equal(alpha.body.jobs.length, 1);
    const page2 = await req('GET', '/api/airbyte/ingest?name=alpha&limit=1&offset=1');
    assert.notEqual(page2.body.jobs[0].job_id, alpha.body.jobs[0].job_id);
    const failed = await req('GET', '/api/airbyte/ingest?status=failed');
    assert.equal(failed.body.total, 0);
    const bad = await req('GET', '/api/airbyte/ingest?status=weird');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /status: /);
    const badLimit = await req('GET', '/api/airbyte/ingest?limit=1000');
    assert.equal(badLimit.status, 400);
    assert.equal(badLimit.body.error, 'limit: must be a whole number from 1 to 200');
    // before: "expected number, received NaN" (QA round 28).
    assert.equal((await req('GET', '/api/airbyte/ingest?limit=abc')).body.error, 'limit: must be a whole number from 1 to 200');
    assert.equal((await req('GET', '/api/airbyte/ingest?offset=-1')).body.error, 'offset: must be a whole number from 0 to 2147483647');
    // QA round 43a F9: the bound was not named, a value past 2^53 was said twice, and `1.0` was read as 1.
    for (const q of ['offset=2147483648', 'offset=9223372036854775807', 'offset=1.0', 'limit=1.0']) {
      const said = await req('GET', `/api/airbyte/ingest?${q}`);
      assert.deepEqual([said.status, said.body.error], [400, q.startsWith('offset') ? 'offset: must be a whole number from 0 to 2147483647' : 'limit: must be a whole number from 1 to 200'], q);
    }
  });
});

describe('runs and tasks', () => {
  let jobId: string;
  before(async () => {
    jobId = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'runs job' }))).body.job_id;
  });

  test('trigger, list and read a run', async () => {
    const t = await req('POST', `/api/airbyte/ingest/${jobId}/runs`);
    assert.equal(t.status, 201, t.text);
    assert.deepEqual(Object.keys(t.body).sort(), ['job_id', 'message', 'run_id', 'state']);
    const list = await req('GET', `/api/airbyte/ingest/${jobId}/runs`);
    assert.equal(list.body.total, 1);
    assert.equal(list.body.runs[0].run_id, t.body.run_id);
    const run = await req('GET', `/api/runs/${t.body.run_id}`);
    assert.equal(run.status, 200);
    for (const f of ['state', 'run_type', 'logical_date', 'started_at', 'ended_at', 'tasks']) assert.ok(f in run.body, f);
    assert.equal(run.body.run_type, 'manual');
    const extract = run.body.tasks.find((x: { task_id: string }) => x.task_id === 'extract');
    for (const f of ['task_id', 'stream', 'state', 'try_number', 'rows', 'error']) assert.ok(f in extract, f);
    assert.equal(extract.state, 'queued');
  });

  test('cancel a run; cancelling again conflicts', async () => {
    // Ids written in upper case in the path are answered in their canonical lower case (QA round 43a F9: echoed as sent).
    const t = await req('POST', `/api/airbyte/ingest/${jobId.toUpperCase()}/runs`);
    assert.equal(t.status, 201, t.text);
    assert.equal(t.body.job_id, jobId);
    const c = await req('POST', `/api/runs/${String(t.body.run_id).toUpperCase()}/cancel`);
    assert.equal(c.status, 200, c.text);
    assert.equal(c.body.run_id, t.body.run_id);
    assert.equal(c.body.state, 'cancelled');
    const again = await req('POST', `/api/runs/${t.body.run_id}/cancel`);
    assert.equal(again.status, 409, again.text);
    assert.deepEqual(Object.keys(again.body), ['error']);
  });

  test('a PATCH made on a stale read is refused with If-Match (412); the ETag is the settings, not the runs', async () => {
    const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'if-match', schedule: '0 * * * *' }))).body.job_id as string;
    const read = await req('GET', `/api/airbyte/ingest/${own}`);
    const etag = read.headers.get('etag');
    assert.equal(etag, `"${read.body.settings_version}"`);
    const patch = (body: unknown, ifMatch: string) => api.request('PATCH', `/api/airbyte/ingest/${own}`, { token: DEV, body, headers: { 'if-match': ifMatch } });
    // No runner here: the run stays running, and the job's status changes, not its settings.
    assert.equal((await req('POST', `/api/airbyte/ingest/${own}/runs`)).status, 201);
    assert.equal((await req('GET', `/api/airbyte/ingest/${own}`)).headers.get('etag'), etag, "a run does not change the job's version");
    // Another client's change: the first client's change, made on what it read, is refused and writes nothing.
    const other = await req('PATCH', `/api/airbyte/ingest/${own}`, { max_active_runs: 3 });
    assert.equal(other.status, 200, other.text);
    assert.notEqual(other.headers.get('etag'), etag);
    const stale = await patch({ schedule: '30 * * * *' }, etag ?? '');
    assert.equal(stale.status, 412, stale.text);
    assert.match(stale.body.error, /^If-Match: job [0-9a-f-]{36} changed since it was read/);
    assert.equal(stale.body.job_id, null);
    const now = await req('GET', `/api/airbyte/ingest/${own}`);
    assert.deepEqual([now.body.schedule, now.body.max_active_runs], ['0 * * * *', 3]);
    // Made on the current version (as an ETag or bare), or on any (*), it is made.
    const fresh = await patch({ schedule: '30 * * * *' }, now.headers.get('etag') ?? '');
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.headers.get('etag'), `"${fresh.body.settings_version}"`);
    assert.equal((await patch({ catchup: true }, fresh.body.settings_version as string)).status, 200);
    assert.equal((await patch({ catchup: false }, '*')).status, 200);
    const weak = await patch({ catchup: true }, `W/"${fresh.body.settings_version}"`);
    assert.equal(weak.status, 412, 'a weak tag matches nothing');
    // Said as such (before: "changed since it was read", which it had not; QA round 28).
    assert.match(weak.body.error, /^If-Match: a weak tag \(W\/"…"\) never matches/);
    // A list matches any of its tags (RFC 9110; before: refused, 400; QA round 26).
    const current = (await req('GET', `/api/airbyte/ingest/${own}`)).headers.get('etag') ?? '';
    assert.equal((await patch({ catchup: true }, `"a", ${current}`)).status, 200);
    assert.equal((await patch({ catchup: false }, `"a", "b"`)).status, 412);
    // A value that is no tag is the client's mistake (before: 412 "changed since it was read"; QA round 29).
    const garbage = await patch({ catchup: true }, 'garbage');
    assert.equal(garbage.status, 400, garbage.text);
    assert.match(garbage.body.error, /^If-Match: is no entity tag: send the ETag as GET answered it/);
    // A header sent empty (a client's unset variable) is refused, not taken as absent. (QA round 30a
    // F5 saw `curl -H 'If-Match: '` applied: curl sends no header at all for that, which is no precondition.)
    for (const empty of ['', ' ']) {
      const none = await patch({ catchup: false }, empty);
      assert.equal(none.status, 400, none.text);
      assert.match(none.body.error, /^If-Match: is no entity tag/);
    }
    assert.equal((await req('GET', `/api/airbyte/ingest/${own}`)).body.catchup, true, 'nothing was changed');
  });

  test('max_active_runs (a Sluice extension): that many runs at once, the others queued; raised by PATCH, the queued ones start', async () => {
    const created = await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'two at once', max_active_runs: 2 }));
    assert.equal(created.status, 201, created.text);
    const own = created.body.job_id as string;
    assert.equal((await req('GET', `/api/airbyte/ingest/${own}`)).body.max_active_runs, 2);
    // No runner here: runs that start stay running.
    const triggered: { run_id: string; state: string }[] = [];
    for (let i = 0; i < 4; i++) triggered.push((await req('POST', `/api/airbyte/ingest/${own}/runs`)).body);
    assert.deepEqual(triggered.map((t) => t.state), ['running', 'running', 'queued', 'queued']);
    const raised = await req('PATCH', `/api/airbyte/ingest/${own}`, { max_active_runs: 3 });
    assert.equal(raised.status, 200, raised.text);
    assert.equal(raised.body.max_active_runs, 3);
    const states = async (): Promise<string[]> => Promise.all(triggered.map(async (t) => (await req('GET', `/api/runs/${t.run_id}`)).body.state as string));
    assert.deepEqual(await states(), ['running', 'running', 'running', 'queued'], 'the oldest queued run took the new slot');
    // Lowered, the runs under way go on; none starts until fewer run than the new limit.
    assert.equal((await req('PATCH', `/api/airbyte/ingest/${own}`, { max_active_runs: 1 })).status, 200);
    assert.equal((await req('POST', `/api/runs/${triggered[0]?.run_id}/cancel`)).status, 200);
    assert.deepEqual(await states(), ['cancelled', 'running', 'running', 'queued']);
    for (const bad of [0, 101, 1.5, '2', null]) {
      const r = await req('PATCH', `/api/airbyte/ingest/${own}`, { max_active_runs: bad });
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
      assert.match(r.body.error, /^max_active_runs: /);
    }
    const refused = await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'none at once', max_active_runs: 0 }));
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.body.error, /max_active_runs: /);
  });

  test("a resume's answer shows the job as the queued run it started left it", async () => {
    const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'resumed answer' }))).body.job_id as string;
    // No runner here: the first run stays running, the second waits; paused, its cancel starts nothing.
    const first = (await req('POST', `/api/airbyte/ingest/${own}/runs`)).body as { run_id: string; state: string };
    const second = (await req('POST', `/api/airbyte/ingest/${own}/runs`)).body as { run_id: string; state: string };
    assert.deepEqual([first.state, second.state], ['running', 'queued']);
    assert.equal((await req('PATCH', `/api/airbyte/ingest/${own}`, { paused: true })).status, 200);
    // A trigger while paused says its run waits for the resume (before: only "queued"; QA round 24).
    const third = await req('POST', `/api/airbyte/ingest/${own}/runs`);
    assert.deepEqual([third.body.state, third.body.message], ['queued', queuedRunWait(true)]);
    // The run views say it too (before: state_message null; QA round 26).
    assert.equal((await req('GET', `/api/runs/${second.run_id}`)).body.state_message, queuedRunWait(true));
    const listed = (await req('GET', `/api/airbyte/ingest/${own}/runs?state=queued`)).body.runs as { state_message: string }[];
    assert.deepEqual(listed.map((r) => r.state_message), [queuedRunWait(true), queuedRunWait(true)]);
    assert.equal((await req('POST', `/api/runs/${third.body.run_id}/cancel`)).status, 200);
    assert.equal((await req('POST', `/api/runs/${first.run_id}/cancel`)).status, 200);
    assert.notEqual((await req('GET', `/api/airbyte/ingest/${own}`)).body.status, 'running');
    const resumed = await req('PATCH', `/api/airbyte/ingest/${own}`, { paused: false });
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal((await req('GET', `/api/runs/${second.run_id}`)).body.state, 'running');
    // before: the answer was read before the resume started the run (QA round 22).
    assert.equal(resumed.body.status, 'running');
  });

  test("cancelling a job's queued runs stops its backlog at once; the run under way goes on", async () => {
    const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'backlog' }))).body.job_id as string;
    // No runner here: the first run stays running; max_active_runs 1 queues the others.
    const first = await req('POST', `/api/airbyte/ingest/${own}/runs`);
    assert.deepEqual(first.body, { run_id: first.body.run_id, job_id: own, state: 'running', message: null }, 'the trigger says the run started');
    const running = first.body.run_id as string;
    const queued = [];
    for (let i = 0; i < 3; i++) {
      const t = await req('POST', `/api/airbyte/ingest/${own}/runs`);
      assert.equal(t.body.state, 'queued', 'the trigger says the run waits for a slot');
      assert.equal(t.body.message, queuedRunWait(false));
      queued.push(t.body.run_id as string);
    }
    const c = await req('POST', `/api/airbyte/ingest/${own}/runs/cancel`);
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(c.body, { job_id: own, cancelled_run_ids: queued });
    for (const runId of queued) {
      const r = (await req('GET', `/api/runs/${runId}`)).body;
      assert.deepEqual([r.state, r.started_at], ['cancelled', null], `run ${runId}`);
      assert.ok(r.tasks.every((t: { state: string }) => t.state === 'cancelled'));
    }
    assert.equal((await req('GET', `/api/runs/${running}`)).body.state, 'running', 'the run under way goes on');
    assert.equal((await req('GET', `/api/jobs/${own}`)).body.status, 'running', "withdrawn runs do not touch the job's status");
    // The run list filters by state and type, and pages within the filter.
    const listed = async (query: string): Promise<{ ids: string[]; total: number }> => {
      const r = await req('GET', `/api/airbyte/ingest/${own}/runs?${query}`);
      assert.equal(r.status, 200, r.text);
      return { ids: r.body.runs.map((x: { run_id: string }) => x.run_id), total: r.body.total };
    };
    assert.deepEqual(await listed('state=cancelled'), { ids: [...queued].reverse(), total: 3 }, 'newest first');
    assert.deepEqual(await listed('state=cancelled&limit=2&offset=2'), { ids: [queued[0]], total: 3 });
    assert.deepEqual(await listed('state=running&run_type=manual'), { ids: [running], total: 1 });
    assert.deepEqual(await listed('state=failed'), { ids: [], total: 0 });
    assert.deepEqual(await listed('run_type=scheduled'), { ids: [], total: 0 });
    const bad = await req('GET', `/api/airbyte/ingest/${own}/runs?state=done`);
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /state/);
    assert.deepEqual((await req('POST', `/api/airbyte/ingest/${own}/runs/cancel`)).body, { job_id: own, cancelled_run_ids: [] }, 'none left: not an error');
    assert.equal((await req('POST', `/api/airbyte/ingest/${own}/runs/cancel`, { all: true })).status, 400, 'the route takes no body');
    assert.equal((await req('POST', '/api/airbyte/ingest/00000000-0000-4000-8000-000000000000/runs/cancel')).status, 404);
    assert.equal((await req('DELETE', `/api/airbyte/ingest/${own}`)).status, 200);
    assert.equal((await req('POST', `/api/airbyte/ingest/${own}/runs/cancel`)).status, 409);
  });

  test('a trigger racing the delete of its job answers 201 or 409 "is deleted", never 404 for a job that is there', async () => {
    const answers = new Set<string>();
    for (let round = 0; round < 10; round++) {
      const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: `raced ${round}`, max_active_runs: 10 }))).body.job_id as string;
      const [deleted, ...triggers] = await Promise.all([
        req('DELETE', `/api/airbyte/ingest/${own}`),
        ...Array.from({ length: 4 }, () => req('POST', `/api/airbyte/ingest/${own}/runs`)),
      ]);
      assert.equal(deleted?.status, 200);
      for (const t of triggers) {
        answers.add(t.status === 409 ? `409 ${String(t.body.error)}`.replace(own, '{job}') : String(t.status));
      }
      // before (QA round 25): some answered 404 "ingestion job … not found"
      assert.ok(triggers.every((t) => t.status === 201 || t.status === 409), triggers.map((t) => `${t.status} ${t.text}`).join('; '));
      assert.equal(await api.db.prisma.dagRun.count({ where: { jobId: own, state: { in: ['queued', 'running'] } } }), 0, 'no run of a deleted job is left under way');
    }
    assert.ok([...answers].every((a) => a === '201' || a === '409 job {job} is deleted'), [...answers].join('; '));
  });

  test('a fire that made no run, as a scheduled run already waited, is named on the job (QA round 41a F3: only a log line said it)', async () => {
    const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'skipped fire', schedule: '*/5 * * * *' }))).body.job_id as string;
    assert.equal((await req('GET', `/api/airbyte/ingest/${own}`)).body.skipped_fire_at, null, 'none yet');
    // The scheduler's fires, made here; no runner: the first run stays running, the second waits.
    const fire = (minutes: number): Date => new Date(Date.UTC(2026, 0, 5, 10, minutes));
    for (const m of [0, 5]) assert.notEqual(await api.engine.schedules.createScheduledRun(own, fire(m)), null);
    assert.equal(await api.engine.schedules.createScheduledRun(own, fire(10)), null, 'a third fire while one waits: no run');
    const job = await req('GET', `/api/airbyte/ingest/${own}`);
    assert.equal(job.body.skipped_fire_at, fire(10).toISOString());
    const runs = (await req('GET', `/api/airbyte/ingest/${own}/runs`)).body.runs as { logical_date: string }[];
    assert.ok(!runs.some((r) => r.logical_date === fire(10).toISOString()), 'the skipped fire has no run');
    // A changed schedule forgets the old one's skipped fire (QA round 47b F4: the page showed it
    // under the new schedule as "latest fire with no run"); a skip of the new one is named again.
    const changed = await req('PATCH', `/api/airbyte/ingest/${own}`, { schedule: '@daily', timezone: 'Asia/Kolkata' });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.body.skipped_fire_at, null, 'the old schedule\'s skipped fire is forgotten');
    const daily = new Date(Date.UTC(2026, 0, 6, 18, 30));
    assert.equal(await api.engine.schedules.createScheduledRun(own, daily), null, "the new schedule's fire while a run waits: no run");
    assert.equal((await req('GET', `/api/airbyte/ingest/${own}`)).body.skipped_fire_at, daily.toISOString());
    await req('DELETE', `/api/airbyte/ingest/${own}`);
  });

  test('a running run whose task no runner has taken for 5 s says it waits for a runner (QA round 48b D1: "running", and nothing more, for minutes)', async () => {
    const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'waits for a runner' }))).body.job_id as string;
    // No runner here: the extract stays queued.
    const runId = (await req('POST', `/api/airbyte/ingest/${own}/runs`)).body.run_id as string;
    const at = async (): Promise<{ state: string; state_message: string | null }> => (await req('GET', `/api/runs/${runId}`)).body as { state: string; state_message: string | null };
    assert.deepEqual(await at(), { ...(await at()), state: 'running', state_message: null }, 'a task just queued: nothing to say yet');
    await sleep(RUNNER_WAIT_SAID_MS + 300);
    const waiting = await at();
    assert.equal(waiting.state, 'running');
    assert.match(
      waiting.state_message ?? '',
      /^Waits for a runner: extract has been queued for [5-9] s, and no runner has taken it\. Every runner slot is taken by tasks of this or other jobs \(a runner runs SLUICE_RUNNER_CONCURRENCY tasks at once\), or no runner is running\.$/,
    );
    await req('DELETE', `/api/airbyte/ingest/${own}`);
  });

  test('deleting a job cancels its runs under way, running and queued; its finished runs stay as they were', async () => {
    const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'deleted while running' }))).body.job_id as string;
    const done = (await req('POST', `/api/airbyte/ingest/${own}/runs`)).body.run_id as string;
    await req('POST', `/api/runs/${done}/cancel`);
    // No runner here: the first run stays running with its extract queued; max_active_runs 1 queues the second.
    const running = (await req('POST', `/api/airbyte/ingest/${own}/runs`)).body.run_id as string;
    const queued = (await req('POST', `/api/airbyte/ingest/${own}/runs`)).body.run_id as string;
    assert.equal((await req('GET', `/api/runs/${queued}`)).body.state, 'queued');
    const endedBefore = (await req('GET', `/api/runs/${done}`)).body.ended_at as string;
    const deletion = await req('DELETE', `/api/airbyte/ingest/${own}`);
    assert.equal(deletion.status, 200, deletion.text);
    // QA round 40a F8: the answer named no run, where the cancel of queued runs names its own.
    assert.deepEqual(deletion.body.cancelled_run_ids, [running, queued], 'the runs it cancelled, oldest first');
    assert.deepEqual((await req('DELETE', `/api/airbyte/ingest/${own}`)).body.cancelled_run_ids, [], 'deleting again cancels none');
    for (const runId of [running, queued]) {
      const r = await req('GET', `/api/runs/${runId}`);
      assert.equal(r.body.state, 'cancelled', `run ${runId}`);
      assert.equal(r.body.state_message, 'cancelled as its job was deleted', 'not an operator\'s cancel');
      assert.ok(r.body.tasks.every((t: { state: string }) => t.state === 'cancelled'), 'no task of it is left to run');
    }
    const deleted = await req('GET', `/api/airbyte/ingest/${own}`);
    assert.match(deleted.body.status_message, /^run [0-9a-f-]{36} was cancelled as its job was deleted$/);
    assert.equal((await req('GET', `/api/runs/${done}`)).body.ended_at, endedBefore, 'a finished run is not touched');
    // The running run's cancel freed its max_active_runs slot: the queued run must not take it.
    assert.equal((await req('GET', `/api/runs/${queued}`)).body.started_at, null, 'the queued run never started');
    const job = (await req('GET', `/api/jobs/${own}`)).body;
    assert.ok(Date.parse(job.last_started_at) <= Date.parse(job.deleted_at), `started ${job.last_started_at} after the delete at ${job.deleted_at}`);
    const clear = await req('POST', `/api/runs/${queued}/tasks/extract/clear`);
    assert.equal(clear.status, 409, clear.text);
    assert.match(clear.body.error, /is deleted; its runs do not run again/);
    assert.equal((await req('GET', `/api/runs/${queued}`)).body.state, 'cancelled', 'the refused clear changed nothing');
    assert.equal((await req('DELETE', `/api/airbyte/ingest/${own}`)).status, 200, 'deleting again is harmless');
  });

  test('clear a failed task: it is queued again; its log is read by try', async () => {
    // A job of its own: max_active_runs is 1, so a run of the busy job above would wait queued.
    const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'clear job' }))).body.job_id as string;
    const t = await req('POST', `/api/airbyte/ingest/${own}/runs`);
    const runId = t.body.run_id as string;
    const ti = await api.db.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
    const ref = { instanceId: ti.id, tryNumber: 1, runnerId: 'test-runner' };
    // Before its first try, a try's log is not an empty log: it is not there.
    const early = await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=1`);
    assert.equal(early.status, 404, early.text);
    assert.deepEqual(early.body, { error: 'try 1 of task extract not found: it has not run yet' });
    // Its latest try, asked for without a number, is none: try 0, with no lines.
    const latest = await req('GET', `/api/runs/${runId}/tasks/extract/logs`);
    assert.equal(latest.status, 200, latest.text);
    assert.deepEqual([latest.body.try_number, latest.body.lines, latest.body.total_lines], [0, [], 0]);
    // Fail try 1 through the engine's state owner, as a runner would.
    await sqlTransaction(api.db.prisma, async (sql) => {
      const [claimed] = await api.engine.store.claimTries(sql, [ref]);
      assert.ok(claimed);
      await api.engine.store.finishTries(sql, [{ runId, tryRef: ref, outcome: { kind: 'failed', error: 'source unreachable', retryable: false } }]);
    });
    await api.db.prisma.taskLog.createMany({
      data: [
        { taskInstanceId: ti.id, tryNumber: 1, level: 'info', message: 'starting' },
        { taskInstanceId: ti.id, tryNumber: 1, level: 'error', message: 'source unreachable' },
      ],
    });
    const failed = await req('GET', `/api/runs/${runId}`);
    const before = failed.body.tasks.find((x: { task_id: string }) => x.task_id === 'extract');
    assert.equal(before.state, 'failed');
    assert.equal(before.error, 'source unreachable');
    assert.equal(before.try_number, 1);
    assert.deepEqual(before.earlier_tries, []);

    const log = await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=1`);
    assert.equal(log.status, 200, log.text);
    // The claim wrote the try's first line; the rest were written after it.
    assert.deepEqual(log.body.lines.map((l: { message: string }) => l.message), ['try 1 of 4 started on runner test-runner', 'starting', 'source unreachable']);
    const none = await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=2`);
    assert.equal(none.status, 404, none.text);
    assert.deepEqual(none.body, { error: 'try 2 of task extract not found: it has try 1 only' });
    assert.equal((await req('GET', `/api/runs/${runId}/tasks/nope/logs`)).status, 404);
    assert.deepEqual((await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=zero`)).body, { error: 'try: must be a number' });
    assert.deepEqual((await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=0`)).body, { error: 'try: must be 1 or more' });
    assert.deepEqual((await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=1.5`)).body, { error: 'try: must be a whole number' });
    assert.deepEqual((await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=1.0`)).body, { error: 'try: must be a whole number' });
    // try_number, the answers' name for it, is the same parameter (QA round 28: "unknown field").
    assert.deepEqual((await req('GET', `/api/runs/${runId}/tasks/extract/logs?try_number=1`)).body, log.body);
    assert.deepEqual((await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=1&try_number=1`)).body, log.body);
    const both = await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=1&try_number=2`);
    assert.equal(both.status, 400, both.text);
    assert.deepEqual(both.body, { error: 'try_number: names try 2, and try names 1: give one of them' });
    assert.equal(log.body.offset, 0);
    assert.equal(log.body.total_lines, 3);
    // A long log is answered by pages, by default its end (QA round 33b F3: 200,000 lines in one 62 MB answer).
    await api.db.prisma.taskLog.createMany({
      data: Array.from({ length: 12_000 }, (_, i) => ({ taskInstanceId: ti.id, tryNumber: 1, level: 'info', message: `line ${i + 1}` })),
    });
    const tail = await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=1`);
    assert.equal(tail.status, 200, tail.text);
    assert.equal(tail.body.total_lines, 12_003);
    assert.equal(tail.body.offset, 7_003);
    assert.equal(tail.body.lines.length, 5_000);
    assert.deepEqual([tail.body.lines[0].message, tail.body.lines.at(-1).message], ['line 7001', 'line 12000']);
    const head = await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=1&offset=0&limit=4`);
    assert.deepEqual(head.body.lines.map((l: { message: string }) => l.message), ['try 1 of 4 started on runner test-runner', 'starting', 'source unreachable', 'line 1']);
    assert.equal(head.body.offset, 0);
    assert.deepEqual((await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=1&limit=0`)).body, { error: 'limit: must be a whole number from 1 to 50000' });
    assert.deepEqual((await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=1&offset=-1`)).body, { error: 'offset: must be a whole number from 0 to 2147483647' });
    // The whole try as a text file, every line (QA round 50b O1: no way to search or keep a whole log).
    const text = await req('GET', `/api/runs/${runId}/tasks/extract/logs/text?try=1`);
    assert.equal(text.status, 200, text.text);
    assert.equal(text.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(text.headers.get('content-disposition'), `attachment; filename="clear_job-run-${runId.slice(0, 8)}-extract-try-1.log"; filename*=UTF-8''clear%20job-run-${runId.slice(0, 8)}-extract-try-1.log`);
    const textLines = text.text.split('\n');
    assert.equal(textLines.pop(), '', 'the text ends with a newline');
    assert.equal(textLines.length, 12_003);
    assert.match(textLines[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  try 1 of 4 started on runner test-runner$/);
    assert.match(textLines[2] ?? '', /Z ERROR source unreachable$/);
    assert.deepEqual([textLines[3]?.slice(25), textLines.at(-1)?.slice(25)], ['INFO  line 1', 'INFO  line 12000']);
    // Without a try, the latest; and what the JSON route refuses, this one refuses alike.
    assert.equal((await req('GET', `/api/runs/${runId}/tasks/extract/logs/text`)).text, text.text);
    const textPast = await req('GET', `/api/runs/${runId}/tasks/extract/logs/text?try=2`);
    assert.deepEqual([textPast.status, textPast.body], [404, { error: 'try 2 of task extract not found: it has try 1 only' }]);
    assert.equal(textPast.headers.get('content-disposition'), null);
    // A task that has not run has no try to download (QA round 52a O4: an empty "try-0" file); its JSON log is try 0, empty.
    const notRun = failed.body.tasks.find((x: { try_number: number }) => x.try_number === 0) as { task_id: string; map_index: number; state: string };
    const at = `/api/runs/${runId}/tasks/${notRun.task_id}/logs${notRun.map_index === -1 ? '' : `?map_index=${notRun.map_index}`}`;
    assert.deepEqual([(await req('GET', at)).body.try_number, (await req('GET', at)).body.lines], [0, []]);
    const noTry = await req('GET', at.replace('/logs', '/logs/text'));
    const named = notRun.map_index === -1 ? notRun.task_id : `${notRun.task_id}[${notRun.map_index}]`;
    assert.deepEqual([noTry.status, noTry.body], [404, { error: `log of task ${named} not found: it never ran: it is ${notRun.state}` }]);
    // A client that reads slowly: the answer waits for it many times, and leaves no listener behind
    // each time (QA round 52a D2: Node warned of a listener leak after ten waits).
    await api.db.prisma.taskLog.createMany({
      data: Array.from({ length: 60_000 }, (_, i) => ({ taskInstanceId: ti.id, tryNumber: 1, level: 'info', message: `slow line ${i + 1} ${'x'.repeat(100)}` })),
    });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const slow = await fetch(`${api.url}/api/runs/${runId}/tasks/extract/logs/text?try=1`, { headers: { authorization: `Bearer ${DEV}` } });
      assert.equal(slow.status, 200);
      let bytes = 0;
      let chunks = 0;
      for await (const chunk of slow.body as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        if (++chunks % 10 === 0) await sleep(5);
      }
      assert.ok(bytes > 7_000_000, `${bytes} bytes`);
      await sleep(50);
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
    await api.db.prisma.taskLog.deleteMany({ where: { taskInstanceId: ti.id, message: { startsWith: 'slow line ' } } });
    assert.deepEqual((await req('GET', `/api/runs/${runId}/tasks/extract/logs/text?limit=5`)).body, {
      error: 'limit: unknown query parameter: GET /api/runs/{run_id}/tasks/{task_id}/logs/text takes try, try_number, map_index',
    });
    await api.db.prisma.taskLog.deleteMany({ where: { taskInstanceId: ti.id, message: { startsWith: 'line ' } } });
    const nulTask = await req('GET', `/api/runs/${runId}/tasks/ex%00tract/logs`);
    assert.equal(nulTask.status, 400, nulTask.text);
    assert.deepEqual(nulTask.body, { error: 'task_id: must not contain the NUL character (U+0000)' });

    const cleared = await req('POST', `/api/runs/${runId}/tasks/extract/clear`);
    assert.equal(cleared.status, 200, cleared.text);
    const after = cleared.body.tasks.find((x: { task_id: string }) => x.task_id === 'extract');
    assert.ok(['queued', 'scheduled'].includes(after.state), after.state);
    // The cleared try is kept among the earlier ones, with its times and its error (the task's own are reset).
    assert.deepEqual(after.earlier_tries, [{ try_number: 1, state: 'failed', started_at: before.started_at, ended_at: before.ended_at, counted: true, error: 'source unreachable' }]);
    assert.equal(after.error, null);
    assert.equal(after.started_at, null);
    // The cleared task's next try, as a runner would take it: tries 1 and 2 exist, 3 does not.
    await api.db.prisma.taskInstance.update({ where: { id: ti.id }, data: { rows: 5, bytes: 100 } }); // try 1's counts
    await sqlTransaction(api.db.prisma, async (sql) => {
      const [claimed] = await api.engine.store.claimTries(sql, [{ ...ref, tryNumber: 2 }]);
      assert.ok(claimed, 'try 2 claimed');
    });
    // Its counts are its own, from 0 (QA round 28: a retry's count started from the lost try's).
    const second = await api.db.prisma.taskInstance.findUniqueOrThrow({ where: { id: ti.id } });
    assert.deepEqual([second.rows, second.bytes], [0n, 0n]);
    assert.equal((await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=2`)).status, 200);
    const past = await req('GET', `/api/runs/${runId}/tasks/extract/logs?try=3`);
    assert.equal(past.status, 404, past.text);
    assert.deepEqual(past.body, { error: 'try 3 of task extract not found: it has tries 1–2' });
    assert.equal((await req('POST', `/api/runs/${runId}/tasks/nope/clear`)).status, 404);
    assert.equal((await req('POST', `/api/runs/${runId}/tasks/ex%00tract/clear`)).status, 400);
    // Past PostgreSQL's integer, or empty: refused, not a 500 nor read as 0 (session 38, Schemathesis).
    const huge = await req('POST', `/api/runs/${runId}/tasks/extract/clear?map_index=9007199254740990`);
    assert.deepEqual([huge.status, huge.body], [400, { error: 'map_index: must be 2147483647 or less' }]);
    const hugeLog = await req('GET', `/api/runs/${runId}/tasks/extract/logs?map_index=2147483648`);
    assert.deepEqual([hugeLog.status, hugeLog.body], [400, { error: 'map_index: must be 2147483647 or less' }]);
    for (const q of ['try=', 'try=%203', 'try=1e0']) {
      const r = await req('GET', `/api/runs/${runId}/tasks/extract/logs?${q}`);
      assert.deepEqual([r.status, r.body], [400, { error: 'try: must be a number' }], q);
    }
    assert.deepEqual((await req('GET', `/api/runs/${runId}/tasks/extract/logs?offset=`)).body, { error: 'offset: must be a whole number from 0 to 2147483647' });
  });

  test('clear a task of a cancelled run: without map_index, each cancelled instance of a per-stream task runs again', async () => {
    const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'clear after cancel' }))).body.job_id as string;
    const runId = (await req('POST', `/api/airbyte/ingest/${own}/runs`)).body.run_id as string;
    // Extract succeeds as a runner's would, mapping two streams; their stages are then queued.
    await succeedAsRunner(runId, { taskId: 'extract' }, ['a', 'b']);
    assert.equal((await req('POST', `/api/runs/${runId}/cancel`)).status, 200);
    const stages = (body: { tasks: { task_id: string; stream: string | null; state: string }[] }): string[][] =>
      body.tasks.filter((x) => x.task_id === 'stage').map((x) => [x.stream ?? '', x.state]).sort();
    assert.deepEqual(stages((await req('GET', `/api/runs/${runId}`)).body), [['a', 'cancelled'], ['b', 'cancelled']]);
    const cleared = await req('POST', `/api/runs/${runId}/tasks/stage/clear`);
    assert.equal(cleared.status, 200, cleared.text);
    assert.equal(cleared.body.state, 'running');
    assert.deepEqual(stages(cleared.body), [['a', 'queued'], ['b', 'queued']]);
    const extract = cleared.body.tasks.find((x: { task_id: string }) => x.task_id === 'extract');
    assert.equal(extract.state, 'success', 'what had succeeded is not redone');
  });

  test('a clear below a failure or a cancel is refused with what to clear instead; without map_index the instances that can run are cleared', async () => {
    const own = (await req('POST', '/api/airbyte/ingest', ingestBody({ name: 'clear below a cancel' }))).body.job_id as string;
    const runId = (await req('POST', `/api/airbyte/ingest/${own}/runs`)).body.run_id as string;
    await succeedAsRunner(runId, { taskId: 'extract' }, ['a', 'b']);
    // Stream a's stage succeeds; then the run is cancelled before anything else ran.
    await succeedAsRunner(runId, { taskId: 'stage', mapIndex: 0 });
    assert.equal((await req('POST', `/api/runs/${runId}/cancel`)).status, 200);
    const cancelled = await api.db.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } });
    const states = (body: { tasks: { task_id: string; stream: string | null; state: string }[] }, task: string): string[][] =>
      body.tasks.filter((x) => x.task_id === task).map((x) => [x.stream ?? '', x.state]).sort();

    const archive = await req('POST', `/api/runs/${runId}/tasks/archive/clear`);
    assert.equal(archive.status, 409, archive.text);
    // The furthest instance up is named (a clear of load[0] would be refused for transform[0]).
    assert.match(archive.body.error, /^task archive cannot run again while its upstream transform\[0\] is cancelled: clear transform\[0\] instead/);
    assert.deepEqual(await api.db.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } }), cancelled, 'a refused clear leaves the run as it was');

    const transform = await req('POST', `/api/runs/${runId}/tasks/transform/clear`);
    assert.equal(transform.status, 200, transform.text);
    assert.equal(transform.body.state, 'running');
    assert.deepEqual(states(transform.body, 'transform'), [['a', 'queued'], ['b', 'cancelled']], "b's transform stays below its cancelled stage");
    const load = await req('POST', `/api/runs/${runId}/tasks/load/clear?map_index=1`);
    assert.equal(load.status, 409, load.text);
    assert.equal(load.body.error, 'task load[1] cannot run again while its upstream stage[1] is cancelled: clear stage[1] instead (it runs again with everything downstream of it)');
  });

  test('ids that are not UUIDs are not found', async () => {
    assert.equal((await req('GET', '/api/runs/not-a-uuid')).status, 404);
    const j = await req('GET', '/api/airbyte/ingest/not-a-uuid');
    assert.equal(j.status, 404);
    assert.equal(j.body.job_id, null);
  });

  test('unknown routes answer 404 in the right shape', async () => {
    const r = await req('GET', '/api/nothing-here');
    assert.equal(r.status, 404);
    assert.deepEqual(Object.keys(r.body), ['error']);
  });
});

describe('encryption keys', () => {
  test('create, list without material, rotate, conflict, bad name', async () => {
    const c = await req('POST', '/api/encryption-keys', { name: 'customer-pii' });
    assert.equal(c.status, 201, c.text);
    assert.deepEqual(Object.keys(c.body).sort(), ['active_version', 'created_at', 'disclosures', 'name', 'owner_id', 'updated_at', 'versions']);
    assert.deepEqual(c.body.disclosures, [], 'no one has printed its decryption keys');
    assert.equal(c.body.active_version, 1);
    assert.equal((await req('POST', '/api/encryption-keys', { name: 'customer-pii' })).status, 409);
    const bad = await req('POST', '/api/encryption-keys', { name: 'Bad Name!' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^name: /);
    const r = await req('POST', '/api/encryption-keys/customer-pii/rotate');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.active_version, 2);
    assert.deepEqual(r.body.versions.map((v: { version: number }) => v.version), [1, 2]);
    assert.equal((await req('POST', '/api/encryption-keys/missing/rotate')).status, 404);
    const nul = await req('POST', '/api/encryption-keys/customer%00pii/rotate');
    assert.equal(nul.status, 400, nul.text);
    assert.deepEqual(nul.body, { error: 'name: must not contain the NUL character (U+0000)' });
    // An operator prints its decryption keys (sluice decryption-keys records this first): the list shows who and when.
    await new EncryptionKeyStore(api.db.prisma, MasterKeyring.fromBase64(api.masterKey)).recordDisclosure('customer-pii', [1, 2], 'ops@host-1');
    const list = await req('GET', '/api/encryption-keys');
    const listed = list.body.keys.find((k: { name: string }) => k.name === 'customer-pii');
    assert.ok(listed);
    assert.deepEqual(
      listed.disclosures.map((d: { versions: number[]; disclosed_by: string; disclosed_at: string }) => [d.versions, d.disclosed_by, Number.isNaN(Date.parse(d.disclosed_at))]),
      [[[1, 2], 'ops@host-1', false]],
    );
    const wrapped = await api.db.prisma.encryptionKeyVersion.findMany({ where: { keyName: 'customer-pii' } });
    assert.equal(wrapped.length, 2);
    for (const w of wrapped) {
      assert.ok(w.wrappedKey.startsWith('sluice-sealed:v1:'), 'material is stored sealed');
      assert.ok(!list.text.includes(w.wrappedKey.split(':').at(-1) ?? 'x'), 'not even the sealed material is listed');
    }
  });
});
