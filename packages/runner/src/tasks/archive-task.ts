import { NonRetryableTaskError } from '@sluice/core';
import { readExtractManifest } from '@sluice/connectors';
import type { ObjectStore } from '@sluice/storage';
import type { TaskContext, TaskResult } from '../worker/task-handler.ts';
import { archivePrefix, plaintextPrefixes, rejectsKey, stagedDir, stagingPrefix } from './staging-layout.ts';
import { storedTransformations } from './transform-stream.ts';
import { saveSharedState } from './stream-state.ts';

export interface ArchiveOutput {
  action: 'archived' | 'deleted';
  objects: number;
  to: string | null;
  /** Archiving a job that encrypts columns: the staging files holding their plaintext, deleted instead. */
  plaintextDeleted?: number;
}

/** Whether the job encrypts any column: its staging then holds plaintext that must not outlive the run's loads. */
export function jobEncrypts(columnTransformations: unknown): boolean {
  return storedTransformations.parse(columnTransformations).some((t) => t.encryptionKeyName !== null);
}

/**
 * Deletes the staging files of one stream that hold its source values in plaintext: its raw parts
 * (`rawKeys`, as the extract manifest lists them), its typed file and its rejects. For a run that
 * never reaches archive although the stream's load committed (ADR 0022). Answers how many.
 */
export async function deleteStreamPlaintext(store: ObjectStore, runId: string, stream: string, rawKeys: readonly string[]): Promise<number> {
  let n = 0;
  for (const key of [...rawKeys, rejectsKey(runId, stream)]) {
    if (await store.head(key)) {
      await store.delete(key);
      n += 1;
    }
  }
  return n + (await store.deletePrefix(stagedDir(runId, stream)));
}

/**
 * archive: runs after every stream's load committed. Saves the run's global/legacy connector state
 * (per-stream state was saved by each load), then moves `staging/{run}/` to `archive/{run}/` when
 * the job has archive_staging (without the plaintext of the columns it encrypts), or deletes it. A failed run never gets here, so its staging stays
 * for a retry.
 */
export async function archiveTask(deps: { store: ObjectStore }, ctx: TaskContext): Promise<TaskResult> {
  const manifest = await readExtractManifest(deps.store, ctx.run.id);
  if (manifest) {
    const saved = await saveSharedState(ctx.prisma, ctx.job.id, ctx.run.id, manifest.state);
    if (saved === 'saved') ctx.log.info('saved the connector\'s global state for the next run');
    if (saved === 'superseded') ctx.log.warn('the connector\'s global state was not saved: a run that read the source after this one saved its own');
  } else if (!(await deps.store.head(`${archivePrefix(ctx.run.id)}extract-manifest.json`))) {
    // A retry after the move finds the manifest in the archive; anything else is a broken run.
    throw new NonRetryableTaskError(`run ${ctx.run.id} has no extract manifest in staging or archive`);
  }
  let output: ArchiveOutput;
  if (ctx.job.archiveStaging) {
    // A job that encrypts columns keeps no plaintext copy of them in its archive: the raw, typed
    // and rejected records go; what was loaded (transformed, encrypted) and the manifests stay.
    const encrypts = jobEncrypts(ctx.job.columnTransformations);
    let plaintextDeleted = 0;
    if (encrypts) for (const prefix of plaintextPrefixes(ctx.run.id)) plaintextDeleted += await deps.store.deletePrefix(prefix);
    const n = await deps.store.movePrefix(stagingPrefix(ctx.run.id), archivePrefix(ctx.run.id));
    output = { action: 'archived', objects: n, to: deps.store.uri(archivePrefix(ctx.run.id)), ...(encrypts ? { plaintextDeleted } : {}) };
    if (encrypts) ctx.log.info(`deleted ${plaintextDeleted} staging files holding plaintext of encrypted columns (raw, staged, rejects)`);
    ctx.log.info(`moved ${n} staging files to ${output.to}`);
  } else {
    const n = await deps.store.deletePrefix(stagingPrefix(ctx.run.id));
    output = { action: 'deleted', objects: n, to: null };
    ctx.log.info(`deleted ${n} staging files`);
  }
  return { output };
}
