import { errorMessage } from '@sluice/core';
import { sqlTransaction, type PrismaClient, type Sql } from '@sluice/db';
import type { ClaimedInstance, Dispatcher, FinishReport, StateStore, TaskDispatch, TryRef } from '@sluice/engine';
import type { Logger } from '@sluice/logging';
import { Coalescer } from './coalescer.ts';
import { loadTryRuns, type TryRun } from './load-try-run.ts';

/** How a report fared: recorded (or found stale: `applied: false`), or not recorded at all. */
export type FinishResult = { applied: boolean } | { failed: unknown };

/** A report as its batch left it: recorded, with the batch's dispatches on their way; or not recorded. */
type Recorded = { applied: boolean; dispatched: Promise<void> } | { failed: unknown };

/** How many runs' contexts a runner keeps (a run's job and dates do not change while it runs). */
const KEPT_RUNS = 2_000;

/**
 * The runner's writes and reads that happen once per try, batched across the tries running in
 * this process (group commit, see Coalescer): claims in one UPDATE (which also reads the run's
 * succeeded outputs), runs not seen before in one SELECT, reports in one transaction whose
 * dispatches go to BullMQ in one call after it commits. That call is not part of the batch: the
 * next batch's transaction starts while it is in flight. A report is answered only once its
 * batch's dispatches are enqueued, so a try holds its runner slot until what it made ready is in
 * the queue, ahead of new runs' first tasks (the Dispatcher's policy).
 */
export interface TryBatches {
  claim(ref: TryRef): Promise<ClaimedInstance | null>;
  run(runId: string): Promise<TryRun | null>;
  finish(report: FinishReport): Promise<FinishResult>;
}

export function createTryBatches(deps: { prisma: PrismaClient; sql: Sql; store: StateStore; dispatcher: Dispatcher; logger: Logger }): TryBatches {
  const { prisma, sql, store, dispatcher, logger } = deps;

  const claims = new Coalescer<TryRef, ClaimedInstance | null>((refs) => store.claimTries(sql, refs));
  const runReads = new Coalescer<string, TryRun | null>((runIds) => loadTryRuns(sql, runIds));
  const runs = new Map<string, Promise<TryRun | null>>();
  const run = (runId: string): Promise<TryRun | null> => {
    const kept = runs.get(runId);
    if (kept) return kept;
    const read = runReads.submit(runId);
    runs.set(runId, read);
    // Only runs that exist are kept; a failed read is not.
    read.then(
      (r) => {
        if (!r) runs.delete(runId);
      },
      () => runs.delete(runId),
    );
    if (runs.size > KEPT_RUNS) {
      const oldest = runs.keys().next().value;
      if (oldest !== undefined) runs.delete(oldest);
    }
    return read;
  };
  const record = async (reports: FinishReport[]): Promise<Recorded[]> => {
    let recorded: { applied: boolean[]; dispatches: TaskDispatch[] };
    try {
      recorded = await sqlTransaction(prisma, (tx) => store.finishTries(tx, reports));
    } catch (err) {
      if (reports.length === 1) return [{ failed: err }];
      // One bad report (or a deadlock with another runner) must not lose the others: one by one.
      logger.warn('recording a batch of try reports failed; recording them one by one', { reports: reports.length, err: errorMessage(err) });
      const out: Recorded[] = [];
      for (const report of reports) out.push(...(await record([report])));
      return out;
    }
    // Committed: a dispatch lost here is found again by recovery (PostgreSQL says queued).
    const dispatched = dispatcher.dispatch(recorded.dispatches);
    // Every report of the batch awaits it (finish); this only keeps its failure from counting as
    // unhandled before they do.
    dispatched.catch(() => undefined);
    return recorded.applied.map((applied) => ({ applied, dispatched }));
  };
  const finishes = new Coalescer<FinishReport, Recorded>(record);
  const finish = async (report: FinishReport): Promise<FinishResult> => {
    const recorded = await finishes.submit(report);
    if ('failed' in recorded) return recorded;
    try {
      await recorded.dispatched;
    } catch (err) {
      return { failed: err };
    }
    return { applied: recorded.applied };
  };

  return {
    claim: (ref) => claims.submit(ref),
    run,
    finish,
  };
}
