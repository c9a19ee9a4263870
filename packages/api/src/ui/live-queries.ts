import { clearAdvice, instanceLabel } from '@sluice/core/dag';
import { UNSUCCESSFUL_TASK_STATES } from '@sluice/core/states';
import { schedulerSeen, sqlOf, type DagCache, type PrismaClient } from '@sluice/db';
import {
  LIVE_JOBS_LIMIT,
  type LiveJob,
  type LiveJobLine,
  type LiveLogLine,
  type LiveRun,
  type LiveRunSummary,
  type LiveScheduler,
  type LiveTask,
  type RunStateName,
} from '@sluice/ui/events';
import { settingsVersion } from '../jobs/settings-version.ts';
import { filesRemovedSinceEnd, taskView } from '../jobs/views.ts';
import { canSee, type UiPrincipal } from './principal.ts';

/** How many recent runs the jobs page shows per job, and the job page's grid holds. */
export const JOBS_PAGE_RUNS = 10;
export const GRID_RUNS = 25;
/** Log lines sent per event at most; the rest follow in the next ones. */
export const LOG_BATCH = 2000;

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

const runSummarySelect = {
  id: true,
  state: true,
  runType: true,
  logicalDate: true,
  queuedAt: true,
  startedAt: true,
  endedAt: true,
} as const;

interface RunSummaryRow {
  id: string;
  state: RunStateName;
  runType: 'scheduled' | 'manual';
  logicalDate: Date;
  queuedAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
}

function runSummary(r: RunSummaryRow): LiveRunSummary {
  return {
    run_id: r.id,
    state: r.state,
    run_type: r.runType,
    logical_date: r.logicalDate.toISOString(),
    queued_at: r.queuedAt.toISOString(),
    started_at: iso(r.startedAt),
    ended_at: iso(r.endedAt),
  };
}

/** Every job the viewer may see (not deleted), newest first, each with its last runs. */
export async function loadJobLines(prisma: PrismaClient, principal: UiPrincipal): Promise<LiveJobLine[]> {
  const jobs = await prisma.ingestionJob.findMany({
    where: { isDeleted: false, ...(principal.admin ? {} : { ownerId: principal.subject }) },
    orderBy: { createdAt: 'desc' },
    take: LIVE_JOBS_LIMIT,
    select: {
      id: true,
      isPaused: true,
      status: true,
      runs: { orderBy: { createdAt: 'desc' }, take: JOBS_PAGE_RUNS, select: runSummarySelect },
    },
  });
  return jobs.map((j) => ({ job_id: j.id, is_paused: j.isPaused, status: j.status, runs: j.runs.map(runSummary) }));
}

/** What a jobs feed sends for a new list: the whole list, or the lines that changed when it holds the same jobs in the same order. */
export type JobLinesChange = { jobs: LiveJobLine[] } | { changed: LiveJobLine[] };

/** Per list, what it changed from the list before it: every watcher of a topic hears the same pair. */
const changes = new WeakMap<LiveJobLine[], { from: LiveJobLine[]; change: JobLinesChange }>();

/**
 * What to send a watcher who holds `previous` (undefined: nothing yet) for `current`. QA round 36b
 * F4: every run change sent every job's line again to every open jobs page (38 KB an event with
 * 30 jobs).
 */
export function jobLinesChange(current: LiveJobLine[], previous: LiveJobLine[] | undefined): JobLinesChange {
  if (previous === undefined || previous.length !== current.length || previous.some((l, i) => l.job_id !== current[i]?.job_id)) return { jobs: current };
  const known = changes.get(current);
  if (known?.from === previous) return known.change;
  const change = { changed: current.filter((l, i) => JSON.stringify(l) !== JSON.stringify(previous[i])) };
  changes.set(current, { from: previous, change });
  return change;
}

/** A job's DAG and recent runs with every task state, or null when it is not there for this viewer. */
export async function loadJob(prisma: PrismaClient, principal: UiPrincipal, jobId: string): Promise<LiveJob | null> {
  const job = await prisma.ingestionJob.findUnique({
    where: { id: jobId },
    select: {
      id: true,
      name: true,
      ownerId: true,
      isPaused: true,
      isDeleted: true,
      schedule: true,
      timezone: true,
      catchup: true,
      maxActiveRuns: true,
      sourceConfigEncrypted: true,
      specSecretsKnown: true,
      status: true,
      statusMessage: true,
      streams: true,
      dags: {
        orderBy: { version: 'desc' },
        take: 1,
        select: { version: true, tasks: { select: { taskId: true, taskType: true, upstreamTaskIds: true, isMapped: true } } },
      },
      runs: {
        orderBy: { createdAt: 'desc' },
        take: GRID_RUNS,
        select: {
          ...runSummarySelect,
          tasks: { select: { taskId: true, mapIndex: true, stream: true, state: true, tryNumber: true } },
        },
      },
    },
  });
  if (job === null || !canSee(principal, job.ownerId)) return null;
  const dag = job.dags[0];
  // Every write of a run's state (and its warnings) stamps updated_at: the sum of those changes with
  // any of them, also of a run the grid's newest runs do not hold (QA round 50b D1).
  // Its running runs too: during a backlog the newest runs are all queued behind them (QA round 50b O3).
  const [digest] = await sqlOf(prisma).query<{ n: number; stamps: string; running: string[] | null }[]>`
    SELECT count(*)::int AS n, COALESCE(sum(extract(epoch FROM updated_at)), 0)::text AS stamps,
           array_agg(id::text) FILTER (WHERE state = 'running') AS running
    FROM dag_runs WHERE job_id = ${jobId}::uuid`;
  const shown = new Set(job.runs.map((r) => r.id));
  const beyond = (digest?.running ?? []).filter((id) => !shown.has(id));
  const runningBeyond =
    beyond.length === 0 ? [] : await prisma.dagRun.findMany({ where: { id: { in: beyond } }, orderBy: { startedAt: 'asc' }, select: runSummarySelect });
  // A job of every stream has the streams its runs read: the newest run's in its order, then those
  // only older runs read (a stream the source dropped), so that each run's tasks are shown under
  // their own stream's name. A map index is a position in one run's streams, not across runs.
  const streams = new Set(job.streams);
  for (const run of job.runs) {
    const read = run.tasks.filter((t) => t.stream !== null && t.mapIndex >= 0).sort((a, b) => a.mapIndex - b.mapIndex);
    for (const t of read) if (t.stream !== null) streams.add(t.stream);
  }
  return {
    job_id: job.id,
    name: job.name,
    is_paused: job.isPaused,
    is_deleted: job.isDeleted,
    schedule: job.schedule,
    timezone: job.timezone,
    catchup: job.catchup,
    status: job.status,
    status_message: job.statusMessage,
    settings_version: settingsVersion(job),
    spec_secrets_known: job.specSecretsKnown,
    runs_version: `${digest?.n ?? 0}:${digest?.stamps ?? ''}`,
    dag:
      dag === undefined
        ? null
        : {
            version: dag.version,
            tasks: dag.tasks.map((t) => ({
              task_id: t.taskId,
              task_type: t.taskType,
              upstream_task_ids: t.upstreamTaskIds,
              is_mapped: t.isMapped,
            })),
          },
    streams: [...streams],
    running_beyond: runningBeyond.map(runSummary),
    runs: job.runs.map((r) => ({
      ...runSummary(r),
      tasks: r.tasks
        .map((t) => ({
          task_id: t.taskId,
          map_index: t.mapIndex,
          stream: t.stream,
          state: t.state,
          try_number: t.tryNumber,
        }))
        .sort((a, b) => (a.task_id === b.task_id ? a.map_index - b.map_index : a.task_id < b.task_id ? -1 : 1)),
    })),
  };
}

/**
 * One run with its tasks' details, or null when it is not there for this viewer. `dags` holds the
 * DAG specs already read: a run page is pushed again at every change, and its DAG never changes.
 */
export async function loadRun(prisma: PrismaClient, dags: DagCache, principal: UiPrincipal, runId: string): Promise<LiveRun | null> {
  const run = await prisma.dagRun.findUnique({
    where: { id: runId },
    select: {
      ...runSummarySelect,
      jobId: true,
      stateMessage: true,
      warnings: true,
      dagId: true,
      job: { select: { ownerId: true, name: true, isPaused: true, isDeleted: true } },
      fileRemoval: { select: { removedAt: true } },
      tasks: {
        orderBy: [{ taskId: 'asc' }, { mapIndex: 'asc' }],
        select: {
          taskId: true,
          mapIndex: true,
          stream: true,
          taskType: true,
          state: true,
          tryNumber: true,
          maxTries: true,
          rows: true,
          bytes: true,
          queuedAt: true,
          startedAt: true,
          endedAt: true,
          nextRetryAt: true,
          earlierTries: true,
          heartbeatAt: true,
          error: true,
          clearable: true,
          output: true,
        },
      },
    },
  });
  if (run === null || !canSee(principal, run.job.ownerId)) return null;
  const spec = await dags.get(sqlOf(prisma), run.dagId);
  const instances = run.tasks.map((t) => ({ taskId: t.taskId, mapIndex: t.mapIndex, state: t.state, clearable: t.clearable }));
  // The engine's own rule for a clear (it refuses one that would run nothing, naming what to clear
  // instead, and one that would fail the same way).
  const upstreamOutputsGone = filesRemovedSinceEnd(run, run.fileRemoval?.removedAt ?? null) !== null;
  const clearOf = (i: number): Pick<LiveTask, 'clear_instead' | 'clear_repeats' | 'clear_outputs_gone'> => {
    const t = instances[i];
    if (t === undefined || !UNSUCCESSFUL_TASK_STATES.includes(t.state)) return { clear_instead: null, clear_repeats: null, clear_outputs_gone: null };
    const advice = clearAdvice(spec, t, instances, { upstreamOutputsGone });
    return {
      clear_instead: advice.kind === 'instead' ? instanceLabel(advice.instance) : null,
      clear_repeats: advice.kind === 'none' ? instanceLabel(advice.because) : null,
      clear_outputs_gone: advice.kind === 'outputs_gone' ? instanceLabel(advice.instance) : null,
    };
  };
  return {
    ...runSummary(run),
    job_id: run.jobId,
    job_name: run.job.name,
    job_paused: run.job.isPaused,
    job_deleted: run.job.isDeleted,
    state_message: run.stateMessage,
    warnings: run.warnings,
    // The API's task view, plus what the live pages also show.
    tasks: run.tasks.map((t, i) => ({ ...taskView(t), heartbeat_at: t.heartbeatAt?.toISOString() ?? null, output: t.output ?? null, ...clearOf(i) })),
  };
}

/** The task instance a log stream follows, or null when it is not there for this viewer. */
export async function findTaskInstance(
  prisma: PrismaClient,
  principal: UiPrincipal,
  runId: string,
  taskId: string,
  mapIndex: number,
): Promise<{ id: string } | null> {
  const ti = await prisma.taskInstance.findUnique({
    where: { runId_taskId_mapIndex: { runId, taskId, mapIndex } },
    select: { id: true, run: { select: { job: { select: { ownerId: true } } } } },
  });
  if (ti === null || !canSee(principal, ti.run.job.ownerId)) return null;
  return { id: ti.id };
}

/**
 * Where a log stream of one try starts: after all but its last `tail` lines — the id before them
 * (0 for none) and how many lines that leaves out.
 */
export async function logTailStart(prisma: PrismaClient, taskInstanceId: string, tryNumber: number, tail: number): Promise<{ after: bigint; offset: number }> {
  const before = await prisma.taskLog.findFirst({ where: { taskInstanceId, tryNumber }, orderBy: { id: 'desc' }, skip: tail, select: { id: true } });
  if (before === null) return { after: 0n, offset: 0 };
  return { after: before.id, offset: await prisma.taskLog.count({ where: { taskInstanceId, tryNumber, id: { lte: before.id } } }) };
}

/** Log lines of one try written after `afterId` (exclusive), oldest first. */
export async function loadLogLines(
  prisma: PrismaClient,
  taskInstanceId: string,
  tryNumber: number,
  afterId: bigint,
): Promise<LiveLogLine[]> {
  const rows = await prisma.taskLog.findMany({
    where: { taskInstanceId, tryNumber, id: { gt: afterId } },
    orderBy: { id: 'asc' },
    take: LOG_BATCH,
    select: { id: true, ts: true, level: true, message: true },
  });
  return rows.map((r) => ({ id: r.id.toString(), ts: r.ts.toISOString(), level: r.level, message: r.message }));
}

/**
 * Whether a scheduler is running (one swept within the last 30 s), and when one was last seen when
 * none is: stable while one runs, so the feed pushes only when that changes.
 */
export async function loadSchedulerSeen(prisma: PrismaClient): Promise<LiveScheduler> {
  const seen = await schedulerSeen(prisma);
  return { alive: seen.alive, last_seen_at: seen.alive || seen.lastBeatAt === null ? null : seen.lastBeatAt.toISOString() };
}
