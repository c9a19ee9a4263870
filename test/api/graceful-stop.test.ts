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
