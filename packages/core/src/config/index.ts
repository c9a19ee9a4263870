import { z } from 'zod';
import { ConfigError } from '../errors/index.ts';

/**
 * Configuration schemas. Each process composes one zod object from these fields and parses
 * `process.env` once at start (nothing else reads the environment). A wrong value stops the
 * process with a ConfigError that names the variable and shows a good example.
 */

export interface SettingDoc {
  description: string;
  example: string;
}

/** Every documented variable: the description and an example of a good value. */
export const SETTINGS = {
  DATABASE_URL: { description: 'PostgreSQL connection URL', example: 'postgresql://sluice:sluice@127.0.0.1:5432/sluice' },
  REDIS_URL: { description: 'Redis URL', example: 'redis://127.0.0.1:6379' },
  SLUICE_STORAGE_URL: { description: 'object store root: s3://bucket/prefix or file:///path', example: 's3://warehouse/sluice' },
  SLUICE_PORT: { description: 'port the API and UI listen on', example: '8080' },
  SLUICE_HOST: {
    description: 'address the API and UI listen on; default 127.0.0.1 in single-user development mode (dev token, no issuer), every interface otherwise',
    example: '0.0.0.0',
  },
  SLUICE_PUBLIC_URL: { description: 'base of every flow_url', example: 'https://sluice.example.com' },
  SLUICE_AUTH_ISSUER: { description: 'OAuth 2.0 / OIDC issuer whose JWKS signs bearer tokens', example: 'https://login.example.com/realms/data' },
  SLUICE_AUTH_AUDIENCE: { description: 'audience required in bearer tokens', example: 'sluice-api' },
  SLUICE_DEV_TOKEN: { description: 'single-user development mode: this static bearer token is an admin', example: 'dev-token-change-me' },
  SLUICE_MASTER_KEY: { description: 'base64 of 32 random bytes; encrypts secrets and encryption keys at rest', example: '$(openssl rand -base64 32)' },
  SLUICE_MASTER_KEY_PREVIOUS: { description: 'comma-separated base64 master keys being rotated out (still decrypt)', example: 'b2xkLWtleS0x...,b2xkLWtleS0y...' },
  SLUICE_AUTH_CLIENT_ID: { description: 'OAuth client id the flow UI signs in with (authorization code + PKCE)', example: 'sluice-ui' },
  SLUICE_DATAHUB_ENV: { description: 'DataHub environment (fabric) of the datasets Sluice publishes', example: 'PROD' },
  SLUICE_LOG_LEVEL: { description: 'error, warn, info, debug', example: 'info' },
  SLUICE_LOG_FORMAT: { description: 'json (production) or pretty (terminal)', example: 'pretty' },
  SLUICE_CONNECTORS_DIR: { description: 'where Python connectors are installed, one virtualenv each', example: '/var/lib/sluice/connectors' },
  SLUICE_QUEUE_PREFIX: { description: 'BullMQ key prefix in Redis', example: 'sluice' },
  SLUICE_RUNNER_CONCURRENCY: { description: 'tasks one runner executes at once', example: '4' },
  SLUICE_ARCHIVE_RETENTION_DAYS: { description: "days a successful run's archive is kept (0: for ever)", example: '30' },
  SLUICE_STAGING_RETENTION_DAYS: { description: "days a failed or cancelled run's staging files are kept for clears (0: for ever)", example: '7' },
  SLUICE_RUN_HISTORY_RETENTION_DAYS: { description: "days a finished run's history (its tasks' tries and log lines) is kept (0: for ever); each job's latest run of each type stays", example: '90' },
  SLUICE_LOCAL_POSTGRES_PORT: { description: 'port of the local PostgreSQL `pnpm start` runs when DATABASE_URL is unset', example: '54330' },
  SLUICE_LOCAL_REDIS_PORT: { description: 'port of the local Redis `pnpm start` runs when REDIS_URL is unset', example: '63800' },
  SLUICE_ICEBERG_REST_URL: {
    description: "an Iceberg REST catalog's base URL to register the tables in (unset: Sluice's own SQL catalog in its PostgreSQL); it must reach the same object store",
    example: 'https://catalog.example.com/api/catalog',
  },
  SLUICE_ICEBERG_REST_TOKEN: { description: 'bearer token for the Iceberg REST catalog', example: 'a token your catalog issued' },
  SLUICE_ICEBERG_REST_WAREHOUSE: { description: 'warehouse the Iceberg REST catalog is asked for (its /v1/config?warehouse=)', example: 'analytics' },
  SLUICE_DUCKDB_MEMORY_LIMIT: { description: "DuckDB's memory limit for each stage or transform task and for merges (unset: 80 % of RAM shared by the runner's tasks and merges)", example: '4GB' },
  SLUICE_CATALOG_MAX_AGE_MINUTES: {
    description: "how long extract reuses a job's discovered catalog before it runs the connector's discover again (0: on every run; a source that sends only its catalog's columns shows a new column only to a discover)",
    example: '60',
  },
  DATAHUB_GMS_URL: { description: "DataHub's metadata service", example: 'http://datahub-gms:8080' },
  DATAHUB_GMS_TOKEN: { description: 'DataHub token', example: 'eyJhbGciOi...' },
} as const satisfies Record<string, SettingDoc>;

export type SettingName = keyof typeof SETTINGS;

export const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgresql:// URL');
export const redisUrl = z.string().refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL');
export const storageUrl = z
  .string()
  .refine((v) => /^(s3:\/\/[^/]+|file:\/\/\/)/.test(v), 'must be s3://bucket[/prefix] or file:///absolute/path');
/** A listen address: an IPv4 or IPv6 literal, or a host name. */
export const listenHost = z
  .string()
  .refine((v) => /^[A-Za-z0-9.:-]+$/.test(v) && v.length <= 253, 'must be an IP address or host name, e.g. 127.0.0.1 or 0.0.0.0');
export const port = z.coerce
  .number({ error: 'must be a port number from 1 to 65535' })
  .int('must be a port number from 1 to 65535')
  .min(1, 'must be a port number from 1 to 65535')
  .max(65535, 'must be a port number from 1 to 65535');
export const httpUrl = z
  .string()
  .url('must be an http(s) URL, e.g. https://sluice.example.com')
  .refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL, e.g. https://sluice.example.com');
export const logLevel = z.enum(['error', 'warn', 'info', 'debug'], { error: 'must be one of error, warn, info, debug' });
export const logFormat = z.enum(['json', 'pretty'], { error: 'must be json or pretty' });

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** A size in DuckDB's words (`4GB`: 10^9 bytes a GB; `512MiB`: 2^20 a MiB) in bytes; undefined when it is none. */
export function sizeInBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.exec(text.trim());
  const unit = m?.[2] === undefined ? undefined : SIZE_UNITS[m[2].toLowerCase()];
  return m?.[1] === undefined || unit === undefined ? undefined : Math.floor(Number(m[1]) * unit);
}

/**
 * The least memory limit a task's DuckDB can work in: stage's JSON reader takes buffers of twice
 * its largest record for each of its two threads, and reads records of 16 MiB at the least.
 */
export const DUCKDB_MIN_MEMORY_BYTES = 128 * 2 ** 20;

/** A whole number from `min` to `max` (or more, without a `max`), said so when it is not. */
export function wholeNumber(min: number, max?: number) {
  const said = max === undefined ? `must be a whole number, ${min} or more` : `must be a whole number from ${min} to ${max}`;
  const n = z.coerce.number({ error: said }).int(said).min(min, said);
  return max === undefined ? n : n.max(max, said);
}
export const masterKey = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of exactly 32 bytes');

/**
 * Parses `env` with `schema` (its keys are the environment variable names). Every bad variable,
 * and each of `also` (what the caller checks across variables), is named in one ConfigError.
 */
export function parseConfig<T extends z.ZodType>(
  schema: T,
  env: Record<string, string | undefined>,
  docs: Partial<Record<SettingName, SettingDoc>> = {},
  also: readonly ConfigError[] = [],
): z.output<T> {
  const result = schema.safeParse(env);
  const errors: ConfigError[] = [];
  const said = new Set<string>();
  for (const issue of result.success ? [] : result.error.issues) {
    const setting = String(issue.path[0] ?? 'configuration');
    if (said.has(setting)) continue;
    said.add(setting);
    // What the caller says of a setting goes before what its value lacks: a dev token beside an
    // issuer is to be removed, not made longer (QA round 40c F7).
    const instead = also.find((e) => e.setting === setting);
    if (instead) {
      errors.push(instead);
      continue;
    }
    const doc = (docs as Record<string, SettingDoc>)[setting] ?? (SETTINGS as Record<string, SettingDoc>)[setting];
    const got = env[setting];
    const problem = got === undefined || got === '' ? `is not set (${doc?.description ?? 'required'})` : issue.message;
    errors.push(new ConfigError(setting, problem, doc?.example ?? '…'));
  }
  errors.push(...also.filter((e) => !said.has(e.setting)));
  if (result.success && errors.length === 0) return result.data;
  const [first = new ConfigError('configuration', 'is invalid', null), ...rest] = errors;
  throw ConfigError.of([first, ...rest]);
}
