import { errorMessage } from '@sluice/core';
import { icebergTableName } from '@sluice/core/pipeline';
import { sqlTransaction, type PrismaClient, type Sql } from '@sluice/db';
import { NoSuchTableError, type IcebergCatalog } from '@sluice/iceberg';
import type { Logger } from '@sluice/logging';
import type { ObjectStore } from '@sluice/storage';
import { tableLoadConflict } from '../tasks/later-read.ts';
import { loadTaskId } from '../tasks/load-task.ts';
import { archivePrefix, stagingPrefix } from '../tasks/staging-layout.ts';

const DAY_MS = 86_400_000;
/** How long after a deleted job's run ended its staging goes (a try told to stop has long stopped). */
const DELETED_JOB_GRACE_MS = 3_600_000;
/** Runs handled per transaction (their rows stay locked while their prefixes are removed). */
const BATCH = 100;
/** How long one batch's transaction deletes files before it records what it removed. */
const BATCH_TIME_MS = 20_000;
/** How long the sweep's transaction may wait on the object store between statements (its requests' timeouts and retries fit in it). */
const SWEEP_IDLE_LIMIT_MS = 15 * 60_000;

export interface RetentionPolicy {
  /** A successful run's `archive/{run}/` is removed this many days after the run ended; 0 keeps it for ever. */
  archiveDays: number;
  /**
   * The `staging/{run}/` a failed or cancelled run left (kept so that a clear can re-run its tasks
   * from it) is removed this many days after the run ended; 0 keeps it for ever. A deleted job's
   * runs, which no clear runs again, lose theirs an hour after they ended either way.
   */
  stagingDays: number;
  /**
   * A finished run's rows (its tries, their log lines) are deleted this many days after it ended,
   * once its files are settled; 0 keeps them for ever (`removeExpiredRunHistory`).
   */
  historyDays: number;
}

/**
 * One retention pass: removes the files of finished runs past the policy's ages and records each
 * removal (`run_file_removals`), so a run is swept once — again only if it ended again after that
 * (a clear re-ran it). Several runners may sweep at once: a run's row is locked (SKIP LOCKED) while
 * its files are removed. A failed or cancelled run's files include those its cut-off loads left in
 * their tables (`removeCutOffLoadFiles`). Answers how many runs were swept (some may have had no
 * files left: a job that does not archive, a run that failed before writing any); the log says
 * how many files went.
 */
export async function removeExpiredRunFiles(
  deps: { prisma: PrismaClient; store: ObjectStore; catalog: IcebergCatalog; logger: Logger },
  policy: RetentionPolicy,
  now: Date = new Date(),
): Promise<number> {
  // A policy of 0 days puts its cutoff before any run: nothing of that kind is old enough.
  const cutoff = (days: number): Date => (days > 0 ? new Date(now.getTime() - days * DAY_MS) : new Date(0));
  const due = { archive: cutoff(policy.archiveDays), staging: cutoff(policy.stagingDays), deletedJob: new Date(now.getTime() - DELETED_JOB_GRACE_MS) };
  let removed = 0;
  let files = 0;
  // The runs' rows first, then the files of runs whose rows the history pass deleted while the
  // policy kept their files (kept_run_files): a policy set since reaches those too (QA round 42a F2).
  for (const source of [runsWithFilesDue, keptFilesDue]) {
    for (;;) {
      const batch = await sqlTransaction(deps.prisma, async (sql) => {
        // This transaction waits on the object store between its statements (a request may take
        // minutes on an endpoint that stopped answering): PostgreSQL's limit on a transaction left
        // idle (@sluice/db's client.ts) is raised for it alone (QA round 32: it ended the sweep's).
        await sql.query`SELECT set_config('idle_in_transaction_session_timeout', ${String(SWEEP_IDLE_LIMIT_MS)}, true)`;
        const { runs, loads, record } = await source(sql, due, now);
        // The runs stay locked while their files go: a batch stops taking runs after BATCH_TIME_MS.
        const started = Date.now();
        const done: string[] = [];
        for (const run of runs) {
          if (Date.now() - started > BATCH_TIME_MS) break;
          // Before its staging goes: the cut-off loads' files are found through the run's rows.
          await removeCutOffLoadFiles(deps, loads.filter((l) => l.runId === run.id));
          // A successful run's staging is already gone (archive moved or deleted it); a failed or
          // cancelled run has no archive unless its archive task got that far.
          files += await deps.store.deletePrefix(run.state === 'success' ? archivePrefix(run.id) : stagingPrefix(run.id));
          if (run.state !== 'success') files += await deps.store.deletePrefix(archivePrefix(run.id));
          done.push(run.id);
        }
        if (done.length > 0) await record(done);
        return { found: runs.length, done: done.length };
      });
      removed += batch.done;
      if (batch.found < BATCH && batch.done === batch.found) break;
    }
  }
  // QA round 42a F5: runs that had no files left were counted as runs whose files were removed.
  if (removed > 0) {
    deps.logger.info(`retention: swept ${removed} finished run${removed === 1 ? '' : 's'} past the retention, removing ${files} staging or archive file${files === 1 ? '' : 's'}`, {
      ...policy,
    });
  }
  return removed;
}

/** When each kind of run's files are due: a success's archive, a failed or cancelled run's staging, a deleted job's run's staging. */
interface Due {
  archive: Date;
  staging: Date;
  deletedJob: Date;
}

/** A batch of runs whose files are due, locked; the loads of theirs cut off in their tables; and how to record that their files were removed. */
type DueFiles = (
  sql: Sql,
  due: Due,
  now: Date,
) => Promise<{ runs: { id: string; state: string }[]; loads: CutOffLoad[]; record: (done: string[]) => Promise<void> }>;

/** Runs whose files are due and not removed since they last ended; each removal is recorded in run_file_removals. */
const runsWithFilesDue: DueFiles = async (sql, due, now) => {
  const runs = await sql.query<{ id: string; state: string }[]>`
    SELECT d.id, d.state::text AS state FROM dag_runs d
    WHERE d.ended_at IS NOT NULL
      AND ((d.state = 'success' AND d.ended_at < ${due.archive}::timestamptz)
        OR (d.state IN ('failed', 'cancelled') AND d.ended_at < ${due.staging}::timestamptz)
        -- A deleted job's runs are never cleared again: their staging (the plaintext of the
        -- columns a job encrypts, for one) goes an hour after they ended, whatever the policy.
        OR (d.state IN ('failed', 'cancelled') AND d.ended_at < ${due.deletedJob}::timestamptz
            AND EXISTS (SELECT 1 FROM ingestion_jobs j WHERE j.id = d.job_id AND j.is_deleted)))
      AND NOT EXISTS (SELECT 1 FROM run_file_removals r WHERE r.run_id = d.id AND r.removed_at >= d.ended_at)
    ORDER BY d.ended_at LIMIT ${BATCH}::int
    FOR UPDATE OF d SKIP LOCKED`;
  return {
    runs,
    loads: await cutOffLoads(sql, runs.filter((r) => r.state !== 'success').map((r) => r.id)),
    record: async (done) => {
      await sql.execute`
        INSERT INTO run_file_removals (run_id, removed_at) SELECT unnest(${done}::uuid[]), ${now}::timestamptz
        ON CONFLICT (run_id) DO UPDATE SET removed_at = EXCLUDED.removed_at`;
    },
  };
};

/** Files of runs whose rows are gone (`kept_run_files`) that are due by the same rules (no task rows: no cut-off loads found); each is forgotten once removed. */
const keptFilesDue: DueFiles = async (sql, due) => ({
  runs: await sql.query<{ id: string; state: string }[]>`
    SELECT k.run_id AS id, k.state::text AS state FROM kept_run_files k
    WHERE (k.state = 'success' AND k.ended_at < ${due.archive}::timestamptz)
       OR (k.state IN ('failed', 'cancelled') AND k.ended_at < ${due.staging}::timestamptz)
       OR (k.state IN ('failed', 'cancelled') AND k.ended_at < ${due.deletedJob}::timestamptz
           AND NOT EXISTS (SELECT 1 FROM ingestion_jobs j WHERE j.id = k.job_id AND NOT j.is_deleted))
    ORDER BY k.ended_at LIMIT ${BATCH}::int
    FOR UPDATE OF k SKIP LOCKED`,
  loads: [],
  record: async (done) => {
    await sql.execute`DELETE FROM kept_run_files WHERE run_id = ANY(${done}::uuid[])`;
  },
});

interface CutOffLoad {
  runId: string;
  jobId: string;
  namespace: string;
  stream: string;
  extractStartedAt: Date;
}

/** The loads of the given failed or cancelled runs that did not end well after a try of theirs started: each may have left files in its table. */
async function cutOffLoads(sql: Sql, runIds: readonly string[]): Promise<CutOffLoad[]> {
  if (runIds.length === 0) return [];
  const rows = await sql.query<{ run_id: string; job_id: string; schema_name: string; stream: string; extract_started_at: Date }[]>`
    SELECT l.run_id, j.id AS job_id, j.schema_name, l.stream, e.started_at AS extract_started_at
      FROM task_instances l
      JOIN dag_runs d ON d.id = l.run_id
      JOIN ingestion_jobs j ON j.id = d.job_id
      JOIN task_instances e ON e.run_id = l.run_id AND e.task_type = 'extract' AND e.started_at IS NOT NULL
     WHERE l.run_id = ANY(${runIds}::uuid[]) AND l.task_type = 'load' AND l.stream IS NOT NULL
       AND l.state NOT IN ('success', 'skipped') AND (l.started_at IS NOT NULL OR l.earlier_tries <> '[]'::jsonb)`;
  return rows.map((r) => ({ runId: r.run_id, jobId: r.job_id, namespace: r.schema_name, stream: r.stream, extractStartedAt: r.extract_started_at }));
}

/**
 * The files a failed or cancelled run's cut-off loads wrote into their tables and never committed
 * (a runner killed between its files and its commit, a commit whose outcome was unknown; ADR 0018),
 * removed once a newer run's load of the stream is in the table: every commit of this run's load
 * is then refused by its guard, as a load that finds itself superseded removes its own (the
 * extract's latest start is used, later than or as any try's, so the check errs towards keeping).
 * Without one (the job has not loaded since), they stay. Maintenance only: a table that cannot be
 * read is a warning.
 */
async function removeCutOffLoadFiles(deps: { catalog: IcebergCatalog; logger: Logger }, loads: readonly CutOffLoad[]): Promise<void> {
  for (const l of loads) {
    const name = `${l.namespace}.${icebergTableName(l.stream)}`;
    try {
      const table = await deps.catalog.loadTable(l.namespace, icebergTableName(l.stream));
      const conflict = tableLoadConflict(table.metadata, { jobId: l.jobId, runId: l.runId, extractStartedAt: l.extractStartedAt, appendIncremental: false });
      if (conflict?.kind !== 'superseded') continue;
      const n = await table.removeUncommittedFiles(l.runId, loadTaskId(l.stream), { superseded: true });
      if (n > 0) deps.logger.info(`retention: removed ${n} data file${n === 1 ? '' : 's'} that a cut-off load of run ${l.runId} left in ${name}`, { runId: l.runId, jobId: l.jobId });
    } catch (err) {
      if (err instanceof NoSuchTableError) continue;
      deps.logger.warn(`retention: the files a cut-off load of run ${l.runId} may have left in ${name} were not looked for (they stay): ${errorMessage(err)}`, { runId: l.runId, jobId: l.jobId });
    }
  }
}
