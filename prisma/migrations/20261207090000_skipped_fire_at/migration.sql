-- The latest fire time a fire skipped on purpose (QA round 28: the scheduler's make-up of missed
-- fires gave such a fire a run a minute later, once the waiting run had started).
ALTER TABLE "ingestion_jobs" ADD COLUMN "skipped_fire_at" TIMESTAMPTZ(3);
