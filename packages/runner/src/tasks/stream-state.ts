import type { AirbyteStateMessage } from '@sluice/connectors';
import type { Prisma, PrismaClient } from '@sluice/db';

/** The stream_states key of a stream: `namespace.name` when namespaced, else the name. */
export function streamKey(descriptor: { name: string; namespace?: string | null | undefined }): string {
  return descriptor.namespace ? `${descriptor.namespace}.${descriptor.name}` : descriptor.name;
}

/** The saved state to hand the next `read`: every row of the job, as Airbyte state messages. */
export async function loadSavedState(prisma: PrismaClient, jobId: string): Promise<AirbyteStateMessage[]> {
  const rows = await prisma.streamState.findMany({ where: { jobId }, orderBy: { streamKey: 'asc' } });
  return rows.map((r) => r.state as AirbyteStateMessage);
}

/**
 * What a save did: `saved`; `none` (the run's final state has nothing of that kind); `superseded`
 * (kept as it was: it comes from a run whose extract started after this run's, so this run's state
 * is older — see later-read.ts).
 */
export type StateSave = 'saved' | 'none' | 'superseded';

/**
 * Writes one state row, unless the row there was saved by a run whose extract started after this
 * run's: in one statement, so two runs saving at once cannot move the state back either.
 */
async function saveState(
  db: PrismaClient | Prisma.TransactionClient,
  row: { jobId: string; runId: string; streamKey: string; kind: 'stream' | 'global' | 'legacy'; state: AirbyteStateMessage },
): Promise<StateSave> {
  const written = await db.$executeRaw`
    INSERT INTO stream_states AS s (job_id, stream_key, kind, state, run_id, updated_at)
    VALUES (${row.jobId}::uuid, ${row.streamKey}, ${row.kind}::"StreamStateKind", ${JSON.stringify(row.state)}::jsonb, ${row.runId}::uuid, now())
    ON CONFLICT (job_id, stream_key) DO UPDATE
       SET kind = EXCLUDED.kind, state = EXCLUDED.state, run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at
     WHERE s.run_id IS NULL OR NOT EXISTS (
       SELECT 1 FROM task_instances theirs
         JOIN task_instances ours ON ours.run_id = EXCLUDED.run_id AND ours.task_type = 'extract'
        WHERE theirs.run_id = s.run_id AND theirs.task_type = 'extract' AND theirs.started_at > ours.started_at)`;
  return written === 1 ? 'saved' : 'superseded';
}

/**
 * Saves the STREAM state of one stream from a run's final state (after that stream's load
 * committed). Global and legacy state are saved by archive, once every stream has committed.
 */
export async function saveStreamState(
  db: PrismaClient | Prisma.TransactionClient,
  jobId: string,
  runId: string,
  stream: string,
  state: readonly AirbyteStateMessage[],
): Promise<StateSave> {
  const msg = state.find((s) => s.type === 'STREAM' && s.stream?.stream_descriptor.name === stream);
  if (!msg?.stream) return 'none';
  return saveState(db, { jobId, runId, streamKey: streamKey(msg.stream.stream_descriptor), kind: 'stream', state: msg });
}

/** Saves GLOBAL / LEGACY state (key ""), once every stream of the run has committed. */
export async function saveSharedState(
  db: PrismaClient | Prisma.TransactionClient,
  jobId: string,
  runId: string,
  state: readonly AirbyteStateMessage[],
): Promise<StateSave> {
  const msg = state.find((s) => s.type === 'GLOBAL' || s.type === 'LEGACY' || (s.type == null && s.data != null));
  if (!msg) return 'none';
  return saveState(db, { jobId, runId, streamKey: '', kind: msg.type === 'GLOBAL' ? 'global' : 'legacy', state: msg });
}
