import { z } from 'zod';

/**
 * Airbyte's STATE messages (https://docs.airbyte.com/understanding-airbyte/airbyte-protocol#state--checkpointing):
 * what a connector emits as it reads, what Sluice saves for a job, and what a client may hand a
 * job to read on from (PUT …/state). Loose objects: a connector's own fields are kept as sent.
 */

export const streamDescriptorSchema = z.object({ name: z.string(), namespace: z.string().nullish() });
export type StreamDescriptor = z.infer<typeof streamDescriptorSchema>;

const stateBlobSchema = z.record(z.string(), z.unknown());

/**
 * A STATE message's `state`: per stream (`STREAM`), one shared for all streams (`GLOBAL`), or the
 * legacy form (`LEGACY`, or no `type` with a bare `data` object).
 */
export const airbyteStateMessageSchema = z.looseObject({
  type: z.enum(['STREAM', 'GLOBAL', 'LEGACY']).nullish(),
  stream: z
    .looseObject({ stream_descriptor: streamDescriptorSchema, stream_state: stateBlobSchema.nullish() })
    .nullish(),
  global: z
    .looseObject({
      shared_state: stateBlobSchema.nullish(),
      stream_states: z.array(z.looseObject({ stream_descriptor: streamDescriptorSchema, stream_state: stateBlobSchema.nullish() })),
    })
    .nullish(),
  data: stateBlobSchema.nullish(),
});
export type AirbyteStateMessage = z.infer<typeof airbyteStateMessageSchema>;

/** The key a job's saved state has for a stream: `namespace.name` when namespaced, else the name. */
export function streamKey(descriptor: { name: string; namespace?: string | null | undefined }): string {
  return descriptor.namespace ? `${descriptor.namespace}.${descriptor.name}` : descriptor.name;
}
