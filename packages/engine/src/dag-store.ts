import { randomUUID } from 'node:crypto';
import { ingestionDag, validateDag, type DagSpec } from '@sluice/core/dag';
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

/** A DAG's spec as stored. DAG rows never change after they are written, so specs are cached. */
export class DagCache {
  readonly #specs = new Map<string, DagSpec>();

  async get(db: Tx, dagId: string): Promise<DagSpec> {
    const hit = this.#specs.get(dagId);
    if (hit) return hit;
    const rows = await db.dagTask.findMany({ where: { dagId }, orderBy: { taskId: 'asc' } });
    const spec = validateDag({
      tasks: rows.map((r) => ({
        taskId: r.taskId,
        taskType: r.taskType,
        upstreamTaskIds: r.upstreamTaskIds,
        isMapped: r.isMapped,
        retries: r.retries,
        retryDelayMs: r.retryDelayMs,
        maxRetryDelayMs: r.maxRetryDelayMs,
        timeoutMs: r.timeoutMs,
      })),
    });
    if (this.#specs.size > 10_000) this.#specs.clear();
    this.#specs.set(dagId, spec);
    return spec;
  }
}
