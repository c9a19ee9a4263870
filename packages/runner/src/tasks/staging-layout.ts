import { TRY_GIVEN_UP } from '@sluice/core';
import { streamKeySegment } from '@sluice/connectors';
/**
 * Where each task of a run leaves what the next one reads, under the object store's root
 * (docs/pipeline.md). Everything a run stages lives under `staging/{runId}/`, so archive can move
 * or delete it as one prefix; stream names are percent-encoded (as extract's raw files are) so any
 * name is one path segment.
 */
export const stagingPrefix = (runId: string): string => `staging/${runId}/`;
export const archivePrefix = (runId: string): string => `archive/${runId}/`;
/** Where archive's move of the run's staging puts one of its keys. */
export function archivedKey(runId: string, stagingKey: string): string {
  const from = stagingPrefix(runId);
  if (!stagingKey.startsWith(from)) throw new Error(`${stagingKey} is not under ${from}`);
  return archivePrefix(runId) + stagingKey.slice(from.length);
}
/** One encoding of a stream name in keys, extract's: any name (`..` too) is one safe path segment. */
const seg = streamKeySegment;

export const stagedDir = (runId: string, stream: string): string => `staging/${runId}/staged/${seg(stream)}/`;
export const stagedManifestKey = (runId: string, stream: string): string => `${stagedDir(runId, stream)}_staged.json`;
export const rejectsKey = (runId: string, stream: string): string => `staging/${runId}/rejects/${seg(stream)}.jsonl`;
export const transformedDir = (runId: string, stream: string): string => `staging/${runId}/transformed/${seg(stream)}/`;
export const transformedManifestKey = (runId: string, stream: string): string => `${transformedDir(runId, stream)}_transformed.json`;

/**
 * What a try of stage or transform needs to write its files safely beside a lost try of the same
 * task (one declared lost, as its heartbeat went stale, that goes on where it was): its number
 * names its data files, so the lost try never replaces the files of its retry, and it asks
 * whether it still holds its task before each write the two share (the rejects, the manifest).
 */
export interface TryWrites {
  tryNumber: number;
  stillCurrent(): Promise<boolean>;
}

/** The key of data file `index` a try writes in `dir` (the task's manifest lists the files that count). */
export const tryFileKey = (dir: string, t: TryWrites, index: number): string => `${dir}try-${t.tryNumber}-part-${String(index).padStart(5, '0')}.parquet`;

/** Throws when the try was given up meanwhile: what it would write is left to its retry. */
export async function ensureCurrent(t: TryWrites): Promise<void> {
  if (!(await t.stillCurrent())) throw new Error(TRY_GIVEN_UP);
}
