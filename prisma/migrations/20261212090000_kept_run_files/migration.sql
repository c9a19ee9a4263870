-- The files of a run whose rows the run-history retention deleted while the file retention kept
-- them for ever (SLUICE_ARCHIVE_RETENTION_DAYS or SLUICE_STAGING_RETENTION_DAYS at 0): the files
-- sweep finds them here should the policy change (QA round 42a F2: with the rows gone, nothing could
-- reach them). No foreign key: the run is gone, and a job's row is only ever marked deleted.
-- Files whose runs' rows were deleted before this table are not recorded.
CREATE TABLE "kept_run_files" (
    "run_id" UUID NOT NULL,
    "job_id" UUID NOT NULL,
    "state" "RunState" NOT NULL,
    "ended_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "kept_run_files_pkey" PRIMARY KEY ("run_id")
);

CREATE INDEX "kept_run_files_ended_at_idx" ON "kept_run_files"("ended_at");
