-- CreateEnum
CREATE TYPE "WriteMode" AS ENUM ('append', 'overwrite', 'merge');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('new', 'running', 'completed', 'failed');

-- CreateEnum
CREATE TYPE "RunType" AS ENUM ('scheduled', 'manual');

-- CreateEnum
CREATE TYPE "RunState" AS ENUM ('queued', 'running', 'success', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "TaskState" AS ENUM ('scheduled', 'queued', 'running', 'success', 'failed', 'up_for_retry', 'upstream_failed', 'skipped', 'cancelled');

-- CreateEnum
CREATE TYPE "TaskType" AS ENUM ('extract', 'stage', 'transform', 'load', 'archive');

-- CreateEnum
CREATE TYPE "StreamStateKind" AS ENUM ('stream', 'global', 'legacy');

-- CreateTable
CREATE TABLE "ingestion_jobs" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "source_name" TEXT NOT NULL,
    "source_version" TEXT,
    "source_config_encrypted" TEXT NOT NULL,
    "secret_paths" TEXT[],
    "schema_name" TEXT NOT NULL,
    "mode" "WriteMode" NOT NULL,
    "streams" TEXT[],
    "merge_keys" TEXT,
    "schedule" TEXT,
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "domain" TEXT,
    "tags" TEXT[],
    "owner_id" TEXT,
    "column_transformations" JSONB NOT NULL DEFAULT '[]',
    "archive_staging" BOOLEAN NOT NULL DEFAULT true,
    "add_ingestion_metadata" BOOLEAN NOT NULL DEFAULT true,
    "max_active_runs" INTEGER NOT NULL DEFAULT 1,
    "catchup" BOOLEAN NOT NULL DEFAULT false,
    "is_paused" BOOLEAN NOT NULL DEFAULT false,
    "status" "JobStatus" NOT NULL DEFAULT 'new',
    "status_message" TEXT,
    "last_started_at" TIMESTAMPTZ(3),
    "last_completed_at" TIMESTAMPTZ(3),
    "last_failed_at" TIMESTAMPTZ(3),
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ingestion_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dags" (
    "id" UUID NOT NULL,
    "job_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dags_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dag_tasks" (
    "dag_id" UUID NOT NULL,
    "task_id" TEXT NOT NULL,
    "task_type" "TaskType" NOT NULL,
    "upstream_task_ids" TEXT[],
    "is_mapped" BOOLEAN NOT NULL DEFAULT false,
    "retries" INTEGER NOT NULL,
    "retry_delay_ms" INTEGER NOT NULL,
    "max_retry_delay_ms" INTEGER NOT NULL,
    "timeout_ms" INTEGER NOT NULL,

    CONSTRAINT "dag_tasks_pkey" PRIMARY KEY ("dag_id","task_id")
);

-- CreateTable
CREATE TABLE "dag_runs" (
    "id" UUID NOT NULL,
    "job_id" UUID NOT NULL,
    "dag_id" UUID NOT NULL,
    "run_type" "RunType" NOT NULL,
    "logical_date" TIMESTAMPTZ(3) NOT NULL,
    "state" "RunState" NOT NULL DEFAULT 'queued',
    "state_message" TEXT,
    "queued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "warnings" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "dag_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_instances" (
    "id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "task_id" TEXT NOT NULL,
    "map_index" INTEGER NOT NULL DEFAULT -1,
    "stream" TEXT,
    "task_type" "TaskType" NOT NULL,
    "state" "TaskState" NOT NULL DEFAULT 'scheduled',
    "try_number" INTEGER NOT NULL DEFAULT 0,
    "max_tries" INTEGER NOT NULL,
    "queued_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "next_retry_at" TIMESTAMPTZ(3),
    "heartbeat_at" TIMESTAMPTZ(3),
    "runner_id" TEXT,
    "rows" BIGINT NOT NULL DEFAULT 0,
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "error" TEXT,
    "output" JSONB,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "task_instances_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_logs" (
    "id" BIGSERIAL NOT NULL,
    "task_instance_id" UUID NOT NULL,
    "try_number" INTEGER NOT NULL,
    "ts" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "level" TEXT NOT NULL,
    "message" TEXT NOT NULL,

    CONSTRAINT "task_logs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stream_states" (
    "job_id" UUID NOT NULL,
    "stream_key" TEXT NOT NULL,
    "kind" "StreamStateKind" NOT NULL,
    "state" JSONB NOT NULL,
    "run_id" UUID,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "stream_states_pkey" PRIMARY KEY ("job_id","stream_key")
);

-- CreateTable
CREATE TABLE "encryption_keys" (
    "name" TEXT NOT NULL,
    "owner_id" TEXT,
    "active_version" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "encryption_keys_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "encryption_key_versions" (
    "key_name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "wrapped_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "encryption_key_versions_pkey" PRIMARY KEY ("key_name","version")
);

-- CreateTable
CREATE TABLE "iceberg_tables" (
    "catalog_name" VARCHAR(255) NOT NULL,
    "table_namespace" VARCHAR(255) NOT NULL,
    "table_name" VARCHAR(255) NOT NULL,
    "metadata_location" VARCHAR(1000),
    "previous_metadata_location" VARCHAR(1000),

    CONSTRAINT "iceberg_tables_pkey" PRIMARY KEY ("catalog_name","table_namespace","table_name")
);

-- CreateTable
CREATE TABLE "iceberg_namespace_properties" (
    "catalog_name" VARCHAR(255) NOT NULL,
    "namespace" VARCHAR(255) NOT NULL,
    "property_key" VARCHAR(255) NOT NULL,
    "property_value" VARCHAR(1000),

    CONSTRAINT "iceberg_namespace_properties_pkey" PRIMARY KEY ("catalog_name","namespace","property_key")
);

-- CreateIndex
CREATE INDEX "ingestion_jobs_owner_id_idx" ON "ingestion_jobs"("owner_id");

-- CreateIndex
CREATE INDEX "ingestion_jobs_is_deleted_is_paused_idx" ON "ingestion_jobs"("is_deleted", "is_paused");

-- CreateIndex
CREATE UNIQUE INDEX "dags_job_id_version_key" ON "dags"("job_id", "version");

-- CreateIndex
CREATE INDEX "dag_runs_state_idx" ON "dag_runs"("state");

-- CreateIndex
CREATE INDEX "dag_runs_job_id_created_at_idx" ON "dag_runs"("job_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "dag_runs_job_id_run_type_logical_date_key" ON "dag_runs"("job_id", "run_type", "logical_date");

-- CreateIndex
CREATE INDEX "task_instances_state_idx" ON "task_instances"("state");

-- CreateIndex
CREATE UNIQUE INDEX "task_instances_run_id_task_id_map_index_key" ON "task_instances"("run_id", "task_id", "map_index");

-- CreateIndex
CREATE INDEX "task_logs_task_instance_id_try_number_id_idx" ON "task_logs"("task_instance_id", "try_number", "id");

-- AddForeignKey
ALTER TABLE "dags" ADD CONSTRAINT "dags_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ingestion_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dag_tasks" ADD CONSTRAINT "dag_tasks_dag_id_fkey" FOREIGN KEY ("dag_id") REFERENCES "dags"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dag_runs" ADD CONSTRAINT "dag_runs_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ingestion_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dag_runs" ADD CONSTRAINT "dag_runs_dag_id_fkey" FOREIGN KEY ("dag_id") REFERENCES "dags"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_instances" ADD CONSTRAINT "task_instances_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "dag_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_logs" ADD CONSTRAINT "task_logs_task_instance_id_fkey" FOREIGN KEY ("task_instance_id") REFERENCES "task_instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stream_states" ADD CONSTRAINT "stream_states_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ingestion_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "encryption_key_versions" ADD CONSTRAINT "encryption_key_versions_key_name_fkey" FOREIGN KEY ("key_name") REFERENCES "encryption_keys"("name") ON DELETE CASCADE ON UPDATE CASCADE;
