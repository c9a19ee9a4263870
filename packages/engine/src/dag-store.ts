import { randomUUID } from 'node:crypto';
import { ingestionDag, type DagSpec } from '@sluice/core/dag';
import type { Prisma } from '@sluice/db';

type Tx = Prisma.TransactionClient;

/** Writes a new version of the job's DAG (dags + dag_tasks rows) in the caller's transaction. */
export async function writeJobDag(tx: Tx, jobId: string, spec: DagSpec = ingestionDag()): Promise<{ dagId: string }> {
  const latest = await tx.dag.findFirst({ where: { jobId }, orderBy: { version: 'desc' }, select: { version: true } });
  const dagId = randomUUID();
  await tx.dag.create({ data: { id: dagId, jobId, version: (latest?.version ?? 0) + 1 } });
  await tx.dagTask.createMany({
    data: spec.tasks.map((t) => ({
      dagId,
      taskId: t.taskId,
      taskType: t.taskType,
      upstreamTaskIds: [...t.upstreamTaskIds],
      isMapped: t.isMapped,
      retries: t.retries,
      retryDelayMs: t.retryDelayMs,
      maxRetryDelayMs: t.maxRetryDelayMs,
      timeoutMs: t.timeoutMs,
    })),
  });
  return { dagId };
}
