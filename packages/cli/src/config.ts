import path from 'node:path';
import { z } from 'zod';
import { DUCKDB_MIN_MEMORY_BYTES, httpUrl, logFormat, logLevel, masterKey, port, postgresUrl, redisUrl, sizeInBytes, storageUrl, wholeNumber, type SettingDoc, type SettingName } from '@sluice/core/config';
import { datahubConfigFields } from '@sluice/datahub';
import { LOCAL_POSTGRES_PORT } from './local-defaults.ts';

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** Master keys being rotated out, comma-separated: they still open what they sealed. */
const previousMasterKeys = optional(z.string().transform((v) => v.split(',').map((k) => k.trim()).filter(Boolean)));

/** Settings every process reads. */
const common = {
  SLUICE_LOG_LEVEL: logLevel.default('info'),
  SLUICE_LOG_FORMAT: optional(logFormat),
  SLUICE_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').default('sluice'),
};

/**
 * DuckDB's memory limit for a runner's columnar work: each stage or transform session, and the
 * Iceberg writer's merges. Unset: 80 % of the machine's memory shared by the runner's tasks and merges.
 */
const duckdbMemoryLimit = z
  .string()
  .trim()
  .refine((v) => sizeInBytes(v) !== undefined, 'must be a size such as 4GB or 512MiB')
  // QA round 33b F1: below it every stage failed, with DuckDB's "Out of Memory", whatever its data.
  .refine((v) => (sizeInBytes(v) ?? 0) >= DUCKDB_MIN_MEMORY_BYTES, 'must be 128MiB or more: the least a stage task can read JSON records in');

/**
 * Where the tables are registered: Sluice's own SQL catalog in its PostgreSQL (unset), or an Iceberg
 * REST catalog (Polaris, Lakekeeper, Nessie, Gravitino, …) that reaches the same object store.
 */
const icebergCatalog = {
  SLUICE_ICEBERG_REST_URL: optional(httpUrl),
  SLUICE_ICEBERG_REST_TOKEN: optional(z.string().min(1)),
  SLUICE_ICEBERG_REST_WAREHOUSE: optional(z.string().min(1)),
};

/** How long extract reuses a job's discovered catalog, in minutes (0: discover on every run); a day by default, as Airbyte's platform. */
const catalogMaxAge = wholeNumber(0, 525_600).default(1440);

/** How long a finished run's files are kept (days; 0 = for ever): the runners' retention sweep. */
const retention = {
  SLUICE_ARCHIVE_RETENTION_DAYS: wholeNumber(0).default(0),
  SLUICE_STAGING_RETENTION_DAYS: wholeNumber(0).default(7),
  SLUICE_RUN_HISTORY_RETENTION_DAYS: wholeNumber(0).default(0),
};

/** `sluice scheduler`: decides; never runs connector code. */
export const schedulerConfigSchema = z.object({
  ...common,
  DATABASE_URL: postgresUrl,
  REDIS_URL: redisUrl,
});

/** `sluice runner`: executes tasks. */
export const runnerConfigSchema = z.object({
  ...common,
  ...datahubConfigFields,
  SLUICE_PUBLIC_URL: httpUrl.default('http://localhost:8080'),
  DATABASE_URL: postgresUrl,
  REDIS_URL: redisUrl,
  SLUICE_STORAGE_URL: storageUrl,
  SLUICE_MASTER_KEY: masterKey,
  SLUICE_MASTER_KEY_PREVIOUS: previousMasterKeys,
  SLUICE_CONNECTORS_DIR: optional(z.string().min(1)),
  SLUICE_RUNNER_CONCURRENCY: wholeNumber(1, 256).default(4),
  SLUICE_DUCKDB_MEMORY_LIMIT: optional(duckdbMemoryLimit),
  SLUICE_CATALOG_MAX_AGE_MINUTES: catalogMaxAge,
  ...icebergCatalog,
  ...retention,
});

/**
 * What `sluice decryption-keys` asks of its settings: the installation's own values, not new ones
 * (QA round 33a F6: a missing master key was answered with the example of a fresh random one).
 */
export const DECRYPTION_KEYS_SETTINGS = {
  DATABASE_URL: {
    description: "the installation's PostgreSQL",
    example: `postgresql://sluice@127.0.0.1:${LOCAL_POSTGRES_PORT}/sluice (pnpm start's local one)`,
  },
  SLUICE_MASTER_KEY: {
    description: "the installation's master key, which sealed the key's versions",
    example: "$(cat .sluice/master.key) (pnpm start's)",
  },
} satisfies Partial<Record<SettingName, SettingDoc>>;

/** `sluice decryption-keys`: reads a named key's versions, sealed under the master key. */
export const decryptionKeysConfigSchema = z.object({
  ...common,
  DATABASE_URL: postgresUrl,
  SLUICE_MASTER_KEY: masterKey,
  SLUICE_MASTER_KEY_PREVIOUS: previousMasterKeys,
});

/** `sluice migrate`. */
export const migrateConfigSchema = z.object({ ...common, DATABASE_URL: postgresUrl });

/**
 * `sluice start` (`pnpm start`): everything in one process on embedded defaults. Missing
 * DATABASE_URL / REDIS_URL mean "start local ones"; the warehouse defaults to ./.sluice/.
 */
export function startConfigSchema(cwd: string) {
  return z.object({
    ...common,
    ...datahubConfigFields,
    DATABASE_URL: optional(postgresUrl),
    REDIS_URL: optional(redisUrl),
    SLUICE_STORAGE_URL: storageUrl.default(`file://${path.join(cwd, '.sluice', 'warehouse')}`),
    SLUICE_PORT: port.default(8080),
    // The local PostgreSQL and Redis it runs when DATABASE_URL / REDIS_URL are unset.
    SLUICE_LOCAL_POSTGRES_PORT: port.default(LOCAL_POSTGRES_PORT),
    SLUICE_LOCAL_REDIS_PORT: port.default(63799),
    SLUICE_PUBLIC_URL: optional(httpUrl),
    SLUICE_MASTER_KEY: optional(masterKey),
    SLUICE_DEV_TOKEN: optional(z.string().min(12, 'must be at least 12 characters')),
    SLUICE_AUTH_ISSUER: optional(httpUrl),
    SLUICE_AUTH_AUDIENCE: optional(z.string().min(1)),
    SLUICE_CONNECTORS_DIR: optional(z.string().min(1)),
    SLUICE_RUNNER_CONCURRENCY: wholeNumber(1, 256).default(4),
    SLUICE_DUCKDB_MEMORY_LIMIT: optional(duckdbMemoryLimit),
    SLUICE_CATALOG_MAX_AGE_MINUTES: catalogMaxAge,
    ...icebergCatalog,
    ...retention,
  });
}

export type SchedulerConfig = z.output<typeof schedulerConfigSchema>;
export type RunnerConfig = z.output<typeof runnerConfigSchema>;
export type StartConfig = z.output<ReturnType<typeof startConfigSchema>>;
