-- CreateEnum
CREATE TYPE "DatahubProposalStatus" AS ENUM ('pending', 'sent', 'superseded');

-- CreateTable
CREATE TABLE "datahub_proposals" (
    "id" BIGSERIAL NOT NULL,
    "job_id" UUID NOT NULL,
    "run_id" UUID,
    "entity_type" TEXT NOT NULL,
    "entity_urn" TEXT NOT NULL,
    "aspect_name" TEXT NOT NULL,
    "aspect" JSONB NOT NULL,
    "status" "DatahubProposalStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "last_attempt_at" TIMESTAMPTZ(3),
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leased_until" TIMESTAMPTZ(3),
    "sent_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "datahub_proposals_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "datahub_proposals_status_next_attempt_at_idx" ON "datahub_proposals"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "datahub_proposals_entity_urn_aspect_name_id_idx" ON "datahub_proposals"("entity_urn", "aspect_name", "id");

-- CreateIndex
CREATE INDEX "datahub_proposals_job_id_id_idx" ON "datahub_proposals"("job_id", "id");

-- CreateIndex
CREATE INDEX "datahub_proposals_run_id_idx" ON "datahub_proposals"("run_id");

-- AddForeignKey
ALTER TABLE "datahub_proposals" ADD CONSTRAINT "datahub_proposals_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ingestion_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
