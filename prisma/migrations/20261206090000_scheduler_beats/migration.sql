-- Each scheduler process's latest recovery sweep (QA round 27: with no scheduler running, the UI
-- looked healthy and kept announcing fires that did not happen).
CREATE TABLE "scheduler_beats" (
    "scheduler_id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "beat_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "scheduler_beats_pkey" PRIMARY KEY ("scheduler_id")
);
