-- AlterTable
ALTER TABLE "ingestion_jobs" ADD COLUMN     "source_catalog" JSONB,
ADD COLUMN     "source_catalog_at" TIMESTAMPTZ(3);
