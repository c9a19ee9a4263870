import type { MasterKeyring } from './master-keyring.ts';

/** The additional data that binds a job's sealed source_config to that job's row. */
function context(jobId: string): string {
  return `ingestion_jobs.source_config:${jobId}`;
}

/** Seals a job's `source_config` for `ingestion_jobs.source_config_encrypted`. */
export function sealSourceConfig(keyring: MasterKeyring, jobId: string, config: Record<string, unknown>): string {
  return keyring.seal(JSON.stringify(config), context(jobId));
}

/** Opens `ingestion_jobs.source_config_encrypted` of job `jobId` (the runner's extract task uses this). */
export function openSourceConfig(keyring: MasterKeyring, jobId: string, sealed: string): Record<string, unknown> {
  return JSON.parse(keyring.openString(sealed, context(jobId))) as Record<string, unknown>;
}
