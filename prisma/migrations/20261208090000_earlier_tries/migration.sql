-- A task instance's tries before its latest, oldest first: try number, how it ended, its start and
-- end (QA round 28: a retried or cleared task's timeline showed its latest try only, and the times of
-- the tries before it were gone). Appended by the claim of the next try and by a clear, which reset
-- the latest try's times.
ALTER TABLE "task_instances" ADD COLUMN "earlier_tries" JSONB NOT NULL DEFAULT '[]';

-- `tries` with the try that started at `started_at` appended; unchanged when none did (a task that
-- never ran, or a clear's reset already recorded). A SQL function PostgreSQL inlines.
CREATE FUNCTION sluice_with_try(tries jsonb, try_number int, state text, started_at timestamptz, ended_at timestamptz)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN started_at IS NULL THEN tries
    ELSE tries || jsonb_build_array(jsonb_build_object('try_number', try_number, 'state', state, 'started_at', started_at, 'ended_at', ended_at)) END
$$;
