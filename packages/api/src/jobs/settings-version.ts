import { createHash } from 'node:crypto';
import type { IngestionJobModel } from '@sluice/db';

/** What a PATCH can change of a job, as stored (the connector's configuration as sealed: a token a run's connector refreshed changes it too). */
export type JobSettings = Pick<IngestionJobModel, 'schedule' | 'timezone' | 'isPaused' | 'catchup' | 'maxActiveRuns' | 'sourceConfigEncrypted'>;

/**
 * A digest of the job's changeable settings: its ETag, and the `If-Match` a PATCH may send so
 * that a change made from a stale read (another operator's PATCH, a refreshed token) is refused
 * rather than written over. Runs changing the job's status leave it as it is.
 */
export function settingsVersion(job: JobSettings): string {
  const settings = [job.schedule, job.timezone, job.isPaused, job.catchup, job.maxActiveRuns, job.sourceConfigEncrypted];
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 32);
}

/** The ETag header of a settings version. */
export const etagOf = (version: string): string => `"${version}"`;
