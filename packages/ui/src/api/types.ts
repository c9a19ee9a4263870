/**
 * The API's answers, typed from the same zod schemas the API validates and documents with
 * (@sluice/core/contract): a change there breaks this build, not the page.
 */
import type { JobStateView, JobView, RunListView, RunView, StateResetView, TaskLogView, TaskView, RunSummaryView, TriggeredRunView } from '@sluice/core/contract';

export type Job = JobView;
export type Run = RunView;
export type RunTask = TaskView;
export type RunSummary = RunSummaryView;
export type RunList = RunListView;
export type TaskLog = TaskLogView;
export type LogLine = TaskLogView['lines'][number];
export type JobState = JobStateView;
export type StateReset = StateResetView;

export interface JobList {
  jobs: JobView[];
  total: number;
  limit: number;
  offset: number;
}

export type TriggeredRun = TriggeredRunView;

export interface CancelledQueuedRuns {
  job_id: string;
  cancelled_run_ids: string[];
}

/** The API's largest page of jobs. */
export const JOB_PAGE = 200;

/** Every job the viewer may see, page by page. */
export async function listAllJobs(get: <T>(path: string) => Promise<T>): Promise<JobView[]> {
  const jobs: JobView[] = [];
  for (let offset = 0; ; offset += JOB_PAGE) {
    const page = await get<JobList>(`/api/airbyte/ingest?limit=${JOB_PAGE}&offset=${offset}`);
    jobs.push(...page.jobs);
    if (page.jobs.length < JOB_PAGE || jobs.length >= page.total) return jobs;
  }
}
