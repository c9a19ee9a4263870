-- A try cut short by its runner's graceful stop (a deploy) is retried at once and does not count
-- against the task's tries; until the next try's claim moves it to `earlier_tries` the instance
-- says so here (QA round 47b F3: the run page showed such a try as failed, in red).
ALTER TABLE "task_instances" ADD COLUMN "try_uncharged" BOOLEAN NOT NULL DEFAULT false;

-- sluice_with_try with the try's `counted` (false: cut short by a graceful stop). The five-argument
-- form stays for processes of the version before this one, which run beside the migrated database
-- during an upgrade; their entries have no `counted`, read as counted.
CREATE FUNCTION sluice_with_try(tries jsonb, try_number int, state text, started_at timestamptz, ended_at timestamptz, counted boolean)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN started_at IS NULL THEN tries
    ELSE tries || jsonb_build_array(jsonb_build_object('try_number', try_number, 'state', state, 'started_at', started_at, 'ended_at', ended_at, 'counted', counted)) END
$$;
