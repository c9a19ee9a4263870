import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { NonRetryableTaskError, UnclearableTaskError } from '@sluice/core';
import { columnsFromJsonSchema, encryptsColumnOf } from '@sluice/core/pipeline';
import { z } from 'zod';
import { extractManifestKey, readExtractManifest, readExtractManifestAt, type ExtractedStream } from '@sluice/connectors';
import type { ObjectStore } from '@sluice/storage';
import type { TaskContext, TaskResult } from '../worker/task-handler.ts';
import { archivedKey, archivePrefix, rejectsKey, stagedDir, stagingPrefix } from './staging-layout.ts';
import { storedTransformations } from './transform-stream.ts';
import { saveSharedState } from './stream-state.ts';

export interface ArchiveOutput {
  action: 'archived' | 'deleted';
  objects: number;
  to: string | null;
  /** Archiving a job that encrypts columns: the staging files holding their plaintext, deleted instead. */
  plaintextDeleted?: number;
}

/**
 * Whether the job encrypts a column of this extracted stream: its staging then holds plaintext
 * that must not outlive the run's loads. Other streams' staging is archived whole.
 */
export function streamEncrypts(columnTransformations: unknown, stream: Pick<ExtractedStream, 'name' | 'jsonSchema'>): boolean {
  const columns = columnsFromJsonSchema(stream.jsonSchema).map((c) => c.name);
  return encryptsColumnOf(stream.name, columns, storedTransformations.parse(columnTransformations));
}

/**
 * Deletes the staging files of one stream that hold its source values in plaintext: its raw parts
 * (the folders of `rawKeys`, as the extract manifest lists them), its typed file and its rejects.
 * Answers how many.
 */
export async function deleteStreamPlaintext(store: ObjectStore, runId: string, stream: string, rawKeys: readonly string[]): Promise<number> {
  let n = 0;
  for (const dir of new Set(rawKeys.map((k) => `${path.posix.dirname(k)}/`))) n += await store.deletePrefix(dir);
  if (await store.head(rejectsKey(runId, stream))) {
    await store.delete(rejectsKey(runId, stream));
    n += 1;
  }
  return n + (await store.deletePrefix(stagedDir(runId, stream)));
}

/**
 * Moves the run's JSON Lines staging files (the connector's raw records, stage's rejects) into its
 * archive gzip-compressed, as `{key}.gz`: text that compresses several times over, kept for as
 * long as the archive retention says (the Parquet files are compressed already, and are moved as
 * they are). Each file is written whole before its staging copy is deleted, so a try cut short
 * leaves the rest for its retry. Answers how many.
 */
async function archiveJsonLinesCompressed(store: ObjectStore, runId: string, signal: AbortSignal): Promise<number> {
  const keys: string[] = [];
  for await (const { key } of store.list(stagingPrefix(runId))) if (key.endsWith('.jsonl')) keys.push(key);
  for (const key of keys) {
    const out = store.createWriteStream(`${archivedKey(runId, key)}.gz`);
    await pipeline(await store.getStream(key), createGzip(), out, { signal });
    await out.done();
    await store.delete(key);
  }
  return keys.length;
}

/** What archive reads of extract's output: the connector's failure after every stream COMPLETE (absent before it was recorded there). */
const extractFailureOutput = z.object({ failure: z.string().nullable().optional() });

/**
 * archive: runs after every stream's load committed. Saves the run's global/legacy connector state
 * (per-stream state was saved by each load), then moves `staging/{run}/` to `archive/{run}/` when
 * the job has archive_staging (without the plaintext of the columns it encrypts: the raw, typed
 * and rejected records of the streams that have such columns), or deletes it. A failed run never
 * gets here, so its staging stays for a retry. When the connector failed after it reported every
 * stream COMPLETE (the manifest's `failure`), archive does its work and then fails, so that the
 * run does: every stream is loaded, and no task of the run can read the source again (ADR 0022).
 *
 * The extract manifest is moved or deleted after every other staging file: a try cut short (its
 * runner killed or declared lost) leaves it in staging, and the retry does the whole work again.
 * A retry that finds it neither in staging nor in the archive follows a try that deleted all of
 * the run's staging; it takes the connector's failure from extract's output.
 */
export async function archiveTask(deps: { store: ObjectStore }, ctx: TaskContext): Promise<TaskResult> {
  const manifestKey = extractManifestKey(ctx.run.id);
  const staged = await readExtractManifest(deps.store, ctx.run.id);
  if (staged) {
    const saved = await saveSharedState(ctx.prisma, { jobId: ctx.job.id, runId: ctx.run.id, state: staged.state });
    if (saved === 'saved') ctx.log.info('saved the connector\'s global state for the next run');
    if (saved === 'superseded') ctx.log.warn('the connector\'s global state was not saved: a run that read the source after this one saved its own');
    if (typeof saved === 'object') {
      ctx.log.warn(
        `the connector's global state was not saved: this run did not load ${saved.overlapped.join(', ')} (another run loaded and saved its state while this one read), ` +
          "so the next run reads on from that run's state and gets what this one read past it",
      );
    }
  }
  // A retry after a move that finished finds the manifest in the archive.
  const manifest = staged ?? (await readExtractManifestAt(deps.store, archivedKey(ctx.run.id, manifestKey)));
  let output: ArchiveOutput;
  let failure: string | null;
  if (!manifest) {
    if (ctx.task.tryNumber === 1) throw new NonRetryableTaskError(`run ${ctx.run.id} has no extract manifest in staging or archive`);
    // The state it held was saved before anything was deleted.
    failure = extractFailureOutput.parse((await ctx.upstream('extract')) ?? {}).failure ?? null;
    const n = await deps.store.deletePrefix(stagingPrefix(ctx.run.id));
    output = { action: 'deleted', objects: n, to: null };
    ctx.log.info(`an earlier try of this archive deleted the run's staging files (its extract manifest last); ${n} were left to delete`);
  } else if (ctx.job.archiveStaging) {
    failure = manifest.failure;
    // An earlier try cut off while it wrote into the archive (its runner killed) left that write
    // unfinished: a truncated temporary file, an S3 upload never completed (QA round 49a D1).
    if (ctx.task.tryNumber > 1) {
      const discarded = await deps.store.discardUnfinishedWrites(archivePrefix(ctx.run.id));
      if (discarded > 0) ctx.log.info(`discarded ${discarded} unfinished write${discarded === 1 ? '' : 's'} an earlier try of this archive left in ${deps.store.uri(archivePrefix(ctx.run.id))}`);
    }
    // A stream with encrypted columns keeps no plaintext copy of them in the archive: its raw,
    // typed and rejected records go; what was loaded (transformed, encrypted) and the manifests stay.
    // Its load deleted them before it loaded; a run whose loads ran on an older Sluice still has them.
    const encrypting = manifest.streams.filter((s) => streamEncrypts(ctx.job.columnTransformations, s));
    let plaintextDeleted = 0;
    for (const s of encrypting) plaintextDeleted += await deleteStreamPlaintext(deps.store, ctx.run.id, s.name, s.files.map((f) => f.key));
    if (encrypting.length > 0) {
      ctx.log.info(`deleted ${plaintextDeleted} staging files holding plaintext of encrypted columns (raw, staged, rejects of ${encrypting.map((s) => s.name).join(', ')})`);
    }
    const compressed = await archiveJsonLinesCompressed(deps.store, ctx.run.id, ctx.signal);
    const n = compressed + (await deps.store.movePrefix(stagingPrefix(ctx.run.id), archivePrefix(ctx.run.id), { last: manifestKey }));
    output = { action: 'archived', objects: n, to: deps.store.uri(archivePrefix(ctx.run.id)), ...(encrypting.length > 0 ? { plaintextDeleted } : {}) };
    ctx.log.info(`moved ${n} staging files to ${output.to}${compressed > 0 ? `, the ${compressed} JSON Lines files among them (raw records, rejects) gzip-compressed as .jsonl.gz` : ''}`);
  } else {
    failure = manifest.failure;
    const n = await deps.store.deletePrefix(stagingPrefix(ctx.run.id), { last: manifestKey });
    output = { action: 'deleted', objects: n, to: null };
    ctx.log.info(`deleted ${n} staging files`);
  }
  if (failure !== null) {
    throw new UnclearableTaskError(
      `the connector failed after it reported every stream COMPLETE (${failure}): every stream is loaded, with the state the connector sent, ` +
        `and the run's staging files are ${output.action === 'archived' ? `archived to ${output.to ?? ''}` : 'deleted'}. The run fails so that the failure is seen; ` +
        'no task of it can read the source again: the next run does, from the saved state',
    );
  }
  return { output };
}
