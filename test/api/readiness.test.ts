/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- answers are parsed JSON; the assertions check their shape */
/** /healthz answers while the process lives; /readyz is 200 only when PostgreSQL, Redis and the object store answer, else 503 naming which. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from '@sluice/local-services';
import { startApi } from './api-harness.ts';

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
    readinessRedis: deadRedis,
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
    assert.match(r.body.error, /redis/);
    assert.match(r.body.error, /object_store/);
    assert.doesNotMatch(r.body.error, /postgres/);
    assert.ok(!r.text.includes('hunter2pass'), 'no credentials in the answer');
  } finally {
    await api.close();
    deadRedis.disconnect();
  }
});
