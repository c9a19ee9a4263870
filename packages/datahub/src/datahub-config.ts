import { z } from 'zod';
import { httpUrl } from '@sluice/core/config';
import { DATAHUB_ENVS, type DataHubEnv } from './datahub-urns.ts';

const unsetIfEmpty = (v: unknown): unknown => (v === '' ? undefined : v);

/**
 * The DataHub settings, for a process to spread into its one configuration schema
 * (`z.object({ ...otherFields, ...datahubConfigFields })`). All optional: without
 * `DATAHUB_GMS_URL`, metadata is kept and shown, not sent.
 */
export const datahubConfigFields = {
  DATAHUB_GMS_URL: z.preprocess(unsetIfEmpty, httpUrl.optional()),
  DATAHUB_GMS_TOKEN: z.preprocess(unsetIfEmpty, z.string().optional()),
  /** DataHub environment (FabricType) of the URNs Sluice emits. */
  SLUICE_DATAHUB_ENV: z.preprocess(unsetIfEmpty, z.enum(DATAHUB_ENVS).default('PROD')),
};

export interface DatahubConfig {
  DATAHUB_GMS_URL?: string | undefined;
  DATAHUB_GMS_TOKEN?: string | undefined;
  SLUICE_DATAHUB_ENV: DataHubEnv;
}

/** The publisher options the parsed settings give. */
export function datahubPublisherOptions(config: DatahubConfig): { gmsUrl: string | null; token: string | null; env: DataHubEnv } {
  return { gmsUrl: config.DATAHUB_GMS_URL ?? null, token: config.DATAHUB_GMS_TOKEN ?? null, env: config.SLUICE_DATAHUB_ENV };
}
