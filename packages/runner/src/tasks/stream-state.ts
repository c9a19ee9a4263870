import { streamKey, type AirbyteStateMessage } from '@sluice/core/airbyte-state';
import { listStreamStates, saveStreamStateRow, type Prisma, type PrismaClient, type StateSave } from '@sluice/db';


/** The saved state to hand the next `read`: every row of the job, as Airbyte state messages. */
export async function loadSavedState(prisma: PrismaClient, jobId: string): Promise<AirbyteStateMessage[]> {
  return (await listStreamStates(prisma, jobId)).map((r) => r.state as AirbyteStateMessage);
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
): Promise<StateSave | 'none'> {
  const msg = state.find((s) => s.type === 'STREAM' && s.stream?.stream_descriptor.name === stream);
  if (!msg?.stream) return 'none';
  return saveStreamStateRow(db, { jobId, runId, streamKey: streamKey(msg.stream.stream_descriptor), kind: 'stream', state: msg });
}

/** Saves GLOBAL / LEGACY state (key ""), once every stream of the run has committed. */
export async function saveSharedState(
  db: PrismaClient | Prisma.TransactionClient,
  jobId: string,
  runId: string,
  state: readonly AirbyteStateMessage[],
): Promise<StateSave | 'none'> {
  const msg = state.find((s) => s.type === 'GLOBAL' || s.type === 'LEGACY' || (s.type == null && s.data != null));
  if (!msg) return 'none';
  return saveStreamStateRow(db, { jobId, runId, streamKey: '', kind: msg.type === 'GLOBAL' ? 'global' : 'legacy', state: msg });
}
