import { z } from 'zod';
import type { ObjectStore } from '@sluice/storage';
import { stagedStreamSchema } from './extract-manifest.ts';
import { airbyteStateMessageSchema } from './protocol.ts';

/**
 * `staging/{runId}/extract-checkpoint.json`: what a failed extract keeps for its next try — the
 * streams the connector read to the end (it said COMPLETE) before it failed, with their staged
 * parts and their state, and the incremental streams it was cut off in, up to the last STATE it
 * sent for them (the records before a STATE are the ones that state covers). The next try does
 * not read the complete streams again (as Airbyte's platform does not read again the streams a
 * failed attempt committed), reads the cut-off ones on from their kept state, after their kept
 * parts, and its manifest lists them all. Written only when the connector's state is per stream:
 * a GLOBAL or LEGACY state covers every stream at once, so no stream of it can be kept apart.
 *
 * The caller decides whether a checkpoint may be used (the state it was read from is still the
 * saved one, and no other run of the job read the source since `readStartedAt`); a checkpoint that
 * is not used is simply read over.
 */
export const extractCheckpointSchema = z.object({
  version: z.literal(1),
  runId: z.string(),
  sourceName: z.string(),
  /** When the try that read the oldest of these streams started: the age of the data kept. */
  readStartedAt: z.string(),
  /** The saved state those tries started from. */
  inputState: z.array(airbyteStateMessageSchema),
  streams: z.array(
    stagedStreamSchema.extend({
      /** The stream's last state message, or null (a full-refresh stream has none). */
      state: airbyteStateMessageSchema.nullable(),
      /** Read to the end; false: read up to `state`, which the next try reads on from. */
      complete: z.boolean().default(true),
      /** Fields its records carried that its schema did not declare. */
      undeclaredFields: z.array(z.string()),
      /** The try that read it. */
      readBy: z.object({ startedAt: z.string() }),
    }),
  ),
});

export type ExtractCheckpoint = z.infer<typeof extractCheckpointSchema>;
export type CheckpointStream = ExtractCheckpoint['streams'][number];

export function extractCheckpointKey(runId: string): string {
  return `staging/${runId}/extract-checkpoint.json`;
}

/** A run's extract checkpoint, or undefined when there is none (or it is not one this version reads). */
export async function readExtractCheckpoint(store: ObjectStore, runId: string): Promise<ExtractCheckpoint | undefined> {
  const key = extractCheckpointKey(runId);
  if (!(await store.head(key))) return undefined;
  let json: unknown;
  try {
    json = JSON.parse((await store.get(key)).toString('utf8'));
  } catch {
    return undefined; // a checkpoint cut short is no checkpoint: the next try reads every stream
  }
  const parsed = extractCheckpointSchema.safeParse(json);
  return parsed.success && parsed.data.runId === runId ? parsed.data : undefined;
}
