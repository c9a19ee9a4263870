export * from './states.ts';
export { runOutcome } from './run-outcome.ts';
export type { RunOutcome } from './run-outcome.ts';
export { queuedRunWait } from './queued-run-wait.ts';
