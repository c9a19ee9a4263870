-- When a job's source_config last changed after its create (PATCH, or a connector's refreshed
-- config): a retried create is then told from another by its request digest alone, since the
-- stored config is no longer the one the create sent.

-- AlterTable
ALTER TABLE "ingestion_jobs" ADD COLUMN "source_config_changed_at" TIMESTAMPTZ(3);
