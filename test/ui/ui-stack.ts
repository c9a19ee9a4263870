/**
 * The whole system a browser test needs, for real: a fresh PostgreSQL database, the test Redis,
 * the DAG engine, the API server with the flow UI (built files), and a runner executing tries
 * from the task queue. Plus a headless Chromium (Debian's package) driven by playwright-core.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApiServer, type ApiConfig } from '@sluice/api';
import { MasterKeyring } from '@sluice/crypto';
import { Engine } from '@sluice/engine';
import { openCatalog, type IcebergCatalog } from '@sluice/iceberg';
import { freePort } from '@sluice/local-services';
import { createLogger } from '@sluice/logging';
import { createIngestionHandlers, startRunner, type RunningRunner, type TaskHandlers } from '@sluice/runner';
import { openObjectStore, type ObjectStore } from '@sluice/storage';
import { uiDistDir } from '@sluice/ui/dist-dir';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testEnv } from '../support/env.ts';
import { testQueuePrefix, deleteQueueKeys } from '../support/names.ts';
import { uiTestHandlers } from './task-handlers.ts';

/** Polls `probe` until it answers something truthy; fails with `what` after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * A TCP proxy to `target` (the stack's URL) that the test can cut: every connection through it is
 * dropped and new ones refused until `restore`, as when the API stops and comes back (the page's
 * event stream drops and reconnects, its requests get no answer meanwhile). Or `freeze`: the
 * connections open now carry nothing more either way and stay open, while new ones work, as a
 * connection a sleeping laptop or a NAT lost without a word.
 */
export async function startCuttableProxy(target: string): Promise<{ url: string; cut(): void; freeze(): void; restore(): void; close(): Promise<void> }> {
  const to = new URL(target);
  const sockets = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(to.port), to.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    freeze() {
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/ui');

/** Why the browser tests cannot run here, or null when they can. */
export function browserTestsUnavailable(): string | null {
  if (!existsSync(CHROMIUM)) return `no ${CHROMIUM}: apt-get install -y chromium`;
  if (!existsSync(path.join(uiDistDir, 'index.html'))) return `the UI is not built (${uiDistDir}): pnpm --filter @sluice/ui build`;
  return null;
}

/** A JSON answer's fields (tests read the ones they need, e.g. `body.job_id as string`). */
export type ApiBody = Record<string, unknown>;

export interface UiStack {
  url: string;
  db: TestDatabase;
  engine: Engine;
  devToken: string | null;
  /** Opens what the API stored (a job's sealed source_config). */
  keyring: MasterKeyring;
  /** The object store the API and the runner share (staging, archives, tables). */
  store: ObjectStore;
  api(method: string, route: string, token: string | null, body?: unknown): Promise<{ status: number; body: ApiBody }>;
  /** Stops the runner as a deploy does (its running tries cut short after 300 ms) and starts another. */
  restartRunner(): Promise<void>;
  close(): Promise<void>;
}

export interface UiStackOptions {
  devToken?: string | null;
  oidc?: { issuer: string; audience: string; clientId: string };
  handlers?: TaskHandlers;
  /** Run the real ingestion pipeline (connectors, Parquet, Iceberg in the SQL catalog) instead of the test handlers. */
  realPipeline?: { connectorsDir: string };
  /** Port to listen on (so the OIDC client's redirect URI can be known in advance). */
  port?: number;
  /** How often an idle live stream is written to (the API's default: 15 s). */
  liveHeartbeatMs?: number;
}

export async function startUiStack(o: UiStackOptions = {}): Promise<UiStack> {
  const db = await createTestDatabase();
  const logger = createLogger({ level: 'warn', silent: true });
  const queuePrefix = testQueuePrefix();
  const engine = await Engine.create({ prisma: db.prisma, redisUrl: testEnv.redisUrl, queuePrefix, logger });
  const redis = new Redis(testEnv.redisUrl, { maxRetriesPerRequest: 1 });
  const dir = mkdtempSync(path.join(testEnv.tmpDir, 'ui-store-'));
  const store = openObjectStore(`file://${dir}`);
  const port = o.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const devToken = o.oidc ? null : (o.devToken ?? `dev-${randomBytes(12).toString('hex')}`);
  const masterKey = randomBytes(32).toString('base64');
  const keyring = MasterKeyring.fromBase64(masterKey);
  const config: ApiConfig = {
    databaseUrl: db.url,
    redisUrl: testEnv.redisUrl,
    storageUrl: `file://${dir}`,
    port,
    host: '127.0.0.1',
    publicUrl: url,
    auth: {
      issuer: o.oidc?.issuer ?? null,
      audience: o.oidc?.audience ?? null,
      clientId: o.oidc?.clientId ?? null,
      devToken,
    },
    masterKey,
    previousMasterKeys: [],
    logLevel: 'warn',
    logFormat: 'json',
    queuePrefix,
    connectorsDir: null,
  };
  const server = createApiServer({ config, prisma: db.prisma, engine, store, redis, logger, ui: true, ...(o.liveHeartbeatMs === undefined ? {} : { liveHeartbeatMs: o.liveHeartbeatMs }) });
  await server.listen();
  let catalog: IcebergCatalog | null = null;
  let handlers = o.handlers ?? uiTestHandlers();
  if (o.realPipeline) {
    catalog = openCatalog({ type: 'sql', uri: db.url, store, logger });
    handlers = createIngestionHandlers({ store, keyring, catalog, connectorsDir: o.realPipeline.connectorsDir, datahub: null, publicUrl: url });
  }
  const start = (): Promise<RunningRunner> =>
    startRunner({ prisma: db.prisma, redisUrl: testEnv.redisUrl, queuePrefix, logger, concurrency: 4, handlers, heartbeatMs: 250, stopWaitMs: 300 });
  let runner = await start();
  return {
    url,
    db,
    keyring,
    engine,
    devToken,
    store,
    async api(method, route, token, body) {
      const headers: Record<string, string> = {};
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${route}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as ApiBody) };
    },
    async restartRunner() {
      await runner.close();
      runner = await start();
    },
    async close() {
      await server.close();
      await runner.close();
      await engine.close();
      await catalog?.close();
      await deleteQueueKeys(redis, queuePrefix);
      redis.disconnect();
      await store.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Saves a full-page screenshot as test-artifacts/ui/<name>.png and answers its path. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A create body for POST /api/airbyte/ingest. */
export function jobBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'faker users',
    source_name: 'source-faker',
    source_config: { count: 3000, seed: 7, api_key: 'canary-secret-d41d8cd98f' },
    schema_name: 'raw_faker',
    mode: 'append',
    schedule: '0 2 * * *',
    ...over,
  };
}

/** The contrast ratio of two CSS `rgb()` colours, by WCAG's relative luminance. */
export function contrastRatio(a: string, b: string): number {
  const luminance = (css: string): number => {
    const [r = 0, g = 0, bl = 0] = (css.match(/\d+(\.\d+)?/g) ?? []).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi = 0, lo = 0] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * The text of the cells matching `selector` that break inside: a piece of a cell lies wholly below
 * another (run in the page, as a string: the test's types have no DOM).
 */
export async function brokenCells(page: Page, selector: string): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.querySelectorAll(${JSON.stringify(selector)})]
    .filter((cell) => {
      const range = document.createRange();
      range.selectNodeContents(cell);
      const rects = [...range.getClientRects()].filter((r) => r.height > 0);
      return rects.some((a) => rects.some((b) => b.top >= a.bottom - 1));
    })
    .map((cell) => cell.textContent)`);
}
