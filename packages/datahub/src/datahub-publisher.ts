import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, assertNever } from '@sluice/core';
import { errorSummary, type Prisma, type PrismaClient } from '@sluice/db';
import { childLogger, createLogger, FailureStreak, secrets, type Logger } from '@sluice/logging';
import type { OwnershipType, Proposal } from './aspects.ts';
import { buildProposals, EMPTY_GOVERNANCE } from './build-proposals.ts';
import { DATAHUB_ENVS, type DataHubEnv } from './datahub-urns.ts';
import { metadataEventSchema, type MetadataEvent } from './events.ts';
import { GmsClient, toWireProposal, type WireProposal } from './gms-client.ts';
import { claimDueProposals, compactOutbox, insertProposals, markFailed, markSent, newestAspects, type ClaimedProposal } from './outbox.ts';

export interface DataHubPublisherOptions {
  /** `DATAHUB_GMS_URL`. Without it proposals are kept in the outbox (shown by the API) and not sent. */
  gmsUrl?: string | null;
  /** `DATAHUB_GMS_TOKEN`, sent as a bearer token. */
  token?: string | null;
  /** DataHub environment of the URNs when an event names none. Default `PROD`. */
  env?: DataHubEnv;
  /** How `owner_id` owns the datasets and flows. Default `TECHNICAL_OWNER` (what DataHub's Iceberg source uses). */
  ownershipType?: OwnershipType;
  /** Proposals per request to GMS (DataHub's own emitter sends at most 200). Default 100. */
  batchSize?: number;
  /** Bytes per request at most (GMS takes 16 MB; DataHub's emitter keeps to 15 MiB). */
  maxBatchBytes?: number;
  /** How often the sender looks for due proposals. Default 2 s. */
  pollIntervalMs?: number;
  /** First retry delay after a failed send; doubles per try up to `retryMaxMs`. Default 5 s. */
  retryBaseMs?: number;
  /** Longest retry delay. Default 5 min. */
  retryMaxMs?: number;
  /** Timeout of one request to GMS. Default 30 s. */
  requestTimeoutMs?: number;
  /** How long a claimed proposal is reserved for the sender that claimed it. Default 5 min. */
  leaseMs?: number;
  /** How often old outbox rows are compacted. Default 10 min. */
  compactIntervalMs?: number;
  /** How long delivered proposals that had failed (a run's warnings) are kept. Default 14 days. */
  retainErrorsMs?: number;
  logger?: Logger;
}

/** What {@link DataHubPublisher.record} did. An event it cannot use is skipped, never thrown. */
export type RecordResult = { kind: 'recorded'; proposals: number } | { kind: 'skipped'; reason: string };

/** What one {@link DataHubPublisher.flush} delivered. */
export interface FlushResult {
  sent: number;
  failed: number;
}

const GMS_MAX_BATCH = 200;

/**
 * Publishes Sluice's metadata to DataHub: ingested tables as datasets (schema, properties,
 * domain, tags, owner, lineage from the Airbyte stream) and each job's DAG as a data flow with
 * one data job per task.
 *
 * `record()` only writes metadata change proposals to the `datahub_proposals` outbox in the
 * caller's transaction (one insert); `start()` runs the background sender that batches them to
 * GMS, retries with backoff and records each failure on its row, so DataHub being down or
 * refusing never fails or slows an ingestion. Several processes may run senders at once.
 */
export class DataHubPublisher {
  private readonly env: DataHubEnv;
  private readonly ownershipType: OwnershipType;
  private readonly client: GmsClient | null;
  private readonly log: Logger;
  private readonly batchSize: number;
  private readonly maxBatchBytes: number;
  private readonly pollIntervalMs: number;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly leaseMs: number;
  private readonly compactIntervalMs: number;
  private readonly retainErrorsMs: number;
  private batchUnsupported = false;
  private loop: Promise<void> | null = null;
  private wake: AbortController | null = null;
  private stopping = false;
  private lastCompactAt = 0;
  /** The outbox could not be read or updated (PostgreSQL away): said once, and once when it can again. */
  private readonly outbox: FailureStreak;

  constructor(
    private readonly prisma: PrismaClient,
    options: DataHubPublisherOptions = {},
  ) {
    const env = options.env ?? 'PROD';
    if (!DATAHUB_ENVS.includes(env)) throw new ConfigError('SLUICE_DATAHUB_ENV', `must be one of ${DATAHUB_ENVS.join(', ')}`, 'PROD');
    this.env = env;
    this.ownershipType = options.ownershipType ?? 'TECHNICAL_OWNER';
    this.log = childLogger(options.logger ?? createLogger({ silent: true }), { component: 'datahub' });
    this.outbox = new FailureStreak(
      (err) => this.log.warn('DataHub sender: the outbox could not be read or updated; trying again every poll', { error: errorSummary(err) }),
      () => this.log.info('DataHub sender: the outbox can be read again'),
    );
    const timeoutMs = options.requestTimeoutMs ?? 30_000;
    if (options.token) secrets.add(options.token);
    this.client = options.gmsUrl ? new GmsClient({ url: options.gmsUrl, token: options.token ?? null, timeoutMs }) : null;
    this.batchSize = Math.min(Math.max(1, options.batchSize ?? 100), GMS_MAX_BATCH);
    this.maxBatchBytes = options.maxBatchBytes ?? 15 * 1024 * 1024;
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.backoff = { baseMs: options.retryBaseMs ?? 5_000, maxMs: options.retryMaxMs ?? 300_000 };
    this.leaseMs = options.leaseMs ?? Math.max(300_000, timeoutMs * 3);
    this.compactIntervalMs = options.compactIntervalMs ?? 600_000;
    this.retainErrorsMs = options.retainErrorsMs ?? 14 * 24 * 3600 * 1000;
  }

  /** Whether a GMS is configured (otherwise proposals are only kept). */
  get sending(): boolean {
    return this.client !== null;
  }

  /**
   * Writes the metadata change proposals for `event` to the outbox, inside the caller's
   * transaction `db`, so they exist exactly when the load that produced them committed.
   * An invalid event is logged and skipped; only a database error (which dooms the caller's
   * transaction anyway) is thrown.
   */
  async record(db: Prisma.TransactionClient, event: MetadataEvent): Promise<RecordResult> {
    const parsed = metadataEventSchema.safeParse(event);
    if (!parsed.success) {
      const reason = parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ');
      this.log.error('DataHub metadata skipped: the event is invalid', { jobId: event.jobId, reason });
      return { kind: 'skipped', reason };
    }
    const e = parsed.data;
    const built = buildProposals(e, { env: this.env, ownershipType: this.ownershipType, now: new Date() });
    const proposals = await this.#governedOnce(db, e.jobId, built, e.kind === 'table_loaded');
    const runId = e.kind === 'table_loaded' ? e.runId : null;
    const count = await insertProposals(db, { jobId: e.jobId, runId }, proposals);
    return { kind: 'recorded', proposals: count };
  }

  /**
   * The domain, tags and owner are sent to an entity only where they differ from its newest
   * proposal of that aspect: the first load of a table, or a table taken over from another job.
   * After that, what people change in DataHub's UI stays (an UPSERT on every load would put the
   * job's back each time). A table this job took over (`tableLoaded`) would keep its former
   * owner job's domain, tags and owner, unless they are replaced: those this job does not set
   * itself are sent empty, once. (A job without them leaves the aspects alone.)
   */
  async #governedOnce(db: Prisma.TransactionClient, jobId: string, proposals: readonly Proposal[], tableLoaded: boolean): Promise<Proposal[]> {
    const governed = new Set(EMPTY_GOVERNANCE.map((g) => g.aspectName));
    const entity = proposals.find((p) => governed.has(p.aspectName))?.entityUrn ?? proposals.find((p) => p.entityType === 'dataset' && p.aspectName === 'schemaMetadata')?.entityUrn;
    if (entity === undefined) return [...proposals];
    const newest = await newestAspects(db, entity, [...governed]);
    const newestOf = (aspectName: string) => newest.find((n) => n.aspectName === aspectName);
    const kept = proposals.filter((p) => {
      if (p.entityUrn !== entity || !governed.has(p.aspectName)) return true;
      const last = newestOf(p.aspectName);
      return last === undefined || !isDeepStrictEqual(last.aspect, p.aspect);
    });
    if (!tableLoaded) return kept;
    const withdrawn = EMPTY_GOVERNANCE.filter((g) => {
      if (proposals.some((p) => p.entityUrn === entity && p.aspectName === g.aspectName)) return false;
      const last = newestOf(g.aspectName);
      return last !== undefined && last.jobId !== jobId && !isDeepStrictEqual(last.aspect, g.aspect);
    });
    return [...kept, ...withdrawn.map((g) => ({ entityType: 'dataset' as const, entityUrn: entity, ...g }))];
  }

  /** Starts the background sender (without a GMS, only the outbox housekeeping). Idempotent. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    if (this.client) this.log.info('DataHub sender started', { gms: this.client.url, env: this.env });
    else this.log.info('DataHub is not configured (DATAHUB_GMS_URL): metadata is kept for the API and UI, not sent');
    this.loop = this.run();
  }

  /** Stops the sender after the request in flight, if any. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.abort();
    const loop = this.loop;
    this.loop = null;
    await loop;
  }

  /**
   * Sends every due proposal now, batch after batch, until none is due or a batch fails.
   * Does nothing without a GMS.
   */
  async flush(): Promise<FlushResult> {
    const total: FlushResult = { sent: 0, failed: 0 };
    if (!this.client) return total;
    for (;;) {
      const r = await this.sendDue(this.client);
      total.sent += r.sent;
      total.failed += r.failed;
      if (r.claimed < this.batchSize || r.failed > 0) return total;
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let more = false;
      try {
        if (this.client) {
          const r = await this.sendDue(this.client);
          more = r.claimed === this.batchSize && r.failed === 0;
        }
        if (Date.now() - this.lastCompactAt >= this.compactIntervalMs) {
          const c = await compactOutbox(this.prisma, this.retainErrorsMs);
          this.lastCompactAt = Date.now();
          if (c.deleted > 0 || c.superseded > 0) this.log.debug('DataHub outbox compacted', c);
        }
        this.outbox.succeeded();
      } catch (err) {
        this.outbox.failed(err);
      }
      if (!more && !this.stopping) await this.pause(this.pollIntervalMs);
    }
  }

  private async pause(ms: number): Promise<void> {
    this.wake = new AbortController();
    try {
      await sleep(ms, undefined, { signal: this.wake.signal });
    } catch {
      // woken by stop()
    } finally {
      this.wake = null;
    }
  }

  private async sendDue(client: GmsClient): Promise<{ claimed: number; sent: number; failed: number }> {
    const claimed = await claimDueProposals(this.prisma, this.batchSize, this.leaseMs);
    let sent = 0;
    let failed = 0;
    for (const chunk of this.chunks(claimed)) {
      const r = await this.deliver(client, chunk);
      sent += r.sent;
      failed += r.failed;
    }
    return { claimed: claimed.length, sent, failed };
  }

  /** Splits claimed proposals so that no request exceeds `maxBatchBytes`. */
  private *chunks(rows: ClaimedProposal[]): Generator<{ row: ClaimedProposal; wire: WireProposal }[]> {
    let chunk: { row: ClaimedProposal; wire: WireProposal }[] = [];
    let bytes = 0;
    for (const row of rows) {
      const wire = toWireProposal(row);
      const size = Buffer.byteLength(JSON.stringify(wire));
      if (chunk.length > 0 && bytes + size > this.maxBatchBytes) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push({ row, wire });
      bytes += size;
    }
    if (chunk.length > 0) yield chunk;
  }

  private async deliver(client: GmsClient, chunk: { row: ClaimedProposal; wire: WireProposal }[]): Promise<FlushResult> {
    if (!this.batchUnsupported) {
      const outcome = await client.ingestBatch(chunk.map((c) => c.wire));
      switch (outcome.kind) {
        case 'ok':
          await markSent(this.prisma, chunk.map((c) => c.row.id));
          this.log.debug('DataHub proposals sent', { proposals: chunk.length });
          return { sent: chunk.length, failed: 0 };
        case 'retry_later':
          await this.failed(chunk.map((c) => c.row), outcome.message);
          return { sent: 0, failed: chunk.length };
        case 'rejected':
          // A 404 is a GMS without the batch action; any other refusal may concern one
          // proposal only: send them one by one so the others get through.
          if (outcome.status === 404) {
            this.batchUnsupported = true;
            this.log.info('DataHub GMS has no ingestProposalBatch action: sending proposals one by one');
          }
          break;
        default:
          assertNever(outcome, 'GMS outcome');
      }
    }
    let sent = 0;
    let failed = 0;
    for (const [i, c] of chunk.entries()) {
      const outcome = await client.ingestOne(c.wire);
      if (outcome.kind === 'ok') {
        await markSent(this.prisma, [c.row.id]);
        sent++;
      } else if (outcome.kind === 'rejected') {
        await this.failed([c.row], outcome.message);
        failed++;
      } else {
        const rest = chunk.slice(i).map((x) => x.row);
        await this.failed(rest, outcome.message);
        failed += rest.length;
        break;
      }
    }
    return { sent, failed };
  }

  private async failed(rows: ClaimedProposal[], message: string): Promise<void> {
    await markFailed(this.prisma, rows.map((r) => r.id), message, this.backoff);
    this.log.warn('DataHub proposals not delivered; they will be sent again', {
      proposals: rows.length,
      attempt: Math.max(...rows.map((r) => r.attempts)) + 1,
      error: message,
    });
  }
}
