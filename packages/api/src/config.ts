import { z } from 'zod';
import { ConfigError } from '@sluice/core';
import { httpUrl, listenHost, logFormat, logLevel, masterKey, parseConfig, port, postgresUrl, redisUrl, storageUrl } from '@sluice/core/config';

const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/**
 * The API process's settings, by environment variable name (described in '@sluice/core/config'
 * SETTINGS). Authentication needs either an issuer with its audience, or the development token.
 */
export const apiConfigSchema = z.object({
  DATABASE_URL: postgresUrl,
  REDIS_URL: redisUrl,
  SLUICE_STORAGE_URL: storageUrl,
  SLUICE_PORT: port.default(8080),
  SLUICE_HOST: optional(listenHost),
  // Unset: this API's own address on this host (QA round 37b F6: 8080 whatever SLUICE_PORT said).
  SLUICE_PUBLIC_URL: optional(httpUrl),
  SLUICE_AUTH_ISSUER: optional(httpUrl),
  SLUICE_AUTH_AUDIENCE: optional(z.string().min(1)),
  /** The OAuth client id the flow UI signs in with (authorization code + PKCE); UI only. */
  SLUICE_AUTH_CLIENT_ID: optional(z.string().min(1)),
  SLUICE_DEV_TOKEN: optional(z.string().min(12, 'must be at least 12 characters')),
  SLUICE_MASTER_KEY: masterKey,
  /** Master keys being rotated out (comma-separated base64): they only open values, never seal. */
  SLUICE_MASTER_KEY_PREVIOUS: optional(
    z
      .string()
      .transform((v) => v.split(',').map((k) => k.trim()).filter(Boolean))
      .pipe(z.array(masterKey)),
  ),
  SLUICE_LOG_LEVEL: logLevel.default('info'),
  SLUICE_LOG_FORMAT: optional(logFormat),
  SLUICE_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').default('sluice'),
  /** Where the API installs a connector to read its spec and catalog when a job is created (shared with the runners). */
  SLUICE_CONNECTORS_DIR: optional(z.string().min(1)),
});

/** The API's configuration, parsed once at start. */
export interface ApiConfig {
  databaseUrl: string;
  redisUrl: string;
  storageUrl: string;
  port: number;
  /**
   * The address to listen on; null: every interface (Node's default). Default: 127.0.0.1 in
   * single-user development mode (where anyone who can load a page is the admin), null otherwise.
   */
  host: string | null;
  /** Base of every flow_url, without a trailing slash. */
  publicUrl: string;
  auth: {
    issuer: string | null;
    audience: string | null;
    clientId: string | null;
    devToken: string | null;
  };
  /** Base64 of the 32-byte master key. */
  masterKey: string;
  /** Older master keys (base64), to open values sealed before a rotation; none when absent. */
  previousMasterKeys?: string[];
  logLevel: z.output<typeof logLevel>;
  logFormat: z.output<typeof logFormat> | null;
  queuePrefix: string;
  /** Where connectors are installed to check jobs against their spec and catalog; null: the default, `./.sluice/connectors`. */
  connectorsDir: string | null;
}

/**
 * What the API's authentication settings say together, as given (an empty variable is unset):
 * either an issuer with its audience, or the development token alone.
 */
function authProblems(env: Record<string, string | undefined>): ConfigError[] {
  const set = (name: string): boolean => (env[name] ?? '') !== '';
  const problems: ConfigError[] = [];
  if (set('SLUICE_AUTH_ISSUER') && !set('SLUICE_AUTH_AUDIENCE')) {
    problems.push(new ConfigError('SLUICE_AUTH_AUDIENCE', 'is required with SLUICE_AUTH_ISSUER (tokens must name this API as audience)', 'sluice-api'));
  }
  if (set('SLUICE_AUTH_ISSUER') && set('SLUICE_DEV_TOKEN')) {
    // The dev token is an admin's, never expires, and is checked before any JWT: beside an issuer
    // (whose API listens on every interface) a leftover one would be a password to everything.
    problems.push(
      new ConfigError(
        'SLUICE_DEV_TOKEN',
        'is for single-user development, without an OAuth issuer: with SLUICE_AUTH_ISSUER set, unset it (the issuer\'s tokens sign people in)',
        null,
      ),
    );
  }
  if (!set('SLUICE_AUTH_ISSUER') && !set('SLUICE_DEV_TOKEN')) {
    problems.push(
      new ConfigError(
        'SLUICE_AUTH_ISSUER',
        'is not set, and neither is SLUICE_DEV_TOKEN: the API would accept no one (set an OAuth issuer, or a dev token for one machine)',
        'https://login.example.com/realms/data',
      ),
    );
  }
  return problems;
}

/** Parses the environment into an {@link ApiConfig}; a ConfigError names every bad variable. */
export function loadApiConfig(env: Record<string, string | undefined>): ApiConfig {
  const c = parseConfig(apiConfigSchema, env, {}, authProblems(env));
  return {
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    storageUrl: c.SLUICE_STORAGE_URL,
    port: c.SLUICE_PORT,
    host: c.SLUICE_HOST ?? (c.SLUICE_AUTH_ISSUER === undefined ? '127.0.0.1' : null),
    publicUrl: (c.SLUICE_PUBLIC_URL ?? `http://localhost:${c.SLUICE_PORT}`).replace(/\/+$/, ''),
    auth: {
      issuer: c.SLUICE_AUTH_ISSUER ?? null,
      audience: c.SLUICE_AUTH_AUDIENCE ?? null,
      clientId: c.SLUICE_AUTH_CLIENT_ID ?? null,
      devToken: c.SLUICE_DEV_TOKEN ?? null,
    },
    masterKey: c.SLUICE_MASTER_KEY,
    previousMasterKeys: c.SLUICE_MASTER_KEY_PREVIOUS ?? [],
    logLevel: c.SLUICE_LOG_LEVEL,
    logFormat: c.SLUICE_LOG_FORMAT ?? null,
    queuePrefix: c.SLUICE_QUEUE_PREFIX,
    connectorsDir: c.SLUICE_CONNECTORS_DIR ?? null,
  };
}
