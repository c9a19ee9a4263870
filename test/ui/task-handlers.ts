/**
 * Task handlers for the UI tests, plugged into the real runner through its TaskHandlers
 * interface (the engine's seam for tasks). They behave like the pipeline in what the UI shows
 * — log lines while working, row and byte progress, per-stream fan-out from extract, a load
 * output naming the table and snapshot it committed — but finish in seconds without a
 * connector, so the tests watch the UI, not a data source. A job whose name contains
 * "failing" fails the `orders` stream's load for good; one whose name contains "slow" extracts
 * for a minute (a test that must act while the extract runs, however slow the browser is). One
 * whose name contains "reordered" reads every stream as a source whose streams change would: its
 * first run reads users then orders, and fails orders' load; its later runs read orders then users.
 * One whose name contains "unread" ends its extract as a last try whose connector failed after
 * users was read to the end (ADR 0022): orders is unread, and its stage fails saying so. One
 * whose name contains "flaky" fails the first try of the users stream's load, as a retryable
 * failure: the second try, after load's retry delay, succeeds. One whose name contains "long
 * error" fails its extract for good with an error holding a 3,000-character word (a URL, a path,
 * base64), as a connector's can.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NonRetryableTaskError, UnclearableTaskError } from '@sluice/core';
import type { TaskContext, TaskHandlers, TaskResult } from '@sluice/runner';

export const STREAMS = ['users', 'orders'];
export const LOAD_ERROR = 'load failed: column "amount" cannot be cast to decimal(10,2) in orders (row 17)';

/** Snapshot id the load of `stream` reports for `runId` (deterministic, so tests can look for it). */
export function snapshotIdFor(runId: string, stream: string): string {
  let h = 0n;
  for (const c of `${runId}/${stream}`) h = (h * 131n + BigInt(c.charCodeAt(0))) % 9_007_199_254_740_881n;
  return h.toString();
}

async function work(ctx: TaskContext, steps: number, stepMs: number, rowsPerStep: number): Promise<number> {
  let rows = 0;
  for (let i = 1; i <= steps; i++) {
    await sleep(stepMs, undefined, { signal: ctx.signal });
    rows += rowsPerStep;
    ctx.progress({ rows, bytes: rows * 120 });
    ctx.log.info(`${ctx.task.taskId}${ctx.task.stream ? ` ${ctx.task.stream}` : ''}: ${rows} records so far (step ${i}/${steps})`);
  }
  return rows;
}

export function uiTestHandlers(options: { extractSteps?: number; stepMs?: number } = {}): TaskHandlers {
  const steps = options.extractSteps ?? 8;
  const stepMs = options.stepMs ?? 350;
  /** The runs of each "reordered" job, oldest first. */
  const reorderedRuns = new Map<string, string[]>();
  const reordered = (ctx: TaskContext): { first: boolean } | null => {
    if (!ctx.job.name.includes('reordered')) return null;
    const runs = reorderedRuns.get(ctx.job.id) ?? [];
    if (!runs.includes(ctx.run.id)) runs.push(ctx.run.id);
    reorderedRuns.set(ctx.job.id, runs);
    return { first: runs[0] === ctx.run.id };
  };
  return {
    async extract(ctx): Promise<TaskResult> {
      // The job's listed streams, as the real extract maps over them; users and orders otherwise.
      const order = reordered(ctx);
      const streams = ctx.job.streams.length > 0 ? ctx.job.streams : order === null || order.first ? STREAMS : [...STREAMS].reverse();
      ctx.log.info(`reading ${streams.join(', ')} from ${ctx.job.sourceName}`);
      if (ctx.job.name.includes('long error')) throw new NonRetryableTaskError(`the source answered https://example.com/${'E'.repeat(3000)} with 400`);
      const rows = await work(ctx, ctx.job.name.includes('slow') ? Math.ceil(60_000 / stepMs) : steps, stepMs, 500);
      // A connector's coloured line, as some print them (ANSI escape codes).
      ctx.log.info('\u001b[32mconnector: all streams read\u001b[0m');
      ctx.log.info(`extract done: ${rows} records`);
      if (ctx.job.name.includes('unread')) {
        // The real extract's output (packages/runner/src/tasks/extract-task.ts): the streams read, and those not.
        return { rows, bytes: rows * 120, mappedStreams: streams, output: { streams: [{ name: 'users' }], unread: [{ name: 'orders', error: 'the connector failed' }] } };
      }
      return { rows, bytes: rows * 120, mappedStreams: streams, output: { streams } };
    },
    async stage(ctx): Promise<TaskResult> {
      if (ctx.job.name.includes('unread') && ctx.task.stream === 'orders') throw new UnclearableTaskError('stream "orders" was not read to the end');
      const rows = await work(ctx, 2, 200, 1000);
      return { rows, bytes: rows * 80 };
    },
    async transform(ctx): Promise<TaskResult> {
      const rows = await work(ctx, 2, 200, 1000);
      return { rows, bytes: rows * 80 };
    },
    async load(ctx): Promise<TaskResult> {
      const rows = await work(ctx, 2, 200, 1000);
      if ((ctx.job.name.includes('failing') || reordered(ctx)?.first === true) && ctx.task.stream === 'orders') {
        ctx.log.error(LOAD_ERROR);
        throw new NonRetryableTaskError(LOAD_ERROR);
      }
      if (ctx.job.name.includes('flaky') && ctx.task.stream === 'users' && ctx.task.tryNumber === 1) throw new Error('the catalog did not answer in time');
      const table = ctx.task.stream ?? 'unknown';
      ctx.log.info(`committed ${rows} rows to ${ctx.job.schemaName}.${table}`);
      // The shape of the real load task's output (packages/runner/src/tasks/load-task.ts).
      return {
        rows,
        bytes: rows * 80,
        output: { namespace: ctx.job.schemaName, table, status: 'committed', snapshot_id: snapshotIdFor(ctx.run.id, table), committed_at: new Date().toISOString(), rows, schema_changed: false },
      };
    },
    async archive(ctx): Promise<TaskResult> {
      await sleep(100, undefined, { signal: ctx.signal });
      ctx.log.info(`moved staging/${ctx.run.id}/ to archive/${ctx.run.id}/`);
      return {};
    },
  };
}
