import { z } from 'zod';
import type { ObjectStore } from '@sluice/storage';
import { airbyteStateMessageSchema, destinationSyncModeSchema, syncModeSchema, streamStatusSchema } from './protocol.ts';

/**
 * `staging/{runId}/extract-manifest.json`: written last, and only when the extract succeeded —
 * or, on its last try, when the connector failed after it read some streams to the end: those
 * streams are then the manifest's `streams`, the others are listed in `unread`, and the failure is
 * in `failure` (ADR 0022).
 * Its presence is what makes a run's raw files loadable; a failed, timed-out or cancelled extract
 * leaves none, so whatever partial parts exist are never read.
 */
/** One stream as extract staged it (its parts, counts and how it was read). */
export const stagedStreamSchema = z.object({
  name: z.string(),
  namespace: z.string().nullable(),
  /** Parts in order; each line is one record's `data` object as JSON. */
  files: z.array(z.object({ key: z.string(), records: z.number().int(), bytes: z.number().int() })),
  records: z.number().int(),
  bytes: z.number().int(),
  jsonSchema: z.record(z.string(), z.unknown()),
  primaryKey: z.array(z.array(z.string())),
  cursorField: z.array(z.string()),
  syncMode: syncModeSchema,
  destinationSyncMode: destinationSyncModeSchema,
});

export const extractManifestSchema = z.object({
  version: z.literal(1),
  runId: z.string(),
  sourceName: z.string(),
  startedAt: z.string(),
  completedAt: z.string(),
  streams: z.array(
    stagedStreamSchema.extend({
      /** The last stream status the connector reported, when it reported one. */
      status: streamStatusSchema.nullable(),
    }),
  ),
  /**
   * The state to hand the next run's `read` (`--state`), already merged with the state this run
   * started from. Save it only after this run's load has committed.
   */
  state: z.array(airbyteStateMessageSchema),
  /** Records for streams that were not selected (a misbehaving connector); dropped, counted here. */
  ignoredRecords: z.number().int(),
  /**
   * Selected streams the connector did not read to the end before it failed on the extract's last
   * try, with its failure: their records are not loaded, and `state` keeps what they were read from.
   */
  unread: z
    .array(z.object({ name: z.string(), namespace: z.string().nullable(), jsonSchema: z.record(z.string(), z.unknown()), error: z.string() }))
    .default([]),
  /**
   * The connector's failure, when the extract's last try loads what it read (ADR 0022). With
   * streams `unread`, their stages fail with it; with none (the connector failed after it reported
   * every stream COMPLETE), the run's archive does, once it has done its work. Null otherwise.
   */
  failure: z.string().nullable().default(null),
});

export type ExtractManifest = z.infer<typeof extractManifestSchema>;
export type StagedStream = z.infer<typeof stagedStreamSchema>;
export type ExtractedStream = ExtractManifest['streams'][number];
export type UnreadStream = ExtractManifest['unread'][number];

export function extractManifestKey(runId: string): string {
  return `staging/${runId}/extract-manifest.json`;
}

/** Reads and validates a run's extract manifest; undefined when the extract has not succeeded. */
export async function readExtractManifest(store: ObjectStore, runId: string): Promise<ExtractManifest | undefined> {
  return readExtractManifestAt(store, extractManifestKey(runId));
}

/** The same, from where it was moved to (a run's archive); undefined when it is not there. */
export async function readExtractManifestAt(store: ObjectStore, key: string): Promise<ExtractManifest | undefined> {
  if (!(await store.head(key))) return undefined;
  return extractManifestSchema.parse(JSON.parse((await store.get(key)).toString('utf8')));
}
