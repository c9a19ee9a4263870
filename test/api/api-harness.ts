/**
 * Starts the real API server (port 0) against a fresh PostgreSQL database, the test Redis and a
 * file object store, with the real DAG engine; captures every log line and every answer body.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createApiServer, type ApiConfig, type ApiServer, type ApiServerDeps, type CheckConnection, type DiscoverCatalog, type GetConnectorSpec } from '@sluice/api';
import { Engine } from '@sluice/engine';
import { createMemoryLogger } from '@sluice/logging';
import { openObjectStore } from '@sluice/storage';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testEnv } from '../support/env.ts';
import { testQueuePrefix, deleteQueueKeys } from '../support/names.ts';

export interface ApiHarness {
  url: string;
  /** The express app (for inspecting its router). */
  app: ApiServer['app'];
  db: TestDatabase;
  engine: Engine;
  redis: Redis;
  queuePrefix: string;
  masterKey: string;
  /** Every log line the server wrote (JSON). */
  logs: string[];
  /** Every answer body the server gave, as text. */
  answers: string[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answer is JSON of many shapes; tests assert on it
  request(method: string, route: string, opts?: { token?: string | null; body?: unknown; raw?: string | Uint8Array; headers?: Record<string, string> }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  /** Stops the HTTP server only, as a stop signal's first step does (`close` does the rest). */
  closeServer(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  issuer?: string | null;
  audience?: string | null;
  devToken?: string | null;
  /** Listen address (default 127.0.0.1; null: every interface). */
  host?: string | null;
  getConnectorSpec?: GetConnectorSpec;
  discoverCatalog?: DiscoverCatalog;
  checkConnection?: CheckConnection;
  ui?: boolean;
  /** The API's Redis client, for /readyz and the pages' Redis warning (default: a client of `redisUrl`). */
  apiRedis?: ApiServerDeps['redis'];
  /** The Redis of the API's engine and client (default: the test Redis). */
  redisUrl?: string;
  storageUrl?: string;
  /** The PostgreSQL server of the test database (default: the test server). */
  databaseServerUrl?: string;
  /** The master keys (default: a new random one, no previous ones). */
  masterKey?: string;
  previousMasterKeys?: string[];
  /** Writes to the database before the API starts. */
  seed?: (db: TestDatabase) => Promise<void>;
}

export const PUBLIC_URL = 'https://sluice.test.example';

export async function startApi(o: HarnessOptions = {}): Promise<ApiHarness> {
  const db = await createTestDatabase(o.databaseServerUrl ? { serverUrl: o.databaseServerUrl } : {});
  await o.seed?.(db);
  const answers: string[] = [];
  const { logger, lines: logs } = createMemoryLogger({ level: 'debug' });
  const queuePrefix = testQueuePrefix();
  const redisUrl = o.redisUrl ?? testEnv.redisUrl;
  const engine = await Engine.create({ prisma: db.prisma, redisUrl, queuePrefix, logger });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  // A Redis a test stops: /readyz and the pages say so, as Sluice's own client does (its errors are not the test's).
  redis.on('error', () => undefined);
  const dir = mkdtempSync(path.join(testEnv.tmpDir, 'api-store-'));
  const store = openObjectStore(o.storageUrl ?? `file://${dir}`);
  const masterKey = o.masterKey ?? randomBytes(32).toString('base64');
  const config: ApiConfig = {
    databaseUrl: db.url,
    redisUrl,
    storageUrl: `file://${dir}`,
    port: 0,
    host: o.host === undefined ? '127.0.0.1' : o.host,
    publicUrl: PUBLIC_URL,
    auth: { issuer: o.issuer ?? null, audience: o.audience ?? null, clientId: null, devToken: o.devToken ?? null },
    masterKey,
    previousMasterKeys: o.previousMasterKeys ?? [],
    logLevel: 'debug',
    logFormat: 'json',
    queuePrefix,
    connectorsDir: null,
  };
  const server = createApiServer({
    config,
    prisma: db.prisma,
    engine,
    store,
    redis: o.apiRedis ?? redis,
    logger,
    ui: o.ui ?? true,
    ...(o.getConnectorSpec ? { getConnectorSpec: o.getConnectorSpec } : {}),
    ...(o.discoverCatalog ? { discoverCatalog: o.discoverCatalog } : {}),
    ...(o.checkConnection ? { checkConnection: o.checkConnection } : {}),
  });
  const { url } = await server.listen();
  return {
    url,
    app: server.app,
    db,
    engine,
    redis,
    queuePrefix,
    masterKey,
    logs,
    answers,
    async request(method, route, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
      let body: string | Uint8Array | undefined;
      if (opts.raw !== undefined) body = opts.raw;
      else if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${route}`, { method, headers, ...(body === undefined ? {} : { body }) });
      const text = await res.text();
      answers.push(text);
      let parsed: unknown = undefined;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    closeServer: () => server.close(),
    async close() {
      await server.close();
      await engine.close();
      await deleteQueueKeys(redis, queuePrefix);
      redis.disconnect();
      await store.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A valid create body; override fields per case. */
export function ingestBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'faker users',
    source_name: 'source-faker',
    source_config: { count: 100, seed: 7 },
    schema_name: 'raw_faker',
    mode: 'append',
    ...over,
  };
}
