import { NoSuchTableError, type IcebergCatalog } from '@sluice/iceberg';
import { streamKey, type AirbyteStateMessage } from '@sluice/core/airbyte-state';
import { errorMessage } from '@sluice/core';
import { nulPath } from '@sluice/core/json';
import {
  dropPendingStreamState,
  listStreamStates,
  listPendingStreamStates,
  recordPendingStreamState,
  saveLoadStreamState,
  saveStreamStateRow,
  settlePendingStreamState,
  type Prisma,
  type PrismaClient,
  type StateSave,
} from '@sluice/db';
import type { TaskContext } from '../worker/task-handler.ts';

/** The saved state to hand the next `read`: every row of the job, as Airbyte state messages. */
export async function loadSavedState(prisma: PrismaClient, jobId: string): Promise<AirbyteStateMessage[]> {
  return (await listStreamStates(prisma, jobId)).map((r) => r.state as AirbyteStateMessage);
}

/** The STREAM state of one stream in a run's final state, with its key, if the connector emitted one. */
function streamStateOf(state: readonly AirbyteStateMessage[], stream: string): { msg: AirbyteStateMessage; key: string } | undefined {
  const msg = state.find((s) => s.type === 'STREAM' && s.stream?.stream_descriptor.name === stream);
  return msg?.stream ? { msg, key: streamKey(msg.stream.stream_descriptor) } : undefined;
}

/**
 * Where the stream's state in the run's state holds the NUL character (U+0000), which PostgreSQL
 * cannot store (a cursor value with one): its path in the state message, or null.
 */
export function nulInStreamState(state: readonly AirbyteStateMessage[], stream: string): string | null {
  const found = streamStateOf(state, stream);
  return found ? nulPath(found.msg) : null;
}

/**
 * Before a load's commit: records the stream state it saves after the commit as pending (ADR
 * 0025), so that a load lost between the two leaves the state to be settled by the next extract.
 * Nothing when the run's state has none for the stream.
 */
export async function recordPendingState(
  db: PrismaClient,
  load: { jobId: string; runId: string; stream: string; namespace: string; tableName: string; taskId: string },
  state: readonly AirbyteStateMessage[],
): Promise<void> {
  const found = streamStateOf(state, load.stream);
  if (!found) return;
  await recordPendingStreamState(db, { jobId: load.jobId, runId: load.runId, streamKey: found.key, state: found.msg, namespace: load.namespace, tableName: load.tableName, taskId: load.taskId });
}

/**
 * After a load that failed before any commit (its schema or its order refused before the write):
 * removes the pending state it recorded, which no commit will ever match. Left for the next
 * extract to settle, it would hold up an import of the job's state (`PUT …/state` refuses pending
 * states) that the load's own error advises.
 */
export async function dropPendingState(db: PrismaClient, load: { jobId: string; runId: string; stream: string }, state: readonly AirbyteStateMessage[]): Promise<void> {
  const found = streamStateOf(state, load.stream);
  if (!found) return;
  await dropPendingStreamState(db, { jobId: load.jobId, runId: load.runId, streamKey: found.key });
}

/**
 * Saves the STREAM state of one stream from a run's final state (after that stream's load
 * committed), and removes the pending row recorded before the commit. Global and legacy state are
 * saved by archive, once every stream has committed.
 */
export async function saveStreamState(
  db: PrismaClient | Prisma.TransactionClient,
  jobId: string,
  runId: string,
  stream: string,
  state: readonly AirbyteStateMessage[],
): Promise<StateSave | 'none'> {
  const found = streamStateOf(state, stream);
  if (!found) return 'none';
  return saveLoadStreamState(db, { jobId, runId, streamKey: found.key, state: found.msg });
}

/** What a run's load output says when it skipped its stream because another run's overlapped its read (load-task.ts). */
export const OVERLAPPED_BY = 'overlapped_by';

/**
 * Saves GLOBAL / LEGACY state (key ""), once every stream of the run has committed or skipped. Not
 * when a load of the run skipped its stream as overlapped by another run's (answered with those
 * streams): this run read past that run's saved state, and the records past it that this run did
 * not load would be read by no run after a save of this state; the next run reads on from that
 * run's state instead.
 */
export async function saveSharedState(
  db: PrismaClient | Prisma.TransactionClient,
  q: { jobId: string; runId: string; state: readonly AirbyteStateMessage[] },
): Promise<StateSave | 'none' | { overlapped: string[] }> {
  const msg = q.state.find((s) => s.type === 'GLOBAL' || s.type === 'LEGACY' || (s.type == null && s.data != null));
  if (!msg) return 'none';
  const overlapped = await overlappedStreams(db, q.runId);
  if (overlapped.length > 0) return { overlapped };
  return saveStreamStateRow(db, { jobId: q.jobId, runId: q.runId, streamKey: '', kind: msg.type === 'GLOBAL' ? 'global' : 'legacy', state: msg });
}

/** The streams of the run whose loads ended skipped as overlapped by another run's (their output's OVERLAPPED_BY). */
async function overlappedStreams(db: PrismaClient | Prisma.TransactionClient, runId: string): Promise<string[]> {
  const skipped = await db.taskInstance.findMany({ where: { runId, taskType: 'load', state: 'skipped' }, select: { stream: true, output: true } });
  return skipped.flatMap((t) => (t.stream !== null && typeof t.output === 'object' && t.output !== null && OVERLAPPED_BY in t.output ? [t.stream] : []));
}

/** Whether the table's history holds the commit of this run's task (false when there is no such table). */
export async function holdsCommit(catalog: IcebergCatalog, namespace: string, tableName: string, runId: string, taskId: string): Promise<boolean> {
  try {
    return (await catalog.loadTable(namespace, tableName)).committedBy(runId, taskId) !== undefined;
  } catch (err) {
    if (err instanceof NoSuchTableError) return false;
    throw err;
  }
}

/**
 * Before an extract reads the saved state: settles the states of the job's loads that committed
 * to Iceberg and did not save their state (a runner killed between the two, a database outage).
 * A load whose commit the table's history holds gets its state saved, as it would have saved it
 * — also when its run is still under way (with max_active_runs above 1, a run whose load was lost
 * counts as running until the try is declared lost, and this run must not read that commit's
 * records again). A load of a run that has ended whose commit never happened (or whose table is
 * gone) gets it dropped; one of a run under way may still commit, and stays pending (its commit
 * after this extract's start fails this run's load: ADR 0019's overlap rule). A catalog that
 * cannot be read fails the extract (retried): reading on from the older state would append that
 * commit's rows again.
 */
export async function settleLostLoads(catalog: IcebergCatalog, ctx: TaskContext): Promise<void> {
  for (const pending of await listPendingStreamStates(ctx.prisma, ctx.job.id)) {
    if (pending.runId === ctx.run.id) continue;
    const name = `${pending.namespace}.${pending.tableName}`;
    let committed: boolean;
    try {
      committed = await holdsCommit(catalog, pending.namespace, pending.tableName, pending.runId, pending.taskId);
    } catch (err) {
      throw new Error(
        `the state of stream "${pending.streamKey}" that run ${pending.runId}'s load was to save is not settled: ${name} could not be read to see whether that load committed (${errorMessage(err)}); ` +
          'reading the source on from the older state could load those rows twice',
        { cause: err },
      );
    }
    if (!committed && !pending.runEnded) continue;
    const settled = await settlePendingStreamState(ctx.prisma, pending, committed);
    if (settled === 'saved') {
      ctx.log.warn(
        pending.runEnded
          ? `run ${pending.runId} committed stream "${pending.streamKey}" to ${name} but was lost before saving its connector state: saved it now, so this run reads on from there`
          : `run ${pending.runId} (still under way) committed stream "${pending.streamKey}" to ${name} and has not saved its connector state (its load may be lost): saved it now, so this run reads on from there`,
      );
    } else if (settled === 'superseded') {
      ctx.log.info(`run ${pending.runId} committed stream "${pending.streamKey}" to ${name} without saving its connector state; a later run's saved state is newer and kept`);
    } else {
      ctx.log.info(`run ${pending.runId}'s load of stream "${pending.streamKey}" did not commit to ${name}: the state it was to save is dropped`);
    }
  }
}
