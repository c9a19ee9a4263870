/**
 * Where each task of a run leaves what the next one reads, under the object store's root
 * (docs/pipeline.md). Everything a run stages lives under `staging/{runId}/`, so archive can move
 * or delete it as one prefix; stream names are URI-encoded so any name is one path segment.
 */
export const stagingPrefix = (runId: string): string => `staging/${runId}/`;
export const archivePrefix = (runId: string): string => `archive/${runId}/`;
/**
 * The parts of a run's staging that hold source values as the source gave them (raw records,
 * typed records, rejected records) — plaintext of the columns a job encrypts.
 */

const seg = (stream: string): string => encodeURIComponent(stream);

export const stagedDir = (runId: string, stream: string): string => `staging/${runId}/staged/${seg(stream)}/`;
export const stagedManifestKey = (runId: string, stream: string): string => `${stagedDir(runId, stream)}_staged.json`;
export const rejectsKey = (runId: string, stream: string): string => `staging/${runId}/rejects/${seg(stream)}.jsonl`;
export const transformedDir = (runId: string, stream: string): string => `staging/${runId}/transformed/${seg(stream)}/`;
export const transformedManifestKey = (runId: string, stream: string): string => `${transformedDir(runId, stream)}_transformed.json`;
