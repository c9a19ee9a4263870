import { z } from 'zod';
import { streamDescriptorSchema, type StreamDescriptor } from '@sluice/core/airbyte-state';

/**
 * The parts of the Airbyte protocol Sluice reads and writes
 * (https://docs.airbyte.com/understanding-airbyte/airbyte-protocol). Connector output is parsed
 * at this edge: catalogs, specs and state with zod; RECORD lines on the hot path only by shape.
 */

export const syncModeSchema = z.enum(['full_refresh', 'incremental']);
export type SyncMode = z.infer<typeof syncModeSchema>;

export const destinationSyncModeSchema = z.enum(['append', 'overwrite', 'append_dedup', 'overwrite_dedup']);
export type DestinationSyncMode = z.infer<typeof destinationSyncModeSchema>;

export { streamDescriptorSchema, type StreamDescriptor };

export const airbyteStreamSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().nullish(),
  json_schema: z.record(z.string(), z.unknown()),
  supported_sync_modes: z.array(syncModeSchema).min(1).default(['full_refresh']),
  source_defined_cursor: z.boolean().nullish(),
  default_cursor_field: z.array(z.string()).nullish(),
  source_defined_primary_key: z.array(z.array(z.string())).nullish(),
  is_resumable: z.boolean().nullish(),
});
export type AirbyteStream = z.infer<typeof airbyteStreamSchema>;

export const airbyteCatalogSchema = z.object({ streams: z.array(airbyteStreamSchema) });
export type AirbyteCatalog = z.infer<typeof airbyteCatalogSchema>;

export interface ConfiguredAirbyteStream {
  stream: AirbyteStream;
  sync_mode: SyncMode;
  destination_sync_mode: DestinationSyncMode;
  cursor_field?: string[];
  primary_key?: string[][];
}

export interface ConfiguredAirbyteCatalog {
  streams: ConfiguredAirbyteStream[];
}

export const connectorSpecificationSchema = z.looseObject({
  documentationUrl: z.string().nullish(),
  connectionSpecification: z.record(z.string(), z.unknown()),
  supportsIncremental: z.boolean().nullish(),
  supported_destination_sync_modes: z.array(z.string()).nullish(),
});
export type ConnectorSpecification = z.infer<typeof connectorSpecificationSchema>;

export const connectionStatusSchema = z.object({
  status: z.enum(['SUCCEEDED', 'FAILED']),
  message: z.string().nullish(),
});

export { airbyteStateMessageSchema, type AirbyteStateMessage } from '@sluice/core/airbyte-state';

export const traceErrorSchema = z.looseObject({
  message: z.string(),
  internal_message: z.string().nullish(),
  stack_trace: z.string().nullish(),
  failure_type: z.enum(['system_error', 'config_error', 'transient_error']).nullish(),
  stream_descriptor: streamDescriptorSchema.nullish(),
});
export type TraceError = z.infer<typeof traceErrorSchema>;

export const streamStatusSchema = z.enum(['STARTED', 'RUNNING', 'COMPLETE', 'INCOMPLETE']);
export type StreamStatus = z.infer<typeof streamStatusSchema>;

export const traceSchema = z.looseObject({
  type: z.string(),
  emitted_at: z.number().nullish(),
  error: traceErrorSchema.nullish(),
  stream_status: z.looseObject({ stream_descriptor: streamDescriptorSchema, status: streamStatusSchema }).nullish(),
  estimate: z
    .looseObject({
      name: z.string(),
      namespace: z.string().nullish(),
      type: z.enum(['STREAM', 'SYNC']),
      row_estimate: z.number().nullish(),
      byte_estimate: z.number().nullish(),
    })
    .nullish(),
});

export const controlSchema = z.looseObject({
  type: z.string(),
  emitted_at: z.number().nullish(),
  connectorConfig: z.object({ config: z.record(z.string(), z.unknown()) }).nullish(),
});

export const logSchema = z.looseObject({ level: z.string(), message: z.string(), stack_trace: z.string().nullish() });

/** A connector's config: the JSON object its spec describes. */
export type ConnectorConfig = Record<string, unknown>;
