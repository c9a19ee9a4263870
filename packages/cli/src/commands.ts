import os from 'node:os';
import path from 'node:path';
import { checkPortFree, createApiServer, loadApiConfig, type ApiConfig } from '@sluice/api';
import { ConfigError, errorMessage, ValidationError } from '@sluice/core';
import { EncryptionKeyStore, MasterKeyring, unheldMasterKeys } from '@sluice/crypto';
import { DEFAULT_CONNECTORS_DIR, removeOrphanedConnectorDirs } from '@sluice/connectors';
import { createPrismaClient, migrate, type PrismaClient } from '@sluice/db';
import { DataHubPublisher, datahubPublisherOptions, type DatahubConfig } from '@sluice/datahub';
import { Engine } from '@sluice/engine';
import { configureDuckDb, openCatalog } from '@sluice/iceberg';
import { startPostgres, startRedis, type LocalService } from '@sluice/local-services';
import { childLogger, createLogger, logProcessWarnings, secrets, type Logger, type LogFormat } from '@sluice/logging';
import { createIngestionHandlers, mergeSpillDirectory, removeOrphanedScratchDirs, RUNNER_STOP_WAIT_MS, startRetentionSweeps, startRunner, type RetentionPolicy } from '@sluice/runner';
import { startScheduler } from '@sluice/scheduler';
import { openObjectStore, type ObjectStore } from '@sluice/storage';
import { checkPostgres, checkRedis, checkSchemaNotNewer } from './check-services.ts';
import { connectorLookups } from './connector-lookups.ts';
import type { RunnerConfig, SchedulerConfig, StartConfig } from './config.ts';
import { LOCAL_POSTGRES_DIR, localSecret, MASTER_KEY_FILE, masterKeyFileDiffers, newDevToken, newMasterKey } from './local-defaults.ts';
import { closeAll, type Closer } from './shutdown.ts';
import { claimStartDirectory } from './start-lock.ts';

/**
 * The runner's step: its running tries' time to finish, then time for those given up to stop (a
 * connector gets 10 s between SIGTERM and SIGKILL) and for their outcome to be recorded.
 */
const RUNNER_STEP_MS = RUNNER_STOP_WAIT_MS + 20_000;
/** How long the start's check of an Iceberg REST catalog waits for its answer before saying so. */
const CATALOG_CHECK_MS = 10_000;

/** What a runner's step given up leaves (PostgreSQL away, say, with outcomes waiting for it). */
const RUNNER_GIVEN_UP = 'a try whose outcome was not recorded is retried once its heartbeat is stale';

/**
 * The database client's step in a process that serves the API: once the server has stopped, a
 * statement still under way belongs to a request the stop cut (one waiting on a lock, say), whose
 * client got no answer, so it is not waited for as long as a step's default (QA round 35c F9: the
 * API's stop took 18 s, past a container's usual 10 s grace).
 */
const API_DATABASE_CLIENT_STEP = {
  timeoutMs: 3_000,
  givenUp: 'a statement of a request the stop cut was left; PostgreSQL rolls back its transaction, if any, when it finds the connection gone',
} as const;

/** The command's logger, which takes the process's warnings too (one entry each, not Node's lines). */
function makeLogger(level: string, format: LogFormat | undefined | null, options: { allToStderr?: boolean } = {}): Logger {
  const logger = createLogger({ level, format: format ?? (process.stdout.isTTY ? 'pretty' : 'json'), ...options });
  logProcessWarnings(logger);
  return logger;
}

/** What the start line says of a local service an earlier start left running. */
function adoptedNote(service: LocalService): string {
  return service.adopted ? ', left running by an earlier start that did not stop: it stops with this one' : '';
}

/**
 * A second signal sooner than this after the first is the same Ctrl-C, delivered twice: a
 * terminal signals the whole foreground process group, and `pnpm start` forwards the signal it got
 * to this process as well — on a busy machine more than a second later (seen: 1.2 s).
 */
const SAME_SIGNAL_MS = 2500;

/**
 * Runs until SIGINT/SIGTERM, then closes everything in reverse order of opening (a running task
 * is given up by its runner and retried elsewhere). A second signal exits at once, unless it came
 * within SAME_SIGNAL_MS of the first.
 */
async function runUntilSignal(logger: Logger, closers: Closer[], o: { runsTries: boolean }): Promise<void> {
  await new Promise<void>((resolve) => {
    let stoppingSince: number | null = null;
    /** `signal` is a signal's name, or null for pnpm gone (which never makes it exit at once). */
    const stop = (signal: string | null): void => {
      if (stoppingSince !== null) {
        if (signal === null) return;
        const after = Date.now() - stoppingSince;
        if (after < SAME_SIGNAL_MS) {
          // Said, not dropped without a word (QA round 41a F1: an operator's second Ctrl-C 1 s later did nothing).
          logger.info(
            `${signal} again ${(after / 1000).toFixed(1)} s after the first: taken as the same one (pnpm passes a terminal's Ctrl-C on too); ` +
              `one ${SAME_SIGNAL_MS / 1000} s or more after the first exits at once`,
          );
          return;
        }
        logger.warn(`${signal} again: exiting now`);
        // The shell's code for death by that signal (128 + its number): 130 for SIGINT, 143 for SIGTERM.
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      stoppingSince = Date.now();
      const why = signal ?? 'pnpm, which started this process, exited (it does not pass a SIGTERM on)';
      const again = signal === null ? 'SIGTERM to this process' : `${signal} again, ${SAME_SIGNAL_MS / 1000} s or more after this one,`;
      logger.info(
        o.runsTries
          ? `${why}: shutting down (running tries get ${RUNNER_STOP_WAIT_MS / 1000} s to finish, then are stopped and retried; the runner stops within ${RUNNER_STEP_MS / 1000} s in all; ` +
              `${again} exits at once, and they are retried once their heartbeat is stale)`
          : `${why}: shutting down (${again} exits at once)`,
      );
      resolve();
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    // Under `pnpm start` or `pnpm sluice …`, a SIGTERM to pnpm (a supervisor's, an operator's kill)
    // ends pnpm and its shell and never reaches this process, which would go on holding its ports
    // and local services (QA round 35c F1): pnpm's going is taken as the stop.
    if (process.env['npm_lifecycle_event'] !== undefined) {
      const parent = process.ppid;
      const watch = setInterval(() => {
        if (process.ppid === parent) return;
        clearInterval(watch);
        stop(null);
      }, 500);
      watch.unref();
    }
  });
  await closeAll(logger, closers);
  logger.info('stopped');
}

/** Where the tables are registered (SLUICE_ICEBERG_REST_*): Sluice's SQL catalog, or a REST one. */
type CatalogSetting = { type: 'sql' } | { type: 'rest'; uri: string; token: string | undefined; warehouse: string | undefined };

/** The catalog the settings name; a token or warehouse without a REST catalog's URL is refused, not ignored. */
function catalogSetting(cfg: { SLUICE_ICEBERG_REST_URL?: string | undefined; SLUICE_ICEBERG_REST_TOKEN?: string | undefined; SLUICE_ICEBERG_REST_WAREHOUSE?: string | undefined }): CatalogSetting {
  const uri = cfg.SLUICE_ICEBERG_REST_URL;
  if (uri === undefined) {
    const stray = cfg.SLUICE_ICEBERG_REST_TOKEN !== undefined ? 'SLUICE_ICEBERG_REST_TOKEN' : cfg.SLUICE_ICEBERG_REST_WAREHOUSE !== undefined ? 'SLUICE_ICEBERG_REST_WAREHOUSE' : null;
    if (stray !== null) throw new ConfigError('SLUICE_ICEBERG_REST_URL', `is unset while ${stray} is set: set the REST catalog's URL too, or unset ${stray} to use Sluice's own catalog`, null);
    return { type: 'sql' };
  }
  if (cfg.SLUICE_ICEBERG_REST_TOKEN !== undefined) secrets.add(cfg.SLUICE_ICEBERG_REST_TOKEN);
  return { type: 'rest', uri, token: cfg.SLUICE_ICEBERG_REST_TOKEN, warehouse: cfg.SLUICE_ICEBERG_REST_WAREHOUSE };
}

interface IngestionSettings {
  databaseUrl: string;
  catalog: CatalogSetting;
  keyring: MasterKeyring;
  connectorsDir: string | undefined;
  publicUrl: string;
  datahub: DatahubConfig;
  /** DuckDB's memory limit for stage, transform and merges (SLUICE_DUCKDB_MEMORY_LIMIT). */
  duckdbMemoryLimit: string | undefined;
  /** Tasks the runner runs at once (SLUICE_RUNNER_CONCURRENCY): they share the default limit. */
  concurrency: number;
  /** How long extract reuses a discovered catalog, in minutes (SLUICE_CATALOG_MAX_AGE_MINUTES). */
  catalogMaxAgeMinutes: number;
}

/**
 * DuckDB's memory limit for each task when SLUICE_DUCKDB_MEMORY_LIMIT is unset: 80 % of the
 * machine's memory shared by the runner's tasks and its merges (QA round 33b F2: DuckDB's own
 * default gave each of them 80 %, so that a few large stages at once could exhaust the machine).
 */
function defaultDuckDbMemoryLimit(concurrency: number): string {
  const mib = Math.floor((os.totalmem() * 0.8) / (concurrency + 1) / 2 ** 20);
  return `${Math.max(mib, 128)}MiB`;
}

/** What a runner's task handlers need; the DataHub sender is started here and stopped by the caller. */
function ingestionDeps(prisma: PrismaClient, store: ObjectStore, s: IngestionSettings, logger: Logger) {
  const datahub = new DataHubPublisher(prisma, { ...datahubPublisherOptions(s.datahub), logger });
  datahub.start();
  const memoryLimit = s.duckdbMemoryLimit ?? defaultDuckDbMemoryLimit(s.concurrency);
  // Said either way, so that an operator sees the setting was read (QA round 42b F3).
  logger.info(
    s.duckdbMemoryLimit === undefined
      ? `DuckDB memory limit ${memoryLimit} for each task and for merges (80 % of this machine's memory shared by ${s.concurrency} tasks and the merges; SLUICE_DUCKDB_MEMORY_LIMIT sets it)`
      : `DuckDB memory limit ${memoryLimit} for each task and for merges (SLUICE_DUCKDB_MEMORY_LIMIT)`,
  );
  // The Iceberg writer's one DuckDB (merges) is made at its first use, with these settings.
  configureDuckDb({ memoryLimit, tempDirectory: mergeSpillDirectory() });
  const catalog =
    s.catalog.type === 'sql'
      ? openCatalog({ type: 'sql', uri: s.databaseUrl, store, logger })
      : openCatalog({
          type: 'rest',
          uri: s.catalog.uri,
          store,
          logger,
          ...(s.catalog.token === undefined ? {} : { token: s.catalog.token }),
          ...(s.catalog.warehouse === undefined ? {} : { catalogWarehouse: s.catalog.warehouse }),
        });
  if (s.catalog.type === 'rest') {
    const where = `the Iceberg REST catalog at ${s.catalog.uri}${s.catalog.warehouse === undefined ? '' : ` (warehouse ${s.catalog.warehouse})`}`;
    logger.info(`tables are registered in ${where}`);
    // Asked once at start, without holding the start up: a wrong URL, token or warehouse is said
    // then, in one line, rather than first by a failed task (QA round 35c F3). One that accepts
    // connections and does not answer is said after CATALOG_CHECK_MS, not after its three tries
    // of 30 s (QA round 36a F3). Runs go on: a catalog that comes later is used then.
    const fails = 'transform and load tasks fail until the catalog answers (SLUICE_ICEBERG_REST_URL, SLUICE_ICEBERG_REST_TOKEN, SLUICE_ICEBERG_REST_WAREHOUSE)';
    let late = false;
    const slow = setTimeout(() => {
      late = true;
      logger.warn(`${where} has not answered in ${CATALOG_CHECK_MS / 1000} s; ${fails}`);
    }, CATALOG_CHECK_MS);
    slow.unref();
    void catalog.listNamespaces().then(
      () => {
        clearTimeout(slow);
        logger.info(`${where} answers`);
      },
      (err: unknown) => {
        clearTimeout(slow);
        if (!late) logger.warn(`${errorMessage(err)}; ${fails}`);
      },
    );
  }
  return {
    store,
    keyring: s.keyring,
    catalog,
    connectorsDir: path.resolve(s.connectorsDir ?? DEFAULT_CONNECTORS_DIR),
    datahub,
    publicUrl: s.publicUrl.replace(/\/+$/, ''),
    duckdb: { memoryLimit },
    catalogMaxAgeMs: s.catalogMaxAgeMinutes * 60_000,
  };
}

/** `sluice start`: everything in one process, on embedded defaults. */
export async function runStart(cfg: StartConfig, env: NodeJS.ProcessEnv, home: string): Promise<void> {
  // One start per directory (start-lock.ts): claimed before anything starts, given back once all of it has stopped.
  const release = claimStartDirectory(home);
  try {
    await startAndRun(cfg, env, home);
  } finally {
    release();
  }
}

async function startAndRun(cfg: StartConfig, env: NodeJS.ProcessEnv, home: string): Promise<void> {
  const logger = makeLogger(cfg.SLUICE_LOG_LEVEL, cfg.SLUICE_LOG_FORMAT);
  const catalog = catalogSetting(cfg);
  // Closed in reverse: the local PostgreSQL and Redis, pushed first as they start, stop last.
  const closers: Closer[] = [];
  try {
    let databaseUrl = cfg.DATABASE_URL;
    if (!databaseUrl) {
      const pg = await startPostgres(path.join(home, LOCAL_POSTGRES_DIR), cfg.SLUICE_LOCAL_POSTGRES_PORT, { durable: true, settings: { port: 'SLUICE_LOCAL_POSTGRES_PORT', url: 'DATABASE_URL' } });
      closers.push({ name: `local service ${pg.url}`, close: () => pg.stop() });
      databaseUrl = pg.url;
      logger.info(`DATABASE_URL is not set: using a local PostgreSQL at ${pg.url} (data in ${path.join(home, LOCAL_POSTGRES_DIR)})${adoptedNote(pg)}`);
    }
    let redisUrl = cfg.REDIS_URL;
    if (!redisUrl) {
      const redis = await startRedis(path.join(home, 'redis'), cfg.SLUICE_LOCAL_REDIS_PORT, { port: 'SLUICE_LOCAL_REDIS_PORT', url: 'REDIS_URL' });
      closers.push({ name: `local service ${redis.url}`, close: () => redis.stop() });
      redisUrl = redis.url;
      logger.info(`REDIS_URL is not set: using a local Redis at ${redis.url}${adoptedNote(redis)}`);
    }
    secrets.addUrlPassword(databaseUrl);
    secrets.addUrlPassword(redisUrl);
    await checkPostgres(databaseUrl, { start: true });
    await checkRedis(redisUrl, { start: true });

    const masterKey = cfg.SLUICE_MASTER_KEY ?? localSecret(home, MASTER_KEY_FILE, newMasterKey);
    const otherKeyFile = cfg.SLUICE_MASTER_KEY === undefined ? null : masterKeyFileDiffers(home, cfg.SLUICE_MASTER_KEY);
    if (otherKeyFile !== null) logger.warn(otherKeyFile);
    const devToken = cfg.SLUICE_DEV_TOKEN ?? (cfg.SLUICE_AUTH_ISSUER ? undefined : localSecret(home, 'dev-token', newDevToken));
    secrets.add(masterKey);
    if (devToken) secrets.add(devToken);

    const apiConfig: ApiConfig = loadApiConfig({
      ...env,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      SLUICE_STORAGE_URL: cfg.SLUICE_STORAGE_URL,
      SLUICE_PORT: String(cfg.SLUICE_PORT),
      SLUICE_PUBLIC_URL: cfg.SLUICE_PUBLIC_URL ?? `http://localhost:${cfg.SLUICE_PORT}`,
      SLUICE_MASTER_KEY: masterKey,
      SLUICE_DEV_TOKEN: devToken,
    });
    // The API's port before the migrations: a start that cannot listen changes nothing (QA round 43b F1).
    await checkPortFree(apiConfig);
    const applied = await migrate(databaseUrl);
    if (applied.applied.length > 0) logger.info(`applied migrations: ${applied.applied.join(', ')}`);

    const prisma = createPrismaClient(databaseUrl);
    closers.push({ name: 'database client', close: () => prisma.$disconnect(), ...API_DATABASE_CLIENT_STEP });
    const store = openStore(cfg.SLUICE_STORAGE_URL, logger);
    closers.push({ name: 'object store', close: () => store.close() });
    // The API's engine (the scheduler and the runner below have their own, and say so in their lines).
    const engine = await Engine.create({ prisma, redisUrl, queuePrefix: cfg.SLUICE_QUEUE_PREFIX, logger: childLogger(logger, { component: 'api' }) });
    closers.push({ name: 'engine', close: () => engine.close() });
    const keyring = MasterKeyring.fromBase64(masterKey, apiConfig.previousMasterKeys);
    // A key that opens only some secrets, or none, is said by the API at its start (not refused: the
    // API must start for jobs whose secrets are lost to be deleted or fixed).
    const deps = ingestionDeps(
      prisma,
      store,
      { databaseUrl, catalog, keyring, connectorsDir: cfg.SLUICE_CONNECTORS_DIR ?? path.join(home, 'connectors'), publicUrl: apiConfig.publicUrl, datahub: cfg, duckdbMemoryLimit: cfg.SLUICE_DUCKDB_MEMORY_LIMIT, concurrency: cfg.SLUICE_RUNNER_CONCURRENCY, catalogMaxAgeMinutes: cfg.SLUICE_CATALOG_MAX_AGE_MINUTES },
      logger,
    );
    closers.push({ name: 'Iceberg catalog', close: () => deps.catalog.close() });
    closers.push({ name: 'DataHub sender', close: () => deps.datahub.stop() });
    const redis = engine.outages.connection();
    closers.push({
      name: 'Redis client',
      close: async () => {
        redis.disconnect();
      },
    });
    // The API listens first: a port in use stops the start before any scheduler or runner is up.
    const { close: stopLookups, ...lookups } = connectorLookups(deps.connectorsDir, logger);
    closers.push({ name: 'connector lookups', close: async () => stopLookups() });
    const api = createApiServer({ config: apiConfig, prisma, engine, store, redis, logger, ...lookups });
    const { url } = await api.listen();
    closers.push({ name: 'API server', close: () => api.close() });
    const scheduler = await startScheduler({ prisma, redisUrl, queuePrefix: cfg.SLUICE_QUEUE_PREFIX, logger });
    closers.push({ name: 'scheduler', close: () => scheduler.close() });
    const runner = await startRunner({
      prisma,
      redisUrl,
      queuePrefix: cfg.SLUICE_QUEUE_PREFIX,
      logger,
      concurrency: cfg.SLUICE_RUNNER_CONCURRENCY,
      handlers: createIngestionHandlers(deps),
    });
    closers.push({ name: 'runner', close: () => runner.close(), timeoutMs: RUNNER_STEP_MS, givenUp: RUNNER_GIVEN_UP });
    const retention = startRetentionSweeps({ prisma, store, catalog: deps.catalog, logger }, retentionPolicy(cfg));
    closers.push({ name: 'retention sweeps', close: () => retention.close() });

    await warnIfStoreUnusable(store, logger);
    if (catalog.type === 'sql') await warnIfTablesOutsideStore(prisma, store, deps.catalog.name, logger);
    await removeConnectorLeftovers(logger);
    logger.info(`Sluice is up: API and flow UI at ${apiConfig.publicUrl} (listening on ${url}), warehouse ${cfg.SLUICE_STORAGE_URL}`);
    if (devToken && !cfg.SLUICE_DEV_TOKEN) {
      logger.info(`single-user development mode: the bearer token is in ${path.join(home, 'dev-token')}`);
    }
  } catch (err) {
    await closeAll(logger, closers);
    throw err;
  }
  await runUntilSignal(logger, closers, { runsTries: true });
}

/** `sluice api`. */
export async function runApi(env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadApiConfig(env);
  const logger = childLogger(makeLogger(config.logLevel, config.logFormat), { component: 'api' });
  secrets.addUrlPassword(config.databaseUrl);
  secrets.addUrlPassword(config.redisUrl);
  await checkPostgres(config.databaseUrl);
  await checkSchemaNotNewer(config.databaseUrl);
  await checkRedis(config.redisUrl);
  const prisma = createPrismaClient(config.databaseUrl);
  const store = openStore(config.storageUrl, logger);
  const engine = await Engine.create({ prisma, redisUrl: config.redisUrl, queuePrefix: config.queuePrefix, logger });
  const redis = engine.outages.connection();
  // As in `start`: jobs are checked against the connector's spec (its secrets) and catalog (streams, columns, keys).
  const { close: stopLookups, ...lookups } = connectorLookups(path.resolve(config.connectorsDir ?? DEFAULT_CONNECTORS_DIR), logger);
  const api = createApiServer({ config, prisma, engine, store, redis, logger, ...lookups });
  const { url } = await api.listen();
  // The line above says where it listens (every interface, with an issuer): this one, how to reach it from here.
  logger.info(`API up: ${url} from this host; flow URLs under ${config.publicUrl}`);
  await runUntilSignal(logger, [
    { name: 'database client', close: () => prisma.$disconnect(), ...API_DATABASE_CLIENT_STEP },
    { name: 'object store', close: () => store.close() },
    { name: 'engine', close: () => engine.close() },
    {
      name: 'Redis client',
      close: async () => {
        redis.disconnect();
      },
    },
    { name: 'connector lookups', close: async () => stopLookups() },
    { name: 'API server', close: () => api.close() },
  ], { runsTries: false });
}

/** `sluice scheduler`. */
export async function runScheduler(cfg: SchedulerConfig): Promise<void> {
  const logger = makeLogger(cfg.SLUICE_LOG_LEVEL, cfg.SLUICE_LOG_FORMAT);
  secrets.addUrlPassword(cfg.DATABASE_URL);
  secrets.addUrlPassword(cfg.REDIS_URL);
  await checkPostgres(cfg.DATABASE_URL);
  await checkSchemaNotNewer(cfg.DATABASE_URL);
  await checkRedis(cfg.REDIS_URL);
  const prisma = createPrismaClient(cfg.DATABASE_URL);
  // startScheduler says it started (QA round 49a: said twice, once here too).
  const scheduler = await startScheduler({ prisma, redisUrl: cfg.REDIS_URL, queuePrefix: cfg.SLUICE_QUEUE_PREFIX, logger });
  await runUntilSignal(logger, [
    { name: 'database client', close: () => prisma.$disconnect() },
    { name: 'scheduler', close: () => scheduler.close() },
  ], { runsTries: false });
}

/** `sluice runner`. */
export async function runRunner(cfg: RunnerConfig): Promise<void> {
  const logger = makeLogger(cfg.SLUICE_LOG_LEVEL, cfg.SLUICE_LOG_FORMAT);
  const catalog = catalogSetting(cfg);
  secrets.addUrlPassword(cfg.DATABASE_URL);
  secrets.addUrlPassword(cfg.REDIS_URL);
  secrets.add(cfg.SLUICE_MASTER_KEY);
  await checkPostgres(cfg.DATABASE_URL);
  await checkSchemaNotNewer(cfg.DATABASE_URL);
  await checkRedis(cfg.REDIS_URL);
  const prisma = createPrismaClient(cfg.DATABASE_URL);
  const keyring = MasterKeyring.fromBase64(cfg.SLUICE_MASTER_KEY, cfg.SLUICE_MASTER_KEY_PREVIOUS ?? []);
  for (const key of cfg.SLUICE_MASTER_KEY_PREVIOUS ?? []) secrets.add(key);
  // A runner that can open none of the jobs' secrets would fail each run it took, other runners'
  // too; one that opens all but some jobs' runs the others, and says which it cannot.
  const unheld = await unheldMasterKeys(prisma, keyring).catch(async (err: unknown) => {
    await prisma.$disconnect();
    throw err;
  });
  if (unheld?.opensNone) {
    await prisma.$disconnect();
    throw new ConfigError('SLUICE_MASTER_KEY', unheld.message, null);
  }
  if (unheld !== null) logger.warn(`SLUICE_MASTER_KEY ${unheld.message}; runs of those jobs fail on this runner until it is`);
  const store = openStore(cfg.SLUICE_STORAGE_URL, logger);
  const deps = ingestionDeps(
    prisma,
    store,
    { databaseUrl: cfg.DATABASE_URL, catalog, keyring, connectorsDir: cfg.SLUICE_CONNECTORS_DIR, publicUrl: cfg.SLUICE_PUBLIC_URL, datahub: cfg, duckdbMemoryLimit: cfg.SLUICE_DUCKDB_MEMORY_LIMIT, concurrency: cfg.SLUICE_RUNNER_CONCURRENCY, catalogMaxAgeMinutes: cfg.SLUICE_CATALOG_MAX_AGE_MINUTES },
    logger,
  );
  await removeConnectorLeftovers(logger);
  await untilStoreUsable(store, logger);
  if (catalog.type === 'sql') await warnIfTablesOutsideStore(prisma, store, deps.catalog.name, logger);
  const runner = await startRunner({
    prisma,
    redisUrl: cfg.REDIS_URL,
    queuePrefix: cfg.SLUICE_QUEUE_PREFIX,
    logger,
    concurrency: cfg.SLUICE_RUNNER_CONCURRENCY,
    handlers: createIngestionHandlers(deps),
  });
  const retention = startRetentionSweeps({ prisma, store, catalog: deps.catalog, logger }, retentionPolicy(cfg));
  await runUntilSignal(logger, [
    { name: 'database client', close: () => prisma.$disconnect() },
    { name: 'object store', close: () => store.close() },
    { name: 'Iceberg catalog', close: () => deps.catalog.close() },
    { name: 'DataHub sender', close: () => deps.datahub.stop() },
    { name: 'runner', close: () => runner.close(), timeoutMs: RUNNER_STEP_MS, givenUp: RUNNER_GIVEN_UP },
    { name: 'retention sweeps', close: () => retention.close() },
  ], { runsTries: true });
}

function retentionPolicy(cfg: { SLUICE_ARCHIVE_RETENTION_DAYS: number; SLUICE_STAGING_RETENTION_DAYS: number; SLUICE_RUN_HISTORY_RETENTION_DAYS: number }): RetentionPolicy {
  return { archiveDays: cfg.SLUICE_ARCHIVE_RETENTION_DAYS, stagingDays: cfg.SLUICE_STAGING_RETENTION_DAYS, historyDays: cfg.SLUICE_RUN_HISTORY_RETENTION_DAYS };
}

/**
 * The object store is checked once at start: a missing bucket or wrong credentials are said then,
 * in one line, rather than first by a failed run. Not fatal: it may be created after Sluice starts
 * (`/readyz` reports it meanwhile).
 */
/**
 * The object store at `url`; a request it keeps waiting 30 s is said once, and its answer after
 * that, as losing PostgreSQL or Redis is (QA round 49a D2: a store frozen for 100 s stalled a task
 * with no line in any log).
 */
function openStore(url: string, logger: Logger): ObjectStore {
  return openObjectStore(url, {
    onStall: (e) => {
      const s = Math.round(e.waitedMs / 1000);
      if (e.kind === 'waiting') {
        logger.warn(`the object store ${e.rootUrl} has kept a request waiting ${s} s: the tasks that read or write files wait for it (a request silent for 60 s is given up and tried again)`);
      } else {
        logger.info(`the object store ${e.rootUrl} answers again, after ${s} s`);
      }
    },
  });
}

async function warnIfStoreUnusable(store: ObjectStore, logger: Logger): Promise<void> {
  const ping = await store.ping();
  if (!ping.ok) logger.warn(`the object store is not usable: ${ping.error}; runs fail until it is (SLUICE_STORAGE_URL)`);
}

/**
 * Tables of Sluice's SQL catalog whose files are outside the object store are said once at start:
 * a load into one fails ("… is not under the store root"). Iceberg names a table's files by
 * absolute location, so a `./.sluice` copied or moved to another directory starts, and then every
 * load failed with no word at start of why or what to do (QA round 43b F2); a wrong
 * SLUICE_STORAGE_URL looks the same. Not fatal: the other tables load, and a table another engine
 * made elsewhere may be in the catalog on purpose.
 */
async function warnIfTablesOutsideStore(prisma: PrismaClient, store: ObjectStore, catalogName: string, logger: Logger): Promise<void> {
  const tables = await prisma.icebergTable
    .findMany({ where: { catalogName, metadataLocation: { not: null } }, select: { tableNamespace: true, tableName: true, metadataLocation: true }, orderBy: [{ tableNamespace: 'asc' }, { tableName: 'asc' }] })
    // Unreachable PostgreSQL is said by the start's other checks; this one is advice.
    .catch(() => []);
  const outside = tables.filter((t) => {
    try {
      store.keyOf(t.metadataLocation ?? '');
      return false;
    } catch {
      return true;
    }
  });
  const first = outside[0];
  if (first === undefined) return;
  logger.warn(
    `${outside.length} of the catalog's ${tables.length} tables keep their files outside this object store (${store.rootUrl}), ` +
      `e.g. ${first.tableNamespace}.${first.tableName} at ${first.metadataLocation ?? ''}: loads into them fail. ` +
      'Set SLUICE_STORAGE_URL to the store they are in; a ./.sluice copied or moved from another directory keeps that directory in its tables (Iceberg names files by absolute location): run Sluice from there',
  );
}

/** How often a runner whose object store is not usable checks it again. */
const STORE_RECHECK_MS = 5_000;

/**
 * A runner takes no task until its object store answers (QA round 33c F3: one with a store it could
 * not use took the stage of a run another runner had extracted into the real store, and failed it
 * for good). Said once when it waits, and once when it goes on; a store created later (a bucket an
 * init step makes) lets it start then.
 */
async function untilStoreUsable(store: ObjectStore, logger: Logger): Promise<void> {
  let waited = false;
  for (;;) {
    const ping = await store.ping();
    if (ping.ok) {
      if (waited) logger.info('the object store is usable: taking tasks');
      return;
    }
    if (!waited) logger.warn(`the object store is not usable: ${ping.error}; this runner takes no task until it is (SLUICE_STORAGE_URL), checking every ${STORE_RECHECK_MS / 1000} s`);
    waited = true;
    await new Promise((r) => setTimeout(r, STORE_RECHECK_MS));
  }
}

/**
 * A runner killed with SIGKILL leaves its running connectors' private directories (their config,
 * secrets included, in plaintext): the next runner to start on the machine removes them.
 */
async function removeConnectorLeftovers(logger: Logger): Promise<void> {
  try {
    const { dirs: n, connectors } = await removeOrphanedConnectorDirs();
    if (n > 0) {
      logger.info(
        `removed ${n} connector director${n === 1 ? 'y' : 'ies'} (config files) left by runner processes that died` +
          (connectors > 0 ? `, and stopped ${connectors} connector${connectors === 1 ? '' : 's'} still running for them` : ''),
      );
    }
  } catch (err) {
    logger.warn(`could not look for connector directories left by dead runner processes: ${errorMessage(err)}`);
  }
  try {
    const n = await removeOrphanedScratchDirs();
    if (n > 0) logger.info(`removed ${n} task scratch director${n === 1 ? 'y' : 'ies'} (partial files, DuckDB's spill) left by runner processes that died`);
  } catch (err) {
    logger.warn(`could not look for task scratch directories left by dead runner processes: ${errorMessage(err)}`);
  }
}

/** `sluice migrate`. */
export async function runMigrate(cfg: { DATABASE_URL: string; SLUICE_LOG_LEVEL: string; SLUICE_LOG_FORMAT?: LogFormat | undefined }): Promise<void> {
  const logger = makeLogger(cfg.SLUICE_LOG_LEVEL, cfg.SLUICE_LOG_FORMAT);
  secrets.addUrlPassword(cfg.DATABASE_URL);
  await checkPostgres(cfg.DATABASE_URL);
  const r = await migrate(cfg.DATABASE_URL);
  logger.info(r.applied.length > 0 ? `applied ${r.applied.join(', ')}` : `database is up to date (${r.alreadyApplied.length} migrations)`);
}

/**
 * `sluice decryption-keys <name>`: prints, as JSON on stdout, the AES-256-GCM key of each version
 * of the named encryption key, so that a reader of the tables (Spark, Trino, Python) can decrypt
 * the columns it encrypts (docs/encryption.md). The API never answers key material; this needs the
 * database and the master key, i.e. an operator. Each use is recorded on the key (which versions,
 * the OS user@host, when; `GET /api/encryption-keys` shows it) before the keys are printed, and logged.
 */
export async function runDecryptionKeys(
  cfg: { DATABASE_URL: string; SLUICE_MASTER_KEY: string; SLUICE_MASTER_KEY_PREVIOUS?: string[] | undefined; SLUICE_LOG_LEVEL: string; SLUICE_LOG_FORMAT?: LogFormat | undefined },
  name: string,
  /** Which settings were taken from the checkout's `pnpm start`, said before anything else. */
  taken: readonly string[] = [],
): Promise<void> {
  // Its stdout is the keys' JSON, for a reader to parse: what it says goes to stderr.
  const logger = makeLogger(cfg.SLUICE_LOG_LEVEL, cfg.SLUICE_LOG_FORMAT, { allToStderr: true });
  for (const line of taken) logger.info(line);
  secrets.addUrlPassword(cfg.DATABASE_URL);
  await checkPostgres(cfg.DATABASE_URL);
  const prisma = createPrismaClient(cfg.DATABASE_URL, { max: 1 });
  try {
    const keys = new EncryptionKeyStore(prisma, MasterKeyring.fromBase64(cfg.SLUICE_MASTER_KEY, cfg.SLUICE_MASTER_KEY_PREVIOUS ?? []));
    const cipher = await keys.loadCipher(name).catch((err: unknown) => {
      // A key sealed under a master key this process was not given: one line, not a stack trace.
      if (err instanceof ValidationError) throw new ConfigError('SLUICE_MASTER_KEY', `cannot open encryption key ${name}: ${err.message}`, 'the master key the API and runners run with');
      throw err;
    });
    const versions = cipher.decryptionKeys();
    // Recorded before anything is printed: no key leaves without its record.
    const by = `${os.userInfo().username}@${os.hostname()}`;
    await keys.recordDisclosure(name, versions.map((v) => v.version), by);
    process.stdout.write(
      `${JSON.stringify({ key: name, active_version: cipher.activeVersion, algorithm: 'AES-256-GCM', versions: versions.map((v) => ({ version: v.version, aes_256_gcm_key: v.aes256GcmKey })) }, null, 2)}\n`,
    );
    logger.warn(`decryption keys of encryption key ${name} (versions ${versions.map((v) => v.version).join(', ')}) were written to stdout`);
  } finally {
    await prisma.$disconnect();
  }
}
