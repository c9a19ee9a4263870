import { randomUUID } from 'node:crypto';
import { ConflictError, ConnectorConfigError, PreconditionFailedError, ConnectorNotFoundError, ForbiddenError, NotFoundError, UnprocessableError, ValidationError, errorMessage, type FieldIssue } from '@sluice/core';
import {
  checkSchedule,
  parseCreateIngestJob,
  parseMergeKeys,
  queriedTry,
  refuseDefinitionChanges,
  type IngestJobSpec,
  type ImportedState,
  type JobStateView,
  type JobStatusView,
  type JobView,
  type ListJobsQuery,
  type ListRunsQuery,
  type TaskLogQuery,
  type TaskLogTextQuery,
  type RunSummaryView,
  type RunView,
  type StateResetView,
  type TaskLogView,
  type UpdateJobRequest,
} from '@sluice/core/contract';

/** Log lines read per query while a try's log is written out as text. */
const LOG_TEXT_PAGE = 5000;
import { openSourceConfig, refuseForeignSeal, sealSourceConfig, type EncryptionKeyStore, type MasterKeyring } from '@sluice/crypto';
import { getRunWarnings, insertJobRemoval } from '@sluice/datahub';
import { errorSummary, isUniqueViolation, listPendingStreamStates, listStreamStates, Prisma, recordSpecSecrets, replaceStreamStates, resetStreamStates, StateChangeRefused, type IngestionJobModel, type PrismaClient } from '@sluice/db';
import { configSecrets, REDACTED, type Logger } from '@sluice/logging';
import { owns, requireScope, type Principal } from '../auth/principal.ts';
import type { JobEngine } from '../engine-port.ts';
import { canonicalSchedule } from '@sluice/core/cron';
import { canonicalJson } from '@sluice/core/json';
import { findSecretPaths, pathsToMask, secretValues, valueAt, type ConnectorSpec } from '@sluice/core/secrets';
import type { ColumnTransformation } from '@sluice/core/pipeline';
import { FINISHED_TASK_STATES, queuedRunWait, type RunState } from '@sluice/core/states';
import { settingsVersion } from './settings-version.ts';
import { IDEMPOTENCY_HEADER, requestDigest } from './idempotency.ts';
import { maskSecrets, masksInNewConfig, restoreMaskedSecrets } from './mask-secrets.ts';
import { savedCatalogStreams, statesAgainstCatalog, validateAgainstCatalog, type DiscoverCatalog, type SourceCatalog } from './validate-against-catalog.ts';
import { configKeysHint, validateSourceConfig, type CheckConnection, type GetConnectorSpec } from './validate-source-config.ts';
import { flowUrl, jobStatusView, jobView, runSummaryView, runView } from './views.ts';

/** What a run started while Redis is away waits for. */
const REDIS_AWAY_WAIT = 'Redis is unreachable: its first tasks are queued, and run, once it is back.';

export interface JobServiceDeps {
  prisma: PrismaClient;
  engine: JobEngine;
  keyring: MasterKeyring;
  keys: EncryptionKeyStore;
  logger: Logger;
  publicUrl: string;
  getConnectorSpec?: GetConnectorSpec | undefined;
  discoverCatalog?: DiscoverCatalog | undefined;
  checkConnection?: CheckConnection | undefined;
}

/**
 * Runs `fn` with `values` registered for log masking (before anything, a connector's discover
 * included, could log them). If it fails, the values this call registered are taken back: a
 * refused request must not leave its values masked in the process's log lines, where any caller
 * could blank out words of other jobs' lines.
 */
async function withSecretsRegistered<T>(values: readonly string[], fn: () => Promise<T>): Promise<T> {
  const added = values.filter((v) => configSecrets.add(v));
  try {
    return await fn();
  } catch (err) {
    for (const v of added) configSecrets.remove(v);
    throw err;
  }
}

/** How long a job created without its connector's spec waits for it in the background (#learnSecretsLater). */
const LATE_SPEC_WAIT_MS = 5 * 60_000;
/**
 * How long a refused config's hint waits for a spec the request went on without (an install that
 * ended meanwhile has it read now): a little, not the budget again (QA round 39a F1: a create
 * refused by its check took 40 s with a slow spec).
 */
const HINT_SPEC_WAIT_MS = 2_000;
/** How long after a background spec lookup got nothing another is not made (answers of the connector's jobs would each start one). */
const SPEC_LOOKUP_PAUSE_MS = 60_000;

/** The response header of a create that names the connector checks its job's first run makes instead. */
export const UNCHECKED_HEADER = 'Sluice-Unchecked';

/**
 * A create's answer: the job, whether an earlier request with the same idempotency key made it
 * (`replayed`), and what of the connector's checks could not be made in time (`spec`, `catalog`,
 * `connection`), which the job's first run makes instead.
 */
export interface CreatedJob {
  jobId: string;
  flowUrl: string;
  replayed: boolean;
  unchecked: readonly ConnectorCheck[];
}

/** The checks of a job against its connector that a create or a config change may go on without, in the order they are said. */
const CONNECTOR_CHECKS = ['spec', 'catalog', 'connection'] as const;
export type ConnectorCheck = (typeof CONNECTOR_CHECKS)[number];
const isConnectorCheck = (s: string): s is ConnectorCheck => (CONNECTOR_CHECKS as readonly string[]).includes(s);

/**
 * Ingestion jobs, their runs and task instances as the API offers them, with owner isolation:
 * a caller who is not admin finds only its own jobs (anything else is "not found").
 * Knows nothing of HTTP; answers the contract's views.
 */
export class JobService {
  readonly #log: Logger;
  /** Connectors whose spec this process is looking up in the background (#learnSecretsLater). */
  readonly #learning = new Set<string>();
  /** When a background spec lookup of a connector last got nothing. */
  readonly #specLookupFailedAt = new Map<string, number>();

  constructor(private readonly d: JobServiceDeps) {
    this.#log = d.logger.child({ component: 'api.jobs' });
  }

  /**
   * `POST /api/airbyte/ingest`: validates, stores the job and its DAG in one transaction, registers
   * the schedule. With an idempotency key, a create this owner already made with that key is
   * answered again (`replayed`) without validating or storing anything; the same key with a
   * different request is refused.
   */
  async create(p: Principal, body: unknown, idempotencyKey: string | null = null): Promise<CreatedJob> {
    requireScope(p, 'sluice:write');
    const spec = parseCreateIngestJob(body);
    if (spec.ownerId !== null && spec.ownerId !== p.subject && !p.admin) {
      throw new ForbiddenError('owner_id: only an admin may create a job for another owner');
    }
    const ownerId = spec.ownerId ?? p.subject;
    const digest = idempotencyKey === null ? null : requestDigest(spec, ownerId);
    if (idempotencyKey !== null && digest !== null) {
      const earlier = await this.#earlierCreate(ownerId, idempotencyKey, digest, spec.sourceConfig);
      if (earlier) return earlier;
    }
    const connectorSpec = await this.#connectorSpec(spec.sourceName);
    if (connectorSpec === 'missing') {
      throw new ValidationError([{ path: 'source_name', message: `no connector "${spec.sourceName}": not on PATH, and pip's index has no package airbyte-${spec.sourceName} (nor Docker to run an image)` }]);
    }
    const secretPaths = findSecretPaths(spec.sourceConfig, connectorSpec);
    return withSecretsRegistered(secretValues(spec.sourceConfig, secretPaths), () => this.#checkAndStore(p, spec, ownerId, connectorSpec, secretPaths, idempotencyKey, digest));
  }

  /** The rest of a create, once the config's secrets are registered for masking. */
  async #checkAndStore(
    p: Principal,
    spec: IngestJobSpec,
    ownerId: string,
    connectorSpec: ConnectorSpec | undefined,
    secretPaths: string[],
    idempotencyKey: string | null,
    digest: string | null,
  ): Promise<CreatedJob> {
    // The config's own issues: with any, the connector is not asked about it.
    const configIssues = [...masksInNewConfig(spec.sourceConfig), ...(connectorSpec ? validateSourceConfig(spec.sourceConfig, connectorSpec) : [])];
    const issues: FieldIssue[] = [...configIssues];

    const keyNames = [...new Set(spec.columnTransformations.flatMap((t) => (t.encryptionKeyName === null ? [] : [t.encryptionKeyName])))];
    const usable = await this.#usableKeys(p, keyNames);
    spec.columnTransformations.forEach((t, i) => {
      if (t.encryptionKeyName !== null && !usable.has(t.encryptionKeyName)) {
        issues.push({
          path: `column_transformations[${i}].encryption_key_name`,
          message: `encryption key "${t.encryptionKeyName}" does not exist (create it with POST /api/encryption-keys)`,
        });
      }
    });
    // The catalog needs a valid config; only then are discover and check worth running. A missing
    // key does not stop them: the stream and column issues are named with it (QA round 48b D4).
    let unchecked: ConnectorCheck[] = [];
    if (configIssues.length === 0) {
      const { catalog, connectionChecked } = await this.#tryConfig(spec.sourceName, spec.sourceConfig, connectorSpec);
      if (catalog) issues.push(...validateAgainstCatalog(spec, catalog));
      unchecked = this.#unchecked(connectorSpec, catalog, connectionChecked);
    }
    if (issues.length > 0) throw new ValidationError(issues);

    await refuseForeignSeal(this.d.prisma, this.d.keyring);
    const id = randomUUID();
    try {
      await this.#store(id, spec, ownerId, { secretPaths, specSecretsKnown: connectorSpec !== undefined, unchecked }, idempotencyKey, digest);
    } catch (err) {
      // The same key's create committed while this one was validating: answer that one.
      if (idempotencyKey !== null && digest !== null && isUniqueViolation(err)) {
        const earlier = await this.#earlierCreate(ownerId, idempotencyKey, digest, spec.sourceConfig);
        if (earlier) return earlier;
      }
      throw err;
    }
    this.#log.info('ingestion job created', { jobId: id, source: spec.sourceName, owner: ownerId, scheduled: spec.schedule !== null });
    await this.#syncSchedule(id);
    if (connectorSpec === undefined && this.d.getConnectorSpec) void this.#learnSecretsLater(spec.sourceName);
    return { jobId: id, flowUrl: flowUrl(this.d.publicUrl, id), replayed: false, unchecked };
  }

  /**
   * A job created (or given a new config) without its connector's spec (the spec came later than
   * the request waited, as on a connector's first use) has only the secrets its key names show,
   * and answers mask every string of its config meanwhile (`spec_secrets_known` false). The lookup
   * goes on in the background, one per connector at a time: once the spec comes, for each job of
   * that connector still without it, the fields the spec marks `airbyte_secret` are added to its
   * secret paths and the rest of its config is shown, from then on, not from its first run (QA
   * round 37b F2). Only while a job still has the config read here (`recordSpecSecrets`). A lookup
   * that got nothing is not made again for a minute; the jobs' runs read the spec too.
   */
  async #learnSecretsLater(sourceName: string): Promise<void> {
    const failedAt = this.#specLookupFailedAt.get(sourceName);
    if (this.#learning.has(sourceName) || (failedAt !== undefined && Date.now() - failedAt < SPEC_LOOKUP_PAUSE_MS)) return;
    this.#learning.add(sourceName);
    try {
      // Patient, as a run's extract is: a spec command that takes longer than a create waits is let finish (QA round 37c F2).
      const spec = await this.#connectorSpec(sourceName, { waitMs: LATE_SPEC_WAIT_MS });
      if (spec === undefined || spec === 'missing') {
        this.#specLookupFailedAt.set(sourceName, Date.now());
        return;
      }
      this.#specLookupFailedAt.delete(sourceName);
      const jobs = await this.d.prisma.ingestionJob.findMany({ where: { sourceName, specSecretsKnown: false, isDeleted: false } });
      for (const job of jobs) {
        if (this.#unopenable(job) !== null) continue;
        const config = openSourceConfig(this.d.keyring, job.id, job.sourceConfigEncrypted);
        const found = findSecretPaths(config, spec);
        for (const v of secretValues(config, found)) configSecrets.add(v);
        const added = await recordSpecSecrets(this.d.prisma, { id: job.id, sealed: job.sourceConfigEncrypted, secretPaths: job.secretPaths, specSecretsKnown: job.specSecretsKnown }, found);
        if (added === null) continue;
        this.#log.info(
          `the connector's spec came after job ${job.id}'s config was stored: ${added.length === 0 ? 'it marks no other field' : `its secrets ${added.join(', ')} are masked,`} and the rest of source_config is shown from now on`,
          { jobId: job.id, source: sourceName },
        );
      }
    } catch (err) {
      this.#log.warn("a late connector spec's secrets were not added to its jobs; their runs add them", { source: sourceName, error: errorMessage(err) });
    } finally {
      this.#learning.delete(sourceName);
    }
  }

  /** The job row and its DAG, in one transaction. */
  async #store(
    id: string,
    spec: IngestJobSpec,
    ownerId: string,
    { secretPaths, specSecretsKnown, unchecked }: { secretPaths: string[]; specSecretsKnown: boolean; unchecked: readonly ConnectorCheck[] },
    idempotencyKey: string | null,
    digest: string | null,
  ): Promise<void> {
    await this.d.prisma.$transaction(async (tx) => {
      await tx.ingestionJob.create({
        data: {
          id,
          name: spec.name,
          sourceName: spec.sourceName,
          sourceConfigEncrypted: sealSourceConfig(this.d.keyring, id, spec.sourceConfig),
          secretPaths,
          specSecretsKnown,
          createUnchecked: [...unchecked],
          schemaName: spec.schemaName,
          mode: spec.mode,
          streams: spec.streams,
          mergeKeys: spec.merge,
          schedule: spec.schedule,
          timezone: spec.timezone,
          catchup: spec.catchup,
          maxActiveRuns: spec.maxActiveRuns,
          domain: spec.domain,
          tags: spec.tags,
          ownerId,
          columnTransformations: spec.columnTransformations as unknown as Prisma.InputJsonValue,
          archiveStaging: spec.archiveStaging,
          addIngestionMetadata: spec.addIngestionMetadata,
          idempotencyKey,
          requestDigest: digest,
        },
      });
      await this.d.engine.writeJobDag(tx, id);
    });
  }

  /**
   * The job this owner created with `key`, when there is one (deleted or not, as the key named
   * it): its answer again if the request is the same, else a refusal that names the job.
   */
  async #earlierCreate(ownerId: string, key: string, digest: string, sourceConfig: Record<string, unknown>): Promise<CreatedJob | undefined> {
    const job = await this.d.prisma.ingestionJob.findUnique({
      where: { ownerId_idempotencyKey: { ownerId, idempotencyKey: key } },
      select: { id: true, requestDigest: true, sourceConfigEncrypted: true, sourceConfigChangedAt: true, createUnchecked: true },
    });
    if (!job) return undefined;
    // Once the config changed after the create (PATCH, a connector's refresh), the stored one is
    // not what the create sent: the rest of the request (its digest) tells a retry then.
    const same =
      job.requestDigest === digest &&
      (job.sourceConfigChangedAt !== null || canonicalJson(openSourceConfig(this.d.keyring, job.id, job.sourceConfigEncrypted)) === canonicalJson(sourceConfig));
    if (!same) {
      throw new UnprocessableError(
        `${IDEMPOTENCY_HEADER} "${key}" was used to create job ${job.id} with a different request: send a new key for a new job, or the same request to get that job's answer`,
      );
    }
    this.#log.info('ingestion job create repeated; answered the job its idempotency key made', { jobId: job.id, owner: ownerId });
    // The replay says what the create said: a client that timed out on a slow, unchecked create
    // and retried learns that its job was stored unchecked (QA round 40c F3).
    const unchecked = job.createUnchecked.filter(isConnectorCheck);
    return { jobId: job.id, flowUrl: flowUrl(this.d.publicUrl, job.id), replayed: true, unchecked };
  }

  async list(p: Principal, q: ListJobsQuery): Promise<{ jobs: JobView[]; total: number; limit: number; offset: number }> {
    requireScope(p, 'sluice:read');
    const and: Prisma.IngestionJobWhereInput[] = [];
    if (!p.admin) and.push({ ownerId: p.subject });
    if (q.owner_id !== undefined) and.push({ ownerId: q.owner_id });
    if (q.status !== undefined) and.push({ status: q.status });
    // A substring as typed: LIKE's wildcards (and its escape) in it are matched as themselves.
    if (q.name !== undefined) and.push({ name: { contains: q.name.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' } });
    if (q.include_deleted !== true) and.push({ isDeleted: false });
    const where: Prisma.IngestionJobWhereInput = { AND: and };
    const [rows, total] = await Promise.all([
      this.d.prisma.ingestionJob.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: q.limit, skip: q.offset }),
      this.d.prisma.ingestionJob.count({ where }),
    ]);
    return { jobs: rows.map((j) => this.#view(j)), total, limit: q.limit, offset: q.offset };
  }

  async get(p: Principal, jobId: string): Promise<JobView> {
    requireScope(p, 'sluice:read');
    return this.#view(await this.#job(p, jobId));
  }

  /** `GET /api/jobs/{job_id}`: the platform's status fields. */
  async status(p: Principal, jobId: string): Promise<JobStatusView> {
    requireScope(p, 'sluice:read');
    return jobStatusView(await this.#job(p, jobId), this.d.publicUrl);
  }

  /**
   * Changes the schedule, its time zone, catch-up, or pauses/resumes (the engine then re-syncs the
   * schedule); and replaces the connector's configuration, checked as a create's is
   * ({@link #checkSourceConfig}). The job's saved state, runs and tables stay: a try of extract
   * that starts after the change uses the new configuration, one under way finishes with the old.
   */
  async update(p: Principal, jobId: string, body: UpdateJobRequest, ifMatch: readonly string[] | null = null): Promise<{ view: JobView; unchecked: ConnectorCheck[] }> {
    requireScope(p, 'sluice:write');
    const job = await this.#job(p, jobId);
    if (job.isDeleted) throw new ConflictError(`job ${jobId} is deleted`);
    if (ifMatch !== null && !ifMatch.includes(settingsVersion(job))) throw staleChange(jobId);
    // A field of the job's definition sent back as GET answered it is no change (QA round 48b D5: it was refused).
    refuseDefinitionChanges(body, jobView(job, {}, this.d.publicUrl));
    const schedule = body.schedule === undefined ? job.schedule : body.schedule === null ? null : canonicalSchedule(body.schedule);
    const checked = checkSchedule(schedule, body.timezone ?? job.timezone);
    if (checked.issues.length > 0) throw new ValidationError(checked.issues);
    const sent = body.source_config === undefined ? null : await this.#newSourceConfig(job, body.source_config);
    // The config the job has already (sent back as GET showed it): nothing to check or write, and its version stays.
    const config = sent !== null && canonicalJson(sent.config) === canonicalJson(this.#config(job)) ? null : sent;
    return withSecretsRegistered(config === null ? [] : secretValues(config.config, config.secretPaths), async () => {
      const unchecked = config === null ? [] : await this.#checkSourceConfig(job, config.config, config.connectorSpec);
      if (config !== null) await refuseForeignSeal(this.d.prisma, this.d.keyring);
      // The schedule becomes active anew when it or its time zone changes, or the job is resumed:
      // fires before that are not ones a scheduler outage missed (Schedules.sync). A changed
      // schedule is a new one: fires of it from before the change are not ones to catch up.
      const rescheduled = schedule !== job.schedule || checked.timezone !== job.timezone;
      const reactivated = rescheduled || (job.isPaused && body.paused === false);
      // Only what the request names is written: a change made meanwhile to another field (while a
      // new source_config was being checked, say) is not put back.
      const data: Prisma.IngestionJobUpdateManyMutationInput = {
        ...(body.schedule === undefined ? {} : { schedule }),
        ...(body.timezone === undefined ? {} : { timezone: checked.timezone }),
        ...(body.paused === undefined ? {} : { isPaused: body.paused }),
        ...(body.catchup === undefined ? {} : { catchup: body.catchup }),
        ...(body.max_active_runs === undefined ? {} : { maxActiveRuns: body.max_active_runs }),
        ...(reactivated ? { scheduleActiveSince: new Date() } : {}),
        // The old schedule's skipped fire is none of the new one's (QA round 47b F4).
        ...(rescheduled ? { scheduleSetAt: new Date(), skippedFireAt: null } : {}),
        ...(config === null
          ? {}
          : {
              sourceConfigEncrypted: sealSourceConfig(this.d.keyring, jobId, config.config),
              sourceConfigChangedAt: new Date(),
              secretPaths: config.secretPaths,
              specSecretsKnown: config.connectorSpec !== undefined,
              // Discovered with the old configuration: the next extract discovers again.
              sourceCatalog: Prisma.DbNull,
              sourceCatalogAt: null,
            }),
      };
      // Compare-and-set on what was checked: a connector may refresh the config (a rotated OAuth
      // token, saved by a run's extract) while the new one is being checked.
      // With If-Match, on every setting as it was read: a change made meanwhile is not written over.
      const unchanged =
        ifMatch === null
          ? {}
          : { schedule: job.schedule, timezone: job.timezone, isPaused: job.isPaused, catchup: job.catchup, maxActiveRuns: job.maxActiveRuns, sourceConfigEncrypted: job.sourceConfigEncrypted };
      const written = await this.d.prisma.ingestionJob.updateMany({
        where: { id: jobId, isDeleted: false, ...(config === null ? {} : { sourceConfigEncrypted: job.sourceConfigEncrypted }), ...unchanged },
        data,
      });
      if (written.count === 0) {
        const now = await this.#job(p, jobId);
        if (now.isDeleted) throw new ConflictError(`job ${jobId} is deleted`);
        if (ifMatch !== null) throw staleChange(jobId);
        throw new ConflictError(
          `the source_config of job ${jobId} changed while this change was being checked (a run's connector may have refreshed a token): read the job and send the change again`,
        );
      }
      const updated = await this.#job(p, jobId);
      this.#log.info('ingestion job updated', {
        jobId,
        schedule: updated.schedule,
        timezone: updated.timezone,
        paused: updated.isPaused,
        catchup: updated.catchup,
        maxActiveRuns: updated.maxActiveRuns,
        // (Key names with 'secret' or 'source_config' in them are redacted from logs.)
        ...(config === null ? {} : { connectorConfigReplaced: true, masksKept: config.masksKept }),
      });
      if (config !== null && config.connectorSpec === undefined && this.d.getConnectorSpec) void this.#learnSecretsLater(job.sourceName);
      await this.#syncSchedule(jobId);
      // A paused job's queued runs waited; its resume starts those max_active_runs allows, as does
      // a raised max_active_runs.
      if (!updated.isPaused && (job.isPaused || updated.maxActiveRuns > job.maxActiveRuns)) {
        try {
          await this.d.engine.startQueuedRuns(jobId);
        } catch (err) {
          this.#log.warn("the job's queued runs not started now; the scheduler's sweep starts them", { jobId, error: errorSummary(err) });
        }
      }
      // Read again: the runs the schedule's catch-up or the queued runs' start began changed its status.
      return { view: this.#view(await this.#job(p, jobId)), unchecked };
    });
  }

  /**
   * A PATCH's `source_config`, each `**********` where GET masks a saved value given that value
   * (so a client may send back what GET showed), with the paths of its secrets.
   */
  async #newSourceConfig(
    job: IngestionJobModel,
    sent: Record<string, unknown>,
  ): Promise<{ config: Record<string, unknown>; secretPaths: string[]; masksKept: number; connectorSpec: ConnectorSpec | undefined }> {
    const saved = this.#config(job);
    let masked = pathsToMask(saved, job);
    let restored = restoreMaskedSecrets(sent, saved, masked);
    if (restored.issues.length > 0 && job.specSecretsKnown) {
      // Read while the spec was not known, every string masked, and sent back after it came (QA
      // round 38a F1: refused as masks where "the job has no saved secret"): each mask is given
      // its saved value as that GET showed it.
      const wholeMasked = pathsToMask(saved, { ...job, specSecretsKnown: false });
      const asReadBefore = restoreMaskedSecrets(sent, saved, wholeMasked);
      if (asReadBefore.issues.length === 0) {
        masked = wholeMasked;
        restored = asReadBefore;
      }
    }
    if (restored.issues.length > 0) throw new ValidationError(restored.issues);
    const config = restored.config;
    const connectorSpec = await this.#connectorSpec(job.sourceName);
    if (connectorSpec === 'missing') {
      throw new ValidationError([
        { path: 'source_config', message: `cannot be checked: the job's connector "${job.sourceName}" is not on PATH, and pip's index has no package airbyte-${job.sourceName} (nor Docker to run an image)` },
      ]);
    }
    // Paths found in the new config, and those learned before (from a spec seen at extract) that it still has.
    const secretPaths = [...new Set([...findSecretPaths(config, connectorSpec), ...job.secretPaths.filter((path) => valueAt(config, path) !== undefined)])];
    const masksKept = masked.filter((path) => valueAt(sent, path) === REDACTED).length;
    return { config, secretPaths, masksKept, connectorSpec };
  }

  /**
   * A new `source_config` checked as a create's is: the connector's spec, its discover with it (its
   * `config_error` refuses it in its own words), and the job's streams, merge keys and
   * transformations against the catalog that gives.
   */
  async #checkSourceConfig(job: IngestionJobModel, config: Record<string, unknown>, connectorSpec: ConnectorSpec | undefined): Promise<ConnectorCheck[]> {
    if (connectorSpec) {
      const issues = validateSourceConfig(config, connectorSpec);
      if (issues.length > 0) throw new ValidationError(issues);
    }
    const { catalog, connectionChecked } = await this.#tryConfig(job.sourceName, config, connectorSpec);
    const unchecked = this.#unchecked(connectorSpec, catalog, connectionChecked);
    if (!catalog) return unchecked;
    const definition = {
      streams: job.streams,
      mode: job.mode,
      mergeKeys: parseMergeKeys(job.mergeKeys),
      columnTransformations: job.columnTransformations as unknown as ColumnTransformation[],
      addIngestionMetadata: job.addIngestionMetadata,
    };
    const issues = validateAgainstCatalog(definition, catalog);
    if (issues.length > 0) {
      throw new ValidationError(issues.map((i) => ({ path: 'source_config', message: `with it the job's ${i.path} no longer holds: ${i.message}` })));
    }
    return unchecked;
  }

  /**
   * Soft delete: the schedule stops, runs and history stay; DataHub is told the job's flow is
   * removed. Answers the runs under way it cancelled. Deleting twice is harmless (and cancels none).
   */
  async delete(p: Principal, jobId: string): Promise<{ jobId: string; flowUrl: string; cancelledRunIds: string[] }> {
    requireScope(p, 'sluice:write');
    const job = await this.#job(p, jobId);
    if (!job.isDeleted) {
      // With it, its data flow and data jobs are marked removed in DataHub (its tables stay).
      const removed = await this.d.prisma.$transaction(async (tx) => {
        const r = await tx.ingestionJob.updateMany({ where: { id: jobId, isDeleted: false }, data: { isDeleted: true, deletedAt: new Date() } });
        return r.count === 1 ? insertJobRemoval(tx, jobId) : null;
      });
      if (removed !== null) this.#log.info('ingestion job deleted', { jobId, datahubRemovals: removed });
    }
    await this.#syncSchedule(jobId);
    // A deleted job ingests nothing more: its queued and running runs are cancelled (no new one
    // can start: run creation refuses a deleted job). Deleting again finds none.
    const active = await this.d.prisma.dagRun.findMany({
      where: { jobId, state: { in: ['queued', 'running'] } },
      select: { id: true },
      orderBy: [{ logicalDate: 'asc' }, { id: 'asc' }],
    });
    const cancelledRunIds: string[] = [];
    for (const run of active) {
      try {
        await this.d.engine.cancelRun(run.id, 'job deleted');
        cancelledRunIds.push(run.id);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err; // it ended meanwhile
      }
    }
    return { jobId, flowUrl: flowUrl(this.d.publicUrl, jobId), cancelledRunIds };
  }

  /**
   * Cancels the job's queued runs: a backlog (a catch-up resumed by mistake, triggers queued
   * behind max_active_runs) stopped at once. Runs under way go on (cancel them one by one).
   */
  async cancelQueuedRuns(p: Principal, jobId: string): Promise<string[]> {
    requireScope(p, 'sluice:write');
    const job = await this.#job(p, jobId);
    if (job.isDeleted) throw new ConflictError(`job ${jobId} is deleted`);
    const cancelled = await this.d.engine.cancelQueuedRuns(jobId);
    this.#log.info('queued runs cancelled', { jobId, runs: cancelled.length });
    return cancelled;
  }

  /**
   * Creates a run now; a queued one comes with what it waits for (a slot, or the paused job's
   * resume), and so does one that started while Redis is away (its first tasks). With an
   * idempotency key that an earlier trigger of this job made a run with, answers that run in its
   * state now (`replayed`) and makes none: a client that retries a trigger after a timeout gets one run.
   */
  async triggerRun(
    p: Principal,
    jobId: string,
    idempotencyKey: string | null = null,
  ): Promise<{ runId: string; state: RunState; message: string | null; replayed: boolean }> {
    requireScope(p, 'sluice:write');
    const job = await this.#job(p, jobId);
    if (job.isDeleted) throw new ConflictError(`job ${jobId} is deleted`);
    const run = await this.d.engine.triggerRun(jobId, idempotencyKey ?? undefined).catch(async (err: unknown) => {
      // Run creation finds no job that is not deleted: a delete came between the read above and it.
      if (err instanceof NotFoundError && (await this.#job(p, jobId)).isDeleted) throw new ConflictError(`job ${jobId} is deleted`);
      throw err;
    });
    const { runId, state } = run;
    if (run.replayed) this.#log.info('run trigger repeated; answered the run its idempotency key made', { jobId, runId, state });
    else this.#log.info('run triggered', { jobId, runId, state });
    // A run that started while Redis is away does nothing until it is back (QA round 27: its answer said only "running").
    const message = state === 'queued' ? queuedRunWait(job.isPaused) : run.waitsForRedis ? REDIS_AWAY_WAIT : null;
    return { runId, state, message, replayed: run.replayed === true };
  }

  async listRuns(p: Principal, jobId: string, q: ListRunsQuery): Promise<{ runs: RunSummaryView[]; total: number; limit: number; offset: number }> {
    requireScope(p, 'sluice:read');
    const job = await this.#job(p, jobId);
    const where = { jobId, ...(q.state ? { state: q.state } : {}), ...(q.run_type ? { runType: q.run_type } : {}) };
    const [rows, total] = await Promise.all([
      this.d.prisma.dagRun.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: q.limit, skip: q.offset }),
      this.d.prisma.dagRun.count({ where }),
    ]);
    return { runs: rows.map((r) => runSummaryView(r, job.isPaused)), total, limit: q.limit, offset: q.offset };
  }

  /** The job's saved connector state, stream by stream. */
  async state(p: Principal, jobId: string): Promise<JobStateView> {
    requireScope(p, 'sluice:read');
    await this.#job(p, jobId);
    const [rows, pending] = await Promise.all([listStreamStates(this.d.prisma, jobId), listPendingStreamStates(this.d.prisma, jobId)]);
    return {
      job_id: jobId,
      streams: rows.map((r) => ({
        stream: r.streamKey === '' ? null : r.streamKey,
        kind: r.kind,
        state: r.state,
        run_id: r.runId,
        updated_at: r.updatedAt.toISOString(),
      })),
      pending: pending.map((r) => ({
        stream: r.streamKey,
        run_id: r.runId,
        table: `${r.namespace}.${r.tableName}`,
        state: r.state,
        recorded_at: r.recordedAt.toISOString(),
      })),
    };
  }

  /**
   * Forgets saved state (of the given streams, else all of it), so that the next run reads those
   * streams from the start — Airbyte's "refresh": the tables keep their rows (a merge job
   * converges; an append job appends everything again). Refused (409) while a run is under way.
   */
  async resetState(p: Principal, jobId: string, streams: readonly string[] | null): Promise<StateResetView> {
    requireScope(p, 'sluice:write');
    const job = await this.#job(p, jobId);
    // A deleted job's state is kept as it was: it is what a job re-created in its place may take over.
    if (job.isDeleted) throw new ConflictError(`job ${jobId} is deleted`);
    if (streams !== null) {
      // A job that lists its streams knows them: another name is a mistake, not "nothing saved".
      const unknown = job.streams.length > 0 ? streams.filter((s) => !job.streams.includes(s)) : [];
      if (unknown.length > 0) {
        throw new ValidationError(unknown.map((s) => ({ path: 'stream', message: `"${s}" is not a stream of this job (its streams: ${job.streams.join(', ')})` })));
      }
    }
    let reset: string[];
    try {
      reset = await this.d.prisma.$transaction((tx) => resetStreamStates(tx, jobId, streams));
    } catch (err) {
      if (err instanceof StateChangeRefused) throw new ConflictError(`the saved state of job ${jobId} cannot be reset: ${err.message}`);
      throw err;
    }
    this.#log.info('connector state reset', { jobId, streams: reset });
    return { job_id: jobId, reset: reset.map((k) => (k === '' ? null : k)) };
  }

  /**
   * Replaces the job's whole saved connector state with the given Airbyte STATE messages (Airbyte's
   * "create or update state"): a state carried over from another job or tool, or a cursor moved
   * back so that the next run reads a window again. The states count as saved by no run, so the
   * next run's saves replace them. Refused (409) while a run is under way, as a reset is.
   */
  async replaceState(p: Principal, jobId: string, states: readonly ImportedState[]): Promise<JobStateView> {
    requireScope(p, 'sluice:write');
    const job = await this.#job(p, jobId);
    if (job.isDeleted) throw new ConflictError(`job ${jobId} is deleted`);
    if (job.mode === 'overwrite' && states.length > 0) {
      throw new ValidationError([{ path: 'state', message: `job ${jobId} overwrites its tables: each run reads every stream whole and is handed no saved state` }]);
    }
    // A job that lists its streams knows them: a state of another stream would be handed to the connector for nothing.
    if (job.streams.length > 0) {
      const issues = states.flatMap((s) =>
        s.streams
          .filter((d) => !job.streams.includes(d.name))
          .map((d) => ({ path: s.at, message: `stream "${d.name}" is not a stream of this job (its streams: ${job.streams.join(', ')})` })),
      );
      if (issues.length > 0) throw new ValidationError(issues);
    }
    // The source's catalog knows each stream's namespace too: the one the runs read with, or discover's.
    if (states.some((s) => s.streams.length > 0)) {
      const catalog = savedCatalogStreams(job.sourceCatalog) ?? (await this.#catalog(job.sourceName, this.#config(job)));
      const issues = catalog ? statesAgainstCatalog(states, catalog) : [];
      if (issues.length > 0) throw new ValidationError(issues);
    }
    // A job's connector saves one kind of state: one of the other kind would be handed to every read.
    const savedByRun = (await listStreamStates(this.d.prisma, jobId)).find((r) => r.runId !== null);
    const importsShared = states.some((s) => s.streamKey === '');
    if (savedByRun && states.length > 0 && (savedByRun.streamKey === '') !== importsShared) {
      const saved = savedByRun.streamKey === '' ? `one connector-wide ${savedByRun.kind.toUpperCase()} state` : 'STREAM states, one per stream';
      throw new ValidationError([
        {
          path: 'state',
          message: `this job's connector saves ${saved} (run ${savedByRun.runId ?? ''} saved it): give that kind, or reset the saved state first (DELETE …/state) if the connector now saves another`,
        },
      ]);
    }
    try {
      await this.d.prisma.$transaction((tx) => replaceStreamStates(tx, jobId, states));
    } catch (err) {
      if (err instanceof StateChangeRefused) throw new ConflictError(`the saved state of job ${jobId} cannot be replaced: ${err.message}`);
      throw err;
    }
    this.#log.info('connector state replaced', { jobId, streams: states.map((s) => (s.streamKey === '' ? `(${s.kind})` : s.streamKey)) });
    return this.state(p, jobId);
  }

  async getRun(p: Principal, runId: string): Promise<RunView> {
    requireScope(p, 'sluice:read');
    await this.#run(p, runId);
    return this.#runView(runId);
  }

  async cancelRun(p: Principal, runId: string): Promise<RunView> {
    requireScope(p, 'sluice:write');
    await this.#run(p, runId);
    // Its line is the engine's, once the cancel is committed ("run cancelled by an operator").
    await this.d.engine.cancelRun(runId);
    return this.#runView(runId);
  }

  /**
   * Clears a failed or cancelled task instance (and what follows it). Without `mapIndex`, a task
   * with one instance clears that one, a per-stream task clears each of its failed, upstream_failed
   * or cancelled instances.
   */
  async clearTask(p: Principal, runId: string, taskId: string, mapIndex: number | undefined): Promise<RunView> {
    requireScope(p, 'sluice:write');
    await this.#run(p, runId);
    const instances = await this.d.prisma.taskInstance.findMany({
      where: { runId, taskId, ...(mapIndex === undefined ? {} : { mapIndex }) },
      select: { mapIndex: true, state: true },
      orderBy: { mapIndex: 'asc' },
    });
    if (instances.length === 0) throw new NotFoundError('task', mapIndex === undefined ? taskId : `${taskId}[${mapIndex}]`);
    const targets =
      instances.length === 1 ? instances : instances.filter((i) => i.state === 'failed' || i.state === 'upstream_failed' || i.state === 'cancelled');
    if (targets.length === 0) throw new ConflictError(`no instance of task ${taskId} has failed or was cancelled (give map_index to pick one)`);
    // Each instance whose own upstream lets it run again is cleared; one still below a failure
    // is left as it is (the engine says why), unless that is every one of them.
    const cleared: number[] = [];
    const refused: ConflictError[] = [];
    for (const t of targets) {
      try {
        await this.d.engine.clearTask(runId, taskId, t.mapIndex);
        cleared.push(t.mapIndex);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        refused.push(err);
      }
    }
    if (cleared.length === 0 && refused[0] !== undefined) throw refused[0];
    this.#log.info('task cleared', { runId, taskId, mapIndexes: cleared, ...(refused.length > 0 ? { notCleared: refused.map((e) => e.message) } : {}) });
    return this.#runView(runId);
  }

  /**
   * A task's log for one try (default: its latest), secret values of the job masked. A try the
   * instance has not reached is not found, the answer saying which tries there are: an empty
   * answer would read as a try that logged nothing.
   */
  async taskLog(p: Principal, runId: string, taskId: string, query: TaskLogQuery): Promise<TaskLogView> {
    const { ti, tryNumber, mask } = await this.#logTry(p, runId, taskId, query);
    // One page of the try's lines, by default its last (QA round 33b F3: a try of 200,000 lines
    // answered 62 MB at once, and froze the page that showed it).
    const total = await this.d.prisma.taskLog.count({ where: { taskInstanceId: ti.id, tryNumber } });
    const offset = query.offset ?? Math.max(0, total - query.limit);
    const lines = await this.d.prisma.taskLog.findMany({ where: { taskInstanceId: ti.id, tryNumber }, orderBy: { id: 'asc' }, skip: offset, take: query.limit });
    return {
      run_id: runId,
      task_id: taskId,
      map_index: ti.mapIndex,
      try_number: tryNumber,
      lines: lines.map((l) => ({ ts: l.ts.toISOString(), level: l.level, message: mask(l.message) })),
      offset,
      total_lines: total,
    };
  }

  /**
   * A try's whole log as text, one line per log line (`<time> <LEVEL> <message>`, secrets masked
   * as the logs route masks them), read a page at a time as the answer is written: the download a
   * page of 5,000 lines is not (QA round 50b O1: no way to search or keep a whole log). What it is
   * about is found, or refused, before the first byte.
   */
  async taskLogText(p: Principal, runId: string, taskId: string, query: TaskLogTextQuery): Promise<{ fileName: string; text: AsyncIterable<string> }> {
    // A task that has not run has no try to download (QA round 52a O4: an empty "try-0" file).
    const { ti, tryNumber, mask, jobName } = await this.#logTry(p, runId, taskId, query, { ranOnly: true });
    const prisma = this.d.prisma;
    async function* text(): AsyncGenerator<string> {
      let after: bigint | null = null;
      for (;;) {
        const page: { id: bigint; ts: Date; level: string; message: string }[] = await prisma.taskLog.findMany({
          where: { taskInstanceId: ti.id, tryNumber, ...(after === null ? {} : { id: { gt: after } }) },
          orderBy: { id: 'asc' },
          take: LOG_TEXT_PAGE,
        });
        if (page.length > 0) yield page.map((l) => `${l.ts.toISOString()} ${l.level.toUpperCase().padEnd(5)} ${mask(l.message)}\n`).join('');
        if (page.length < LOG_TEXT_PAGE) return;
        after = page[page.length - 1]?.id ?? null;
      }
    }
    const instance = ti.mapIndex === -1 ? taskId : `${taskId}-${ti.mapIndex}`;
    // The job's name without control or format characters (a right-to-left override would turn the
    // name around in a file manager) and cut to 100 of its characters (QA round 52a O3: a 255-character
    // name made a header of 2 KB, which some clients cut short).
    const named = [...jobName.replace(/[\p{Cc}\p{Cf}]/gu, '')].slice(0, 100).join('');
    return { fileName: `${named}-run-${runId.slice(0, 8)}-${instance}-try-${tryNumber}.log`, text: text() };
  }

  /**
   * The instance and try a log read names (404 for a try the task has not reached; with `ranOnly`,
   * also for its latest when it has not run), and the masking of its job's secrets.
   */
  async #logTry(
    p: Principal,
    runId: string,
    taskId: string,
    query: TaskLogTextQuery,
    options: { ranOnly?: boolean } = {},
  ): Promise<{ ti: { id: string; mapIndex: number }; tryNumber: number; mask: (s: string) => string; jobName: string }> {
    requireScope(p, 'sluice:read');
    const q = { map_index: query.map_index, try: queriedTry(query) };
    const run = await this.#run(p, runId);
    const instances = await this.d.prisma.taskInstance.findMany({
      where: { runId, taskId, ...(q.map_index === undefined ? {} : { mapIndex: q.map_index }) },
      orderBy: { mapIndex: 'asc' },
    });
    const ti = instances[0];
    if (ti === undefined) throw new NotFoundError('task', q.map_index === undefined ? taskId : `${taskId}[${q.map_index}]`);
    if (instances.length > 1) {
      throw new ValidationError([
        { path: 'map_index', message: `task ${taskId} has one instance per stream: give map_index (${instances.map((i) => i.mapIndex).join(', ')})` },
      ]);
    }
    const tryNumber = q.try ?? ti.tryNumber;
    if (tryNumber > ti.tryNumber || (options.ranOnly === true && tryNumber === 0)) {
      const task = ti.mapIndex === -1 ? taskId : `${taskId}[${ti.mapIndex}]`;
      const tries =
        ti.tryNumber === 0
          ? (FINISHED_TASK_STATES as readonly string[]).includes(ti.state)
            ? `it never ran: it is ${ti.state}`
            : 'it has not run yet'
          : ti.tryNumber === 1
            ? 'it has try 1 only'
            : `it has tries 1–${ti.tryNumber}`;
      throw tryNumber === 0 ? new NotFoundError('log', `of task ${task}`, tries) : new NotFoundError('try', `${tryNumber} of task ${task}`, tries);
    }
    const job = await this.d.prisma.ingestionJob.findUniqueOrThrow({ where: { id: run.jobId } });
    const values = secretValues(this.#config(job), job.secretPaths).filter((v) => v.length >= 4);
    return {
      ti,
      // Without `try`, the latest: 0, with no lines, for a task that has not run (QA round 40a F4:
      // it answered "try 1" where try=1 answered that the try is not there).
      tryNumber,
      mask: (s) => values.reduce((acc, v) => acc.split(v).join('**********'), s),
      jobName: job.name,
    };
  }

  async #runView(runId: string): Promise<RunView> {
    const run = await this.d.prisma.dagRun.findUniqueOrThrow({
      where: { id: runId },
      include: {
        tasks: { orderBy: [{ taskType: 'asc' }, { taskId: 'asc' }, { mapIndex: 'asc' }] },
        job: { select: { isPaused: true } },
        fileRemoval: { select: { removedAt: true } },
      },
    });
    // DataHub delivery problems are the run's warnings too (they never fail the run).
    const pending = (await getRunWarnings(this.d.prisma, runId)).filter((w) => !w.resolved);
    return runView({ ...run, warnings: [...run.warnings, ...pending.map((w) => w.message)] }, run.job.isPaused, run.tasks, run.fileRemoval?.removedAt ?? null);
  }

  async #job(p: Principal, jobId: string): Promise<IngestionJobModel> {
    const job = await this.d.prisma.ingestionJob.findUnique({ where: { id: jobId } });
    if (!job || !owns(p, job.ownerId)) throw new NotFoundError('job', jobId);
    return job;
  }

  async #run(p: Principal, runId: string): Promise<{ jobId: string }> {
    const run = await this.d.prisma.dagRun.findUnique({ where: { id: runId }, select: { jobId: true, job: { select: { ownerId: true } } } });
    if (!run || !owns(p, run.job.ownerId)) throw new NotFoundError('run', runId);
    return run;
  }

  /** Why this API cannot open the job's config (a master key it does not hold); null when it can. */
  #unopenable(job: IngestionJobModel): string | null {
    if (this.d.keyring.canOpen(job.sourceConfigEncrypted)) return null;
    return `sealed with master key ${this.d.keyring.sealedWith(job.sourceConfigEncrypted) ?? '(unreadable)'}, which this API does not hold (it holds ${this.d.keyring.keyIds.join(', ')}): to read or change it, give every Sluice process the installation's master key, and during a master key rotation the previous one in SLUICE_MASTER_KEY_PREVIOUS (docs/encryption.md)`;
  }

  /**
   * The job's config, opened; a config sealed with a master key this API lacks is a conflict with
   * the job's state, not a bad request (QA round 34a F3: a config PATCH answered 400 "sealed: …").
   */
  #config(job: IngestionJobModel): Record<string, unknown> {
    const unopenable = this.#unopenable(job);
    if (unopenable !== null) throw new ConflictError(`job ${job.id}'s source_config is ${unopenable}`);
    const config = openSourceConfig(this.d.keyring, job.id, job.sourceConfigEncrypted);
    for (const v of secretValues(config, job.secretPaths)) configSecrets.add(v);
    return config;
  }

  #view(job: IngestionJobModel): JobView {
    // One job this API cannot open does not fail a list of them (QA round 32b: the whole list answered 400).
    const unopenable = this.#unopenable(job);
    if (unopenable !== null) return jobView(job, {}, this.d.publicUrl, unopenable);
    // Its spec not read yet, and no lookup for it under way here (this API restarted since the
    // create, or the lookup gave up): one starts, so that the config is shown once the connector
    // is ready, not only after the job's next run (QA round 38a F6).
    if (!job.specSecretsKnown && !job.isDeleted && this.d.getConnectorSpec) void this.#learnSecretsLater(job.sourceName);
    const config = this.#config(job);
    return jobView(job, maskSecrets(config, pathsToMask(config, job)), this.d.publicUrl);
  }

  async #usableKeys(p: Principal, names: string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const rows = await this.d.prisma.encryptionKey.findMany({ where: { name: { in: names } }, select: { name: true, ownerId: true } });
    return new Set(rows.filter((r) => r.ownerId === null || owns(p, r.ownerId)).map((r) => r.name));
  }

  /**
   * A config tried with the connector, as Airbyte tries a source before saving it: its `check`
   * and its `discover`, side by side (a connector process each). A FAILED check refuses the config
   * in the connector's words (400), as does discover's `config_error`; answers the catalog, or
   * undefined when it cannot be had (the job's streams are then checked when it runs).
   */
  async #tryConfig(
    sourceName: string,
    config: Record<string, unknown>,
    connectorSpec: ConnectorSpec | undefined,
  ): Promise<{ catalog: SourceCatalog | undefined; connectionChecked: boolean }> {
    const catalog = this.#catalog(sourceName, config);
    // Awaited below, unless the check refuses the config first.
    catalog.catch(() => undefined);
    const connection = await this.#connection(sourceName, config);
    if (connection?.status === 'failed') {
      // On a connector's first use its spec may have come after the request stopped waiting for it
      // (an install): asked again for the hint (QA round 34a F7: the refusal had none then).
      const spec = connectorSpec ?? (await this.#connectorSpec(sourceName, { waitMs: HINT_SPEC_WAIT_MS, quiet: true }));
      const hint = spec !== undefined && spec !== 'missing' ? configKeysHint(config, spec, connection.message) : '';
      throw new ValidationError([{ path: 'source_config', message: `${sourceName} cannot connect with it: ${connection.message}${hint}` }]);
    }
    return { catalog: await catalog, connectionChecked: connection !== undefined };
  }

  /**
   * What the connector could not answer in time (on its first use, its install): the job's first
   * run checks it, and the answer says so (QA round 40b F2, 40c F2: a plain 201 or 200). None when
   * the API has no connector lookups at all.
   */
  #unchecked(connectorSpec: ConnectorSpec | undefined, catalog: SourceCatalog | undefined, connectionChecked: boolean): ConnectorCheck[] {
    if (!this.d.getConnectorSpec) return [];
    const missing: Record<ConnectorCheck, boolean> = { spec: connectorSpec === undefined, catalog: catalog === undefined, connection: !connectionChecked };
    return CONNECTOR_CHECKS.filter((c) => missing[c]);
  }

  #connection(sourceName: string, config: Record<string, unknown>) {
    return this.#withConfig(this.d.checkConnection, sourceName, config, 'connection check unavailable; the connection is tried when the job runs');
  }

  #catalog(sourceName: string, config: Record<string, unknown>) {
    return this.#withConfig(this.d.discoverCatalog, sourceName, config, 'source catalog unavailable; streams and merge keys are checked when the job runs');
  }

  /**
   * One connector lookup with a config: its answer, or undefined when it cannot be had (said in
   * the log as `unavailable`). The connector saying the config is wrong is the request's error
   * (400), not a lookup's.
   */
  async #withConfig<T>(
    lookup: ((sourceName: string, config: Record<string, unknown>) => Promise<T | undefined>) | undefined,
    sourceName: string,
    config: Record<string, unknown>,
    unavailable: string,
  ): Promise<T | undefined> {
    if (!lookup) return undefined;
    try {
      return await lookup(sourceName, config);
    } catch (err) {
      if (err instanceof ConnectorConfigError) {
        throw new ValidationError([{ path: 'source_config', message: `${sourceName} says the configuration is wrong: ${err.message}` }], { cause: err });
      }
      this.#log.warn(unavailable, { source: sourceName, error: errorMessage(err) });
      return undefined;
    }
  }

  /** The connector's spec; undefined when it cannot be had; 'missing' when no such connector exists. */
  async #connectorSpec(sourceName: string, options?: { waitMs: number; quiet?: boolean }): Promise<ConnectorSpec | undefined | 'missing'> {
    if (!this.d.getConnectorSpec) return undefined;
    try {
      return await this.d.getConnectorSpec(sourceName, options);
    } catch (err) {
      if (err instanceof ConnectorNotFoundError) return 'missing';
      this.#log.warn('connector spec unavailable; secrets found by key name instead', { source: sourceName, error: errorMessage(err) });
      return undefined;
    }
  }

  /**
   * Registers the job's schedule in Redis. The job is already committed in PostgreSQL (the source
   * of truth), and the scheduler reconciles every job's schedule on start and when Redis was
   * emptied, so a failure here is logged, not answered as a failed request.
   */
  async #syncSchedule(jobId: string): Promise<void> {
    try {
      await this.d.engine.syncSchedule(jobId);
    } catch (err) {
      this.#log.warn('schedule not synced now; the scheduler will reconcile it', { jobId, error: errorSummary(err) });
    }
  }
}

/** A PATCH whose If-Match names settings the job no longer has. */
function staleChange(jobId: string): PreconditionFailedError {
  return new PreconditionFailedError(
    `If-Match: job ${jobId} changed since it was read (another change, or a token its connector refreshed): read it again (its ETag and settings_version are the new version) and make the change on what it has now`,
  );
}
