export { startScheduler } from './start-scheduler.ts';
export type { SchedulerOptions, RunningScheduler } from './start-scheduler.ts';
