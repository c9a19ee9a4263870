import { readExtractCheckpoint, type AirbyteStateMessage, type ExtractCheckpoint } from '@sluice/connectors';
import { canonicalJson } from '@sluice/core/json';
import type { ObjectStore } from '@sluice/storage';
import type { TaskContext } from '../worker/task-handler.ts';

/** A list of state messages as one text, whatever order its messages and their keys came in. */
function stateText(state: readonly AirbyteStateMessage[]): string {
  return JSON.stringify(state.map((s) => canonicalJson(s)).sort());
}

/**
 * The checkpoint an earlier try of this run's extract left (the streams it read to the end before
 * failing, and those it was cut off in, up to their last state), when this try may resume from it; undefined otherwise, with the reason in the log.
 * Its rows must be as new as a fresh read would be, for ADR 0019's order of reads to hold:
 * - the saved state is still the one those streams were read from (no state reset since, no other
 *   run's state saved), and
 * - no other run of the job started reading the source since: its rows would be newer than the
 *   kept ones, though this run's extract started later.
 */
export async function usableCheckpoint(
  ctx: TaskContext,
  store: ObjectStore,
  savedState: readonly AirbyteStateMessage[],
): Promise<ExtractCheckpoint | undefined> {
  const checkpoint = await readExtractCheckpoint(store, ctx.run.id);
  if (!checkpoint) return undefined;
  const ends = checkpoint.streams.filter((s) => s.complete).map((s) => s.name);
  const cuts = checkpoint.streams.filter((s) => !s.complete).map((s) => s.name);
  const names = [...(ends.length > 0 ? [`${ends.join(', ')}, read to the end`] : []), ...(cuts.length > 0 ? [`${cuts.join(', ')}, up to the last state`] : [])].join(', and ');
  const notUsed = (why: string): undefined => {
    ctx.log.info(`an earlier try kept ${names}; ${why}, so every stream is read again`);
    return undefined;
  };
  if (checkpoint.sourceName !== ctx.job.sourceName) return notUsed(`they were read from ${checkpoint.sourceName}`);
  if (ctx.job.mode !== 'overwrite' && stateText(checkpoint.inputState) !== stateText(savedState)) {
    return notUsed('the saved connector state has changed since they were read');
  }
  const later = await ctx.prisma.$queryRaw<{ run_id: string }[]>`
    SELECT e.run_id::text AS run_id
      FROM task_instances e JOIN dag_runs r ON r.id = e.run_id
     WHERE r.job_id = ${ctx.job.id}::uuid AND r.id <> ${ctx.run.id}::uuid
       AND e.task_type = 'extract' AND e.started_at > ${new Date(checkpoint.readStartedAt)}
     LIMIT 1`;
  const other = later[0];
  if (other) return notUsed(`run ${other.run_id} of this job has read the source since (its rows are newer)`);
  return checkpoint;
}
