import { z } from 'zod';
import { JOB_STATUSES, jobView, RUN_STATES, RUN_TYPES } from './job-views.ts';
import { ValidationError } from '../errors/index.ts';
import { maxActiveRuns, MAX_STREAMS, parseCreateIngestJob, type IngestJobSpec } from './create-ingest-job.ts';
import { canonicalJson } from '../json/index.ts';
import { parseRequest } from './parse-request.ts';
import { sourceConfig } from './source-config.ts';
import { text } from './text.ts';

/** The largest value of a PostgreSQL `integer` column (map indexes, try numbers, offsets): above it a query is refused, not a 500. */
const QUERY_INTEGER_MAX = 2_147_483_647;

/**
 * A whole number in a query, from `min` to `max` (QUERY_INTEGER_MAX when null), written in digits
 * with an optional minus; anything else (an empty value, ` 3`, `1e3`, `0x10`, which a plain coercion
 * reads as numbers, and a fraction, `1.0` as well as `1.5`) is refused with one message: `said`, or
 * parseRequest's words for the first check it fails ("must be a number", "must be a whole number",
 * "must be 1 or more", "must be 2147483647 or less").
 * Session 38 (Schemathesis): `map_index=9007199254740990` reached PostgreSQL and answered 500, and
 * `map_index=` was read as 0; QA round 43a F9: `offset=1.0` was read as 1, and a value failing two
 * checks was said twice.
 */
export function queryInteger(min: number, max: number | null, said?: string) {
  const error = { abort: true, ...(said === undefined ? {} : { error: said }) };
  return z.preprocess(
    (v, ctx) => {
      if (typeof v !== 'string' || /^-?[0-9]+$/.test(v)) return v;
      if (/^-?[0-9]+\.[0-9]+$/.test(v)) ctx.addIssue({ code: 'custom', message: said ?? 'must be a whole number' });
      return Number.NaN;
    },
    z.coerce
      .number(error)
      .int(error)
      .min(min, error)
      .max(max ?? QUERY_INTEGER_MAX, error),
  );
}
const limit = queryInteger(1, 200, 'must be a whole number from 1 to 200').default(50).describe('page size (1–200)');
const offset = queryInteger(0, null, `must be a whole number from 0 to ${QUERY_INTEGER_MAX}`).default(0).describe('rows to skip');
const boolish = z.enum(['true', 'false']).transform((v) => v === 'true');

/** How a PATCH that names no field is refused. */
const NAME_ONE = 'give at least one of';

/**
 * `PATCH /api/airbyte/ingest/{job_id}`: change the schedule, its time zone, catch-up, pause or
 * resume, max_active_runs; or the connector's configuration (Sluice's extension: rotated credentials, a new host),
 * which keeps the job's saved state, runs and tables.
 */
export const updateJobRequest = z
  .strictObject({
    schedule: text.nullable().optional().describe('new cron expression; null = on demand only'),
    timezone: text.min(1).optional().describe('IANA time zone the schedule is read in'),
    paused: z
      .boolean()
      .optional()
      .describe("true pauses the job: no fire, and its queued runs wait (a run under way finishes); false resumes it and starts the queued runs max_active_runs allows"),
    is_paused: z.boolean().optional().describe("paused under the name GET answers it (as Airflow's PATCH of a DAG takes it); with paused, the two must agree"),
    catchup: z.boolean().optional().describe('true: missed fires are all replayed (the latest 100 at most; none from before the schedule was set); false: only the latest after an outage, none on resume'),
    max_active_runs: maxActiveRuns
      .optional()
      .describe('how many runs of the job run at once; raised, the queued runs the new limit allows start now (unless the job is paused); lowered, the runs under way finish'),
    source_config: sourceConfig
      .optional()
      .describe(
        "Sluice extension: the connector's whole new configuration (checked as at creation: the connector's spec, its check and discover, the job's streams and merge keys); " +
          'a secret sent back as ********** (as GET shows it) keeps its saved value. The saved connector state is kept; the next try of extract uses it',
      ),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), {
    message: `${NAME_ONE} schedule, timezone, paused, catchup, max_active_runs, source_config`,
  })
  .meta({ id: 'UpdateJobRequest' });
/** A PATCH's fields, `is_paused` read as `paused`. */
export type UpdateJobRequest = Omit<z.output<typeof updateJobRequest>, 'is_paused'> & {
  /**
   * Fields of the job's definition (streams, mode, …) the PATCH sent: each must be the job's
   * already (`refuseDefinitionChanges`), as when a client sends back the job GET answered with its
   * schedule changed; a change of one is refused.
   */
  definition: Record<string, unknown>;
};

/** The fields of a job set when it is created, which PATCH does not change, as GET answers them. */
const DEFINITION_FIELDS = {
  name: 'name',
  source_name: 'sourceName',
  schema_name: 'schemaName',
  mode: 'mode',
  streams: 'streams',
  merge: 'merge',
  domain: 'domain',
  tags: 'tags',
  owner_id: 'ownerId',
  column_transformations: 'columnTransformations',
  archive_staging: 'archiveStaging',
  add_ingestion_metadata: 'addIngestionMetadata',
} as const satisfies Record<string, keyof IngestJobSpec>;
type DefinitionField = keyof typeof DEFINITION_FIELDS;
export type JobDefinition = { [K in DefinitionField]: unknown };

const UPDATABLE = Object.keys(updateJobRequest.shape).filter((k) => k !== 'is_paused');

/** How a change of fields of the job's definition is refused: each named with the job's value, then what to do instead. */
function definitionIssues(fields: readonly DefinitionField[], job: JobDefinition): ValidationError {
  const shown = (v: unknown): string => {
    const json = JSON.stringify(v);
    return json.length > 120 ? `${json.slice(0, 117)}…` : json;
  };
  return new ValidationError(
    fields.map((path, i) => ({
      path,
      message:
        `is set when the job is created and cannot be changed (the job's is ${shown(job[path])})` +
        (i < fields.length - 1
          ? ''
          : `. PATCH changes ${UPDATABLE.join(', ')}, and takes a field of the job sent with the value GET answers as no change. ` +
            'To change the others, delete the job and create it again ' +
            "(the new job takes its tables over; to carry the saved connector state over, GET it from this job's …/state and PUT it on the new job's, else the first run reads from the start)"),
    })),
  );
}

const READ_ONLY = 'is read-only: GET answers it, and no PATCH changes it';

/**
 * The body of a PATCH, parsed: a field of the job's definition (streams, mode, …) is kept aside
 * in `definition`, for the caller to compare with the job (`refuseDefinitionChanges`), rather
 * than refused as unknown.
 */
export function parseUpdateJobRequest(input: unknown): UpdateJobRequest {
  const definition: Record<string, unknown> = {};
  let rest = input;
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const fields = Object.entries(input as Record<string, unknown>);
    for (const [k, v] of fields) if (k in DEFINITION_FIELDS) definition[k] = v;
    rest = Object.fromEntries(fields.filter(([k]) => !(k in DEFINITION_FIELDS)));
  }
  let parsed: z.output<typeof updateJobRequest>;
  try {
    parsed = parseRequest(updateJobRequest, rest);
  } catch (caught) {
    if (!(caught instanceof ValidationError)) throw caught;
    // A field only GET answers (a GET answer sent back whole) is no stranger: it is read-only (QA round 55c F7).
    const err = new ValidationError(
      caught.issues.map((i) => (i.message === 'unknown field' && Object.hasOwn(jobView.shape, i.path) ? { ...i, message: READ_ONLY } : i)),
    );
    // Fields of the definition only: `refuseDefinitionChanges` says what is wrong with them.
    if (err.issues.every((i) => i.message.startsWith(NAME_ONE)) && Object.keys(definition).length > 0) return { definition };
    // A body of unknown fields only is that, not also one that names no field.
    if (err.issues.length < 2) throw err;
    throw new ValidationError(err.issues.filter((i) => !i.message.startsWith(NAME_ONE)));
  }
  const { is_paused: isPaused, ...body } = parsed;
  if (isPaused === undefined) return { ...body, definition };
  if (body.paused !== undefined && body.paused !== isPaused) throw new ValidationError([{ path: 'is_paused', message: 'says the opposite of paused: give one of them' }]);
  return { ...body, paused: isPaused, definition };
}

/**
 * Refuses, naming each, the fields of a PATCH's `definition` whose value is not the job's: each
 * is read as a create would read it (`merge: "a , b"` is `a,b`, a column
 * transformation in the seed's form is the one GET shows) and compared with the job's. A PATCH of
 * the job's own definition fields only, and nothing PATCH changes, is refused as naming nothing to change.
 */
export function refuseDefinitionChanges(body: UpdateJobRequest, job: JobDefinition): void {
  const sent = body.definition;
  const fields = Object.keys(sent).filter((k): k is DefinitionField => k in DEFINITION_FIELDS);
  if (fields.length === 0) return;
  // Read as a create of the job (its config is not compared here: PATCH changes it).
  const defined = Object.fromEntries(Object.keys(DEFINITION_FIELDS).map((k) => [k, job[k as DefinitionField]]));
  const asCreated = (over: Record<string, unknown>): IngestJobSpec | null => {
    try {
      return parseCreateIngestJob({ ...defined, source_config: {}, ...over });
    } catch {
      return null;
    }
  };
  const current = asCreated({});
  const changed = fields.filter((k) => {
    const spec = asCreated({ [k]: sent[k] });
    const key = DEFINITION_FIELDS[k];
    return current === null || spec === null || canonicalJson(spec[key]) !== canonicalJson(current[key]);
  });
  if (changed.length > 0) throw definitionIssues(changed, job);
  if (UPDATABLE.every((k) => !(k in body))) {
    throw new ValidationError([{ path: 'body', message: `${NAME_ONE} ${UPDATABLE.join(', ')} (${fields.join(', ')}: the job's already, which changes nothing)` }]);
  }
}

/** `GET /api/airbyte/ingest` query: paged, filtered by owner, status and name. */
export const listJobsQuery = z.strictObject({
  owner_id: text.min(1).optional().describe('only jobs of this owner (non-admins always see only their own)'),
  status: z.enum(JOB_STATUSES).optional(),
  name: text.min(1).optional().describe('case-insensitive substring of the job name'),
  include_deleted: boolish.optional().describe('also list soft-deleted jobs'),
  limit,
  offset,
});
export type ListJobsQuery = z.output<typeof listJobsQuery>;

/** `GET /api/airbyte/ingest/{job_id}/runs` query: paged, newest first, filtered by state and type. */
export const listRunsQuery = z.strictObject({
  state: z.enum(RUN_STATES).optional().describe('only runs in this state'),
  run_type: z.enum(RUN_TYPES).optional().describe('only scheduled or only manual runs'),
  limit,
  offset,
});
export type ListRunsQuery = z.output<typeof listRunsQuery>;

/** How many of a try's log lines one answer holds at most, and by default: its last ones. */
export const LOG_PAGE_LINES = 5000;
export const LOG_PAGE_MAX = 50_000;

export const taskLogQuery = z.strictObject({
  try: queryInteger(1, null).optional().describe("the try's number (default: the latest, 0 with no lines for a task that has not run); a try the task has not reached is 404"),
  try_number: queryInteger(1, null).optional().describe('the same as `try`, by the name the answers give it'),
  map_index: queryInteger(-1, null).optional().describe('which instance of a per-stream task (default: the only one)'),
  offset: queryInteger(0, null, `must be a whole number from 0 to ${QUERY_INTEGER_MAX}`)
    .optional()
    .describe(`the try's lines to skip, oldest first (default: all but the last \`limit\`: a long log answers its end, as a terminal's tail does)`),
  limit: queryInteger(1, LOG_PAGE_MAX, `must be a whole number from 1 to ${LOG_PAGE_MAX}`).default(LOG_PAGE_LINES).describe(`lines in the answer at most (1–${LOG_PAGE_MAX})`),
});
export type TaskLogQuery = z.output<typeof taskLogQuery>;

/** `GET …/logs/text` query: which try of which instance; the answer is the try's whole log. */
export const taskLogTextQuery = taskLogQuery.pick({ try: true, try_number: true, map_index: true });
export type TaskLogTextQuery = z.output<typeof taskLogTextQuery>;

/**
 * The try a query names by `try` or by `try_number` (the answers' name for it; QA round 28: the
 * logs route refused it as unknown, round 30a: the events stream did): undefined when neither.
 */
export function queriedTry(q: { try?: number | undefined; try_number?: number | undefined }): number | undefined {
  if (q.try !== undefined && q.try_number !== undefined && q.try !== q.try_number) {
    throw new ValidationError([{ path: 'try_number', message: `names try ${q.try_number}, and try names ${q.try}: give one of them` }]);
  }
  return q.try ?? q.try_number;
}

export const clearTaskQuery = z.strictObject({
  map_index: queryInteger(-1, null).optional().describe('which instance of a per-stream task (default: all failed ones)'),
});

export const resetStateQuery = z.strictObject({
  stream: z
    .union([text.min(1), z.array(text.min(1)).min(1).max(MAX_STREAMS, `at most ${MAX_STREAMS} streams`)])
    .optional()
    .describe("forget only this stream's state (repeat the parameter for several); default: every stream's and the connector-wide state"),
});
export type ResetStateQuery = z.output<typeof resetStateQuery>;
