import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import type express from 'express';
import type { Request } from 'express';
import { ConfigError, postgresAddress } from '@sluice/core';
import { EncryptionKeyStore, MasterKeyring, resealAtRest, unheldMasterKeys } from '@sluice/crypto';
import { errorSummary, type PrismaClient } from '@sluice/db';
import { childLogger, secrets, type Logger } from '@sluice/logging';
import type { ObjectStore } from '@sluice/storage';
import { BearerAuthenticator } from './auth/bearer-authenticator.ts';
import { effectiveScopes, type Principal } from './auth/principal.ts';
import type { ApiConfig } from './config.ts';
import type { JobEngine } from './engine-port.ts';
import type { Pingable } from './health/readiness.ts';
import { apiRoutes } from './http/api-routes.ts';
import { createHttpApp } from './http/create-http-app.ts';
import { buildOpenApiDocument } from './http/openapi-document.ts';
import { UI_API_ROUTE_DOCS } from './http/ui-api-docs.ts';
import { JobService } from './jobs/job-service.ts';
import type { CheckConnection, GetConnectorSpec } from './jobs/validate-source-config.ts';
import type { DiscoverCatalog } from './jobs/validate-against-catalog.ts';
import { EncryptionKeyService } from './keys/encryption-key-service.ts';
import { createUiRouter, type UiAuthSettings } from './ui/index.ts';

export interface ApiServerDeps {
  config: ApiConfig;
  prisma: PrismaClient;
  engine: JobEngine;
  store: ObjectStore;
  /** Redis, for /readyz (an ioredis client). */
  redis: Pingable;
  logger: Logger;
  /** A connector's spec, when it can be had: secrets are then the spec's `airbyte_secret` fields and source_config is checked against it. */
  getConnectorSpec?: GetConnectorSpec;
  /**
   * A source's catalog (the connector's `discover` with the posted config), when it can be had:
   * `streams`, merge keys and transformation columns are then checked against it at create time.
   */
  discoverCatalog?: DiscoverCatalog;
  /** A connector's `check` with the posted config, when it can be had: a FAILED one refuses the config (create, PATCH). */
  checkConnection?: CheckConnection;
  /** Serve the flow UI (default true). */
  ui?: boolean;
  /** How often an idle live stream of the UI is written to (default LIVE_HEARTBEAT_MS, 15 s). */
  liveHeartbeatMs?: number;
}

export interface ApiServer {
  app: express.Express;
  /** Listens on `config.port` (0 = any free port); answers the URL it listens on. */
  listen(): Promise<{ url: string }>;
  /** Stops listening and ends live UI streams. The prisma, redis and engine passed in stay open: their owner closes them. */
  close(): Promise<void>;
}

const API_VERSION = '0.1.0';

/** A port in use said as a setting to change, in one line; any other listen error as it is. */
function portError(config: Pick<ApiConfig, 'port' | 'host'>, err: Error, example = config.port + 1): Error {
  if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') return err;
  return new ConfigError('SLUICE_PORT', `port ${config.port} is already in use${config.host === null ? '' : ` on ${config.host}`} (another Sluice, or another program)`, String(example), { cause: err });
}

/** Listens on `port` and closes again: null when a server could listen there now, else the listen's error. */
async function probeListen(port: number, host: string | null): Promise<Error | null> {
  const probe = createServer();
  const refused = await new Promise<Error | null>((resolve) => {
    probe.once('error', resolve);
    if (host === null) probe.listen(port, () => resolve(null));
    else probe.listen(port, host, () => resolve(null));
  });
  if (refused === null) await new Promise<void>((resolve) => probe.close(() => resolve()));
  return refused;
}

/**
 * A port after `port` that is free now, for the example of a refusal (QA round 43b: the example
 * was the next port, which the start's own local PostgreSQL held); the next port when none of
 * the 20 after it is.
 */
async function freePortAfter(port: number, host: string | null): Promise<number> {
  for (let p = port + 1; p <= Math.min(port + 20, 65_535); p++) if ((await probeListen(p, host)) === null) return p;
  return port + 1;
}

/**
 * Refuses a port another server holds before anything is changed: `start` asks before it migrates
 * the database (QA round 43b F1: a newer Sluice pointed at a running older one's database migrated it,
 * then stopped on the port, and the older one could not start again). Another program may still
 * take the port before the API listens; then `listen` says the same.
 */
export async function checkPortFree(config: Pick<ApiConfig, 'port' | 'host'>): Promise<void> {
  const refused = await probeListen(config.port, config.host);
  if (refused === null) return;
  const inUse = (refused as NodeJS.ErrnoException).code === 'EADDRINUSE';
  throw portError(config, refused, inUse ? await freePortAfter(config.port, config.host) : undefined);
}

/** The API process: routes, auth, OpenAPI document and the flow UI, on one express app. */
export function createApiServer(deps: ApiServerDeps): ApiServer {
  const { config } = deps;
  const logger = childLogger(deps.logger, { component: 'api' });
  const previousMasterKeys = config.previousMasterKeys ?? [];
  for (const s of [config.masterKey, ...previousMasterKeys, config.auth.devToken]) if (s) secrets.add(s);
  for (const url of [config.databaseUrl, config.redisUrl]) secrets.addUrlPassword(url);

  const keyring = MasterKeyring.fromBase64(config.masterKey, previousMasterKeys);
  const keyStore = new EncryptionKeyStore(deps.prisma, keyring);
  const jobs = new JobService({
    prisma: deps.prisma,
    engine: deps.engine,
    keyring,
    keys: keyStore,
    logger,
    publicUrl: config.publicUrl,
    getConnectorSpec: deps.getConnectorSpec,
    discoverCatalog: deps.discoverCatalog,
    checkConnection: deps.checkConnection,
  });
  const keys = new EncryptionKeyService(keyStore, logger);
  const bearer = new BearerAuthenticator(config.auth);

  // Single-user development mode: the dev token is the admin, and so is any browser that loads a page.
  const devToken = config.auth.issuer === null ? config.auth.devToken : null;
  const devMode = devToken !== null;
  const uiAuth: UiAuthSettings =
    config.auth.issuer !== null && config.auth.clientId !== null
      ? { mode: 'oidc', issuer: config.auth.issuer, clientId: config.auth.clientId, audience: config.auth.audience ?? undefined }
      : devToken !== null
        ? { mode: 'dev', devToken, publicUrl: config.publicUrl }
        : { mode: 'none' };
  const bearerPrincipal = (req: Request): Promise<Principal> => bearer.authenticate(req.headers.authorization);
  const ui =
    deps.ui === false
      ? null
      : createUiRouter({
          prisma: deps.prisma,
          logger,
          redis: deps.redis,
          auth: uiAuth,
          authenticate: bearerPrincipal,
          ...(deps.liveHeartbeatMs === undefined ? {} : { heartbeatMs: deps.liveHeartbeatMs }),
        });
  const authenticate = async (req: Request): Promise<Principal> => {
    // Development mode: the UI's session cookie stands for the dev admin (see ui/dev-session.ts).
    const dev = ui?.devSession?.verify(req);
    if (dev) return { subject: dev.subject, admin: dev.admin, scopes: effectiveScopes([], dev.admin) };
    return bearerPrincipal(req);
  };

  let openApi: unknown = null;
  const routes = apiRoutes({
    jobs,
    keys,
    readiness: { prisma: deps.prisma, postgresAddress: postgresAddress(deps.config.databaseUrl), redis: deps.redis, store: deps.store },
    openApi: () => openApi,
  });
  openApi = buildOpenApiDocument(ui ? [...routes, ...UI_API_ROUTE_DOCS] : routes, { version: API_VERSION, serverUrl: config.publicUrl, issuer: config.auth.issuer });
  const app = createHttpApp({ routes, authenticate, logger, ...(ui ? { extraRouter: { router: ui, routes: UI_API_ROUTE_DOCS } } : {}) });

  let server: Server | null = null;
  /**
   * The second half of a master key rotation, at each start: what an older key sealed (jobs'
   * configs, named keys' material) is sealed again with the active one, so that the previous key
   * can go (docs/encryption.md; QA round 32: nothing did it, and a rotation could not end).
   */
  const resealWithActiveKey = async (): Promise<void> => {
    try {
      const r = await resealAtRest(deps.prisma, keyring);
      if (r.sourceConfigs + r.keyVersions > 0) {
        logger.info(
          `master key rotation: sealed ${r.sourceConfigs} source ${r.sourceConfigs === 1 ? 'config' : 'configs'} and ${r.keyVersions} encryption key ${r.keyVersions === 1 ? 'version' : 'versions'} again ` +
            `with the active SLUICE_MASTER_KEY (${keyring.activeKeyId}): SLUICE_MASTER_KEY_PREVIOUS can go once every Sluice process runs with this key`,
        );
      }
      const unheld = await unheldMasterKeys(deps.prisma, keyring);
      if (unheld !== null) {
        const keys = `master key${unheld.keyIds.length === 1 ? '' : 's'} ${unheld.keyIds.join(', ')}`;
        logger.warn(
          unheld.opensNone
            ? `SLUICE_MASTER_KEY is not this installation's: all ${unheld.sealed} ${unheld.sealed === 1 ? 'secret' : 'secrets'} at rest are sealed with ${keys}, and this API holds ${keyring.keyIds.join(', ')}. ` +
                "It reads and writes no job's config or encryption key until it is given the installation's master key"
            : `${unheld.sealed} ${unheld.sealed === 1 ? 'secret is' : 'secrets are'} sealed with ${keys}, which this API does not hold (it holds ${keyring.keyIds.join(', ')}): ` +
                'give it that key in SLUICE_MASTER_KEY_PREVIOUS, or the jobs concerned cannot run',
        );
      }
    } catch (err) {
      logger.warn(`sealing secrets again with the active master key failed (the next start tries again): ${errorSummary(err)}`);
    }
  };

  return {
    app,
    async listen() {
      await resealWithActiveKey();
      return new Promise((resolve, reject) => {
        const listening = (err?: Error): void => {
          if (err) {
            // Another Sluice, or another program: a setting to change, said in one line.
            reject(portError(config, err));
            return;
          }
          const { address, port } = s.address() as AddressInfo;
          const everywhere = config.host === null || address === '0.0.0.0' || address === '::';
          logger.info('API listening', { address: everywhere ? 'every interface' : address, port, publicUrl: config.publicUrl });
          if (devMode && !isLoopback(address)) {
            logger.warn(
              `single-user development mode listens on ${everywhere ? 'every interface' : address}: anyone who can reach port ${port} is the admin ` +
                '(set SLUICE_HOST=127.0.0.1, or sign-in with SLUICE_AUTH_ISSUER)',
            );
          }
          resolve({ url: `http://${everywhere ? '127.0.0.1' : urlHost(address)}:${port}` });
        };
        const s = config.host === null ? app.listen(config.port, listening) : app.listen(config.port, config.host, listening);
        server = s;
      });
    },
    async close() {
      ui?.close();
      const s = server;
      server = null;
      if (!s) return;
      // No new connections; the requests under way are answered, so a trigger whose run is
      // committed tells its client the run's id (QA round 33c F4: cut off, the client's retry made a
      // second run). Connections are closed as they go idle, and the rest cut after DRAIN_MS.
      await new Promise<void>((resolve, reject) => {
        const idle = setInterval(() => s.closeIdleConnections(), 50);
        const cut = setTimeout(() => {
          s.getConnections((_, open) => {
            if (open > 0) logger.warn(`stopping the API: ${open} ${open === 1 ? 'connection' : 'connections'} still busy after ${DRAIN_MS / 1000} s cut; a request under way there is not answered`);
          });
          s.closeAllConnections();
        }, DRAIN_MS);
        s.close((err) => {
          clearInterval(idle);
          clearTimeout(cut);
          if (err) reject(err);
          else resolve();
        });
        s.closeIdleConnections();
      });
    },
  };
}

/** How long the requests under way at a stop have to be answered before their connections are cut (within the CLI's 10 s step). */
const DRAIN_MS = 8_000;

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address === '::ffff:127.0.0.1';
}

/** An address as a URL's host (IPv6 literals in brackets). */
function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
