import { airbyteCatalogSchema, resolveConnector, runExtract, type AirbyteCatalog, type Connector, type ConnectorLogEntry, type ConnectorSpecification } from '@sluice/connectors';
import { z } from 'zod';
import { nulPath } from '@sluice/core/json';
import { NonRetryableTaskError } from '@sluice/core';
import { isLostTryError } from '@sluice/core/states';
import { columnsFromJsonSchema, columnsNoStreamHas, encryptedCursors, tableNameCollision } from '@sluice/core/pipeline';
import { findSecretPaths, undeclaredConfigKeys } from '@sluice/core/secrets';
import { openSourceConfig, sealSourceConfig, type MasterKeyring } from '@sluice/crypto';
import type { DataHubPublisher } from '@sluice/datahub';
import type { IcebergCatalog } from '@sluice/iceberg';
import { errorSummary, recordSpecSecrets, type Prisma } from '@sluice/db';
import type { ObjectStore } from '@sluice/storage';
import type { TaskContext, TaskResult } from '../worker/task-handler.ts';
import { dagShapeFor } from './datahub-dag.ts';
import { usableCheckpoint } from './extract-resume.ts';
import { loadSavedState, settleLostLoads } from './stream-state.ts';
import { storedTransformations } from './transform-stream.ts';

export interface ExtractTaskDeps {
  store: ObjectStore;
  /** Read to settle the states of loads lost between their commit and their save (stream-state.ts). */
  catalog: IcebergCatalog;
  keyring: MasterKeyring;
  connectorsDir: string;
  datahub: DataHubPublisher | null;
  publicUrl: string;
  /** How long a discovered catalog is reused (SLUICE_CATALOG_MAX_AGE_MINUTES); 0: discover on every run. Default CATALOG_MAX_AGE_MS. */
  catalogMaxAgeMs?: number;
}

/**
 * How long a discovered catalog is reused by default before extract discovers again: a day, as
 * Airbyte's platform checks for schema changes at most daily (its DISCOVER_REFRESH_WINDOW_MINUTES),
 * not on every sync. A job whose selected streams are not all in the stored catalog discovers at
 * once, and so does the first run after a run that failed since the catalog was discovered
 * (`failedSinceDiscover`). SLUICE_CATALOG_MAX_AGE_MINUTES sets it; 0 discovers on every run, as
 * PyAirbyte does: a source that sends only its catalog's columns (source-file, database sources)
 * shows a new column only to a discover (QA round 37a F1).
 */
const CATALOG_MAX_AGE_MS = 24 * 3600_000;

/**
 * The stored catalog, when it is younger than `maxAgeMs` and declares every selected stream; else
 * why extract discovers (QA round 37c F3: an aged-out catalog's discover was not said).
 */
function storedCatalog(
  row: { sourceCatalog: unknown; sourceCatalogAt: Date | null; sourceConfigChangedAt: Date | null },
  streams: readonly string[],
  maxAgeMs: number,
): { catalog: AirbyteCatalog } | { why: string } {
  if (row.sourceCatalog == null || row.sourceCatalogAt === null) {
    // A changed source_config drops the catalog it discovered (QA round 49a: "yet" on a job that had run many times).
    return {
      why:
        row.sourceConfigChangedAt === null
          ? 'no catalog is stored for this job yet'
          : `the job's source_config was changed at ${row.sourceConfigChangedAt.toISOString()}, and the catalog discovered with the one before was dropped`,
    };
  }
  if (maxAgeMs === 0) return { why: 'SLUICE_CATALOG_MAX_AGE_MINUTES=0 discovers on every run' };
  if (Date.now() - row.sourceCatalogAt.getTime() >= maxAgeMs) {
    return { why: `the stored catalog was discovered at ${row.sourceCatalogAt.toISOString()}, more than ${ageText(maxAgeMs)} ago (SLUICE_CATALOG_MAX_AGE_MINUTES)` };
  }
  const parsed = airbyteCatalogSchema.safeParse(row.sourceCatalog);
  if (!parsed.success) return { why: 'the stored catalog cannot be read' };
  const names = new Set(parsed.data.streams.map((s) => s.name));
  return streams.every((s) => names.has(s)) ? { catalog: parsed.data } : { why: 'the stored catalog lacks a stream the job selects' };
}

/** The streams of the stored catalog that the one just discovered lacks (none when the stored one cannot be read). */
function streamsNoLongerOffered(stored: unknown, discovered: AirbyteCatalog): string[] {
  const before = airbyteCatalogSchema.safeParse(stored);
  if (!before.success) return [];
  const offered = new Set(discovered.streams.map((s) => s.name));
  return before.data.streams.map((s) => s.name).filter((name) => !offered.has(name));
}

/** The undeclared fields of each stream, leaving out names PostgreSQL cannot store (with the NUL character). */
function withoutNulNames(fields: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(fields).map(([stream, names]) => [stream, names.filter((n) => nulPath(n) === null)]));
}

/** An age as the log says it: whole hours, else minutes. */
function ageText(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
}

/**
 * Why the stored catalog (discovered at `catalogAt`) may be older than the source, told by the job's
 * latest finished run other than this one, when it ended after that discover; null when it tells
 * nothing. That run failed: a column the source has since dropped or renamed may still be declared,
 * and an operator who fixed the source expects the next run to see it, not a day later. Or it
 * staged values that do not fit their columns: the source may have changed a column's type (QA
 * round 27: an integer column then sent fractions), and every run until the next discover would
 * load those values as NULL while its state moves past them.
 */
async function reasonToDiscoverAgain(ctx: TaskContext, catalogAt: Date | null): Promise<string | null> {
  if (catalogAt === null) return null;
  const failedTry = ctx.task.tryNumber > 1 ? await previousTryFailedSince(ctx, catalogAt) : null;
  if (failedTry !== null) return `this extract's try ${failedTry.try_number} failed (started ${failedTry.started_at.toISOString()}) with the catalog discovered at ${catalogAt.toISOString()}, and a catalog older than the source can be why`;
  const latest = await ctx.prisma.dagRun.findFirst({
    where: { jobId: ctx.job.id, id: { not: ctx.run.id }, state: { in: ['success', 'failed'] }, endedAt: { gt: catalogAt } },
    orderBy: { endedAt: 'desc' },
    select: { id: true, state: true, endedAt: true },
  });
  if (!latest?.endedAt) return null;
  const ended = latest.endedAt.toISOString();
  if (latest.state === 'failed') return `the job's previous run failed (${ended}) after its catalog was discovered, and a catalog older than the source can be why`;
  const misfits = await ctx.prisma.$queryRaw<{ stream: string | null }[]>`
    SELECT stream FROM task_instances
     WHERE run_id = ${latest.id}::uuid AND task_type = 'stage' AND state = 'success' AND (output->>'rejected_rows')::bigint > 0
     ORDER BY map_index LIMIT 1`;
  const misfit = misfits[0];
  if (misfit === undefined) return null;
  return `the job's previous run (${ended}) staged values of stream ${misfit.stream ?? '?'} that do not fit their columns' types, and a source that changed a column's type since its catalog was discovered can be why`;
}

/**
 * This extract's latest earlier try, when it failed and started after the catalog was discovered,
 * so read with it. A source that stopped offering a stream of a job that reads all of them fails
 * such a try (the stream gets no status): its retry discovers, and reads the streams offered now (QA
 * round 49b O1: four tries, then the run failed, and only the next run discovered). A try cut short
 * by a graceful stop, or lost with its runner, met nothing of the source's: not one (QA round 53a F3).
 */
async function previousTryFailedSince(ctx: TaskContext, catalogAt: Date): Promise<{ try_number: number; started_at: Date } | null> {
  const [latest] = await ctx.prisma.$queryRaw<{ try_number: number; state: string; counted: boolean | null; started_at: Date; error: string | null }[]>`
    SELECT (t->>'try_number')::int AS try_number, t->>'state' AS state, (t->>'counted')::boolean AS counted, (t->>'started_at')::timestamptz AS started_at, t->>'error' AS error
      FROM task_instances ti, jsonb_array_elements(ti.earlier_tries) t
     WHERE ti.id = ${ctx.task.instanceId}::uuid
     ORDER BY (t->>'try_number')::int DESC LIMIT 1`;
  if (latest === undefined || latest.state !== 'failed' || latest.counted === false || isLostTryError(latest.error)) return null;
  return latest.started_at > catalogAt ? latest : null;
}

/**
 * Beside the stored catalog (`ingestion_jobs.source_catalog`), the fields records carried that the
 * source's schema did not declare at its last discover: seen again within KNOWN_UNDECLARED_TTL_MS
 * of that discover, they do not make extract discover again (a source that always sends one would
 * otherwise discover on every run). Later they do, at most once per that time: a source may have
 * come to declare them, and until it is seen to, their values are not loaded (QA round 23: a day).
 */
const UNDECLARED_KEY = 'sluice_undeclared_fields';
const KNOWN_UNDECLARED_TTL_MS = 3600_000;
const undeclaredFieldsSchema = z.record(z.string(), z.array(z.string())).catch({});

function knownUndeclared(stored: unknown): Record<string, string[]> {
  return stored !== null && typeof stored === 'object' ? undeclaredFieldsSchema.parse((stored as Record<string, unknown>)[UNDECLARED_KEY]) : {};
}

/**
 * Writes `data` onto the job only while its config is still `sealed`, the one this try read (or
 * saved): what a try learns from a config belongs to that config, and a config replaced since
 * (PATCH) came with its own. Answers whether it was written.
 */
async function writeWithConfig(ctx: TaskContext, sealed: string, data: Prisma.IngestionJobUpdateManyMutationInput): Promise<boolean> {
  const written = await ctx.prisma.ingestionJob.updateMany({ where: { id: ctx.job.id, sourceConfigEncrypted: sealed }, data });
  return written.count === 1;
}

/**
 * A job created where its connector's spec could not be read has its secrets found by key name
 * only, and the API masks every string of its config meanwhile. Its first run, which has the spec,
 * adds the fields the spec alone marks `airbyte_secret` (e.g. `service_account_info`) to the job's
 * secret paths and marks its secrets known (unless the API did so first, when the spec came); and
 * each run warns of config keys the spec does not declare.
 */
async function learnFromSpec(
  ctx: TaskContext,
  connector: Connector,
  config: Record<string, unknown>,
  job: { sealed: string; secretPaths: readonly string[]; specSecretsKnown: boolean },
): Promise<void> {
  let spec: ConnectorSpecification;
  try {
    spec = await connector.spec();
  } catch {
    return; // the read below needs the spec too, and says what is wrong with it
  }
  // A key the spec does not declare is most often a typo the connector ignores, reading its default
  // instead: said in the run's warnings (QA round 35c F2: a job created while its connector
  // installed, unchecked, loaded the default 1,000 rows for a misspelt "count").
  const keys = undeclaredConfigKeys(config, spec);
  if (keys !== null && keys.undeclared.length > 0) {
    const { declared, undeclared } = keys;
    await ctx.warnRun(
      `source_config: ${undeclared.join(', ')} ${undeclared.length === 1 ? 'is' : 'are'} not in ${ctx.job.sourceName}'s spec, whose properties are ${Object.keys(declared).join(', ')}: ` +
        `the connector may not read ${undeclared.length === 1 ? 'it' : 'them'} (a misspelt key leaves its setting at the default)`,
    );
  }
  const added = await recordSpecSecrets(ctx.prisma, { id: ctx.job.id, ...job }, findSecretPaths(config, spec));
  if (added !== null && added.length > 0) ctx.log.info(`the connector's spec marks more fields of source_config as secrets (${added.join(', ')}): API answers mask them from now on`);
}

/**
 * A transformation without `stream` applies where its column is; one that no extracted stream has
 * does nothing. The API refuses that when it can see the catalog at create; this is the run-time
 * check for jobs it could not see: an encryption that matches no column would load the real
 * column in plaintext, so it fails the run before any load; a rename, cast or drop is a warning.
 */
function checkTransformationsMatch(ctx: TaskContext, extracted: readonly { name: string; jsonSchema: Record<string, unknown> }[]): void {
  const transformations = storedTransformations.parse(ctx.job.columnTransformations);
  const known = extracted.map((s) => ({ stream: s.name, columns: columnsFromJsonSchema(s.jsonSchema).map((c) => c.name) }));
  const encrypting: string[] = [];
  transformations.forEach((t, i) => {
    // core's rule, one transformation at a time, so that its index is known.
    const [issue] = columnsNoStreamHas(known, [t]);
    if (!issue) return;
    const said = `column_transformations[${i}].column: ${issue.message}`;
    if (t.encryptionKeyName !== null) encrypting.push(said);
    else ctx.log.warn(`${said}; it changes nothing`);
  });
  if (encrypting.length > 0) {
    throw new NonRetryableTaskError(
      `${encrypting.join('; ')}: an encryption that matches no column would leave the real column in plaintext, so nothing is loaded (fix the column name)`,
    );
  }
}

export interface ExtractOutput {
  manifestKey: string;
  streams: { name: string; records: number; bytes: number }[];
  /** Streams not read to the end on the last try of a failed read (ADR 0022): not loaded, the run fails. */
  unread: { name: string; error: string }[];
  /**
   * Whether this try discovered the source (the streams' schemas are the source's now), rather than
   * reading with the catalog stored by an earlier run: a value that does not fit a stored catalog's
   * type may be the source's new type, not a bad value (load-task.ts).
   */
  discovered: boolean;
  /**
   * The connector's failure after it reported every stream COMPLETE (the manifest's `failure`),
   * which archive fails the run with; kept here too for an archive retry that finds the manifest
   * deleted by its earlier try. Null when the read ended well.
   */
  failure: string | null;
}

/**
 * extract: resolves (installing when needed) the job's connector, reads the selected streams with
 * the saved state, and stages raw records under `staging/{run}/raw/`. Its result maps stage,
 * transform and load over the streams it extracted. The config is decrypted here, from PostgreSQL,
 * and never leaves this process.
 */
export async function extractTask(deps: ExtractTaskDeps, ctx: TaskContext): Promise<TaskResult> {
  const row = await ctx.prisma.ingestionJob.findUnique({
    where: { id: ctx.job.id },
    select: { sourceConfigEncrypted: true, sourceCatalog: true, sourceCatalogAt: true, sourceConfigChangedAt: true, secretPaths: true, specSecretsKnown: true },
  });
  if (!row) throw new NonRetryableTaskError(`job ${ctx.job.id} no longer exists`);
  const config = openSourceConfig(deps.keyring, ctx.job.id, row.sourceConfigEncrypted);
  /** The sealed config this try read, or the connector's update of it this try saved. */
  let sealedConfig = row.sourceConfigEncrypted;
  const onLog = (e: ConnectorLogEntry): void => {
    ctx.log.log(e.level, e.message, { origin: e.origin });
  };
  const connector = await resolveConnector(ctx.job.sourceName, {
    version: ctx.job.sourceVersion,
    connectorsDir: deps.connectorsDir,
    onLog,
    // A cancel, or this runner stopping, stops an install under way too.
    signal: ctx.signal,
  });
  await learnFromSpec(ctx, connector, config, { sealed: row.sourceConfigEncrypted, secretPaths: row.secretPaths, specSecretsKnown: row.specSecretsKnown });
  await settleLostLoads(deps.catalog, ctx);
  const state = ctx.job.mode === 'overwrite' ? [] : await loadSavedState(ctx.prisma, ctx.job.id);
  const resume = await usableCheckpoint(ctx, deps.store, state);
  const rediscover = await reasonToDiscoverAgain(ctx, row.sourceCatalogAt);
  const maxAgeMs = deps.catalogMaxAgeMs ?? CATALOG_MAX_AGE_MS;
  const reuse = rediscover === null ? storedCatalog(row, ctx.job.streams, maxAgeMs) : null;
  const stored = reuse !== null && 'catalog' in reuse ? reuse.catalog : undefined;
  if (rediscover !== null) ctx.log.info(`discovering the source again: ${rediscover}`);
  else if (reuse !== null && 'why' in reuse) ctx.log.info(`discovering the source: ${reuse.why}`);
  if (stored) ctx.log.info(`using the catalog discovered at ${row.sourceCatalogAt?.toISOString() ?? ''} (discovered again once it is ${ageText(maxAgeMs)} old: SLUICE_CATALOG_MAX_AGE_MINUTES)`);
  /** The connector's refreshed configs being saved, one after the other (onControlConfig). */
  let controlConfigs: Promise<void> = Promise.resolve();
  const result = await runExtract({
    connector,
    config,
    streams: ctx.job.streams,
    mode: ctx.job.mode,
    state,
    ...(resume ? { resume } : {}),
    // On the last try, streams read to the end before a failure are loaded (ADR 0022).
    lastTry: ctx.task.tryNumber >= ctx.task.maxTries,
    ...(stored ? { catalog: stored } : {}),
    ...(stored && Date.now() - (row.sourceCatalogAt?.getTime() ?? 0) <= KNOWN_UNDECLARED_TTL_MS ? { knownUndeclaredFields: knownUndeclared(row.sourceCatalog) } : {}),
    store: deps.store,
    runId: ctx.run.id,
    signal: ctx.signal,
    // A try declared lost (its runner frozen a while) must leave the retry's staging alone.
    stillCurrent: () => ctx.stillCurrent(),
    // The API refuses it when it can see the catalog at create; this is the check for jobs it could not see.
    refuseRead: (reads) => {
      const encrypted = encryptedCursors(reads, storedTransformations.parse(ctx.job.columnTransformations));
      return encrypted.length === 0 ? null : `${encrypted.map((e) => `column_transformations[${e.index}] ${e.message}`).join('; ')}. Nothing is read: re-create the job without that encryption (its saved state can be carried over)`;
    },
    onLog,
    onProgress: (p) => ctx.progress({ rows: p.records, bytes: p.bytes }),
    onControlConfig: (updated) => {
      // A connector handed back a refreshed config (e.g. a rotated OAuth token): keep it,
      // encrypted — unless the job's config was replaced (PATCH) since this try read it: the
      // operator's config wins over one derived from the config it replaced. Saved in order, each
      // waiting for PostgreSQL when it is away (the token may be the only one that works now), while
      // the read goes on; the try ends once they are saved.
      const save = async (): Promise<void> => {
        const next = sealSourceConfig(deps.keyring, ctx.job.id, updated);
        if (await ctx.whenReachable("the connector's updated configuration", () => writeWithConfig(ctx, sealedConfig, { sourceConfigEncrypted: next, sourceConfigChangedAt: new Date() }))) {
          sealedConfig = next;
          ctx.log.info('the connector updated its configuration; the new one is saved for the next runs');
        } else {
          ctx.log.warn("the connector updated its configuration, but the job's source_config was changed since this try read it: the connector's update is not saved, the changed source_config is kept");
        }
      };
      controlConfigs = controlConfigs.then(() => save().catch((err: unknown) => ctx.log.error(`the connector's updated configuration was not saved: ${errorSummary(err)}`)));
    },
  });
  await controlConfigs;
  if (result.status === 'failed') throw result.failure.error;
  // PostgreSQL stores no NUL character: a field named with one failed each try on the catalog's
  // write, as a raw database error (QA round 49b D4).
  const nulAt = result.discoveredCatalog ? nulPath(result.discoveredCatalog) : null;
  if (nulAt !== null) {
    const stream = /^streams\[(\d+)\]/.exec(nulAt);
    const name = stream ? result.discoveredCatalog?.streams[Number(stream[1])]?.name : undefined;
    throw new NonRetryableTaskError(
      `the catalog ${ctx.job.sourceName} discovered holds the NUL character (U+0000) at ${nulAt}${name === undefined ? '' : ` (stream ${JSON.stringify(name)})`}, ` +
        'which PostgreSQL cannot store (a field named with it, say): nothing is loaded until the source sends none, or the job leaves that stream out',
    );
  }
  // What follows writes to PostgreSQL after the records are read: an outage now waits for it
  // (ctx.whenReachable; warnRun does too) rather than failing the try, whose retry would read them again.
  if (result.discoveredCatalog) {
    const discovered = result.discoveredCatalog;
    // A config replaced since (PATCH) dropped the cached catalog; the next extract discovers with it.
    const kept = await ctx.whenReachable('the catalog discovered', () =>
      writeWithConfig(ctx, sealedConfig, {
        // A name with the NUL character cannot be stored: such a field is found undeclared again (and discovered for) at its next sighting.
        sourceCatalog: { ...discovered, [UNDECLARED_KEY]: withoutNulNames(result.undeclaredFields) } as unknown as Prisma.InputJsonValue,
        sourceCatalogAt: new Date(),
      }),
    );
    if (!kept) ctx.log.info("the catalog discovered is not kept: the job's source_config was changed since this try read it, and the next extract discovers with it");
    const gone = ctx.job.streams.length === 0 ? streamsNoLongerOffered(row.sourceCatalog, discovered) : [];
    if (gone.length > 0) {
      const many = gone.length > 1;
      await ctx.warnRun(
        `${ctx.job.sourceName} no longer offers ${many ? 'streams' : 'stream'} ${gone.join(', ')}, which its catalog discovered at ${row.sourceCatalogAt?.toISOString() ?? 'an earlier run'} had: ` +
          `this run does not read ${many ? 'them' : 'it'}, and ${many ? 'their tables stay' : 'its table stays'} as the last load left ${many ? 'them' : 'it'}`,
      );
    }
  }
  const streams = result.manifest.streams.map((s) => ({ name: s.name, records: s.records, bytes: s.bytes }));
  const unread = result.manifest.unread;
  // The API refuses such a selection when it can see the catalog; a job that selects all streams
  // of a source whose catalog changed (or was not seen) gets here: no stream is loaded over another.
  const collision = tableNameCollision([...streams, ...unread].map((s) => s.name));
  if (collision) throw new NonRetryableTaskError(`${collision}; the job's "streams" must name them`);
  checkTransformationsMatch(ctx, [...result.manifest.streams, ...unread]);
  // Each unread stream is mapped too: its stage fails, saying why, and so does the run.
  const mapped = [...streams, ...unread].map((s) => s.name);
  if (result.status === 'partial' && unread.length === 0) {
    await ctx.warnRun(
      `the connector failed (${result.failure.message}) after it reported every stream COMPLETE: ${streams.map((s) => s.name).join(', ')} ${streams.length > 1 ? 'are' : 'is'} loaded, ` +
        'with the state the connector sent, and the run fails at its archive so that the failure is seen. What that state does not cover (such as a file the source could not read) ' +
        'the next run reads again: an append job loads again any of its records this run loaded',
    );
  } else if (result.status === 'partial') {
    await ctx.warnRun(
      `the connector failed on the extract's last try (${result.failure.message}) after it read ${streams.map((s) => s.name).join(', ')} to the end: ` +
        `${streams.length > 1 ? 'they are' : 'it is'} loaded; ${unread.map((u) => u.name).join(', ')} ${unread.length > 1 ? 'are' : 'is'} not, and the next run reads ${unread.length > 1 ? 'them' : 'it'} again (from the saved state, where there is one)`,
    );
  }
  for (const [stream, r] of Object.entries(result.repairs)) {
    if (r.nonFinite > 0) {
      await ctx.warnRun(
        `stream ${stream}: ${r.nonFinite} values were NaN, Infinity or -Infinity (Python's non-finite floats, which JSON has no words for): a number column loads them as those values, a column of another type as its text or NULL`,
      );
    }
    if (r.loneSurrogates > 0) {
      await ctx.warnRun(`stream ${stream}: ${r.loneSurrogates} strings held half of a UTF-16 surrogate pair (a cut-off character); each such half is loaded as U+FFFD (�)`);
    }
  }
  if (result.unreadableRecords > 0) {
    await ctx.warnRun(`${result.unreadableRecords} RECORD lines of ${ctx.job.sourceName} were not JSON and were dropped: those records are not loaded`);
  }
  if (result.malformedRecords > 0) {
    await ctx.warnRun(
      `${result.malformedRecords} RECORD messages of ${ctx.job.sourceName} had no stream, or data that is not an object (as the Airbyte protocol's is), and were dropped: those records are not loaded`,
    );
  }
  // Where a data engineer looks, not only in the extract's log (QA round 27).
  // Without a discover in this try the schema is the stored catalog's, which may be older than the
  // source's (QA round 49b D3: the run said the source does not declare a field its schema now did).
  const schemaSeenNow = stored === undefined || result.discoveredCatalog !== null;
  for (const [stream, fields] of Object.entries(result.undeclaredFields)) {
    if (fields.length === 0) continue;
    const what = `stream ${stream}: records carry ${fields.length === 1 ? 'a field' : 'fields'}`;
    await ctx.warnRun(
      schemaSeenNow
        ? `${what} the source's schema does not declare (${fields.join(', ')}), whose values are not loaded`
        : `${what} the source's schema did not declare at its last discover (${fields.join(', ')}, at ${row.sourceCatalogAt?.toISOString() ?? 'an earlier run'}), ` +
            'whose values are not loaded; the source is discovered again when they are seen an hour or more after that discover, or by the next run after a PATCH of the job\'s source_config',
    );
  }
  // The connector run said the total; with one stream that is the stream's.
  if (streams.length > 1) for (const s of streams) ctx.log.info(`extracted ${s.records} records (${s.bytes} bytes) from stream ${s.name}`);
  if (deps.datahub) {
    // Now that the streams are known, the DAG's shape (with each load's output table) goes to DataHub.
    // Not for a job deleted meanwhile: its flow was marked removed. The job's row is locked (shared)
    // so that a delete either comes first (nothing is recorded) or marks removed what is recorded here.
    const shape = dagShapeFor(ctx.job, mapped, deps.publicUrl);
    const recorded = await ctx.whenReachable("the DAG's DataHub metadata", () =>
      ctx.prisma.$transaction(async (tx) => {
        const [job] = await tx.$queryRaw<{ is_deleted: boolean }[]>`SELECT is_deleted FROM ingestion_jobs WHERE id = ${ctx.job.id}::uuid FOR SHARE`;
        if (job?.is_deleted !== false) return undefined;
        return deps.datahub?.record(tx, shape);
      }),
    );
    if (recorded?.kind === 'skipped') ctx.log.warn(`DataHub metadata for the DAG not recorded: ${recorded.reason}`);
  }
  const output: ExtractOutput = {
    manifestKey: result.manifestKey,
    streams,
    unread: unread.map((u) => ({ name: u.name, error: u.error })),
    discovered: result.discoveredCatalog !== null,
    failure: result.manifest.failure,
  };
  return {
    output,
    rows: result.progress.records,
    bytes: result.progress.bytes,
    mappedStreams: mapped,
  };
}
