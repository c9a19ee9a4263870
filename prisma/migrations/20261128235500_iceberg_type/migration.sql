-- AlterTable
ALTER TABLE "iceberg_tables" ADD COLUMN     "iceberg_type" VARCHAR(5);
