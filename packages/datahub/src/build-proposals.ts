import { assertNever } from '@sluice/core';
import type { NamedAspect, OwnershipType, Proposal, SchemaField } from './aspects.ts';
import { dataFlowUrn, dataJobUrn, dataPlatformUrn, datasetUrn, domainUrn, ownerUrn, tagUrn, type DataHubEnv } from './datahub-urns.ts';
import type { ParsedMetadataEvent } from './events.ts';
import { icebergFieldType } from './iceberg-field-type.ts';

export interface BuildOptions {
  /** Used when the event names none. */
  env: DataHubEnv;
  ownershipType: OwnershipType;
  /** Stamps lineage and `lastModified` when the event carries no time. */
  now: Date;
}

/** The actor of the audit stamps Sluice writes. */
export const SLUICE_ACTOR = 'urn:li:corpuser:sluice';

type TableLoadedEvent = Extract<ParsedMetadataEvent, { kind: 'table_loaded' }>;
type DagEvent = Extract<ParsedMetadataEvent, { kind: 'dag' }>;

/**
 * The metadata change proposals for one event, in the order they should reach GMS.
 * Domain, tags and ownership are left out when the job has none, so that what people set in
 * DataHub's UI is not wiped (DataHub's own sources behave the same way).
 */
export function buildProposals(event: ParsedMetadataEvent, options: BuildOptions): Proposal[] {
  switch (event.kind) {
    case 'table_loaded':
      return tableLoadedProposals(event, options);
    case 'dag':
      return dagProposals(event, options);
    default:
      return assertNever(event, 'metadata event');
  }
}

/**
 * The aspects {@link governance} sets, each as it is when there is none: what a table's new owner
 * job without a domain, tags or owner sends in place of its former owner's, which no longer hold.
 */
export const EMPTY_GOVERNANCE: readonly NamedAspect[] = [
  { aspectName: 'domains', aspect: { domains: [] } },
  { aspectName: 'globalTags', aspect: { tags: [] } },
  { aspectName: 'ownership', aspect: { owners: [] } },
];

function governance(
  entityType: Proposal['entityType'],
  entityUrn: string,
  job: { domain?: string | null | undefined; tags?: string[] | undefined; ownerId?: string | null | undefined },
  ownershipType: OwnershipType,
): Proposal[] {
  const out: Proposal[] = [];
  if (job.domain) out.push({ entityType, entityUrn, aspectName: 'domains', aspect: { domains: [domainUrn(job.domain)] } });
  const tags = [...new Set(job.tags ?? [])].sort();
  if (tags.length > 0) out.push({ entityType, entityUrn, aspectName: 'globalTags', aspect: { tags: tags.map((t) => ({ tag: tagUrn(t) })) } });
  if (job.ownerId) {
    out.push({ entityType, entityUrn, aspectName: 'ownership', aspect: { owners: [{ owner: ownerUrn(job.ownerId), type: ownershipType }] } });
  }
  return out;
}

function tableLoadedProposals(e: TableLoadedEvent, options: BuildOptions): Proposal[] {
  const env = e.env ?? options.env;
  const name = `${e.namespace}.${e.table}`;
  const urn = datasetUrn('iceberg', name, env);
  const when = (e.loadedAt ?? options.now).getTime();
  const keys = new Set(e.keyColumns ?? []);
  const fields: SchemaField[] = e.columns.map((c) => ({
    fieldPath: c.name,
    nullable: c.nullable,
    ...(c.description ? { description: c.description } : {}),
    type: icebergFieldType(c.icebergType),
    nativeDataType: c.icebergType,
    ...(keys.has(c.name) ? { isPartOfKey: true } : {}),
  }));
  const rawSchema = `table {\n${e.columns.map((c) => `  ${c.name}: ${c.nullable ? 'optional' : 'required'} ${c.icebergType}`).join('\n')}\n}`;
  const dataset = (p: NamedAspect): Proposal => ({ entityType: 'dataset', entityUrn: urn, ...p });

  const out: Proposal[] = [
    dataset({ aspectName: 'status', aspect: { removed: false } }),
    dataset({ aspectName: 'dataPlatformInstance', aspect: { platform: dataPlatformUrn('iceberg') } }),
    dataset({ aspectName: 'subTypes', aspect: { typeNames: ['Table'] } }),
    dataset({
      aspectName: 'schemaMetadata',
      aspect: {
        schemaName: name,
        platform: dataPlatformUrn('iceberg'),
        version: 0,
        hash: '',
        platformSchema: { 'com.linkedin.schema.OtherSchema': { rawSchema } },
        fields,
        ...(keys.size > 0 ? { primaryKeys: [...keys] } : {}),
      },
    }),
    dataset({
      aspectName: 'datasetProperties',
      aspect: {
        name: e.table,
        qualifiedName: name,
        externalUrl: e.flowUrl,
        customProperties: {
          job_name: e.jobName,
          job_id: e.jobId,
          source_name: e.sourceName,
          mode: e.mode,
          flow_url: e.flowUrl,
          last_run_id: e.runId,
          last_run_row_count: String(e.rowCount),
          snapshot_id: e.snapshotId,
        },
        lastModified: { time: when },
      },
    }),
    ...governance('dataset', urn, e, options.ownershipType),
  ];
  const streams = [...new Set(e.sourceStreams)];
  if (streams.length > 0) {
    const upstreams = streams.map((s) => ({ stream: s, urn: datasetUrn('airbyte', `${e.sourceName}.${s}`, env) }));
    out.push(
      dataset({
        aspectName: 'upstreamLineage',
        aspect: { upstreams: upstreams.map((u) => ({ dataset: u.urn, type: 'TRANSFORMED', auditStamp: { time: when, actor: SLUICE_ACTOR } })) },
      }),
    );
    // The source datasets exist only as lineage ends; their key aspect makes them real entities,
    // as DataHub's SDK does for a data job's inlets ("materialize_iolets").
    for (const u of upstreams) {
      out.push({
        entityType: 'dataset',
        entityUrn: u.urn,
        aspectName: 'datasetKey',
        aspect: { platform: dataPlatformUrn('airbyte'), name: `${e.sourceName}.${u.stream}`, origin: env },
      });
    }
  }
  return out;
}

function dagProposals(e: DagEvent, options: BuildOptions): Proposal[] {
  const env = e.env ?? options.env;
  const flow = dataFlowUrn(e.jobId, env);
  const ref = (d: { platform: 'iceberg' | 'airbyte'; name: string }): string => datasetUrn(d.platform, d.name, env);
  const flowProperties: Record<string, string> = { job_id: e.jobId, flow_url: e.flowUrl };
  if (e.sourceName) flowProperties['source_name'] = e.sourceName;
  if (e.schedule) flowProperties['schedule'] = e.schedule;

  const out: Proposal[] = [
    {
      entityType: 'dataFlow',
      entityUrn: flow,
      aspectName: 'dataFlowInfo',
      aspect: { name: e.jobName, externalUrl: e.flowUrl, customProperties: flowProperties, env },
    },
    { entityType: 'dataFlow', entityUrn: flow, aspectName: 'status', aspect: { removed: false } },
    ...governance('dataFlow', flow, e, options.ownershipType),
  ];
  for (const task of e.tasks) {
    const job = dataJobUrn(flow, task.taskId);
    const properties: Record<string, string> = { task_id: task.taskId, job_id: e.jobId };
    if (task.taskType) properties['task_type'] = task.taskType;
    out.push(
      {
        entityType: 'dataJob',
        entityUrn: job,
        aspectName: 'dataJobInfo',
        aspect: { name: task.taskId, type: { string: 'COMMAND' }, externalUrl: task.url ?? e.flowUrl, flowUrn: flow, customProperties: properties, env },
      },
      { entityType: 'dataJob', entityUrn: job, aspectName: 'status', aspect: { removed: false } },
      {
        entityType: 'dataJob',
        entityUrn: job,
        aspectName: 'dataJobInputOutput',
        aspect: {
          inputDatasets: [...new Set(task.inputs.map(ref))],
          outputDatasets: [...new Set(task.outputs.map(ref))],
          inputDatajobs: [...new Set(task.upstream)].map((t) => dataJobUrn(flow, t)),
        },
      },
    );
  }
  return out;
}
