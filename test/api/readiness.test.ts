/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- answers are parsed JSON; the assertions check their shape */
/**
 * /healthz answers while the process lives; /readyz is 200 only when PostgreSQL, Redis and the
 * object store answer, else 503 naming which. With PostgreSQL away, API calls answer 503 too.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { freePort, startPostgres } from '@sluice/local-services';
import { testEnv } from '../support/env.ts';
import { waitFor } from '../engine/support/harness.ts';
import { ingestBody, startApi } from './api-harness.ts';

test('all three answer: 200', async () => {
  const api = await startApi({ devToken: 'dev-token-ready-012345', ui: false });
  try {
    assert.deepEqual((await api.request('GET', '/healthz')).body, { status: 'ok' });
    const r = await api.request('GET', '/readyz');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { status: 'ready', checks: { postgres: { ok: true }, redis: { ok: true }, object_store: { ok: true } } });
  } finally {
    await api.close();
  }
});

test('Redis and the object store down: 503 naming both, PostgreSQL still fine', async () => {
  const port = await freePort();
  const deadRedis = new Redis(`redis://:hunter2pass@127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: true, retryStrategy: () => null });
  // Connection errors are what this test is about; /readyz reports them.
  deadRedis.on('error', () => undefined);
  const api = await startApi({
    devToken: 'dev-token-ready-012345',
    ui: false,
    apiRedis: deadRedis,
    storageUrl: `s3://no-such-bucket-${port}/x`,
  });
  try {
    assert.equal((await api.request('GET', '/healthz')).status, 200, 'alive even when not ready');
    const r = await api.request('GET', '/readyz');
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.status, 'not_ready');
    assert.deepEqual(r.body.checks.postgres, { ok: true });
    assert.equal(r.body.checks.redis.ok, false);
    assert.equal(r.body.checks.object_store.ok, false);
    assert.match(r.body.checks.object_store.error, /bucket "no-such-bucket-\d+" does not exist/);
    // Each failure names where the service is (QA round 56a F5: the Redis and store lines did not say which server).
    assert.match(r.body.checks.redis.error, new RegExp(`^Redis at 127\\.0\\.0\\.1:${port}: `));
    assert.match(r.body.checks.object_store.error, new RegExp(`^s3://no-such-bucket-${port}/x: `));
    assert.match(r.body.error, /redis/);
    assert.match(r.body.error, /object_store/);
    assert.doesNotMatch(r.body.error, /postgres/);
    assert.ok(!r.text.includes('hunter2pass'), 'no credentials in the answer');
  } finally {
    await api.close();
    deadRedis.disconnect();
  }
});

test('Redis away under a client that reconnects for good (as Sluice\'s own): /readyz says it is not connected, without waiting on a PING', async () => {
  const port = await freePort();
  const away = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
  away.on('error', () => undefined);
  const api = await startApi({ devToken: 'dev-token-ready-012345', ui: false, apiRedis: away });
  try {
    await waitFor(async () => away.status === 'reconnecting' || away.status === 'connecting', 'the client to be reconnecting');
    const r = await api.request('GET', '/readyz');
    assert.equal(r.status, 503, r.text);
    // before: "no answer within 3000 ms", after waiting that long
    assert.match(r.body.checks.redis.error, new RegExp(`^Redis at 127\\.0\\.0\\.1:${port}: not connected \\((reconnecting|connecting)\\)$`));
  } finally {
    await api.close();
    away.disconnect();
  }
});

test('PostgreSQL away: calls answer 503 naming it, with Retry-After; the log says so once, and once when it answers again', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(testEnv.tmpDir, 'pg-away-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  let server = await startPostgres(path.join(dir, 'pg'), port, { durable: false });
  const token = 'dev-token-ready-012345';
  const api = await startApi({ devToken: token, ui: false, databaseServerUrl: server.url });
  let running = true;
  try {
    await server.stop();
    running = false;
    const list = await api.request('GET', '/api/airbyte/ingest', { token });
    assert.equal(list.status, 503, list.text);
    assert.equal(list.headers.get('retry-after'), '5');
    assert.deepEqual(list.body, { flow_url: '', job_id: null, error: 'PostgreSQL is unreachable: try again shortly' });
    // A route that reads no PostgreSQL answering is not PostgreSQL answering again.
    assert.equal((await api.request('GET', '/healthz')).status, 200);
    const create = await api.request('POST', '/api/airbyte/ingest', { token, body: ingestBody() });
    assert.equal(create.status, 503, create.text);
    assert.equal(create.body.error, 'PostgreSQL is unreachable: try again shortly');
    assert.equal((await api.request('GET', '/api/airbyte/ingest', { token })).status, 503);
    const ready = await api.request('GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.checks.postgres.ok, false);
    // before: Prisma's call excerpt, over several lines
    assert.match(ready.body.checks.postgres.error, new RegExp(`^PostgreSQL is unreachable \\(.*127\\.0\\.0\\.1:${port}.*\\)$`));
    assert.doesNotMatch(ready.body.checks.postgres.error, /\n|prisma/);

    server = await startPostgres(path.join(dir, 'pg'), port, { durable: false });
    running = true;
    assert.equal((await api.request('GET', '/api/airbyte/ingest', { token })).status, 200);
    // One line when the first call failed, one when a call worked again (before: a warning per call, and none when it was back; QA round 28).
    const said = api.logs
      .map((l) => JSON.parse(l) as { level: string; message: string; err?: string })
      .filter((l) => l.level !== 'debug' && /PostgreSQL|request failed/.test(l.message))
      .map((l) => [l.level, l.message]);
    assert.deepEqual(said, [
      ['warn', 'PostgreSQL is unreachable: API calls answer 503 until it answers again'],
      ['info', 'PostgreSQL answers again: API calls are served'],
    ]);
    const first = JSON.parse(api.logs.find((l) => l.includes('API calls answer 503')) ?? '{}') as { err?: string };
    assert.match(first.err ?? '', new RegExp(`^PostgreSQL is unreachable \\(.*127\\.0\\.0\\.1:${port}.*\\)$`));
  } finally {
    if (!running) server = await startPostgres(path.join(dir, 'pg'), port, { durable: false });
    await api.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
