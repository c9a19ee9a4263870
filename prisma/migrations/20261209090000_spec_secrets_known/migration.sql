-- Whether the job's secret paths include the fields its connector's spec marks airbyte_secret.
-- False for a job whose config was stored before that spec could be read (a connector's first
-- install outlasting the create): until the spec is read, the API masks every string of the
-- config, as it cannot tell which of them are secrets (QA round 37b F2's rest). Jobs stored before
-- this column were answered by their secret paths as they stand.
ALTER TABLE "ingestion_jobs" ADD COLUMN "spec_secrets_known" BOOLEAN NOT NULL DEFAULT true;
