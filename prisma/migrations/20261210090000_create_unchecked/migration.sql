-- The connector checks a create went on without (its Sluice-Unchecked header: spec, catalog,
-- connection), so that a create replayed by its Idempotency-Key answers them again (QA round 40c
-- F3: a client that timed out on a slow, unchecked create and retried was told nothing of them).
-- Jobs created before this column answer none on a replay, as they did.
ALTER TABLE "ingestion_jobs" ADD COLUMN "create_unchecked" TEXT[] DEFAULT ARRAY[]::TEXT[];
