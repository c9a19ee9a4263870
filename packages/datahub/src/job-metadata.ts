import type { Prisma } from '@sluice/db';
import { isUuid, type Db } from './outbox.ts';

export type ProposalDelivery = 'pending' | 'sent' | 'superseded';

export interface AspectRecord {
  aspectName: string;
  /** The aspect as DataHub receives it. */
  aspect: Prisma.JsonValue;
  /** `pending`: not sent yet (or DataHub is not configured); `superseded`: another job's newer version replaced it. */
  delivery: ProposalDelivery;
  runId: string | null;
  recordedAt: Date;
  sentAt: Date | null;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date | null;
}

export interface EntityMetadata {
  entityType: string;
  entityUrn: string;
  aspects: AspectRecord[];
}

export interface JobMetadata {
  jobId: string;
  /** Every entity the job describes (its data flow and jobs, its datasets), in URN order. */
  entities: EntityMetadata[];
}

interface Row {
  entity_type: string;
  entity_urn: string;
  aspect_name: string;
  aspect: Prisma.JsonValue;
  status: ProposalDelivery;
  run_id: string | null;
  created_at: Date;
  sent_at: Date | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
}

/**
 * The DataHub metadata of a job, as last recorded: the newest proposal of each entity and
 * aspect, with its delivery state. Works whether DataHub is configured or not (the API and UI
 * show it either way).
 */
export async function getJobMetadata(db: Db, jobId: string): Promise<JobMetadata> {
  if (!isUuid(jobId)) return { jobId, entities: [] };
  const rows = await db.$queryRaw<Row[]>`
    SELECT DISTINCT ON ("entity_urn", "aspect_name")
      "entity_type", "entity_urn", "aspect_name", "aspect", "status"::text AS "status", "run_id"::text AS "run_id",
      "created_at", "sent_at", "attempts", "last_error", "next_attempt_at"
    FROM "datahub_proposals"
    WHERE "job_id" = ${jobId}::uuid
    ORDER BY "entity_urn", "aspect_name", "id" DESC`;
  const entities = new Map<string, EntityMetadata>();
  for (const r of rows) {
    let entity = entities.get(r.entity_urn);
    if (!entity) {
      entity = { entityType: r.entity_type, entityUrn: r.entity_urn, aspects: [] };
      entities.set(r.entity_urn, entity);
    }
    entity.aspects.push({
      aspectName: r.aspect_name,
      aspect: r.aspect,
      delivery: r.status,
      runId: r.run_id,
      recordedAt: r.created_at,
      sentAt: r.sent_at,
      attempts: r.attempts,
      lastError: r.last_error,
      nextAttemptAt: r.status === 'pending' ? r.next_attempt_at : null,
    });
  }
  return { jobId, entities: [...entities.values()] };
}
