-- Each earlier try keeps its error (QA round 53a F3: a retry could not tell a try lost with its
-- runner from one that failed reading the source, and discovered the catalog again for either; the
-- log page of an earlier try showed the latest try's error). The six-argument form stays for
-- processes of the version before this one, which run beside the migrated database during an
-- upgrade; their entries have no `error`, read as none recorded.
CREATE FUNCTION sluice_with_try(tries jsonb, try_number int, state text, started_at timestamptz, ended_at timestamptz, counted boolean, error text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN started_at IS NULL THEN tries
    ELSE tries || jsonb_build_array(jsonb_build_object('try_number', try_number, 'state', state, 'started_at', started_at, 'ended_at', ended_at, 'counted', counted, 'error', error)) END
$$;
