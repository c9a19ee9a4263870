import { validateDag, type DagSpec, type TaskType } from '@sluice/core/dag';
import type { Sql } from './sql.ts';

/** A DAG's spec as stored. DAG rows never change after they are written, so specs are cached. */
export class DagCache {
  readonly #specs = new Map<string, DagSpec>();

  async get(sql: Sql, dagId: string): Promise<DagSpec> {
    const hit = this.#specs.get(dagId);
    if (hit) return hit;
    // task_type is the database's TaskType enum, whose labels are TASK_TYPES.
    const rows = await sql.query<
      { task_id: string; task_type: TaskType; upstream_task_ids: string[]; is_mapped: boolean; retries: number; retry_delay_ms: number; max_retry_delay_ms: number; timeout_ms: number }[]
    >`
      SELECT task_id, task_type::text AS task_type, upstream_task_ids, is_mapped, retries, retry_delay_ms, max_retry_delay_ms, timeout_ms
      FROM dag_tasks WHERE dag_id = ${dagId}::uuid ORDER BY task_id`;
    const spec = validateDag({
      tasks: rows.map((r) => ({
        taskId: r.task_id,
        taskType: r.task_type,
        upstreamTaskIds: r.upstream_task_ids,
        isMapped: r.is_mapped,
        retries: r.retries,
        retryDelayMs: r.retry_delay_ms,
        maxRetryDelayMs: r.max_retry_delay_ms,
        timeoutMs: r.timeout_ms,
      })),
    });
    if (this.#specs.size > 10_000) this.#specs.clear();
    this.#specs.set(dagId, spec);
    return spec;
  }
}
