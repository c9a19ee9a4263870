-- A scheduled run made for the latest fire time after earlier fires that made no run of their own
-- (no scheduler running, Redis lost them; catch-up off, or a catch-up past its 100 runs) says how
-- many they were and when the first and the last came (QA round 41a F3: the make-up run after an
-- outage looked like any other, and the fires before it were said only in the scheduler's log).
-- Runs made before this column say none.
ALTER TABLE "dag_runs" ADD COLUMN "missed_fires" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "first_missed_fire_at" TIMESTAMPTZ(3),
  ADD COLUMN "last_missed_fire_at" TIMESTAMPTZ(3);
