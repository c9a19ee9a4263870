export { RUNNER_STOP_WAIT_MS, startRunner } from './start-runner.ts';
export type { RunnerOptions, RunningRunner } from './start-runner.ts';
export type { TaskHandler, TaskHandlers, TaskContext, TaskResult, TaskJob, TaskLog, TaskLogLevel } from './task-handler.ts';
