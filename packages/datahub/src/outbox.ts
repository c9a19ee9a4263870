import type { Prisma, PrismaClient } from '@sluice/db';
import type { Proposal } from './aspects.ts';

/**
 * Data access for the `datahub_proposals` outbox. Proposals are written in the caller's
 * transaction; senders claim due rows with a lease (so several processes may send at once
 * without sending the same row twice or an older aspect after a newer one), then mark them
 * sent or failed. Times are the database's, so machines with skewed clocks agree.
 */

export type Db = PrismaClient | Prisma.TransactionClient;

/** Job and run ids are UUIDs; anything else names nothing in the outbox. */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

export interface ClaimedProposal {
  id: bigint;
  entityType: string;
  entityUrn: string;
  aspectName: string;
  aspect: unknown;
  attempts: number;
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** Claims are made one sender at a time (a transaction-scoped advisory lock); they are short. */
const CLAIM_LOCK = 0x5d47ab;

export async function insertProposals(db: Db, owner: { jobId: string; runId: string | null }, proposals: Proposal[]): Promise<number> {
  if (proposals.length === 0) return 0;
  const result = await db.datahubProposal.createMany({
    data: proposals.map((p) => ({
      jobId: owner.jobId,
      runId: owner.runId,
      entityType: p.entityType,
      entityUrn: p.entityUrn,
      aspectName: p.aspectName,
      aspect: p.aspect as unknown as Prisma.InputJsonObject,
    })),
  });
  return result.count;
}

/**
 * A deleted job's data flow and data jobs, marked removed in DataHub (its `status` aspect, as
 * DataHub's soft delete does): one proposal for each such entity the job's proposals ever named —
 * housekeeping keeps the newest proposal of each entity and aspect, so none is missed. Its tables
 * stay: they hold data, and another job may take them over. Answers the proposals written.
 */
export async function insertJobRemoval(db: Db, jobId: string): Promise<number> {
  return db.$executeRaw`
    INSERT INTO "datahub_proposals" ("job_id", "entity_type", "entity_urn", "aspect_name", "aspect")
    SELECT DISTINCT "job_id", "entity_type", "entity_urn", 'status', '{"removed": true}'::jsonb
      FROM "datahub_proposals"
     WHERE "job_id" = ${jobId}::uuid AND "entity_type" IN ('dataFlow', 'dataJob')`;
}

/**
 * The newest proposal of each of the given aspects of one entity (by any job; pending or sent:
 * a pending one is sent in time), with the job that made it.
 */
export async function newestAspects(db: Db, entityUrn: string, aspectNames: readonly string[]): Promise<{ aspectName: string; aspect: unknown; jobId: string }[]> {
  const rows = await db.$queryRaw<{ aspect_name: string; aspect: unknown; job_id: string }[]>`
    SELECT DISTINCT ON ("aspect_name") "aspect_name", "aspect", "job_id"::text AS "job_id"
      FROM "datahub_proposals"
     WHERE "entity_urn" = ${entityUrn} AND "aspect_name" = ANY(${[...aspectNames]}::text[])
     ORDER BY "aspect_name", "id" DESC`;
  return rows.map((r) => ({ aspectName: r.aspect_name, aspect: r.aspect, jobId: r.job_id }));
}

/**
 * Marks pending proposals that a newer proposal for the same entity and aspect replaces
 * (and that no sender holds) as superseded: only the newest version is worth sending.
 */
async function supersedeOlder(db: Db): Promise<number> {
  return db.$executeRaw`
    UPDATE "datahub_proposals" o SET "status" = 'superseded'
    WHERE o."status" = 'pending'
      AND (o."leased_until" IS NULL OR o."leased_until" < now())
      AND EXISTS (
        SELECT 1 FROM "datahub_proposals" n
        WHERE n."entity_urn" = o."entity_urn" AND n."aspect_name" = o."aspect_name" AND n."id" > o."id")`;
}

/**
 * Claims up to `limit` due proposals, oldest first, for `leaseMs`. A proposal whose entity and
 * aspect has an older version in flight waits for it, so GMS never gets versions out of order.
 */
export async function claimDueProposals(prisma: PrismaClient, limit: number, leaseMs: number): Promise<ClaimedProposal[]> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CLAIM_LOCK}::bigint)`;
    await supersedeOlder(tx);
    const rows = await tx.$queryRaw<
      { id: bigint; entity_type: string; entity_urn: string; aspect_name: string; aspect: unknown; attempts: number }[]
    >`
      UPDATE "datahub_proposals" SET "leased_until" = now() + make_interval(secs => ${leaseMs / 1000}::float8)
      WHERE "id" IN (
        SELECT p."id" FROM "datahub_proposals" p
        WHERE p."status" = 'pending' AND p."next_attempt_at" <= now()
          AND (p."leased_until" IS NULL OR p."leased_until" < now())
          AND NOT EXISTS (
            SELECT 1 FROM "datahub_proposals" q
            WHERE q."entity_urn" = p."entity_urn" AND q."aspect_name" = p."aspect_name" AND q."id" < p."id"
              AND q."status" = 'pending' AND q."leased_until" >= now())
        ORDER BY p."id"
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING "id", "entity_type", "entity_urn", "aspect_name", "aspect", "attempts"`;
    return rows
      .map((r) => ({ id: r.id, entityType: r.entity_type, entityUrn: r.entity_urn, aspectName: r.aspect_name, aspect: r.aspect, attempts: r.attempts }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  });
}

function idArray(ids: bigint[]): string[] {
  return ids.map((id) => id.toString());
}

export async function markSent(db: Db, ids: bigint[]): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`
    UPDATE "datahub_proposals"
    SET "status" = 'sent', "sent_at" = now(), "last_attempt_at" = now(), "attempts" = "attempts" + 1, "leased_until" = NULL
    WHERE "id" = ANY(${idArray(ids)}::bigint[])`;
}

/**
 * Records a failed try: the error, and the next try after an exponential backoff with jitter
 * (`baseMs · 2^attempts`, at most `maxMs`, times a random 0.5–1).
 */
export async function markFailed(db: Db, ids: bigint[], error: string, backoff: Backoff): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`
    UPDATE "datahub_proposals"
    SET "attempts" = "attempts" + 1, "last_error" = ${error}, "last_attempt_at" = now(), "leased_until" = NULL,
        "next_attempt_at" = now() + make_interval(secs =>
          LEAST(${backoff.maxMs}::float8, ${backoff.baseMs}::float8 * power(2, LEAST("attempts", 30))) * (0.5 + random() / 2) / 1000)
    WHERE "id" = ANY(${idArray(ids)}::bigint[])`;
}

/**
 * Housekeeping: supersedes replaced pending proposals, then deletes sent and superseded rows
 * that a newer row of the same job, entity and aspect replaces — keeping, for `retainErrorsMs`,
 * those that carry an error (they are a run's warnings).
 */
export async function compactOutbox(prisma: PrismaClient, retainErrorsMs: number): Promise<{ superseded: number; deleted: number }> {
  const superseded = await supersedeOlder(prisma);
  const deleted = await prisma.$executeRaw`
    DELETE FROM "datahub_proposals" o
    WHERE o."status" IN ('sent', 'superseded')
      AND (o."last_error" IS NULL OR o."created_at" < now() - make_interval(secs => ${retainErrorsMs / 1000}::float8))
      AND EXISTS (
        SELECT 1 FROM "datahub_proposals" n
        WHERE n."job_id" = o."job_id" AND n."entity_urn" = o."entity_urn" AND n."aspect_name" = o."aspect_name" AND n."id" > o."id")`;
  return { superseded, deleted };
}
