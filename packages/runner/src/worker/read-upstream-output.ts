import type { Sql } from '@sluice/db';

/**
 * The output of a succeeded instance of a run (what `ctx.upstream` answers), read when a handler
 * asks for it — as Airflow pulls an XCom — rather than with every claim, whose cost would then
 * grow with the run's width. `stream` picks the instance of that stream; an unmapped instance
 * (map index -1) answers when there is no instance of the stream. Undefined when neither has
 * succeeded. An instance's output does not change while a downstream try runs: the try was
 * queued after its upstream committed, and only a failed instance can be cleared.
 */
export async function readUpstreamOutput(sql: Sql, input: { runId: string; taskId: string; stream: string | null }): Promise<unknown> {
  const rows = await sql.query<{ output: unknown }[]>`
    SELECT output FROM task_instances
    WHERE run_id = ${input.runId}::uuid AND task_id = ${input.taskId} AND state = 'success'
      AND (map_index = -1 OR stream = ${input.stream}::text)
    ORDER BY map_index = -1
    LIMIT 1`;
  return rows[0]?.output ?? undefined;
}
