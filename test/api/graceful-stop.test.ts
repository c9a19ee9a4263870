/**
 * A stop of the API (SIGTERM's first step) answers the requests under way before it closes their
 * connections: a trigger whose run was committed tells its client the run's id.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';

const DEV = 'dev-token-graceful-stop-01';
let api: ApiHarness;

before(async () => {
  api = await startApi({ devToken: DEV, ui: false });
});
after(async () => {
  await api.close();
});

test('a stop answers the requests under way: a trigger waiting on a lock when the stop comes gets its run id (QA round 33c F4)', async () => {
  const created = await api.request('POST', '/api/airbyte/ingest', { token: DEV, body: ingestBody() });
  assert.equal(created.status, 201, created.text);
  const jobId = (created.body as { job_id: string }).job_id;
  // Another session holds the job's row: the trigger's run creation waits on it.
  const holder = new pg.Client({ connectionString: api.db.url });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM ingestion_jobs WHERE id = $1 FOR UPDATE', [jobId]);
    const trigger = api.request('POST', `/api/airbyte/ingest/${jobId}/runs`, { token: DEV });
    await new Promise((r) => setTimeout(r, 300));
    const stopped = api.closeServer();
    await new Promise((r) => setTimeout(r, 300));
    await holder.query('COMMIT');
    // Before: the stop cut every connection at once; the run was made, and its client got no answer.
    const answered = await trigger;
    assert.equal(answered.status, 201, answered.text);
    const runId = (answered.body as { run_id: string }).run_id;
    await stopped;
    const runs = await api.db.prisma.dagRun.findMany({ where: { jobId }, select: { id: true } });
    assert.deepEqual(runs.map((r) => r.id), [runId]);
    // Stopped: a new connection is refused.
    await assert.rejects(fetch(`${api.url}/healthz`));
  } finally {
    await holder.end();
  }
});

test("a request held past the stop's wait is cut, said in one line each, not as a 500 with a stack (QA round 34a F4)", async () => {
  const late = await startApi({ devToken: DEV, ui: false });
  const holder = new pg.Client({ connectionString: late.db.url });
  await holder.connect();
  try {
    const created = await late.request('POST', '/api/airbyte/ingest', { token: DEV, body: ingestBody() });
    assert.equal(created.status, 201, created.text);
    const jobId = (created.body as { job_id: string }).job_id;
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM ingestion_jobs WHERE id = $1 FOR UPDATE', [jobId]);
    const trigger = late.request('POST', `/api/airbyte/ingest/${jobId}/runs`, { token: DEV });
    trigger.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    await late.closeServer();
    await assert.rejects(trigger, 'its client got no answer: the connection was cut');
    assert.ok(late.logs.some((l) => l.includes('stopping the API: 1 connection still busy after 8 s cut')), late.logs.join('\n'));
    // The held request fails afterwards (here its session is ended, as a database client's close does).
    await holder.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND datname = current_database()");
    const said = (): string | undefined => late.logs.find((l) => l.includes('request ended after its connection was closed'));
    for (let i = 0; i < 100 && said() === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(said() ?? late.logs.join('\n'), /cut at the API's stop, or its client left/);
    assert.ok(!late.logs.some((l) => l.includes('"status":500')), 'no 500 is logged for it');
    await holder.query('ROLLBACK');
    assert.equal(await late.db.prisma.dagRun.count({ where: { jobId } }), 0, 'no run was written for a trigger its client never heard of');
  } finally {
    await holder.end();
    await late.close();
  }
});
