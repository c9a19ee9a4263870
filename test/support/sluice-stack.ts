/**
 * The whole of Sluice in one test process, for end-to-end tests: a fresh migrated database, the
 * test Redis under a queue prefix of its own, an S3 bucket of its own on the test S3 server (or a
 * file:// root), the engine, a scheduler, a runner with the real ingestion handlers, and the HTTP
 * API. Tests drive it only through HTTP, as a client would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createApiServer, type ApiConfig } from '@sluice/api';
import { MasterKeyring } from '@sluice/crypto';
import { DataHubPublisher, type DataHubPublisherOptions } from '@sluice/datahub';
import { Engine } from '@sluice/engine';
import { openCatalog, type IcebergCatalog } from '@sluice/iceberg';
import { freePort } from '@sluice/local-services';
import { createLogger } from '@sluice/logging';
import { createIngestionHandlers, startRunner, type IngestionDeps, type TaskHandlers } from '@sluice/runner';
import { startScheduler } from '@sluice/scheduler';
import { openObjectStore, type ObjectStore } from '@sluice/storage';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { testEnv } from './env.ts';
import { testQueuePrefix, deleteQueueKeys } from './names.ts';
import { createTestBucket } from './s3.ts';

export interface SluiceStack {
  url: string;
  token: string;
  db: TestDatabase;
  store: ObjectStore;
  storageUrl: string;
  /** True when the store is S3 (PyIceberg then needs the S3 settings). */
  s3: boolean;
  keyring: MasterKeyring;
  api<T = unknown>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Polls GET /api/runs/{id} until the run ends; answers the run. */
  waitForRun(runId: string, timeoutMs?: number): Promise<RunView>;
  close(): Promise<void>;
}

export interface TaskView {
  task_id: string;
  stream: string | null;
  state: string;
  try_number: number;
  rows: number;
  error: string | null;
  ended_at: string | null;
  next_retry_at: string | null;
}
export interface RunView {
  run_id: string;
  state: string;
  state_message: string | null;
  run_type: string;
  logical_date: string;
  tasks: TaskView[];
}

export interface StackOptions {
  storage?: 's3' | 'file';
  /** Directory connectors are installed into (share one across a file to install source-faker once). */
  connectorsDir: string;
  /** Wraps the real handlers (e.g. to make a load fail once). */
  wrapHandlers?: (h: TaskHandlers) => TaskHandlers;
  /** DataHub sender settings; without them metadata is kept in the outbox and not sent. */
  datahub?: DataHubPublisherOptions;
  /** How long extract reuses a discovered catalog (SLUICE_CATALOG_MAX_AGE_MINUTES); the runner's default when unset. */
  catalogMaxAgeMs?: number;
  /** The runner's DuckDB settings for stage and transform (SLUICE_DUCKDB_MEMORY_LIMIT); DuckDB's defaults when unset. */
  duckdb?: IngestionDeps['duckdb'];
  /** The runner's Iceberg catalog, given the stack's database URL and store (the SQL catalog on them by default). */
  catalog?: (databaseUrl: string, store: ObjectStore) => Promise<IcebergCatalog>;
}

export async function startSluiceStack(o: StackOptions): Promise<SluiceStack> {
  const db = await createTestDatabase();
  const logger = createLogger({ level: 'error', silent: true });
  const queuePrefix = testQueuePrefix();
  const s3 = (o.storage ?? 's3') === 's3';
  let fileRoot: string | null = null;
  let storageUrl: string;
  if (s3) storageUrl = `s3://${await createTestBucket()}/sluice`;
  else {
    fileRoot = mkdtempSync(path.join(testEnv.tmpDir, 'stack-'));
    storageUrl = `file://${fileRoot}`;
  }
  const store = openObjectStore(storageUrl);
  const masterKey = randomBytes(32).toString('base64');
  const keyring = MasterKeyring.fromBase64(masterKey);
  const token = `test-${randomBytes(12).toString('hex')}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config: ApiConfig = {
    databaseUrl: db.url,
    redisUrl: testEnv.redisUrl,
    storageUrl,
    port,
    host: '127.0.0.1',
    publicUrl: url,
    auth: { issuer: null, audience: null, clientId: null, devToken: token },
    masterKey,
    logLevel: 'error',
    logFormat: 'json',
    queuePrefix,
    connectorsDir: null,
  };
  const engine = await Engine.create({ prisma: db.prisma, redisUrl: testEnv.redisUrl, queuePrefix, logger, allowSecondsInSchedules: true });
  const scheduler = await startScheduler({
    prisma: db.prisma,
    redisUrl: testEnv.redisUrl,
    queuePrefix,
    logger,
    allowSecondsInSchedules: true,
    sweepIntervalMs: 1000,
  });
  const catalog = o.catalog ? await o.catalog(db.url, store) : openCatalog({ type: 'sql', uri: db.url, store, logger });
  // Without a GMS, metadata is kept in the outbox (and shown), not sent.
  const datahub = new DataHubPublisher(db.prisma, { gmsUrl: null, logger, ...o.datahub });
  if (o.datahub?.gmsUrl) datahub.start();
  const real = createIngestionHandlers({
    store,
    keyring,
    catalog,
    connectorsDir: o.connectorsDir,
    datahub,
    publicUrl: url,
    ...(o.catalogMaxAgeMs === undefined ? {} : { catalogMaxAgeMs: o.catalogMaxAgeMs }),
    ...(o.duckdb === undefined ? {} : { duckdb: o.duckdb }),
  });
  const runner = await startRunner({
    prisma: db.prisma,
    redisUrl: testEnv.redisUrl,
    queuePrefix,
    logger,
    concurrency: 4,
    handlers: o.wrapHandlers ? o.wrapHandlers(real) : real,
    heartbeatMs: 500,
  });
  const redis = new Redis(testEnv.redisUrl, { maxRetriesPerRequest: 1 });
  const server = createApiServer({ config, prisma: db.prisma, engine, store, redis, logger, ui: false });
  await server.listen();

  const api = async <T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${route}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
  };

  return {
    url,
    token,
    db,
    store,
    storageUrl,
    s3,
    keyring,
    api,
    async waitForRun(runId, timeoutMs = 240_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await api<RunView>('GET', `/api/runs/${runId}`);
        if (r.status !== 200) throw new Error(`GET /api/runs/${runId}: ${r.status} ${JSON.stringify(r.body)}`);
        if (['success', 'failed', 'cancelled'].includes(r.body.state)) return r.body;
        if (Date.now() > deadline) throw new Error(`run ${runId} still ${r.body.state} after ${timeoutMs} ms: ${JSON.stringify(r.body.tasks)}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    },
    async close() {
      await server.close();
      await datahub.stop();
      await runner.close();
      await scheduler.close();
      await engine.close();
      await catalog.close();
      await deleteQueueKeys(redis, queuePrefix);
      redis.disconnect();
      await store.close();
      await db.drop();
      if (fileRoot) rmSync(fileRoot, { recursive: true, force: true });
    },
  };
}
