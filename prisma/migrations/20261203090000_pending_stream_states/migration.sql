-- The state a stream's load is about to save, written before its Iceberg commit and removed with
-- the save after it; one left behind is settled before the job's next extract (ADR 0025).

-- CreateTable
CREATE TABLE "pending_stream_states" (
    "job_id" UUID NOT NULL,
    "stream_key" TEXT NOT NULL,
    "run_id" UUID NOT NULL,
    "state" JSONB NOT NULL,
    "namespace" TEXT NOT NULL,
    "table_name" TEXT NOT NULL,
    "task_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pending_stream_states_pkey" PRIMARY KEY ("job_id","stream_key","run_id")
);

-- AddForeignKey
ALTER TABLE "pending_stream_states" ADD CONSTRAINT "pending_stream_states_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ingestion_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
