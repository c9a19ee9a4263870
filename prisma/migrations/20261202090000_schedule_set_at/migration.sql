-- When a job's schedule or time zone was last set (its create, or a PATCH that changed either;
-- not a resume): a catch-up runs no fire from before it, since the job had no such schedule then.
-- Jobs that exist already count from their creation, as catch-up did until now.

-- AlterTable
ALTER TABLE "ingestion_jobs" ADD COLUMN "schedule_set_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
UPDATE "ingestion_jobs" SET "schedule_set_at" = "created_at";
