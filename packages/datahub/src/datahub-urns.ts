/**
 * DataHub URNs, built the way DataHub's own Python SDK builds them (`datahub.emitter.mce_builder`):
 * an identifier that is already a URN of the right kind is kept as is, and the characters DataHub
 * reserves inside URN parts (`,`, `(`, `)`, `␟`) are percent-encoded, as its `UrnEncoder` does.
 */

/** DataHub's environments (its `FabricType` enum); the `env` of dataset, flow and job URNs. */
export const DATAHUB_ENVS = [
  'PROD', 'DEV', 'TEST', 'QA', 'UAT', 'EI', 'PRE', 'STG', 'NON_PROD', 'CORP', 'RVW', 'PRD', 'TST', 'SIT', 'SBX', 'SANDBOX', 'CERT',
] as const;
export type DataHubEnv = (typeof DATAHUB_ENVS)[number];

/** The orchestrator name of Sluice's data flows: `urn:li:dataFlow:(sluice,{job_id},{env})`. */
export const SLUICE_ORCHESTRATOR = 'sluice';

const RESERVED = /[,()\u241f]/g;
const ENCODED: Record<string, string> = { ',': '%2C', '(': '%28', ')': '%29', '\u241f': '%E2%90%9F' };

/** Percent-encodes the characters DataHub reserves inside a URN part. */
export function encodeUrnPart(part: string): string {
  return part.replace(RESERVED, (c) => ENCODED[c] ?? c);
}

export function dataPlatformUrn(platform: string): string {
  return `urn:li:dataPlatform:${encodeUrnPart(platform)}`;
}

/** `urn:li:dataset:(urn:li:dataPlatform:{platform},{name},{env})`. */
export function datasetUrn(platform: string, name: string, env: DataHubEnv): string {
  return `urn:li:dataset:(${dataPlatformUrn(platform)},${encodeUrnPart(name)},${env})`;
}

/** `urn:li:dataFlow:(sluice,{jobId},{env})`: one per ingestion job, as Airflow's plugin makes one per DAG. */
export function dataFlowUrn(jobId: string, env: DataHubEnv): string {
  return `urn:li:dataFlow:(${SLUICE_ORCHESTRATOR},${encodeUrnPart(jobId)},${env})`;
}

/** `urn:li:dataJob:({flowUrn},{taskId})`: one per task of the job's DAG. */
export function dataJobUrn(flowUrn: string, taskId: string): string {
  return `urn:li:dataJob:(${flowUrn},${encodeUrnPart(taskId)})`;
}

export function tagUrn(tag: string): string {
  return tag.startsWith('urn:li:tag:') ? tag : `urn:li:tag:${encodeUrnPart(tag)}`;
}

/** A `urn:li:domain:…` is kept; anything else is a domain id. */
export function domainUrn(domain: string): string {
  return domain.startsWith('urn:li:domain:') ? domain : `urn:li:domain:${encodeUrnPart(domain)}`;
}

/** A user or group URN is kept; anything else is a user id (`urn:li:corpuser:{id}`). */
export function ownerUrn(owner: string): string {
  return owner.startsWith('urn:li:corpuser:') || owner.startsWith('urn:li:corpGroup:') ? owner : `urn:li:corpuser:${encodeUrnPart(owner)}`;
}
