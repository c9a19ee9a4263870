-- A manual trigger's Idempotency-Key header (QA round 48b D6: a client that retried a trigger after a
-- timeout made a second run): kept on the run it made, unique within the job, so that the same key
-- answers that run ('exists') instead of making another. Otherwise as in
-- 20261204090000_one_waiting_scheduled_run, whose fourteen-argument form stays, without a key, for
-- processes of the version before this one running beside the migrated database.
ALTER TABLE "dag_runs" ADD COLUMN "trigger_key" TEXT;
CREATE UNIQUE INDEX "dag_runs_job_id_trigger_key_key" ON "dag_runs"("job_id", "trigger_key");

CREATE FUNCTION "sluice_create_run"(
  p_job_id uuid,
  p_dag_id uuid,
  p_run_id uuid,
  p_run_type "RunType",
  p_logical_date timestamptz,
  p_next_free_date boolean,
  p_require_active_schedule boolean,
  p_now timestamptz,
  p_instance_ids uuid[],
  p_task_ids text[],
  p_map_indexes int[],
  p_task_types text[],
  p_max_tries int[],
  p_start_states text[],
  p_trigger_key text
) RETURNS TABLE (outcome text, run_id uuid, run_state text, latest_dag_id uuid)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_job record;
  v_date timestamptz := p_logical_date;
  v_latest timestamptz;
  v_state "RunState";
  v_slot_free boolean;
  v_behind boolean;
BEGIN
  SELECT j.max_active_runs, j.is_deleted, j.is_paused, j.schedule, j.catchup,
         (SELECT d.id FROM dags d WHERE d.job_id = j.id ORDER BY d.version DESC LIMIT 1) AS dag_id
    INTO v_job
    FROM ingestion_jobs j WHERE j.id = p_job_id FOR UPDATE OF j;
  IF NOT FOUND OR v_job.is_deleted THEN
    RETURN QUERY SELECT 'no_job'::text, NULL::uuid, NULL::text, NULL::uuid;
    RETURN;
  END IF;
  -- A trigger retried with its key answers the run the first one made, whatever the job's
  -- settings or runs since (the job's lock above orders two such triggers: the second sees the first's run).
  IF p_trigger_key IS NOT NULL THEN
    RETURN QUERY SELECT 'exists'::text, d.id, d.state::text, p_dag_id
      FROM dag_runs d WHERE d.job_id = p_job_id AND d.trigger_key = p_trigger_key;
    IF FOUND THEN
      RETURN;
    END IF;
  END IF;
  IF p_require_active_schedule AND (v_job.is_paused OR v_job.schedule IS NULL) THEN
    RETURN QUERY SELECT 'inactive'::text, NULL::uuid, NULL::text, v_job.dag_id;
    RETURN;
  END IF;
  IF v_job.dag_id IS NULL THEN
    RETURN QUERY SELECT 'no_dag'::text, NULL::uuid, NULL::text, NULL::uuid;
    RETURN;
  END IF;
  IF v_job.dag_id IS DISTINCT FROM p_dag_id THEN
    RETURN QUERY SELECT 'other_dag'::text, NULL::uuid, NULL::text, v_job.dag_id;
    RETURN;
  END IF;

  -- Manual triggers in the same millisecond: the run takes the millisecond after the job's latest
  -- run of this type.
  IF p_next_free_date THEN
    SELECT max(d.logical_date) INTO v_latest FROM dag_runs d WHERE d.job_id = p_job_id AND d.run_type = p_run_type;
    IF v_latest >= p_logical_date THEN
      v_date := v_latest + interval '1 millisecond';
    END IF;
  END IF;

  -- The run starts at once when max_active_runs allows; otherwise it waits queued (policy: queue,
  -- never refuse, never run in parallel). Queued runs start oldest logical date first: while any
  -- waits (and the job is not paused, which holds them), a new run waits too, even with a slot free
  -- (a resume's catch-up runs are made before its queued runs start); 'created_behind' then tells
  -- the caller to start the job's queued runs.
  SELECT count(*) < v_job.max_active_runs INTO v_slot_free
    FROM dag_runs d WHERE d.job_id = p_job_id AND d.state = 'running';
  v_behind := v_slot_free AND NOT v_job.is_paused
    AND EXISTS (SELECT 1 FROM dag_runs d WHERE d.job_id = p_job_id AND d.state = 'queued');
  v_state := (CASE WHEN v_slot_free AND NOT v_behind THEN 'running' ELSE 'queued' END)::"RunState";

  -- Without catchup, one scheduled run waiting is enough: it reads on from where the runs before it
  -- left off, so a fire of a busy job (no slot free: with one, the waiting run is started instead,
  -- 'created_behind') whose scheduled run already waits queued adds nothing to the
  -- queue (which would otherwise grow for ever when runs take longer than the schedule's interval).
  -- run_id answers the waiting run. A fire for the waiting run's own time is the 'exists' below.
  IF NOT v_slot_free AND p_run_type = 'scheduled' AND NOT v_job.catchup THEN
    RETURN QUERY SELECT 'skipped'::text, d.id, d.state::text, p_dag_id
      FROM dag_runs d
      WHERE d.job_id = p_job_id AND d.run_type = 'scheduled' AND d.state = 'queued' AND d.logical_date <> v_date
        -- A cleared run waiting to run again re-runs some tasks only: it is not the fire's run.
        AND NOT EXISTS (SELECT 1 FROM task_instances t WHERE t.run_id = d.id AND t.try_number > 0)
      ORDER BY d.logical_date LIMIT 1;
    IF FOUND THEN
      RETURN;
    END IF;
  END IF;

  INSERT INTO dag_runs (id, job_id, dag_id, run_type, logical_date, state, queued_at, started_at, created_at, updated_at, trigger_key)
  VALUES (p_run_id, p_job_id, p_dag_id, p_run_type, v_date, v_state, p_now,
          CASE WHEN v_state = 'running' THEN p_now END, p_now, p_now, p_trigger_key)
  ON CONFLICT (job_id, run_type, logical_date) DO NOTHING;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'exists'::text, d.id, d.state::text, p_dag_id
      FROM dag_runs d WHERE d.job_id = p_job_id AND d.run_type = p_run_type AND d.logical_date = v_date;
    RETURN;
  END IF;

  -- A queued run's instances all wait scheduled; a started run's take the states the caller
  -- decided for its first evaluation.
  INSERT INTO task_instances (id, run_id, task_id, map_index, task_type, state, max_tries, queued_at, ended_at, updated_at)
  SELECT t.id, p_run_id, t.task_id, t.map_index, t.task_type::"TaskType",
         (CASE WHEN v_state = 'running' THEN t.start_state ELSE 'scheduled' END)::"TaskState", t.max_tries,
         CASE WHEN v_state = 'running' AND t.start_state = 'queued' THEN p_now END,
         CASE WHEN v_state = 'running' AND t.start_state = 'upstream_failed' THEN p_now END,
         p_now
  FROM unnest(p_instance_ids, p_task_ids, p_map_indexes, p_task_types, p_max_tries, p_start_states)
    AS t(id, task_id, map_index, task_type, max_tries, start_state);

  IF v_state = 'running' THEN
    UPDATE ingestion_jobs SET status = 'running', status_message = NULL, last_started_at = p_now, updated_at = p_now
      WHERE id = p_job_id;
  END IF;

  RETURN QUERY SELECT (CASE WHEN v_behind THEN 'created_behind' ELSE 'created' END)::text, p_run_id, v_state::text, p_dag_id;
END
$$;

CREATE OR REPLACE FUNCTION "sluice_create_run"(
  p_job_id uuid,
  p_dag_id uuid,
  p_run_id uuid,
  p_run_type "RunType",
  p_logical_date timestamptz,
  p_next_free_date boolean,
  p_require_active_schedule boolean,
  p_now timestamptz,
  p_instance_ids uuid[],
  p_task_ids text[],
  p_map_indexes int[],
  p_task_types text[],
  p_max_tries int[],
  p_start_states text[]
) RETURNS TABLE (outcome text, run_id uuid, run_state text, latest_dag_id uuid)
LANGUAGE sql VOLATILE AS $$
  SELECT * FROM "sluice_create_run"(p_job_id, p_dag_id, p_run_id, p_run_type, p_logical_date, p_next_free_date,
    p_require_active_schedule, p_now, p_instance_ids, p_task_ids, p_map_indexes, p_task_types, p_max_tries, p_start_states, NULL::text)
$$;
