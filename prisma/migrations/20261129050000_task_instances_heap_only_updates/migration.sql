-- Task instances change state four times or more each (scheduled, queued, running, success). With
-- no index on state, and room left on each page for new row versions, those updates are heap-only:
-- no index entries are written for them. Recovery reaches queued and running instances through
-- the running runs (dag_runs keeps its state index), not through a scan of this table.
DROP INDEX "task_instances_state_idx";
ALTER TABLE "task_instances" SET (fillfactor = 70);
