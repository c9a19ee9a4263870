import { rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableTaskError, UnclearableTaskError, ValidationError, assertNever, errorMessage } from '@sluice/core';
import { ambiguousMergeKey, icebergTableName, isCastType } from '@sluice/core/pipeline';
import { isEncryptedValue } from '@sluice/crypto';
import { makeProcessDir, readExtractManifest } from '@sluice/connectors';
import type { DataHubPublisher } from '@sluice/datahub';
import { ColumnCaseCollisionError, IncompatibleSchemaError, NoSuchTableError, writesAsText, type ColumnSpec, type CommitResult, type IcebergCatalog, type IcebergTable, type TableMetadata, type WriteInput } from '@sluice/iceberg';
import { errorSummary, isDatabaseUnreachable, type WriteMode } from '@sluice/db';
import type { ObjectStore } from '@sluice/storage';
import type { TaskContext, TaskResult } from '../worker/task-handler.ts';
import { readTransformedManifest, valueNotCastingTo, type TransformedManifest } from './transform-stream.ts';
import { dropPendingState, holdsCommit, nulInStreamState, OVERLAPPED_BY, recordPendingState, saveStreamState } from './stream-state.ts';
import { SUMMARY_EXTRACT_STARTED_AT, loadOrder, tableLoadConflict, type LoadConflict } from './later-read.ts';
import { deleteStreamPlaintext, streamEncrypts } from './archive-task.ts';
import { LOAD_SCRATCH_PREFIX, outOfDuckDbMemory, type TaskDuckDbSettings } from './duckdb-session.ts';

export interface LoadOutput {
  namespace: string;
  table: string;
  status: CommitResult['status'];
  snapshot_id: string | null;
  /**
   * When the snapshot was committed (ISO 8601), null when nothing was: a retry that found an
   * earlier try's commit answers that try's time, which is when the rows went in, not the retry's
   * end (later-read.ts orders runs' loads by it).
   */
  committed_at: string | null;
  rows: number;
  metadata_location: string;
  schema_changed: boolean;
}

/**
 * The merge keys of a stream: the job's `merge` (comma-separated; a source column name that was
 * renamed means its new name), else the stream's Airbyte primary key. None, a key the stream
 * lacks, or a key the job's transformations drop (jobs created before the API refused that) →
 * the task fails, naming the drop when that is the cause.
 */
export function mergeKeysFor(mergeField: string | null, tm: TransformedManifest): string[] {
  const names = new Set(tm.columns.map((c) => c.name));
  const bySource = new Map(tm.columns.filter((c) => c.source !== null).map((c) => [c.source as string, c.name]));
  const asked = (mergeField ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '');
  const quoted = (ks: string[]): string => ks.map((k) => `"${k}"`).join(', ');
  if (asked.length === 0 && tm.droppedPrimaryKey.length > 0) {
    throw new NonRetryableTaskError(
      `stream "${tm.stream}": merge mode without "merge" keys merges on the source's primary key, but a "drop" in the job's column_transformations removes its column(s) ${quoted(tm.droppedPrimaryKey)}: give merge keys or keep the column(s)`,
    );
  }
  // A job created before keys naming two columns were refused gets the API's refusal here.
  for (const k of asked) {
    const ambiguous = ambiguousMergeKey(tm.stream, k, tm.columns.map((c) => ({ source: c.source, target: c.name })));
    if (ambiguous !== null) throw new NonRetryableTaskError(ambiguous);
  }
  const keys = asked.length > 0 ? asked.map((k) => (names.has(k) ? k : bySource.get(k) ?? k)) : tm.primaryKey;
  if (keys.length === 0) {
    throw new NonRetryableTaskError(
      `stream "${tm.stream}": merge mode needs key columns, but the job gives no "merge" keys and the source declares no primary key for this stream`,
    );
  }
  const missing = keys.filter((k) => !names.has(k));
  const dropped = missing.filter((k) => tm.dropped.includes(k));
  if (dropped.length > 0) {
    throw new NonRetryableTaskError(`stream "${tm.stream}": merge key column(s) ${quoted(dropped)} are removed by a "drop" in the job's column_transformations`);
  }
  if (missing.length > 0) {
    throw new NonRetryableTaskError(`stream "${tm.stream}": merge key column(s) ${quoted(missing)} not in the stream (columns: ${[...names].join(', ')})`);
  }
  return keys;
}

/** The column Airbyte's CDC sources set on a record that deletes its row. */
export const CDC_DELETED_AT = '_ab_cdc_deleted_at';

/**
 * How a merge picks a key's row in a batch, and which rows delete their key, as Airbyte's
 * Append + Deduped does: the newest by the stream's cursor (a top-level field, as renamed; not
 * an encrypted one, whose ciphertexts do not sort as its values: extract refuses to read a stream
 * whose cursor the job encrypts, but a run extracted before that rule, its load cleared since,
 * can bring one), and the source's
 * `_ab_cdc_deleted_at` as the deletion mark. Without a cursor the batch's order decides.
 * `notApplied` says which of the stream's own rules a merge cannot follow (for the run's
 * warnings; QA round 29: a dropped cursor or deletion mark, or a nested cursor, changed the
 * merge without a word): the cursor is nested, or a transformation drops it or the source's
 * deletion mark.
 */
export function mergeOrderFor(
  extracted: { cursorField?: readonly string[] | undefined; jsonSchema: Record<string, unknown> } | undefined,
  tm: Pick<TransformedManifest, 'columns'>,
): { newestBy?: string; newestByNumber?: 'long' | 'double'; deletedBy?: string; unsortedCursor?: string; notApplied: string[] } {
  const cursorField = extracted?.cursorField ?? [];
  const cursor = cursorField.length === 1 ? tm.columns.find((c) => c.source === cursorField[0]) : undefined;
  const deleted = tm.columns.find((c) => c.source === CDC_DELETED_AT);
  const notApplied: string[] = [];
  const lastRead = "of a key's rows in a batch, the last read is merged, not the newest";
  if (cursorField.length > 1) notApplied.push(`its cursor ${cursorField.join('.')} is a nested field, which merge cannot order rows by: ${lastRead}`);
  else if (cursorField.length === 1 && cursor === undefined) notApplied.push(`its cursor ${cursorField[0] ?? ''} is not among its columns (a transformation drops it): ${lastRead}`);
  // A number cast to text does not sort as the number ('9' after '12'; QA round 47a F1: merge kept
  // older rows by it): its rows are ordered by the number the text holds. Other casts keep the
  // order (a date ties a day's timestamps: the last read of them).
  const fromNumber = cursor !== undefined && cursor.type === 'string' && (cursor.castFrom === 'long' || cursor.castFrom === 'double') ? cursor.castFrom : undefined;
  const declared = (extracted?.jsonSchema['properties'] ?? {}) as Record<string, unknown>;
  if (deleted === undefined && Object.hasOwn(declared, CDC_DELETED_AT)) {
    notApplied.push(`the source marks a deleted row with ${CDC_DELETED_AT}, which a transformation drops: deletions are not applied, and a deleted key is merged as a row`);
  }
  return {
    ...(cursor && !cursor.encrypted ? { newestBy: cursor.name, ...(fromNumber ? { newestByNumber: fromNumber } : {}) } : {}),
    ...(cursor?.encrypted ? { unsortedCursor: cursor.name } : {}),
    ...(deleted ? { deletedBy: deleted.name } : {}),
    notApplied,
  };
}

/**
 * load: commits one stream's transformed Parquet into `{schema_name}.{table}` in the job's mode
 * (append, overwrite, or merge on keys), creating the namespace and table when missing and
 * evolving the schema. The commit carries the run and task ids, so a retried load that finds its
 * own snapshot does not commit twice. The stream's connector state is saved only after the commit,
 * and recorded as pending before it (ADR 0025).
 */
export interface LoadTaskDeps {
  store: ObjectStore;
  catalog: IcebergCatalog;
  /** Publishes the table's metadata to DataHub (through the outbox) after the commit. */
  datahub: DataHubPublisher | null;
  /** Base of flow_url, for the metadata. */
  publicUrl: string;
  /** The DuckDB memory limit a merge works in (said when it does not fit). */
  duckdb?: TaskDuckDbSettings;
}

/**
 * Iceberg properties of the tables a load creates. The metadata files a commit leaves out of the
 * table's metadata log (its last 100, Iceberg's `write.metadata.previous-versions-max`) are deleted:
 * Iceberg's default keeps every one, and a job that commits each minute grew its table's metadata
 * by gigabytes a day, each file larger than the last (QA round 51a D1). A table's own setting of it
 * (an operator's, through any Iceberg writer) is kept.
 */
const CREATED_TABLE_PROPERTIES = { 'write.metadata.delete-after-commit.enabled': 'true' } as const;

/**
 * After a commit, the table's old snapshots are expired as its properties say (Iceberg's
 * `history.expire.*`; by default those older than 5 days, the current one always kept), so that a
 * recurring sync's table does not keep every run's snapshot and files for ever. Maintenance only:
 * a failure is a warning, the load stands.
 */
async function expireOldSnapshots(table: IcebergTable, ctx: TaskContext): Promise<void> {
  try {
    const r = await table.expireByTableProperties();
    if (r.expired > 0) {
      ctx.log.info(
        `expired ${r.expired} snapshot${r.expired === 1 ? '' : 's'} of ${table.name} older than ${formatAge(r.maxAgeMs)} ` +
          `(history.expire.max-snapshot-age-ms); deleted ${r.deletedFiles} file${r.deletedFiles === 1 ? '' : 's'} no kept snapshot uses`,
      );
    }
  } catch (err) {
    ctx.log.warn(`expiring old snapshots of ${table.name} failed (the load is committed; the next load tries again): ${errorMessage(err)}`);
  }
}

/**
 * The files earlier tries of this load wrote into the table and never committed (cut off between
 * writing them and their commit): removed once no try of the load can commit any more — its commit
 * is in the table, or (`superseded`) a newer run's load is, after which its guard refuses every
 * commit of it (QA rounds 35b F2, 39b F1: they stayed in the table for good). Maintenance only: a
 * failure is a warning, the load's outcome stands. `table` is read only from a second try on; null
 * when there is nothing to remove from.
 */
async function removeEarlierTriesFiles(ctx: TaskContext, table: () => Promise<IcebergTable | null>, taskId: string, options: { superseded?: boolean } = {}): Promise<void> {
  if (ctx.task.tryNumber === 1) return;
  try {
    const t = await table();
    if (t === null) return;
    const n = await t.removeUncommittedFiles(ctx.run.id, taskId, options);
    if (n > 0) ctx.log.info(`removed ${n} data file${n === 1 ? '' : 's'} that earlier tries of this load wrote to ${t.name} and never committed`);
  } catch (err) {
    if (err instanceof NoSuchTableError) return;
    ctx.log.warn(`removing the data files that earlier tries of this load left in the table failed (they stay): ${errorMessage(err)}`);
  }
}

/**
 * After the load, the table's small data files are compacted as its properties say (ADR 0028,
 * `sluice.compaction.min-input-files`): a table loaded each minute otherwise gains a data file a
 * run, every one of which each reader's scan opens. Maintenance only: a failure is a warning, the
 * load stands, except PostgreSQL's going away (below). Files an earlier try's compaction wrote and
 * never committed go once this load's compaction is in the table.
 */
async function compactSmallFiles(table: IcebergTable, ctx: TaskContext, taskId: string, tmpDir: string): Promise<void> {
  const compactionId = `${taskId}/compaction`;
  try {
    const r = await table.compactDataFiles({ runId: ctx.run.id, taskId: compactionId, tmpDir, signal: ctx.signal });
    if (r.status === 'committed') {
      ctx.log.info(
        `compacted ${r.rewrittenFiles} small data files of ${table.name} into ${r.addedFiles} ` +
          `(snapshot ${r.snapshotId ?? '?'}, a replace: the rows are the same; sluice.compaction.min-input-files sets when)`,
      );
    }
  } catch (err) {
    // PostgreSQL gone mid-commit leaves the compaction's outcome unknown and its files kept: the
    // try fails, so that its retry (which finds the load's commit) compacts again and then removes
    // what this one left, as a load's retry does (QA round 56a F2: twelve objects stayed for good).
    if (isDatabaseUnreachable(err)) throw err;
    ctx.log.warn(`compacting the small data files of ${table.name} failed (the load is committed; the next load tries again): ${errorMessage(err)}`);
    return;
  }
  await removeEarlierTriesFiles(ctx, () => Promise.resolve(table), compactionId);
}

type Superseded = Extract<LoadConflict, { kind: 'superseded' }>;

/**
 * The conflict with another run's load (later-read.ts) that fails this load, or null when the
 * load has nothing to do and ends skipped, as Airflow's tasks skip: the run succeeds saying so, so
 * that runs at once of a job (max_active_runs) finish in any order without a failed run, and the
 * state of the other run stands. Nothing of this run's rows is missing from the table:
 * - overwrite or merge, superseded (a run whose extract started after this one's has loaded the
 *   stream): this run's rows are older (QA round 27);
 * - incremental append, superseded: that run read from the state this one did, or a newer one,
 *   so it appended these rows or they were loaded before; overlap (a run that read from the same
 *   state loaded after this run began reading, and saved a newer one): this run's rows repeat its
 *   rows, and those past them the next run reads on from its state (QA round 48b O13: overlapping
 *   runs of an append job left it failed for doing nothing wrong).
 * A full-refresh append's superseded load fails, as before: such a job keeps each run's copy, and
 * a skip would drop this one without a failure to tell.
 */
function refusedConflict(c: LoadConflict, mode: WriteMode, appendIncremental: boolean): Superseded | null {
  return c.kind === 'superseded' && mode === 'append' && !appendIncremental ? c : null;
}

/** Thrown by a commit's guard when a load it raced overtook this one and this one skips (`refusedConflict`). */
class OvertakenLoad extends Error {
  constructor(readonly conflict: LoadConflict) {
    super(`overtaken by the load of run ${conflict.runId}`);
  }
}

async function skipOvertaken(ctx: TaskContext, c: LoadConflict, stream: string, table: string): Promise<TaskResult> {
  const at = c.loadedAt ? ` at ${c.loadedAt.toISOString()}` : '';
  const message =
    c.kind === 'superseded'
      ? `stream ${stream}: not loaded — run ${c.runId} of this job read the source after this run did (its extract started at ` +
        `${c.extractStartedAt.toISOString()}) and has loaded ${table}${at}: this run's rows are older, and nothing of them is missing`
      : `stream ${stream}: not loaded — run ${c.runId} of this job loaded ${table}${at}, after this run began reading (its extract started at ` +
        `${c.ourExtractStartedAt.toISOString()}), and saved its state: this run's rows repeat rows that run appended, and the next run reads on from that state, so nothing of them is missing`;
  await ctx.warnRun(message); // logged once, as a warning (it was also said at info: QA round 52a O5)
  return { skipped: true, output: { table, [c.kind === 'superseded' ? 'superseded_by' : OVERLAPPED_BY]: c.runId } };
}

/**
 * Why a full-refresh append's superseded load is refused, and what to do instead. Unclearable: a
 * clear of it fails the same way.
 */
function refusalMessage(c: Superseded, stream: string, table: string): string {
  return (
    `stream "${stream}": run ${c.runId} of this job read the source after this run did (its extract started at ` +
    `${c.extractStartedAt.toISOString()}) and has loaded ${table}${c.loadedAt ? ` at ${c.loadedAt.toISOString()}` : ''}. ` +
    `This run's rows are older: appending them now would append rows that run may already have appended, and move the saved connector state back. ` +
    `Nothing is missing: that run read what this one did, or newer. Leave this run failed; trigger a new run to read the source again.`
  );
}

function formatAge(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000} day${ms === 86_400_000 ? '' : 's'}`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000} h`;
  return `${ms} ms`;
}

/**
 * A table belongs to one job, named by its `sluice.job-id` property: two jobs writing one table
 * replace or repeat each other's rows (an overwrite by one removes the other's; each job's saved
 * state hides what the other changed), so another live job's load is refused before it writes
 * anything, as Airbyte's platform means to reject connections that share a destination table.
 * The table of a deleted job of the same owner, or one no Sluice job owns (another engine created
 * it), is taken over: the load's commit names this job its owner, so that the next job is refused
 * in turn. A deleted job's table is not another owner's to take (QA round 31: bob's job took over
 * alice's table, and wrote her encrypted column in plaintext): an admin can create a job for its
 * owner, which takes it.
 */
async function tableOwnership(ctx: TaskContext, table: string, recorded: string | undefined): Promise<'own' | { takeOver: string }> {
  if (recorded === ctx.job.id) return 'own';
  if (recorded === undefined) return { takeOver: `table ${table} had no owning job (another engine created it); this job owns it from now on` };
  const owner = UUID.test(recorded) ? await ctx.prisma.ingestionJob.findUnique({ where: { id: recorded }, select: { name: true, isDeleted: true, ownerId: true } }) : null;
  if (owner === null) return { takeOver: `table ${table} belonged to job ${recorded}, which no longer exists; this job owns it from now on` };
  if (owner.isDeleted && owner.ownerId === ctx.job.ownerId) return { takeOver: `table ${table} belonged to job ${recorded}, which is deleted; this job owns it from now on` };
  if (owner.isDeleted) {
    throw new NonRetryableTaskError(
      `table ${table} belonged to a deleted job of another owner: it is not this job's to take over. ` +
        "Give this job another schema_name, or have an admin create the job for the table's owner (owner_id); nothing was written",
    );
  }
  // Another owner's job is named to no one else (as the API answers it as not found); its owner can delete it.
  const [which, remedy] =
    owner.ownerId === ctx.job.ownerId ? [`job ${recorded} ("${owner.name}")`, 'or delete that job first'] : ['a job of another owner', 'or ask its owner to delete it'];
  throw new NonRetryableTaskError(
    `table ${table} belongs to ${which}: a table is written by one job, ` +
      `as two would replace or repeat each other's rows. Give this job another schema_name, ${remedy}; nothing was written`,
  );
}

/**
 * A merge refused for null keys, when stage nulled key values that did not fit their type (a key
 * "X7" in an integer column): the error says so, since the source's value was not null.
 */
async function withNulledKeys(ctx: TaskContext, err: unknown, keys: readonly string[]): Promise<unknown> {
  if (!(err instanceof ValidationError) || !/null merge key/.test(err.message)) return err;
  const staged = stagedOutput.safeParse(await ctx.upstream('stage'));
  const nulled = staged.success ? keys.filter((k) => (staged.data.mismatches[k] ?? 0) > 0) : [];
  if (nulled.length === 0) return err;
  return new NonRetryableTaskError(
    `${err.message}. Of these nulls, stage made ${nulled.map((k) => `${staged.data?.mismatches[k] ?? 0} of ${k}`).join(' and ')}: the source's values did not fit the column's type ` +
      "(they are in the run's rejects; see its warnings). Fix them at the source, or merge on keys whose values fit",
    { cause: err },
  );
}

const stagedOutput = z.object({ mismatches: z.record(z.string(), z.number()) });
/** What load reads of the extract's output: whether it discovered the source (older outputs lack it: taken as discovered). */
const extractedOutput = z.object({ discovered: z.boolean().default(true) });

/**
 * Values that did not fit their columns' types, staged with a catalog an earlier run discovered,
 * may be the source's new type rather than bad values: loaded as NULL, they would be lost (an
 * append's state moves past them) or, in a merge, replace the table's values (QA round 37c F1: a
 * change first seen after extract's sample of 1,000 records). The load refuses them; the run fails,
 * and the next run discovers the source (a failed run's successor does) and reads them again with
 * its types. Values that do not fit a catalog discovered in this run are the source's own: NULL,
 * with the run's warning, as before.
 */
async function refuseMisfitsOfStoredCatalog(ctx: TaskContext, stream: string, table: string): Promise<void> {
  const extracted = extractedOutput.safeParse(await ctx.upstream('extract'));
  if (!extracted.success || extracted.data.discovered) return;
  const staged = stagedOutput.safeParse(await ctx.upstream('stage'));
  const misfits = staged.success ? Object.entries(staged.data.mismatches).filter(([, n]) => n > 0) : [];
  if (misfits.length === 0) return;
  throw new UnclearableTaskError(
    `stream ${stream}: ${misfits.map(([column, n]) => `${n} values of ${column}`).join(', ')} did not fit the types of the catalog an earlier run discovered: ` +
      `the source may have changed ${misfits.length === 1 ? "that column's type" : 'those columns\' types'}, and as NULL they would be lost` +
      `${ctx.job.mode === 'merge' ? ` or replace ${table}'s values` : ''}. Nothing was loaded; the next run discovers the source again and reads them with its types`,
  );
}

/** What the commit's lost races cost, for the task's log: another writer committed to the table meanwhile. */
function conflictsSaid(result: CommitResult): string {
  const lost = result.attempts - 1;
  const how =
    result.reapplied === 0 ? '' : result.reapplied === lost ? ', the prepared change re-applied each time' : `, the prepared change re-applied ${result.reapplied} times and recomputed the others`;
  return `${lost} commit${lost > 1 ? 's' : ''} lost to another writer first${how}`;
}

/** How the doc of a column Sluice encrypts starts: a column whose doc starts so and that is no longer encrypted loses it. */
const ENCRYPTED_DOC = 'Encrypted by Sluice';

/**
 * The doc of an encrypted column in the table's schema, so that its readers (Spark's DESCRIBE,
 * PyIceberg, DataHub) see what its values are and how to read them.
 */
function encryptedColumnDoc(c: TransformedManifest['columns'][number]): string | undefined {
  if (!c.encryption) return undefined;
  return (
    `${ENCRYPTED_DOC} with key "${c.encryption.keyName}" (AES-256-GCM, ${c.encryption.mode}): each value is the ciphertext of ` +
    `the ${c.plaintextType ?? 'source'} value's text. Decrypt with the key versions \`sluice decryption-keys ${c.encryption.keyName}\` prints (Sluice's docs/encryption.md)`
  );
}

/** The plaintext type an encrypted column's doc in the table names (a doc Sluice wrote), if any. */
function docPlaintextType(table: IcebergTable, column: string): string | undefined {
  const doc = table.schema.fields.find((f) => f.name === column)?.doc;
  if (doc?.startsWith(ENCRYPTED_DOC) !== true) return undefined;
  const type = /the (\S+) value's text/.exec(doc)?.[1];
  return type === 'source' ? undefined : type;
}

/** The plaintext type changes an encrypted column takes, as its unencrypted column would (Iceberg's promotions). */
const PLAINTEXT_WIDENINGS = new Set(['int>long', 'float>double']);

/**
 * The encrypted columns whose doc goes on naming string, not this load's plaintext type: the
 * doc tells readers how to parse what they decrypt, so a type the table's rows before would not
 * read as is refused, as the unencrypted column's type is (QA round 37a F3: after string to
 * integer the doc said long, and the older rows decrypted to "a@x"). A column encrypted from
 * strings takes any values (their text is a string) and its doc stays string. An overwrite
 * replaces every row: its types are the table's from then on.
 */
function encryptedColumnsStayingString(table: IcebergTable, name: string, tm: TransformedManifest, mode: WriteMode): Set<string> {
  const kept = new Set<string>();
  if (mode === 'overwrite') return kept;
  for (const c of tm.columns) {
    if (!c.encryption || c.plaintextType === null) continue;
    const before = docPlaintextType(table, c.name);
    if (before === undefined || before === c.plaintextType || PLAINTEXT_WIDENINGS.has(`${before}>${c.plaintextType}`)) continue;
    if (before === 'string') {
      kept.add(c.name);
      continue;
    }
    // The cast is advice for values that still read as the type, said as such: the load cannot look
    // at the plaintext, as it does for an unencrypted column (QA round 54a F1: "high" for a double).
    throw new NonRetryableTaskError(
      `column "${c.name}" of ${name} is encrypted from ${before} values, as its doc tells readers, and this run's are ${c.plaintextType}: ` +
        `the rows before would not read as the new type (an unencrypted column fails on its type the same way). If its values still read as ${before} values, ` +
        `cast "${c.name}" to ${before} with a column transformation (transformation_type "cast", target_type "${before}"), which fails the task on any value that does not ` +
        `(this load sees only their ciphertext, so it cannot tell); otherwise load into a new table, ` +
        `or overwrite this one (mode overwrite replaces every row): ${RECREATE_FOR}`,
    );
  }
  return kept;
}

/** How a value of each type reads once written to a string column (DuckDB's cast, in UTC). */
const TEXT_EXAMPLES: Record<string, string> = {
  boolean: 'true, false',
  int: '12',
  long: '12',
  float: '1.5',
  double: '1.5',
  decimal: '1.50',
  date: '2024-01-02',
  time: '03:04:05',
  timestamp: '2024-01-02 03:04:05',
  timestamptz: '2024-01-02 03:04:05+00',
};

/**
 * The run's warnings for the columns this load writes as text: typed otherwise in its data, held
 * as `string` by the table (evolveSchema; QA round 44b F3: a source inferring a string column as
 * boolean had the stream refused until its job was created again). Not for an overwrite, which
 * replaces such a column with one of the data's type.
 */
function textColumnWarnings(table: IcebergTable, name: string, stream: string, tm: TransformedManifest, mode: WriteMode): string[] {
  if (mode === 'overwrite') return [];
  return tm.columns.flatMap((c) => {
    if (c.type === 'string' || !writesAsText(c.type) || table.schema.fields.find((f) => f.name === c.name)?.type !== 'string') return [];
    const example = TEXT_EXAMPLES[c.type.startsWith('decimal') ? 'decimal' : c.type];
    return [
      `stream ${stream}: column "${c.name}" is ${c.type} in this run's data and string in ${name}: its values are loaded as their text${example !== undefined ? ` (such as ${example})` : ''}. ` +
        'For a column of the new type, load into a new table, or overwrite this one (mode overwrite replaces the column)',
    ];
  });
}

/** The table's columns whose doc says Sluice encrypts them. */
function encryptedInTable(table: IcebergTable): Set<string> {
  return new Set(table.schema.fields.flatMap((f) => (f.doc?.startsWith(ENCRYPTED_DOC) === true ? [f.name] : [])));
}

/** `columns`, with a doc of Sluice's encryption removed from the table's columns this load writes in plaintext. */
function withoutStaleEncryptionDocs(columns: ColumnSpec[], table: IcebergTable): ColumnSpec[] {
  const encrypted = encryptedInTable(table);
  return columns.map((c) => (c.doc === undefined && encrypted.has(c.name) ? { ...c, doc: null } : c));
}

/**
 * What this load would make of columns whose encryption changes (the job was made again with or
 * without a column's encryption): an appended or merged batch leaves the rows it does not replace
 * as they were, so the column would mix plaintext and ciphertext; an overwrite replaces every row.
 * Either way the table's earlier snapshots keep the plaintext until they expire. Told by the
 * column's doc (did Sluice encrypt it until now?) and its values' bounds in the table's manifests
 * (does it hold such values?).
 */
async function mixedEncryptionWarnings(table: IcebergTable, name: string, stream: string, tm: TransformedManifest, mode: WriteMode): Promise<string[]> {
  const inTable = new Set(table.schema.fields.map((f) => f.name));
  const encrypted = encryptedInTable(table);
  const history =
    "the table's earlier snapshots keep them until they expire (history.expire.max-snapshot-age-ms, 5 days unless the table sets it; " +
    'set it lower, and the next load expires them)';
  const out: string[] = [];
  for (const c of tm.columns) {
    if (!inTable.has(c.name) || c.encrypted === encrypted.has(c.name)) continue;
    // A column of another type than string holds plaintext (ciphertexts are strings), and has no string bounds (QA round 29).
    const notText = table.schema.fields.find((f) => f.name === c.name)?.type !== 'string';
    const bounds = notText ? [] : await table.stringBounds(c.name);
    if (c.encrypted && (notText || bounds.some((b) => !isEncryptedValue(b)))) {
      const held = `stream ${stream}: column "${c.name}" of ${name} held values written in plaintext before this job encrypted it`;
      out.push(
        mode === 'overwrite'
          ? `${held}; this overwrite replaces every row, but ${history}`
          : `${held}; the rows this load does not replace keep them, and ${history}. If the column must hold no plaintext, replace or drop those rows (an overwrite replaces every row)`,
      );
    } else if (!c.encrypted && bounds.some(isEncryptedValue) && mode !== 'overwrite') {
      out.push(`stream ${stream}: column "${c.name}" of ${name} holds values Sluice encrypted, and this job writes it in plaintext; the column now holds both`);
    }
  }
  return out;
}

/** Snapshot summary key prefix: the plaintext type of an encrypted merge-key column, per column. */
const ENCRYPTED_KEY_TYPE = 'sluice.encrypted-key-type.';
const ENCRYPTED_KEY_NAME = 'sluice.encrypted-key-name.';

/** How an encrypted merge-key column of this load is encrypted: from which plaintext type, with which key (unknown in manifests older than the key's record). */
interface EncryptedKey {
  type: string;
  keyName: string | undefined;
}

/** The encrypted merge-key columns of this load. */
function encryptedKeys(tm: TransformedManifest, mergeKeys: readonly string[]): Map<string, EncryptedKey> {
  const keys = new Map<string, EncryptedKey>();
  for (const c of tm.columns) {
    if (c.encrypted && c.plaintextType !== null && mergeKeys.includes(c.name)) keys.set(c.name, { type: c.plaintextType, keyName: c.encryption?.keyName });
  }
  return keys;
}

/** What each load records of its encrypted merge keys in its snapshot's summary, for the next load's check. */
function encryptedKeyProperties(keys: Map<string, EncryptedKey>): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const [column, k] of keys) {
    properties[`${ENCRYPTED_KEY_TYPE}${column}`] = k.type;
    if (k.keyName !== undefined) properties[`${ENCRYPTED_KEY_NAME}${column}`] = k.keyName;
  }
  return properties;
}

/**
 * A merge key is encrypted deterministically from its value's text, which depends on its type (5
 * as a long is "5", as a double "5.0"), and with its key: a key column whose source type changed
 * (integer to number), or that another key now encrypts (a job recreated with another
 * encryption_key_name), would encrypt to other values, and the merge would duplicate every row it
 * should replace, silently, where the unencrypted column fails the load on its type. So the type
 * and the key each load encrypted with are kept in its snapshot's summary, and a load that differs
 * is refused.
 */
function checkEncryptedKeys(table: IcebergTable, name: string, keys: Map<string, EncryptedKey>): void {
  for (const [column, { type, keyName }] of keys) {
    const typeBefore = lastSummaryValue(table, `${ENCRYPTED_KEY_TYPE}${column}`);
    if (typeBefore !== undefined && typeBefore !== type) {
      throw new NonRetryableTaskError(
        `merge key column "${column}" of ${name} is encrypted from ${typeBefore} values, and this run's are ${type}: the same keys would encrypt ` +
          `to other values and the merge would duplicate the rows it should replace (an unencrypted column fails on its type the same way). ` +
          `Cast the column back with a column transformation (transformation_type "cast", target_type "${typeBefore}"), or load into a new table: ${RECREATE_FOR}`,
      );
    }
    const keyBefore = lastSummaryValue(table, `${ENCRYPTED_KEY_NAME}${column}`);
    if (keyBefore !== undefined && keyName !== undefined && keyBefore !== keyName) {
      throw new NonRetryableTaskError(
        `merge key column "${column}" of ${name} is encrypted with key "${keyBefore}", and this job encrypts it with key "${keyName}": the same keys ` +
          `would encrypt to other values and the merge would duplicate the rows it should replace. Encrypt the column with key "${keyBefore}" ` +
          '(its rotations are fine: the table keeps one key version for its merge keys), or load into a new table; nothing was written',
      );
    }
  }
}

/**
 * A table this load created, left without a snapshot by the write's failure (a first merge whose
 * keys are null, say), is dropped: a failed first load leaves no empty table behind. One another
 * writer has committed to meanwhile, or another job's, is left alone.
 */
async function dropIfStillEmpty(catalog: IcebergCatalog, ctx: TaskContext, namespace: string, name: string): Promise<void> {
  try {
    const table = await catalog.loadTable(namespace, name);
    if (table.metadata.snapshots.length > 0 || table.metadata.properties['sluice.job-id'] !== ctx.job.id) return;
    await catalog.dropTable(namespace, name, { purge: true });
    ctx.log.info(`removed the empty table ${namespace}.${name} this load had created`);
  } catch (err) {
    ctx.log.warn(`the empty table ${namespace}.${name} this load created could not be removed: ${errorMessage(err)}`);
  }
}

/** The table's rows as its current snapshot's summary counts them (0 without one). */
function rowsInTable(table: IcebergTable): bigint {
  const total = table.currentSnapshot?.summary['total-records'];
  return total !== undefined && /^\d+$/.test(total) ? BigInt(total) : 0n;
}

/** The value of a summary key in the latest snapshot of the current branch that has it (another engine's commits do not). */
function lastSummaryValue(table: IcebergTable, key: string): string | undefined {
  const snapshots = new Map(table.metadata.snapshots.map((s) => [s['snapshot-id'], s]));
  let id: bigint | undefined = table.metadata['current-snapshot-id'];
  while (id !== undefined && id !== -1n) {
    const snapshot = snapshots.get(id);
    if (!snapshot) return undefined;
    const value = snapshot.summary[key];
    if (value !== undefined) return value;
    id = snapshot['parent-snapshot-id'];
  }
  return undefined;
}

/** The task id a load's commit carries in its snapshot's summary (`sluice.task-id`). */
export function loadTaskId(stream: string): string {
  return `load[${stream}]`;
}

/** What changing a job's transformations or target takes: both are set when it is created (PATCH changes neither). */
const RECREATE_FOR =
  'delete this job and create it again with the change (column_transformations and schema_name are set when a job is created, and a table is written by one job), ' +
  'then PUT its saved state onto the new job to read on from where it was (what GET …/state answered before the delete, as it is)';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function loadTask(deps: LoadTaskDeps, ctx: TaskContext): Promise<TaskResult> {
  const stream = ctx.task.stream;
  if (stream === null) throw new NonRetryableTaskError('load runs per stream, but this instance has no stream');
  const tm = await readTransformedManifest(deps.store, ctx.run.id, stream);
  const namespace = ctx.job.schemaName;
  const tableName = icebergTableName(stream);
  const manifest = await readExtractManifest(deps.store, ctx.run.id);
  const extracted = manifest?.streams.find((s) => s.name === stream);
  const appendIncremental = ctx.job.mode === 'append' && extracted?.syncMode === 'incremental';
  // Before anything is written: a state PostgreSQL cannot store failed each try after the table
  // was made, as a raw database error (QA round 49b D4).
  const nulAt = manifest ? nulInStreamState(manifest.state, stream) : null;
  if (nulAt !== null) {
    throw new NonRetryableTaskError(
      `stream "${stream}": the state the connector sent for it holds the NUL character (U+0000) at ${nulAt}, which PostgreSQL cannot store; ` +
        'nothing was loaded, as loading without saving the state would have the next run read these records again. A cursor of the source with NUL characters cannot be kept: leave the stream out, or read it in full refresh (mode overwrite)',
    );
  }
  if (extracted && streamEncrypts(ctx.job.columnTransformations, extracted)) {
    // Load reads transform's files only (the encrypted ones): the stream's raw, staged and rejected
    // records, which hold the plaintext of the columns this job encrypts, go before anything here
    // can fail. No try of this run reads them again (a clear of a failed load re-runs the load
    // alone), and a run that fails from here on — or whose other streams fail — keeps no plaintext.
    const n = await deleteStreamPlaintext(deps.store, ctx.run.id, stream, extracted.files.map((f) => f.key));
    if (n > 0) ctx.log.info(`deleted ${n} staging files holding this stream's plaintext (raw, staged, rejects): the load reads its encrypted files only`);
  }
  await refuseMisfitsOfStoredCatalog(ctx, stream, `${namespace}.${tableName}`);
  const { extractStartedAt: extractStarted, conflict } = await loadOrder(ctx.prisma, { jobId: ctx.job.id, runId: ctx.run.id, stream, appendIncremental });
  // A retry whose earlier try committed (and was lost before its state's save, which a later
  // run's extract then made: ADR 0025) has nothing left to load: it goes on to find that commit.
  if (conflict && !(await holdsCommit(deps.catalog, namespace, tableName, ctx.run.id, loadTaskId(stream)))) {
    // Once that run's commit is in the table, this load's guard refuses every commit of it (a load
    // that succeeded without a commit, having nothing to add, is not there to refuse one).
    await removeEarlierTriesFiles(
      ctx,
      async () => {
        const t = await deps.catalog.loadTable(namespace, tableName);
        return extractStarted && tableLoadConflict(t.metadata, { jobId: ctx.job.id, runId: ctx.run.id, extractStartedAt: extractStarted, appendIncremental }) ? t : null;
      },
      loadTaskId(stream),
      { superseded: true },
    );
    const refused = refusedConflict(conflict, ctx.job.mode, appendIncremental);
    if (refused === null) return skipOvertaken(ctx, conflict, stream, `${namespace}.${tableName}`);
    // A full-refresh append that read no records has no copy to keep: nothing to do.
    if (tm.rows === 0) {
      ctx.log.info(`nothing to load: this run read no records of stream ${stream}, and run ${conflict.runId} of this job has loaded ${namespace}.${tableName} since this run's read began`);
      return { skipped: true, output: { table: `${namespace}.${tableName}`, rows: 0 } };
    }
    throw new UnclearableTaskError(refusalMessage(refused, stream, `${namespace}.${tableName}`));
  }
  const columns: ColumnSpec[] = tm.columns.map((c) => {
    const doc = encryptedColumnDoc(c);
    return { name: c.name, type: c.type, ...(doc !== undefined ? { doc } : {}) };
  });
  const tmp = await makeProcessDir(LOAD_SCRATCH_PREFIX);
  try {
    // Files transform wrote as this table's data files, with their metrics, are handed over where
    // they are (the table copies them within the object store); others are read here.
    const described = tm.files.flatMap((f) => (f.metrics ? [{ key: f.key, metrics: f.metrics }] : []));
    const stored = tm.icebergFields && described.length === tm.files.length ? described : null;
    const files: string[] = [];
    if (!stored) {
      for (const [i, f] of tm.files.entries()) {
        const local = path.join(tmp, `in-${i}.parquet`);
        await deps.store.download(f.key, local);
        files.push(local);
      }
    }
    // Merge keys are checked before the table is created: a job whose keys are wrong leaves no empty table behind.
    const mergeKeys = ctx.job.mode === 'merge' ? mergeKeysFor(ctx.job.mergeKeys, tm) : [];
    const { unsortedCursor, notApplied, ...mergeOrder } = ctx.job.mode === 'merge' ? mergeOrderFor(extracted, tm) : { notApplied: [] };
    for (const said of notApplied) await ctx.warnRun(`stream ${stream}: ${said}`);
    if (unsortedCursor !== undefined) {
      ctx.log.info(`the cursor column ${unsortedCursor} is encrypted, and ciphertexts do not sort as its values: of a key's rows in this batch, the last read is merged`);
    }
    const { table, created } = await deps.catalog.loadOrCreateTable(namespace, tableName, columns, {
      properties: { 'sluice.job-id': ctx.job.id, 'sluice.source': ctx.job.sourceName, 'sluice.stream': stream, ...CREATED_TABLE_PROPERTIES },
    });
    const ownership = await tableOwnership(ctx, `${namespace}.${tableName}`, table.metadata.properties['sluice.job-id']);
    if (ownership !== 'own') ctx.log.info(ownership.takeOver);
    const keys = encryptedKeys(tm, mergeKeys);
    checkEncryptedKeys(table, `${namespace}.${tableName}`, keys);
    const staysString = encryptedColumnsStayingString(table, `${namespace}.${tableName}`, tm, ctx.job.mode);
    const documented = columns.map((col) => {
      const c = tm.columns.find((x) => x.name === col.name);
      return c && staysString.has(col.name) ? { ...col, doc: encryptedColumnDoc({ ...c, plaintextType: 'string' }) ?? null } : col;
    });
    /** What the run is warned of once this load has committed rows: the table's state it leaves as it was. */
    const afterCommit = [
      ...(await mixedEncryptionWarnings(table, `${namespace}.${tableName}`, stream, tm, ctx.job.mode)),
      ...textColumnWarnings(table, `${namespace}.${tableName}`, stream, tm, ctx.job.mode),
    ];
    // A first merge into rows another mode wrote: a key they hold twice stays twice unless this batch
    // carries it (QA round 37a F5: a merge after appends left duplicates, and said nothing).
    const writtenBy = lastSummaryValue(table, 'sluice.mode');
    if (ctx.job.mode === 'merge' && writtenBy !== undefined && writtenBy !== 'merge') {
      afterCommit.push(
        `stream ${stream}: ${namespace}.${tableName} was last written by a load in ${writtenBy} mode, which keeps every row of a key; ` +
          `this merge replaces the rows of the keys its batch carries with one each, and leaves other keys' rows as they are, ` +
          'so a key held twice stays twice until a batch carries it. For one row of each key, overwrite the table once (mode overwrite)',
      );
    }
    // Transform wrote the files as this table's data files (field ids, zstd): committed as they are
    // unless the table's schema moved those columns' ids or types since; then they are rewritten.
    const input: WriteInput = { format: 'parquet', files, columns: withoutStaleEncryptionDocs(documented, table), ...(tm.icebergFields ? { icebergFields: tm.icebergFields } : {}), ...(stored ? { stored } : {}) };
    const taskId = loadTaskId(stream);
    const options = {
      runId: ctx.run.id,
      taskId,
      tmpDir: tmp,
      // A cancel that arrives before the commit stops it: a cancelled run loads nothing.
      signal: ctx.signal,
      snapshotProperties: {
        'sluice.job-id': ctx.job.id,
        'sluice.stream': stream,
        'sluice.mode': ctx.job.mode,
        ...(extractStarted ? { [SUMMARY_EXTRACT_STARTED_AT]: extractStarted.toISOString() } : {}),
        ...encryptedKeyProperties(keys),
      },
      // Checked again on each commit attempt: a job that took the table over meanwhile owns it now;
      // another run's load that committed meanwhile is seen in the table (ADR 0019).
      guard: async (m: TableMetadata) => {
        await tableOwnership(ctx, `${namespace}.${tableName}`, m.properties['sluice.job-id']);
        const raced = extractStarted ? tableLoadConflict(m, { jobId: ctx.job.id, runId: ctx.run.id, extractStartedAt: extractStarted, appendIncremental }) : null;
        if (raced === null) return;
        const refusedRace = refusedConflict(raced, ctx.job.mode, appendIncremental);
        if (refusedRace === null) throw new OvertakenLoad(raced);
        throw new UnclearableTaskError(refusalMessage(refusedRace, stream, `${namespace}.${tableName}`));
      },
      ...(ownership === 'own' ? {} : { tableProperties: { 'sluice.job-id': ctx.job.id } }),
    };
    const write = async (): Promise<CommitResult> => {
      switch (ctx.job.mode) {
        case 'append':
          return table.append(input, options);
        case 'overwrite': {
          const before = rowsInTable(table);
          const done = await table.overwrite(input, options);
          // A column of another type replaces the table's; its readers (a view, a model) must hear of it (QA round 47a F3).
          for (const r of done.replacedColumns) {
            await ctx.warnRun(
              `stream ${stream}: column ${r.name} of ${namespace}.${tableName} was replaced, ${r.fromType} by ${r.toType}, as an overwrite does with data of another type ` +
                `(a new field id ${r.fieldId}; earlier snapshots keep the ${r.fromType} column)`,
            );
          }
          if (done.status === 'committed' && tm.rows === 0 && before > 0n) {
            // A full refresh that read nothing (a source whose files are gone, say) empties the table, as
            // Airbyte's overwrite does; it is not silent.
            await ctx.warnRun(`stream ${stream}: the overwrite read no records, so ${namespace}.${tableName} lost its ${before} rows (its earlier snapshots still hold them)`);
          }
          return done;
        }
        case 'merge':
          return table.merge(input, { ...options, keys: mergeKeys, ...mergeOrder }).catch(async (err: unknown) => {
            throw await withNulledKeys(ctx, err, mergeKeys);
          });
        default:
          return assertNever(ctx.job.mode, 'write mode');
      }
    };
    // The state this load saves after its commit is recorded first: a load lost between the two
    // leaves it for the next extract to save, once it sees the commit in the table (ADR 0025).
    if (manifest) await recordPendingState(ctx.prisma, { jobId: ctx.job.id, runId: ctx.run.id, stream, namespace, tableName, taskId }, manifest.state);
    let result: CommitResult;
    try {
      result = await write();
    } catch (err) {
      if (created) await dropIfStillEmpty(deps.catalog, ctx, namespace, tableName);
      // Refused before the write (the table's schema, another run's load seen in its history): no
      // commit of this load will ever hold the state recorded as pending.
      if (manifest && (err instanceof IncompatibleSchemaError || err instanceof ColumnCaseCollisionError || err instanceof UnclearableTaskError || err instanceof OvertakenLoad)) {
        await dropPendingState(ctx.prisma, { jobId: ctx.job.id, runId: ctx.run.id, stream }, manifest.state).catch((dropErr: unknown) =>
          ctx.log.warn(`the pending state this load recorded stays until the next extract settles it: ${errorMessage(dropErr)}`),
        );
      }
      // Another run's load seen in the table's history: no try of this one can commit now.
      if (err instanceof OvertakenLoad || err instanceof UnclearableTaskError) await removeEarlierTriesFiles(ctx, () => Promise.resolve(table), taskId, { superseded: true });
      if (err instanceof OvertakenLoad) return await skipOvertaken(ctx, err.conflict, stream, `${namespace}.${tableName}`);
      const what =
        ctx.job.mode === 'merge'
          ? `stream ${stream}: the merge into ${namespace}.${tableName} (it reads the table's data files that may hold the batch's keys)`
          : `stream ${stream}: the ${ctx.job.mode} into ${namespace}.${tableName}`;
      const outOfMemory = outOfDuckDbMemory(err, what, deps.duckdb?.memoryLimit);
      if (outOfMemory) throw outOfMemory;
      if (err instanceof ColumnCaseCollisionError) {
        throw new NonRetryableTaskError(
          `${err.message}. To load it into ${JSON.stringify(err.tableColumn)}, rename it with a column transformation (new_name ${JSON.stringify(err.tableColumn)}): ${RECREATE_FOR}`,
          { cause: err },
        );
      }
      if (err instanceof IncompatibleSchemaError) {
        // An encrypted column is a string whatever its plaintext: no cast before the encryption
        // makes it the table's type (QA round 29: that advice failed the same way).
        const encrypted = tm.columns.some((c) => c.name === err.column && c.encrypted);
        // A whole-number column the source now declares a number: a cast back fits only while its
        // values stay whole (QA round 31: the cast was the only advice, and fails on a fraction).
        const widened = (err.tableType === 'int' || err.tableType === 'long') && (err.inputType === 'double' || err.inputType === 'float' || err.inputType.startsWith('decimal'));
        const cast = `cast ${JSON.stringify(err.column)} to ${err.tableType} with a column transformation (transformation_type "cast", target_type "${err.tableType}")`;
        // A value the cast would refuse makes that advice wrong for this data (QA round 47a F2:
        // "u1100" as a long); looking for one is advice only, and fails nothing of its own.
        const refused =
          encrypted || widened || !isCastType(err.tableType)
            ? null
            : await valueNotCastingTo(deps.store, tm, err.column, err.tableType, deps.duckdb ?? {}, ctx.signal).catch((lookErr: unknown) => {
                ctx.log.warn(`could not look for a value of ${err.column} that does not read as ${err.tableType}: ${errorMessage(lookErr)}`);
                return null;
              });
        throw new NonRetryableTaskError(
          encrypted
            ? `${err.message}: the job encrypts ${JSON.stringify(err.column)}, and an encrypted column holds strings, so the table's ${err.tableType} column cannot take it. ` +
                `To load it, load into a new table (another schema_name), or overwrite this one (mode overwrite replaces the column with the encrypted one): ${RECREATE_FOR}`
            : widened
              ? `${err.message}. To load it while its values stay whole numbers, ${cast}; once they have fractions, load into a new table, or overwrite this one (mode overwrite replaces the column): ${RECREATE_FOR}`
              : refused !== null
                ? `${err.message}. Its values include ${JSON.stringify(refused)}, which does not read as a ${err.tableType} value, so a cast cannot load them: ` +
                  `load into a new table, or overwrite this one (mode overwrite replaces the column): ${RECREATE_FOR}`
                : // The cast fits only values that read as the table's type (QA round 37a F4: "A1" as a long).
                  `${err.message}. To load it while its values read as ${err.tableType} values, ${cast}; otherwise load into a new table, or overwrite this one (mode overwrite replaces the column): ${RECREATE_FOR}`,
          { cause: err },
        );
      }
      throw err;
    }
    // Merge keeps one row per key of the batch: the rows it left out, and deletions, are not rows loaded.
    const rows = tm.rows - result.mergeDuplicateRows - result.mergeDeletions;
    ctx.log.info(
      result.status === 'no-op'
        ? `nothing to commit to ${namespace}.${tableName} (${ctx.job.mode}): ${tm.rows === 0 ? 'the batch has no rows' : 'the batch changes no row of it'}`
        : `${result.status === 'already-committed' ? 'found the commit of an earlier try of this load:' : 'committed'} ` +
        `${rows} rows to ${namespace}.${tableName} (${ctx.job.mode}${result.snapshotId !== undefined ? `, snapshot ${result.snapshotId}` : ''}${result.schemaChanged ? ', schema evolved' : ''}` +
        `${result.status === 'committed' ? (result.inputFilesAsIs ? `, transform's files as they are${stored ? ', copied within the object store' : ''}` : ', data files rewritten') : ''}` +
        `${result.attempts > 1 ? `; ${conflictsSaid(result)}` : ''})`,
    );
    if (result.status === 'committed' && tm.rows > 0) for (const warning of afterCommit) await ctx.warnRun(warning);
    await removeEarlierTriesFiles(ctx, () => Promise.resolve(table), taskId);
    await expireOldSnapshots(table, ctx);
    if (result.mergeDuplicateRows > 0) {
      const kept = mergeOrder.newestBy !== undefined ? `the newest by the cursor ${mergeOrder.newestBy} (of equal ones, the last read)` : 'the last read';
      ctx.log.warn(
        `${result.mergeDuplicateRows} of the ${tm.rows} rows of this batch were left out: another row had the same merge key ` +
          `(${mergeKeys.join(', ')}), and merge keeps one row of each key: ${kept}`,
      );
    }
    if (result.mergeDeletions > 0) {
      const n = result.mergeDeletions;
      const removed = result.mergeDeletedRows;
      ctx.log.info(
        `${n} ${n === 1 ? 'key' : 'keys'} of this batch ${n === 1 ? 'was' : 'were'} deleted at the source (${mergeOrder.deletedBy ?? CDC_DELETED_AT} set on ${n === 1 ? 'its' : 'their'} newest row): ` +
          `${removed} ${removed === 1 ? 'row' : 'rows'} of ${n === 1 ? 'it' : 'them'} ${removed === 1 ? 'was' : 'were'} in ${namespace}.${tableName}, and ${removed === 1 ? 'is' : 'are'} removed`,
      );
    }
    const schema = table.schema;
    const saveAfterCommit = ctx.prisma.$transaction(async (tx) => {
      const saved = manifest ? await saveStreamState(tx, ctx.job.id, ctx.run.id, stream, manifest.state) : 'none';
      if (deps.datahub && result.snapshotId !== undefined) {
        // Recorded in the outbox with the state, in one transaction; sending never blocks or fails the load.
        const recorded = await deps.datahub.record(tx, {
          kind: 'table_loaded',
          jobId: ctx.job.id,
          jobName: ctx.job.name,
          sourceName: ctx.job.sourceName,
          mode: ctx.job.mode,
          flowUrl: `${deps.publicUrl}/jobs/${ctx.job.id}`,
          runId: ctx.run.id,
          namespace,
          table: tableName,
          rowCount: rows,
          snapshotId: String(result.snapshotId),
          columns: schema.fields.map((f) => ({ name: f.name, icebergType: f.type, nullable: !f.required, ...(f.doc !== undefined ? { description: f.doc } : {}) })),
          ...(ctx.job.mode === 'merge' ? { keyColumns: mergeKeys } : {}),
          domain: ctx.job.domain,
          tags: ctx.job.tags,
          ownerId: ctx.job.ownerId,
          sourceStreams: [stream],
        });
        if (recorded.kind === 'skipped') ctx.log.warn(`DataHub metadata for ${namespace}.${tableName} not recorded: ${recorded.reason}`);
      }
      return saved;
    });
    const savedState = await saveAfterCommit.catch((err: unknown) => {
      throw new Error(
        `${namespace}.${tableName} is loaded, but the stream's connector state could not be saved after it (${errorSummary(err)}): ` +
          "a retry of this load finds its commit and saves it; else the job's next run saves it before it reads the source, so no record is loaded twice",
        { cause: err },
      );
    });
    if (savedState === 'saved') ctx.log.info(`saved the connector state of stream ${stream} for the next run`);
    if (savedState === 'superseded') ctx.log.warn(`the connector state of stream ${stream} was not saved: a run that read the source after this one saved its own meanwhile`);
    await compactSmallFiles(table, ctx, taskId, tmp);
    const output: LoadOutput = {
      namespace,
      table: tableName,
      status: result.status,
      snapshot_id: result.snapshotId !== undefined ? String(result.snapshotId) : null,
      committed_at: result.committedAtMs !== undefined ? new Date(result.committedAtMs).toISOString() : null,
      rows,
      metadata_location: result.metadataLocation,
      schema_changed: result.schemaChanged,
    };
    return { output, rows, bytes: tm.files.reduce((n, f) => n + f.bytes, 0) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
