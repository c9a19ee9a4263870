-- ingestion_jobs.schedule_active_since: when the job's schedule last became active (the job was
-- created, resumed, or its schedule or time zone changed). A scheduler that starts after an outage
-- creates the run of the latest fire it missed only when that fire is later than this and than
-- the job's latest scheduled run (see Schedules.sync in packages/engine). Existing jobs take their
-- creation time.

-- AlterTable
ALTER TABLE "ingestion_jobs" ADD COLUMN "schedule_active_since" TIMESTAMPTZ(3);
UPDATE "ingestion_jobs" SET "schedule_active_since" = "created_at";
ALTER TABLE "ingestion_jobs" ALTER COLUMN "schedule_active_since" SET NOT NULL,
ALTER COLUMN "schedule_active_since" SET DEFAULT CURRENT_TIMESTAMP;
