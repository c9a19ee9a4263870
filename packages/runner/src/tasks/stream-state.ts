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
 * Saves the STREAM state of one stream from a run's final state (after that stream's load
 * committed). Global and legacy state are saved by archive, once every stream has committed.
 */
export async function saveStreamState(
  db: PrismaClient | Prisma.TransactionClient,
  jobId: string,
  runId: string,
  stream: string,
  state: readonly AirbyteStateMessage[],
): Promise<boolean> {
  const msg = state.find((s) => s.type === 'STREAM' && s.stream?.stream_descriptor.name === stream);
  if (!msg?.stream) return false;
  const key = streamKey(msg.stream.stream_descriptor);
  const value = msg as unknown as Prisma.InputJsonValue;
  await db.streamState.upsert({
    where: { jobId_streamKey: { jobId, streamKey: key } },
    create: { jobId, streamKey: key, kind: 'stream', state: value, runId },
    update: { kind: 'stream', state: value, runId },
  });
  return true;
}

/** Saves GLOBAL / LEGACY state (key ""), once every stream of the run has committed. */
export async function saveSharedState(
  db: PrismaClient | Prisma.TransactionClient,
  jobId: string,
  runId: string,
  state: readonly AirbyteStateMessage[],
): Promise<boolean> {
  const msg = state.find((s) => s.type === 'GLOBAL' || s.type === 'LEGACY' || (s.type == null && s.data != null));
  if (!msg) return false;
  const kind = msg.type === 'GLOBAL' ? 'global' : 'legacy';
  const value = msg as unknown as Prisma.InputJsonValue;
  await db.streamState.upsert({
    where: { jobId_streamKey: { jobId, streamKey: '' } },
    create: { jobId, streamKey: '', kind, state: value, runId },
    update: { kind, state: value, runId },
  });
  return true;
}
