import { z } from 'zod';
import { columnTransformationView } from './column-transformation.ts';
import { TASK_TYPES } from '../dag/task-types.ts';
import { RUN_STATES, RUN_TYPES, TASK_STATES } from '../states/states.ts';
import { maxActiveRuns, WRITE_MODES } from './create-ingest-job.ts';

export const JOB_STATUSES = ['new', 'running', 'completed', 'failed'] as const;
// One list of each, re-exported: the contract's enums are the engine's states and the DAG's task types.
export { RUN_STATES, RUN_TYPES, TASK_STATES } from '../states/states.ts';
export { TASK_TYPES } from '../dag/task-types.ts';

const timestamp = z.string().describe('ISO 8601 UTC timestamp');

/** The answer of `POST /api/airbyte/ingest`, and the shape of every error on the ingest routes. */
export const ingestResponse = z
  .object({
    flow_url: z.string().describe("the job's page in the flow UI (empty on errors)"),
    job_id: z.uuid().nullable().describe('the created job; null on errors'),
    error: z.string().nullable().describe('what is wrong and where; null on success'),
  })
  .meta({ id: 'IngestResponse' });
export type IngestResponse = z.output<typeof ingestResponse>;

/** The answer of `DELETE /api/airbyte/ingest/{job_id}`: the contract's shape, with the runs the delete cancelled. */
export const deletedJobResponse = ingestResponse
  .extend({
    cancelled_run_ids: z
      .array(z.uuid())
      .describe("the job's queued and running runs this delete cancelled, oldest logical date first (none when it was deleted before)"),
  })
  .meta({ id: 'DeletedJob' });

/** The error body of every route outside /api/airbyte/ingest. */
export const errorResponse = z.object({ error: z.string() }).meta({ id: 'ErrorResponse' });

/** The job's status columns, as both views show them. */
const statusFields = {
  status: z
    .enum(JOB_STATUSES)
    .describe('failed: its last run that ran failed, or was cancelled (by an operator, or as the job was deleted): the contract has no cancelled status, and status_message says which'),
  status_message: z
    .string()
    .nullable()
    .describe("why the status is what it is: how the last run ended (completed, failed); null while the job runs (a run that fails while another of the job runs is said by last_failed_at and the job's runs)"),
  last_started_at: timestamp.nullable(),
  last_completed_at: timestamp.nullable(),
  last_failed_at: timestamp.nullable().describe('when a run of the job last failed or was cancelled after it started'),
  is_deleted: z.boolean(),
  deleted_at: timestamp.nullable(),
};

/** `GET /api/jobs/{job_id}`: the platform's job status fields. */
export const jobStatusView = z
  .object({
    job_id: z.uuid(),
    name: z.string(),
    ...statusFields,
    flow_url: z.string(),
  })
  .meta({ id: 'JobStatus' });
export type JobStatusView = z.output<typeof jobStatusView>;

/** One job as `GET /api/airbyte/ingest[/{job_id}]` shows it: every contract field, secrets masked. */
export const jobView = z
  .object({
    job_id: z.uuid(),
    flow_url: z.string(),
    name: z.string(),
    source_name: z.string(),
    source_config: z
      .record(z.string(), z.unknown())
      .describe('secret values replaced by **********; every string while spec_secrets_known is false'),
    spec_secrets_known: z
      .boolean()
      .describe(
        "false while the connector's spec has not been read for this source_config (a job created or changed during the connector's first install): only the spec says which fields are secrets, so every string of source_config is masked until then",
      ),
    source_config_error: z
      .string()
      .nullable()
      .describe('why source_config is empty: it is sealed with a master key this API does not hold (a master key rotation left half done); null otherwise'),
    schema_name: z.string(),
    mode: z.enum(WRITE_MODES),
    streams: z.array(z.string()),
    merge: z.string().nullable(),
    schedule: z.string().nullable(),
    timezone: z.string(),
    catchup: z.boolean(),
    max_active_runs: maxActiveRuns.describe('runs of the job at once; the others wait queued'),
    domain: z.string().nullable(),
    tags: z.array(z.string()),
    owner_id: z.string().nullable(),
    column_transformations: z.array(columnTransformationView),
    archive_staging: z.boolean(),
    add_ingestion_metadata: z.boolean(),
    is_paused: z.boolean(),
    next_fire_at: timestamp
      .nullable()
      .describe(
        "when the schedule fires next, in UTC (the schedule read in the job's timezone, as the scheduler reads it); null for a job without a schedule, a paused job and a deleted one",
      ),
    skipped_fire_at: timestamp
      .nullable()
      .describe(
        "the latest fire that made no run on purpose: catchup off, max_active_runs busy, and a scheduled run of the job already waiting queued, which reads on from where the runs before it left off (a fire missed while no scheduler ran is another matter: the latest one runs); null when none was",
      ),
    ...statusFields,
    created_at: timestamp,
    updated_at: timestamp,
    settings_version: z
      .string()
      .describe(
        "a digest of what PATCH changes (schedule, timezone, paused, catchup, max_active_runs, source_config): the answer's ETag. Sent back in a PATCH's If-Match, the change is refused (412) if the job changed meanwhile",
      ),
  })
  .meta({ id: 'Job' });
export type JobView = z.output<typeof jobView>;

export const jobListView = z
  .object({ jobs: z.array(jobView), total: z.number().int(), limit: z.number().int(), offset: z.number().int() })
  .meta({ id: 'JobList' });

export const earlierTryView = z
  .object({
    try_number: z.number().int(),
    state: z.enum(TASK_STATES).describe('how the try ended: failed for a try that was retried; for a cleared try, the state it had'),
    started_at: timestamp,
    ended_at: timestamp.nullable().describe("null when the try's end is not known"),
    counted: z
      .boolean()
      .describe("false for a try cut short by its runner's graceful stop (a deploy, a restart): retried at once, it does not count against the task's tries (max_tries grew by one)"),
    error: z.string().nullable().describe("the try's error (as the task's `error` was while this try was the latest); null for a try that had none, or one recorded before Sluice kept it"),
  })
  .meta({ id: 'EarlierTry' });
export type EarlierTryView = z.output<typeof earlierTryView>;

export const taskView = z
  .object({
    task_id: z.string(),
    map_index: z.number().int().describe('-1 for an unmapped task; the stream position for a per-stream task'),
    stream: z.string().nullable(),
    task_type: z.enum(TASK_TYPES),
    state: z.enum(TASK_STATES),
    try_number: z.number().int(),
    max_tries: z.number().int(),
    rows: z.number().int(),
    bytes: z.number().int(),
    error: z.string().nullable(),
    queued_at: timestamp.nullable(),
    started_at: timestamp.nullable(),
    ended_at: timestamp.nullable(),
    next_retry_at: timestamp.nullable().describe('up_for_retry: when its next try starts (the retry backoff); null otherwise'),
    earlier_tries: z
      .array(earlierTryView)
      .describe("the tries before the latest, oldest first (the fields above are the latest try's); a clear keeps the tries it resets here"),
  })
  .meta({ id: 'TaskInstance' });
export type TaskView = z.output<typeof taskView>;

const runFields = {
  run_id: z.uuid(),
  job_id: z.uuid(),
  state: z.enum(RUN_STATES),
  state_message: z
    .string()
    .nullable()
    .describe(
      "why the run is in its state: a queued run's wait (a slot, or its job's resume), a failed or cancelled run's reason; a running run's, in a single run's answer, once none of its tasks has been taken by a runner for 5 s (every runner slot taken, or no runner running)",
    ),
  run_type: z.enum(RUN_TYPES),
  logical_date: timestamp,
  queued_at: timestamp,
  started_at: timestamp.nullable(),
  ended_at: timestamp.nullable(),
  warnings: z.array(z.string()),
  missed_fires: z
    .object({
      count: z.number().int().describe('how many (counting stops past 10,000)'),
      first_at: timestamp.describe('the first of them'),
      last_at: timestamp.describe('the last of them'),
    })
    .nullable()
    .describe(
      "a scheduled run made after fires of its schedule that made no run of their own: no scheduler was running or could take them (an outage), and without catchup the latest fire's run stands for them all (a catch-up past its 100 runs leaves the earliest out); null for a run made on time, a manual run, and runs made before Sluice recorded this",
    ),
};

export const runSummaryView = z.object(runFields).meta({ id: 'RunSummary' });
export type RunSummaryView = z.output<typeof runSummaryView>;
export const runView = z
  .object({
    ...runFields,
    files_removed_at: timestamp
      .nullable()
      .describe(
        "when the runners' retention sweep removed this run's files since it last ended: a failed or cancelled run's staging (SLUICE_STAGING_RETENTION_DAYS; a task that reads its upstream tasks' files can then not be cleared), a successful run's archive (SLUICE_ARCHIVE_RETENTION_DAYS); null while they are kept",
      ),
    tasks: z.array(taskView),
  })
  .meta({ id: 'Run' });
export type RunView = z.output<typeof runView>;
export const runListView = z
  .object({ runs: z.array(runSummaryView), total: z.number().int(), limit: z.number().int(), offset: z.number().int() })
  .meta({ id: 'RunList' });
export type RunListView = z.output<typeof runListView>;

export const triggerRunResponse = z
  .object({
    run_id: z.uuid(),
    job_id: z.uuid(),
    state: z
      .enum(RUN_STATES)
      .describe("running: started at once — also on a paused job, whose pause stops its schedule, not a trigger by hand (unlike Airflow, where a paused DAG's triggered run waits); queued: it waits for a free slot of the job's max_active_runs, and starts when one is free (oldest logical date first) — on a paused job, when the job is resumed. A trigger repeated with its Idempotency-Key answers the run's state now, which may be any run state"),
    message: z
      .string()
      .nullable()
      .describe("for a queued run, what it waits for (a slot, or the paused job's resume), in the words the UI uses; for a run that started while Redis is unreachable, that its first tasks wait for it; else null"),
  })
  .meta({ id: 'TriggeredRun' });
export type TriggeredRunView = z.output<typeof triggerRunResponse>;

export const cancelledQueuedRuns = z
  .object({ job_id: z.uuid(), cancelled_run_ids: z.array(z.uuid()).describe('the queued runs cancelled, oldest logical date first') })
  .meta({ id: 'CancelledQueuedRuns' });

export const taskLogView = z
  .object({
    run_id: z.uuid(),
    task_id: z.string(),
    map_index: z.number().int(),
    try_number: z.number().int(),
    lines: z.array(z.object({ ts: timestamp, level: z.string(), message: z.string() })),
    offset: z.number().int().describe("how many of the try's lines come before the first one answered (0: the answer starts at its first line)"),
    total_lines: z.number().int().describe('how many lines the try has logged so far'),
  })
  .meta({ id: 'TaskLog' });
export type TaskLogView = z.output<typeof taskLogView>;

export const okResponse = z.object({ ok: z.literal(true) }).meta({ id: 'Ok' });

/** A job's saved connector state: what its next run hands the connector, stream by stream. */
export const jobStateView = z
  .object({
    job_id: z.uuid(),
    streams: z.array(
      z.object({
        stream: z.string().nullable().describe('the stream (namespace.name when namespaced); null for the connector-wide (global or legacy) state'),
        kind: z.enum(['stream', 'global', 'legacy']),
        state: z.unknown().describe("the Airbyte state message as the connector emitted it"),
        run_id: z.uuid().nullable().describe('the run that saved it'),
        updated_at: timestamp,
      }),
    ),
    pending: z
      .array(
        z.object({
          stream: z.string().describe('the stream (namespace.name when namespaced)'),
          run_id: z.uuid().describe('the run whose load recorded it'),
          table: z.string().describe('the table that load commits to (namespace.table)'),
          state: z.unknown().describe('the Airbyte state message the load saves after its commit'),
          recorded_at: timestamp,
        }),
      )
      .describe(
        "states loads recorded before their Iceberg commit and have not saved after it (the run was lost or cancelled between the two, or is under way): the next run's extract saves each whose commit the table holds, before it reads, and drops the others",
      ),
  })
  .meta({ id: 'JobState' });
export type JobStateView = z.output<typeof jobStateView>;

export const stateResetView = z
  .object({
    job_id: z.uuid(),
    reset: z.array(z.string().nullable()).describe('the streams whose saved or pending state was forgotten (null: the connector-wide state)'),
  })
  .meta({ id: 'StateReset' });
export type StateResetView = z.output<typeof stateResetView>;
