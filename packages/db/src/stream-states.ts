/**
 * `stream_states`, the connector state each job hands its next run, and `pending_stream_states`,
 * the states loads are about to save: written here only (the runner's saves around a commit, and
 * resets from the API).
 */
import { Prisma, type PrismaClient } from './client.ts';
import type { StreamStateKind } from './generated/enums.ts';

type Db = PrismaClient | Prisma.TransactionClient;

/** One saved connector state of a job: a stream's (`streamKey` its name), or the shared one (`""`). */
export interface SavedStreamState {
  streamKey: string;
  kind: StreamStateKind;
  state: unknown;
  runId: string | null;
  updatedAt: Date;
}

/**
 * What a save did: `saved`, or `superseded` (kept as it was: it comes from a run whose extract
 * started after this run's, so this run's state is older).
 */
export type StateSave = 'saved' | 'superseded';

/** A job's saved states, streams by name (the shared one, key "", first). */
export async function listStreamStates(db: Db, jobId: string): Promise<SavedStreamState[]> {
  const rows = await db.streamState.findMany({ where: { jobId }, orderBy: { streamKey: 'asc' } });
  return rows.map((r) => ({ streamKey: r.streamKey, kind: r.kind, state: r.state, runId: r.runId, updatedAt: r.updatedAt }));
}

/**
 * Whether the saved row `s` is newer than what the run `runId` read (ADR 0019's order): saved by a
 * run whose extract started after this run's, or put through the API (imported, no run) after it
 * started. One condition for both of a save's statements.
 */
function newerThanRunsRead(runId: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`EXISTS (
    SELECT 1 FROM task_instances ours
     WHERE ours.run_id = ${runId} AND ours.task_type = 'extract'
       AND (CASE WHEN s.run_id IS NULL THEN s.updated_at > ours.started_at
                 ELSE EXISTS (SELECT 1 FROM task_instances theirs
                               WHERE theirs.run_id = s.run_id AND theirs.task_type = 'extract' AND theirs.started_at > ours.started_at) END))`;
}

/**
 * Writes one state row, unless the row there is newer than what this run read
 * ({@link newerThanRunsRead}): in one statement, so that two runs saving at once cannot move the
 * state back either. Rows of the other kind (per stream / connector-wide) not newer go first.
 * The order is ADR 0019's, which the runner's load checks too (runner/src/tasks/later-read.ts).
 */
export async function saveStreamStateRow(db: Db, row: { jobId: string; runId: string; streamKey: string; kind: StreamStateKind; state: unknown }): Promise<StateSave> {
  const shared = row.streamKey === '';
  // A job's state is of one kind, the one its connector emits: a save of one kind drops the rows of
  // the other (an imported state of the wrong kind, or one from before the connector changed) that
  // are not newer than this run's, by the same order.
  await db.$executeRaw`
    DELETE FROM stream_states s
     WHERE s.job_id = ${row.jobId}::uuid AND (s.stream_key = '') <> ${shared}
       AND NOT ${newerThanRunsRead(Prisma.sql`${row.runId}::uuid`)}`;
  const written = await db.$executeRaw`
    INSERT INTO stream_states AS s (job_id, stream_key, kind, state, run_id, updated_at)
    VALUES (${row.jobId}::uuid, ${row.streamKey}, ${row.kind}::"StreamStateKind", ${JSON.stringify(row.state)}::jsonb, ${row.runId}::uuid, now())
    ON CONFLICT (job_id, stream_key) DO UPDATE
       SET kind = EXCLUDED.kind, state = EXCLUDED.state, run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at
     WHERE NOT ${newerThanRunsRead(Prisma.sql`EXCLUDED.run_id`)}`;
  return written === 1 ? 'saved' : 'superseded';
}

/**
 * The state a stream's load saves once its Iceberg commit is made, recorded before that commit
 * (ADR 0025): the load's process can be lost between the commit and the save, and the next run
 * must not read the source again from the state before it (an append would repeat every row the
 * commit added).
 */
export interface PendingStreamState {
  jobId: string;
  runId: string;
  streamKey: string;
  state: unknown;
  /** The table the load commits to, and the task id its snapshot's summary carries (`sluice.task-id`). */
  namespace: string;
  tableName: string;
  taskId: string;
}

/** Records a load's pending state before its commit (replacing the row of an earlier try of the load). */
export async function recordPendingStreamState(db: Db, row: PendingStreamState): Promise<void> {
  await db.$executeRaw`
    INSERT INTO pending_stream_states (job_id, stream_key, run_id, state, namespace, table_name, task_id)
    VALUES (${row.jobId}::uuid, ${row.streamKey}, ${row.runId}::uuid, ${JSON.stringify(row.state)}::jsonb, ${row.namespace}, ${row.tableName}, ${row.taskId})
    ON CONFLICT (job_id, stream_key, run_id) DO UPDATE
       SET state = EXCLUDED.state, namespace = EXCLUDED.namespace, table_name = EXCLUDED.table_name, task_id = EXCLUDED.task_id, created_at = now()`;
}

/**
 * Removes a load's pending state: with its save, in the transaction that saves it; or when the load
 * failed before any commit (the state it recorded will never be the table's).
 */
export async function dropPendingStreamState(db: Db, row: { jobId: string; runId: string; streamKey: string }): Promise<void> {
  await db.pendingStreamState.deleteMany({ where: { jobId: row.jobId, runId: row.runId, streamKey: row.streamKey } });
}

/**
 * A job's pending states, oldest first, each saying whether its run has ended (no longer queued or
 * running): a load of a run under way may still commit (or be lost, and not yet declared so).
 */
export async function listPendingStreamStates(db: Db, jobId: string): Promise<(PendingStreamState & { runEnded: boolean; recordedAt: Date })[]> {
  const rows = await db.$queryRaw<
    { job_id: string; run_id: string; stream_key: string; state: unknown; namespace: string; table_name: string; task_id: string; run_ended: boolean; created_at: Date }[]
  >`
    SELECT p.job_id::text, p.run_id::text, p.stream_key, p.state, p.namespace, p.table_name, p.task_id, p.created_at,
           (r.id IS NULL OR r.state NOT IN ('queued', 'running')) AS run_ended
      FROM pending_stream_states p
      LEFT JOIN dag_runs r ON r.id = p.run_id
     WHERE p.job_id = ${jobId}::uuid
     ORDER BY p.created_at, p.stream_key`;
  return rows.map((r) => ({
    jobId: r.job_id,
    runId: r.run_id,
    streamKey: r.stream_key,
    state: r.state,
    namespace: r.namespace,
    tableName: r.table_name,
    taskId: r.task_id,
    runEnded: r.run_ended,
    recordedAt: r.created_at,
  }));
}

/**
 * Saves the STREAM state of a stream's load once its commit is made (not over a newer run's:
 * {@link saveStreamStateRow}) and removes the pending row recorded before the commit. Called in a
 * transaction, so that the two go together.
 */
export async function saveLoadStreamState(db: Db, row: { jobId: string; runId: string; streamKey: string; state: unknown }): Promise<StateSave> {
  const saved = await saveStreamStateRow(db, { ...row, kind: 'stream' });
  await dropPendingStreamState(db, row);
  return saved;
}

/**
 * Settles a lost load's pending state: when the table holds its commit, saved as the load would
 * have saved it, else dropped. One transaction.
 */
export async function settlePendingStreamState(db: PrismaClient, row: PendingStreamState, committed: boolean): Promise<StateSave | 'dropped'> {
  return db.$transaction(async (tx) => {
    if (committed) return saveLoadStreamState(tx, row);
    await dropPendingStreamState(tx, row);
    return 'dropped';
  });
}

/** Why a reset or a replacement of a job's state cannot happen: its message says so to the caller. */
export class StateChangeRefused extends Error {}

/**
 * Locks the job's row, as run creation does, so that no run starts until the caller's transaction
 * ends; refused (StateChangeRefused) while a run of the job is queued or running: it would save
 * its state over the change.
 */
async function lockIdleJob(db: Prisma.TransactionClient, jobId: string): Promise<void> {
  await db.$queryRaw`SELECT id FROM ingestion_jobs WHERE id = ${jobId}::uuid FOR UPDATE`;
  const busy = await db.dagRun.findMany({ where: { jobId, state: { in: ['queued', 'running'] } }, select: { id: true, state: true }, orderBy: { createdAt: 'asc' } });
  const [one] = busy;
  if (one !== undefined && busy.length === 1) {
    throw new StateChangeRefused(`run ${one.id} of this job is ${one.state}, and would save its state over the change: cancel it or wait for it to end`);
  }
  if (busy.length > 1) {
    // Each would save over the change: all are named (the queued ones can go at once with POST …/runs/cancel).
    const said = (state: string): string => busy.filter((r) => r.state === state).map((r) => r.id).join(', ');
    const running = said('running');
    const queued = said('queued');
    throw new StateChangeRefused(
      `${busy.length} runs of this job are queued or running (${[running && `running: ${running}`, queued && `queued: ${queued}`].filter(Boolean).join('; ')}), and each would save its state over the change: cancel them or wait for them to end`,
    );
  }
}

/**
 * Forgets a job's saved state (of the given streams, or all of it), so that its next run reads
 * those streams from the start. Refused (StateChangeRefused) while a run of the job is queued or
 * running ({@link lockIdleJob}), and for a stream whose position only a connector-wide (GLOBAL or
 * LEGACY) state holds, which resets whole. Both are checked under the job's lock. Answers the
 * keys removed, saved or pending.
 */
export async function resetStreamStates(db: Prisma.TransactionClient, jobId: string, streamKeys: readonly string[] | null): Promise<string[]> {
  await lockIdleJob(db, jobId);
  const saved = await db.streamState.findMany({ where: { jobId }, select: { streamKey: true, kind: true }, orderBy: { streamKey: 'asc' } });
  const shared = saved.find((r) => r.streamKey === '');
  const inShared = streamKeys?.filter((k) => !saved.some((r) => r.streamKey === k)) ?? [];
  if (shared && inShared.length > 0) {
    throw new StateChangeRefused(
      `it is connector-wide (${shared.kind.toUpperCase()}): it holds ${inShared.map((k) => `"${k}"`).join(', ')} with every other stream and cannot be reset for one; reset all of it (no stream parameter)`,
    );
  }
  const doomed = saved.map((r) => r.streamKey).filter((k) => streamKeys === null || streamKeys.includes(k));
  await db.streamState.deleteMany({ where: { jobId, streamKey: { in: doomed } } });
  // A lost load's pending state would be saved before the next extract: it goes too, and counts as reset.
  const pending = await db.pendingStreamState.findMany({ where: { jobId, ...(streamKeys === null ? {} : { streamKey: { in: [...streamKeys] } }) }, select: { streamKey: true } });
  await db.pendingStreamState.deleteMany({ where: { jobId, streamKey: { in: pending.map((r) => r.streamKey) } } });
  return [...new Set([...doomed, ...pending.map((r) => r.streamKey)])].sort();
}

/**
 * Replaces a job's whole saved state with the given states (imported: no run saved them, so the
 * next run's saves replace each; a run whose extract started before the import saves nothing over
 * them), under the same lock and refusal as a reset.
 */
export async function replaceStreamStates(
  db: Prisma.TransactionClient,
  jobId: string,
  states: readonly { streamKey: string; kind: StreamStateKind; state: unknown }[],
): Promise<void> {
  await lockIdleJob(db, jobId);
  await db.streamState.deleteMany({ where: { jobId } });
  await db.pendingStreamState.deleteMany({ where: { jobId } });
  if (states.length === 0) return;
  // Stamped now (the database's clock): a run whose extract started before the import (by its
  // runner's clock) saves nothing over it (saveStreamStateRow).
  const rows = states.map((s) => ({ stream_key: s.streamKey, kind: s.kind, state: s.state }));
  await db.$executeRaw`
    INSERT INTO stream_states (job_id, stream_key, kind, state, run_id, updated_at)
    SELECT ${jobId}::uuid, r.stream_key, r.kind::"StreamStateKind", r.state, NULL, now()
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(stream_key text, kind text, state jsonb)`;
}
