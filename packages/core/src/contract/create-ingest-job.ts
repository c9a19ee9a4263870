import { z } from 'zod';
import { ValidationError, type FieldIssue } from '../errors/index.ts';
import { INGESTION_METADATA_COLUMNS, mergeColumnTransformations, tableNameCollision, type ColumnTransformation } from '../pipeline/index.ts';
import { canonicalSchedule, normalizeSchedule, normalizeTimeZone } from '../cron/index.ts';
import { columnTransformationInput, normalizeColumnTransformation } from './column-transformation.ts';
import { icebergNamespace } from './iceberg-namespace.ts';
import { fieldIssues, issueWording } from './parse-request.ts';
import { SOURCE_CONFIG_MAX_DEPTH, sourceConfig } from './source-config.ts';
import { sourceIdentifier, text } from './text.ts';

export const WRITE_MODES = ['append', 'overwrite', 'merge'] as const;
export type WriteModeName = (typeof WRITE_MODES)[number];

/**
 * `source_name`: a PyAirbyte source id — safe as an executable, pip package or image name:
 * 1–200 characters; the length and the characters are reported separately, so an over-long id
 * is not told its characters are wrong.
 */
export const sourceName = text
  .max(200, 'must be at most 200 characters')
  .regex(
    /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/,
    'must be a PyAirbyte source id such as "source-faker": lower-case letters, digits, ".", "_" and "-", starting and ending with a letter or digit',
  );

// The document says what trim().min(1) checks: a character other than white space.
const nonEmpty = text.trim().min(1, 'must not be empty').meta({ pattern: '\\S' });

/** A DataHub domain's, a tag's or an owner's most characters: each goes into a DataHub URN, and an owner is one key of a unique index. */
const MAX_LABEL = 255;

/**
 * The longest lists a job takes: far beyond any source (Airbyte's largest have about a thousand
 * streams), and short enough that a request is checked in milliseconds and its error stays small.
 */
export const MAX_STREAMS = 5000;
export const MAX_TAGS = 100;
export const MAX_COLUMN_TRANSFORMATIONS = 10_000;
/** The most runs of one job at once a job may ask for (`max_active_runs`). */
export const MAX_ACTIVE_RUNS_LIMIT = 100;

/**
 * `max_active_runs`: how many runs of the job run at once; the others wait queued. The bounds come
 * first, each ending the checks: past 2^53 the answer is the bound alone, not zod's safe-integer
 * words beside it (QA round 43a F9).
 */
export const maxActiveRuns = z.number().min(1, { abort: true }).max(MAX_ACTIVE_RUNS_LIMIT, { abort: true }).int();

/**
 * The body of `POST /api/airbyte/ingest` ("Create PyAirbyte ingestion job"): every field of the
 * contract, unknown fields rejected. Sluice's additions: `timezone` (the zone `schedule` is read
 * in; default UTC), `catchup` (missed fires replayed; default false) and `max_active_runs` (runs
 * of the job at once; default 1). Cross-field rules are in {@link parseCreateIngestJob}.
 */
export const createIngestJobRequest = z
  .strictObject({
    name: nonEmpty.max(255, 'must be at most 255 characters').describe('name of the ingestion job'),
    source_name: sourceName.describe("PyAirbyte source id, e.g. 'source-github'"),
    source_config: sourceConfig.describe(
      `connector configuration, secrets included (stored encrypted, shown masked); nested at most ${SOURCE_CONFIG_MAX_DEPTH} levels`,
    ),
    schema_name: icebergNamespace.describe('target Iceberg namespace where tables are created: lower-case letters, digits and _, starting with a letter or _; not information_schema or pg_catalog'),
    mode: z.enum(WRITE_MODES).describe('write mode'),
    streams: z.array(sourceIdentifier).max(MAX_STREAMS, `at most ${MAX_STREAMS} streams`).nullish().describe('streams to sync; empty or null = all streams'),
    merge: text
      .nullish()
      .describe(
        "comma-separated merge key columns (mode merge only; a renamed column by its source or new name; not a dropped column); default: the source's Airbyte primary keys",
      ),
    schedule: text.nullish().describe('cron expression (5 fields, or a preset such as @daily); null = runs only on demand'),
    timezone: text.min(1).optional().describe('Sluice extension: IANA time zone the schedule is read in (default UTC)'),
    catchup: z
      .boolean()
      .default(false)
      .describe(
        'Sluice extension: on resume, and when a scheduler starts after fires were missed, create a run for every missed fire (the latest 100 at most; none from before the schedule was set) instead of the latest one only; and while the job runs max_active_runs runs, queue a run for every fire instead of keeping one scheduled run waiting',
      ),
    max_active_runs: maxActiveRuns
      .default(1)
      .describe(
        `Sluice extension: how many runs of this job run at once (1–${MAX_ACTIVE_RUNS_LIMIT}; default 1). A run triggered or fired while that many run waits queued, and starts when one ends, oldest logical date first; without catchup a fire that finds a scheduled run already waiting adds none (that run reads on from where the others left off). Runs at once suit overwrite, merge and incremental append jobs: a run whose read a newer run's load overtook, or, in append, whose records another run's load appended while it read, skips its load (the run succeeds, saying so in its warnings; the next run reads on from the state the other saved). Of a full-refresh append job's overlapping runs, the older one's load fails when the newer one has loaded (each run keeps its copy, and a skip would drop one unseen)`,
      ),
    domain: nonEmpty.max(MAX_LABEL, `must be at most ${MAX_LABEL} characters`).nullish().describe('DataHub domain for the ingested tables; null = none'),
    tags: z.array(nonEmpty.max(MAX_LABEL, `must be at most ${MAX_LABEL} characters`)).max(MAX_TAGS, `at most ${MAX_TAGS} tags`).nullish().describe('DataHub tags for the ingested tables'),
    owner_id: nonEmpty.max(MAX_LABEL, `must be at most ${MAX_LABEL} characters`).nullish().describe("owner user id; default: the token's subject"),
    column_transformations: z
      .array(columnTransformationInput)
      .max(MAX_COLUMN_TRANSFORMATIONS, `at most ${MAX_COLUMN_TRANSFORMATIONS} column transformations`)
      .nullish().describe('per-stream column rename, encryption, cast or drop'),
    archive_staging: z
      .boolean()
      .default(true)
      .describe(
        "move a successful run's staging files (the raw records and the Parquet made of them) to archive/{run_id}/ instead of deleting them; they stay there until the runners' SLUICE_ARCHIVE_RETENTION_DAYS, for ever by default (0). A job that encrypts columns archives no plaintext of them: its raw, staged and rejected records are deleted",
      ),
    add_ingestion_metadata: z
      .boolean()
      .default(true)
      .describe('add columns ingestion_time, ingestion_run_id, ingestion_mode, dag_job_id'),
  })
  .meta({ id: 'CreateIngestJobRequest' });

export type CreateIngestJobRequest = z.input<typeof createIngestJobRequest>;

/** A validated, normalised job definition, ready to store. */
export interface IngestJobSpec {
  name: string;
  sourceName: string;
  sourceConfig: Record<string, unknown>;
  schemaName: string;
  mode: WriteModeName;
  /** Empty = all streams. */
  streams: string[];
  /** The `merge` field as posted, normalised (`id,updated_at`), or null. */
  merge: string | null;
  mergeKeys: string[];
  schedule: string | null;
  timezone: string;
  catchup: boolean;
  maxActiveRuns: number;
  domain: string | null;
  tags: string[];
  ownerId: string | null;
  columnTransformations: ColumnTransformation[];
  archiveStaging: boolean;
  addIngestionMetadata: boolean;
}

/**
 * Validates `schedule` strictly (five fields or a preset, ranges) and `timezone` (IANA name) with
 * core/cron; answers the canonical time zone and the issues, at the given paths.
 */
export function checkSchedule(
  schedule: string | null,
  timezone: string,
  paths = { schedule: 'schedule', timezone: 'timezone' },
): { timezone: string; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  let tz = timezone;
  const collect = (fn: () => void, path: string): void => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      issues.push(...err.issues.map((i) => ({ path, message: i.message })));
    }
  };
  collect(() => {
    tz = normalizeTimeZone(timezone);
  }, paths.timezone);
  if (schedule !== null) collect(() => normalizeSchedule(schedule), paths.schedule);
  return { timezone: tz, issues };
}

/** Splits the `merge` field into key columns. */
export function parseMergeKeys(merge: string | null | undefined): string[] {
  if (merge === null || merge === undefined) return [];
  return merge.split(',').map((k) => k.trim());
}

/** The positions of the items that repeat an earlier one. */
function repeats(items: readonly string[]): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  items.forEach((item, i) => {
    if (seen.has(item)) out.push(i);
    else seen.add(item);
  });
  return out;
}

/**
 * Validates a create request: the schema, then the rules across fields —
 * merge keys only with mode merge (each non-empty, no repeats); a transformation's `stream` must be
 * a selected stream when `streams` is given; one column renamed to two names, or two columns given
 * one target name (compared without case), in any stream (transformations without `stream` count
 * for every stream); renames onto the ingestion metadata columns (in any case) when those are
 * added; a valid cron and time zone.
 * Throws a ValidationError naming every bad field. What needs I/O (encryption keys exist, the
 * connector spec) is checked by the caller.
 */
export function parseCreateIngestJob(input: unknown): IngestJobSpec {
  const parsed = createIngestJobRequest.safeParse(input, { error: issueWording });
  if (!parsed.success) throw new ValidationError(fieldIssues(parsed.error, '', input));
  const b = parsed.data;
  const issues: FieldIssue[] = [];
  const streams = b.streams ?? [];

  for (const i of repeats(streams)) issues.push({ path: `streams[${i}]`, message: `stream "${streams[i]}" is listed twice` });
  const collision = tableNameCollision([...new Set(streams)]);
  if (collision) issues.push({ path: 'streams', message: collision });
  const tags = b.tags ?? [];
  for (const i of repeats(tags)) issues.push({ path: `tags[${i}]`, message: `tag "${tags[i]}" is listed twice` });

  const mergeKeys = parseMergeKeys(b.merge);
  const mergeGiven = b.merge !== null && b.merge !== undefined && b.merge.trim() !== '';
  if (mergeGiven && b.mode !== 'merge') {
    issues.push({ path: 'merge', message: `merge keys are only allowed with mode "merge" (mode is "${b.mode}")` });
  } else if (mergeGiven) {
    const repeated = new Set(repeats(mergeKeys));
    mergeKeys.forEach((k, i) => {
      if (k === '') issues.push({ path: 'merge', message: `merge key ${i + 1} is empty (expected comma-separated column names)` });
      else if (repeated.has(i)) issues.push({ path: 'merge', message: `merge key "${k}" is listed twice` });
    });
  }

  const checked = checkSchedule(b.schedule ?? null, b.timezone ?? 'UTC');
  issues.push(...checked.issues);

  const transformations = (b.column_transformations ?? []).map(normalizeColumnTransformation);
  issues.push(...transformationIssues(transformations, streams, b.add_ingestion_metadata));

  if (issues.length > 0) throw new ValidationError(issues);
  return {
    name: b.name,
    sourceName: b.source_name,
    sourceConfig: b.source_config,
    schemaName: b.schema_name,
    mode: b.mode,
    streams,
    merge: mergeGiven ? mergeKeys.join(',') : null,
    mergeKeys: mergeGiven ? mergeKeys : [],
    schedule: b.schedule === null || b.schedule === undefined ? null : canonicalSchedule(b.schedule),
    timezone: checked.timezone,
    catchup: b.catchup,
    maxActiveRuns: b.max_active_runs,
    domain: b.domain ?? null,
    tags,
    ownerId: b.owner_id ?? null,
    columnTransformations: transformations,
    archiveStaging: b.archive_staging,
    addIngestionMetadata: b.add_ingestion_metadata,
  };
}

/** What a transformation that renames nothing does to its column, in a word. */
function transformationVerb(t: ColumnTransformation): string {
  if (t.encryptionKeyName !== null) return 'encrypt';
  return t.castTo !== null ? 'cast' : 'change';
}

function transformationIssues(ts: readonly ColumnTransformation[], streams: readonly string[], metadata: boolean): FieldIssue[] {
  const issues: FieldIssue[] = [];
  ts.forEach((t, i) => {
    if (t.stream !== null && streams.length > 0 && !streams.includes(t.stream)) {
      issues.push({
        path: `column_transformations[${i}].stream`,
        message: `stream "${t.stream}" is not among the selected streams (${streams.join(', ')})`,
      });
    }
    const lowered = t.newName?.toLowerCase();
    const metadataColumn = INGESTION_METADATA_COLUMNS.find((c) => c.name === lowered);
    if (metadata && metadataColumn !== undefined) {
      issues.push({
        path: `column_transformations[${i}].new_name`,
        message:
          metadataColumn.name === t.newName
            ? `"${t.newName}" is an ingestion metadata column`
            : `"${t.newName}" is the ingestion metadata column "${metadataColumn.name}" to DuckDB, Trino and Spark, which ignore the case of column names`,
      });
    }
  });

  // Every stream a transformation names, plus one scope for "all streams" (null).
  const scopes = new Set<string | null>([null, ...ts.map((t) => t.stream)]);
  const reported = new Set<string>();
  for (const scope of scopes) {
    const inScope = ts.map((t, i) => ({ t, i })).filter(({ t }) => t.stream === null || t.stream === scope);
    const renamed = new Map<string, string>();
    // Keyed by the lower-cased name: DuckDB, Trino and Spark match column names case-insensitively.
    const targets = new Map<string, { column: string; target: string; i: number }>();
    const where = scope === null ? 'in every stream' : `in stream "${scope}"`;
    // Each column's entries together: a second name, key or cast, or a drop beside a change, contradicts.
    for (const column of new Set(inScope.map(({ t }) => t.column))) {
      const entries = inScope.filter(({ t }) => t.column === column);
      const merged = mergeColumnTransformations(column, entries, where);
      for (const issue of merged.issues) {
        if (reported.has(issue.path)) continue;
        reported.add(issue.path);
        issues.push(issue);
      }
      if (merged.change.newName !== null) renamed.set(column, merged.change.newName);
    }
    for (const { t, i } of inScope) {
      if (t.drop) continue;
      const target = renamed.get(t.column) ?? t.column;
      const prev = targets.get(target.toLowerCase());
      if (prev && prev.column !== t.column) {
        const key = `target:${i}`;
        if (!reported.has(key)) {
          reported.add(key);
          // An entry naming a column by the new name another gives (QA round 54a F3: "column": "mail"
          // to encrypt what [0] renames from "email" to "mail") is told that entries name source columns.
          const byNewName = t.newName === null && !renamed.has(t.column) && prev.target.toLowerCase() === t.column.toLowerCase();
          issues.push({
            path: `column_transformations[${i}]${t.newName !== null ? '.new_name' : '.column'}`,
            message:
              `duplicate target column "${target}" ${where}: column "${prev.column}" (column_transformations[${prev.i}]) is also named "${prev.target}"` +
              (prev.target === target ? '' : ' (DuckDB, Trino and Spark ignore the case of column names)') +
              (byNewName
                ? `. Transformations name the source's columns: to ${transformationVerb(t)} the column renamed to "${prev.target}", give "column": ${JSON.stringify(prev.column)} here (a rename and another change of one column both apply)`
                : ''),
          });
        }
      } else if (!prev) {
        targets.set(target.toLowerCase(), { column: t.column, target, i });
      }
    }
  }
  return issues;
}
