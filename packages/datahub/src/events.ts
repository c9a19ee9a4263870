import { z } from 'zod';
import { DATAHUB_ENVS } from './datahub-urns.ts';

const nonEmpty = z.string().trim().min(1);
const env = z.enum(DATAHUB_ENVS).optional();
/** Sluice's job and run ids are UUIDs (the outbox stores them as such). */
const id = z.guid();

/**
 * What one successful load wrote into one Iceberg table: the ingestion pipeline hands this to
 * {@link DataHubPublisher.record} after the load committed.
 */
export const tableLoadedSchema = z.object({
  kind: z.literal('table_loaded'),
  jobId: id,
  jobName: nonEmpty,
  /** PyAirbyte source id, e.g. `source-faker`. */
  sourceName: nonEmpty,
  mode: z.enum(['append', 'overwrite', 'merge']),
  flowUrl: z.string().url(),
  runId: id,
  /** Iceberg namespace (the job's `schema_name`). */
  namespace: nonEmpty,
  table: nonEmpty,
  /** Rows this load wrote. */
  rowCount: z.number().int().nonnegative(),
  /** Id of the Iceberg snapshot the load committed (a 64-bit id, as a string). */
  snapshotId: nonEmpty,
  /** The table's columns after the load, in table order. */
  columns: z
    .array(
      z.object({
        name: nonEmpty,
        /** The Iceberg type as the spec writes it: `long`, `decimal(10,2)`, `timestamptz`, `list<string>`… */
        icebergType: nonEmpty,
        nullable: z.boolean(),
        description: z.string().optional(),
      }),
    )
    .min(1),
  /** Merge key columns, marked as the dataset's primary key in DataHub. */
  keyColumns: z.array(nonEmpty).optional(),
  /** The job's `domain`: a `urn:li:domain:…` or a domain id. */
  domain: z.string().trim().min(1).nullable(),
  tags: z.array(nonEmpty),
  /** The job's `owner_id`: a user id, or a `urn:li:corpuser:…` / `urn:li:corpGroup:…`. */
  ownerId: z.string().trim().min(1).nullable(),
  /** The Airbyte streams the table was loaded from (usually one). */
  sourceStreams: z.array(nonEmpty),
  /** When the load committed; the time of the call when absent. */
  loadedAt: z.date().optional(),
  /** DataHub environment; the publisher's when absent. */
  env,
});
export type TableLoaded = z.input<typeof tableLoadedSchema>;

/** A dataset a task reads or writes: an Iceberg table (`{namespace}.{table}`) or an Airbyte stream (`{source_name}.{stream}`). */
export const datasetRefSchema = z.object({
  platform: z.enum(['iceberg', 'airbyte']),
  name: nonEmpty,
});
export type DatasetRef = z.input<typeof datasetRefSchema>;

/**
 * The shape of a job's DAG, shown in DataHub as one data flow with one data job per task, as
 * Airflow's DataHub plugin shows a DAG. Recorded when the job is created or its DAG changes.
 */
export const dagShapeSchema = z.object({
  kind: z.literal('dag'),
  jobId: id,
  jobName: nonEmpty,
  flowUrl: z.string().url(),
  sourceName: nonEmpty.optional(),
  schedule: z.string().nullable().optional(),
  domain: z.string().trim().min(1).nullable().optional(),
  tags: z.array(nonEmpty).optional(),
  ownerId: z.string().trim().min(1).nullable().optional(),
  tasks: z
    .array(
      z.object({
        taskId: nonEmpty,
        /** Task ids this task waits for. */
        upstream: z.array(nonEmpty),
        inputs: z.array(datasetRefSchema),
        outputs: z.array(datasetRefSchema),
        /** e.g. `extract`, `load`; shown as a property. */
        taskType: nonEmpty.optional(),
        /** A link to the task in Sluice's UI; the flow's when absent. */
        url: z.string().url().optional(),
      }),
    )
    .min(1),
  env,
});
export type DagShape = z.input<typeof dagShapeSchema>;

export const metadataEventSchema = z.discriminatedUnion('kind', [tableLoadedSchema, dagShapeSchema]);
export type MetadataEvent = TableLoaded | DagShape;
export type ParsedMetadataEvent = z.output<typeof metadataEventSchema>;
