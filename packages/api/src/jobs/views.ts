import { z } from 'zod';
import { TASK_STATES, columnTransformationToView, type EarlierTryView, type JobStatusView, type JobView, type RunSummaryView, type RunView, type TaskView } from '@sluice/core/contract';
import type { ColumnTransformation } from '@sluice/core/pipeline';
import type { DagRunModel, IngestionJobModel, TaskInstanceModel } from '@sluice/db';
import { queuedRunWait, runnerWait } from '@sluice/core/states';
import { nextFireTimes } from '@sluice/core/cron';
import { settingsVersion } from './settings-version.ts';

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** flow_url of a job: its page in the flow UI. */
export function flowUrl(publicUrl: string, jobId: string): string {
  return `${publicUrl}/jobs/${jobId}`;
}

export function jobStatusView(job: IngestionJobModel, publicUrl: string): JobStatusView {
  return {
    job_id: job.id,
    name: job.name,
    status: job.status,
    status_message: job.statusMessage,
    last_started_at: iso(job.lastStartedAt),
    last_completed_at: iso(job.lastCompletedAt),
    last_failed_at: iso(job.lastFailedAt),
    is_deleted: job.isDeleted,
    deleted_at: iso(job.deletedAt),
    flow_url: flowUrl(publicUrl, job.id),
  };
}

/**
 * When the job's schedule fires next, as the scheduler computes it (seconds-level schedules too,
 * which only a scheduler that allows them takes); null without a schedule, paused or deleted.
 */
function nextFireOf(job: Pick<IngestionJobModel, 'schedule' | 'timezone' | 'isPaused' | 'isDeleted'>): Date | null {
  if (job.schedule === null || job.isPaused || job.isDeleted) return null;
  try {
    return nextFireTimes(job.schedule, job.timezone, new Date(), 1, { allowSeconds: true })[0] ?? null;
  } catch {
    return null; // a schedule the cron reader cannot read has no next fire to tell
  }
}

/** A job with its source_config already masked by the caller. */
export function jobView(job: IngestionJobModel, maskedConfig: Record<string, unknown>, publicUrl: string, configError: string | null = null): JobView {
  return {
    ...jobStatusView(job, publicUrl),
    source_name: job.sourceName,
    source_config: maskedConfig,
    source_config_error: configError,
    spec_secrets_known: job.specSecretsKnown,
    schema_name: job.schemaName,
    mode: job.mode,
    streams: job.streams,
    merge: job.mergeKeys,
    schedule: job.schedule,
    timezone: job.timezone,
    catchup: job.catchup,
    max_active_runs: job.maxActiveRuns,
    domain: job.domain,
    tags: job.tags,
    owner_id: job.ownerId,
    column_transformations: (job.columnTransformations as unknown as ColumnTransformation[]).map(columnTransformationToView),
    archive_staging: job.archiveStaging,
    add_ingestion_metadata: job.addIngestionMetadata,
    is_paused: job.isPaused,
    next_fire_at: iso(nextFireOf(job)),
    skipped_fire_at: iso(job.skippedFireAt),
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
    settings_version: settingsVersion(job),
  };
}

/** The task instance columns a task view reads (the live UI selects only these). */
export type TaskViewSource = Pick<
  TaskInstanceModel,
  'taskId' | 'mapIndex' | 'stream' | 'taskType' | 'state' | 'tryNumber' | 'maxTries' | 'rows' | 'bytes' | 'error' | 'queuedAt' | 'startedAt' | 'endedAt' | 'nextRetryAt' | 'earlierTries'
>;

/** `task_instances.earlier_tries` as the state store writes it (PostgreSQL's jsonb times: `…+00:00`). */
const storedEarlierTries = z.array(
  z.object({
    try_number: z.number().int(),
    state: z.enum(TASK_STATES),
    started_at: z.string(),
    ended_at: z.string().nullable(),
    // Absent from tries recorded before it was (each counted then).
    counted: z.boolean().default(true),
    // Absent from tries recorded before it was kept.
    error: z.string().nullable().default(null),
  }),
);

function earlierTriesView(stored: unknown): EarlierTryView[] {
  return storedEarlierTries.parse(stored).map((t) => ({
    try_number: t.try_number,
    state: t.state,
    started_at: new Date(t.started_at).toISOString(),
    ended_at: t.ended_at === null ? null : new Date(t.ended_at).toISOString(),
    counted: t.counted,
    error: t.error,
  }));
}

export function taskView(t: TaskViewSource): TaskView {
  return {
    task_id: t.taskId,
    map_index: t.mapIndex,
    stream: t.stream,
    task_type: t.taskType,
    state: t.state,
    try_number: t.tryNumber,
    max_tries: t.maxTries,
    rows: Number(t.rows),
    bytes: Number(t.bytes),
    error: t.error,
    queued_at: iso(t.queuedAt),
    started_at: iso(t.startedAt),
    ended_at: iso(t.endedAt),
    next_retry_at: iso(t.nextRetryAt),
    earlier_tries: earlierTriesView(t.earlierTries),
  };
}

/** A run as the API answers it; a queued one's message says what it waits for (its job paused: the resume; else a slot). */
export function runSummaryView(r: DagRunModel, jobPaused: boolean): RunSummaryView {
  return {
    run_id: r.id,
    job_id: r.jobId,
    state: r.state,
    state_message: r.stateMessage ?? (r.state === 'queued' ? queuedRunWait(jobPaused) : null),
    run_type: r.runType,
    logical_date: r.logicalDate.toISOString(),
    queued_at: r.queuedAt.toISOString(),
    started_at: iso(r.startedAt),
    ended_at: iso(r.endedAt),
    warnings: r.warnings,
    missed_fires:
      r.missedFires > 0 && r.firstMissedFireAt !== null && r.lastMissedFireAt !== null
        ? { count: r.missedFires, first_at: r.firstMissedFireAt.toISOString(), last_at: r.lastMissedFireAt.toISOString() }
        : null,
  };
}

/**
 * When the retention sweep removed the files a run has now: its last removal (`run_file_removals`),
 * unless the run ended again after it (a clear re-ran it since); else null.
 */
export function filesRemovedSinceEnd(run: { endedAt: Date | null }, removedAt: Date | null): Date | null {
  return removedAt !== null && run.endedAt !== null && removedAt >= run.endedAt ? removedAt : null;
}

/** `removedAt`: when the retention sweep last removed the run's files (its `run_file_removals` row), if it did. */
export function runView(r: DagRunModel, jobPaused: boolean, tasks: TaskInstanceModel[], removedAt: Date | null): RunView {
  const summary = runSummaryView(r, jobPaused);
  const taskViews = tasks.map(taskView);
  // A running run none of whose tasks a runner has taken for a while says so.
  const waiting = summary.state === 'running' && summary.state_message === null ? runnerWait(taskViews, Date.now()) : null;
  return { ...summary, state_message: summary.state_message ?? waiting, files_removed_at: iso(filesRemovedSinceEnd(r, removedAt)), tasks: taskViews };
}
