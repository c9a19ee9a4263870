-- run_file_removals: when the retention sweep removed a finished run's files (its archive/{run}/
-- after SLUICE_ARCHIVE_RETENTION_DAYS, or the staging/{run}/ a failed or cancelled run left, after
-- SLUICE_STAGING_RETENTION_DAYS). A run that ended again after that (it was cleared) is swept
-- again. Owned by the runner's retention sweep (packages/runner/src/retention).

-- CreateTable
CREATE TABLE "run_file_removals" (
    "run_id" UUID NOT NULL,
    "removed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "run_file_removals_pkey" PRIMARY KEY ("run_id")
);

-- AddForeignKey
ALTER TABLE "run_file_removals" ADD CONSTRAINT "run_file_removals_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "dag_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
