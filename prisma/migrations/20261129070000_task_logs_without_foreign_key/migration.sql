-- task_logs: no foreign key to task_instances (its check locked the instance's row, FOR KEY SHARE,
-- for every line written, on the rows every try updates) and one index: the primary key is the
-- (instance, try, id) lookup path.

-- DropForeignKey
ALTER TABLE "task_logs" DROP CONSTRAINT "task_logs_task_instance_id_fkey";

-- DropIndex
DROP INDEX "task_logs_task_instance_id_try_number_id_idx";

-- AlterTable
ALTER TABLE "task_logs" DROP CONSTRAINT "task_logs_pkey",
ADD CONSTRAINT "task_logs_pkey" PRIMARY KEY ("task_instance_id", "try_number", "id");
