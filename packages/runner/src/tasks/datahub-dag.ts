import { icebergTableName } from '@sluice/core/pipeline';
import type { DagShape } from '@sluice/datahub';
import type { TaskJob } from '../worker/task-handler.ts';

/**
 * The DAG of one job as DataHub shows it (one data flow, one data job per task instance shape):
 * extract reads the Airbyte streams; per stream, stage → transform → load, load writing
 * `{schema_name}.{table}`; archive after every load.
 */
export function dagShapeFor(job: TaskJob, streams: readonly string[], publicUrl: string): DagShape {
  const flowUrl = `${publicUrl}/jobs/${job.id}`;
  const airbyte = (s: string): { platform: 'airbyte'; name: string } => ({ platform: 'airbyte', name: `${job.sourceName}.${s}` });
  const iceberg = (s: string): { platform: 'iceberg'; name: string } => ({ platform: 'iceberg', name: `${job.schemaName}.${icebergTableName(s)}` });
  const tasks: DagShape['tasks'] = [
    { taskId: 'extract', taskType: 'extract', upstream: [], inputs: streams.map(airbyte), outputs: [] },
  ];
  for (const s of streams) {
    tasks.push(
      { taskId: `stage[${s}]`, taskType: 'stage', upstream: ['extract'], inputs: [], outputs: [] },
      { taskId: `transform[${s}]`, taskType: 'transform', upstream: [`stage[${s}]`], inputs: [], outputs: [] },
      { taskId: `load[${s}]`, taskType: 'load', upstream: [`transform[${s}]`], inputs: [airbyte(s)], outputs: [iceberg(s)] },
    );
  }
  tasks.push({ taskId: 'archive', taskType: 'archive', upstream: streams.map((s) => `load[${s}]`), inputs: [], outputs: [] });
  return {
    kind: 'dag',
    jobId: job.id,
    jobName: job.name,
    flowUrl,
    sourceName: job.sourceName,
    domain: job.domain,
    tags: job.tags,
    ownerId: job.ownerId,
    tasks,
  };
}
