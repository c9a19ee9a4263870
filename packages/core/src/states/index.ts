export * from './states.ts';
export { runOutcome } from './run-outcome.ts';
export type { RunOutcome } from './run-outcome.ts';
export { queuedRunWait, runnerWait, RUNNER_WAIT_SAID_MS } from './queued-run-wait.ts';
export { lostTryError, isLostTryError } from './lost-try.ts';
