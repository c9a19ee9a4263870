-- A failure may say that a clear of its task fails the same way (QA round 26, N4): the run page
-- then offers no clear, and the engine refuses one.
ALTER TABLE "task_instances" ADD COLUMN "clearable" BOOLEAN NOT NULL DEFAULT true;

-- Failures recorded before the column, of the two kinds that say so:
-- a stage of a stream its extract's last try did not read to the end (ADR 0022), named in the
-- succeeded extract's output;
UPDATE "task_instances" ti SET "clearable" = false
FROM "task_instances" src
WHERE src."run_id" = ti."run_id" AND src."task_type" = 'extract' AND src."map_index" = -1
  AND ti."task_type" = 'stage' AND ti."state" = 'failed' AND ti."stream" IS NOT NULL
  AND src."output" -> 'unread' @> jsonb_build_array(jsonb_build_object('name', ti."stream"));
-- a load refused because another run of the job read later or loaded after this run read (ADR 0019).
UPDATE "task_instances" SET "clearable" = false
WHERE "task_type" = 'load' AND "state" = 'failed' AND "error" LIKE '%Leave this run failed%';
