-- Idempotent job creation: the create request's Idempotency-Key header, unique among one owner's
-- jobs, and a digest of the request to tell a retry from a different request under the same key.
-- The unique index leads with owner_id, so it also serves the owner filter the old index did.

-- AlterTable
ALTER TABLE "ingestion_jobs" ADD COLUMN "idempotency_key" TEXT,
ADD COLUMN "request_digest" TEXT;

-- DropIndex
DROP INDEX "ingestion_jobs_owner_id_idx";

-- CreateIndex
CREATE UNIQUE INDEX "ingestion_jobs_owner_id_idempotency_key_key" ON "ingestion_jobs"("owner_id", "idempotency_key");
