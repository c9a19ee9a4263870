import { isTaskFinished, type TaskState } from './states.ts';

/** What a run's task states say about the run. */
export type RunOutcome =
  | { kind: 'unfinished' }
  | { kind: 'success' }
  | { kind: 'failed' };

/**
 * A run is finished when every instance is finished; it failed when any instance failed or
 * could not run because an upstream failed (Airflow's leaf rule, applied to every instance).
 */
export function runOutcome(states: readonly TaskState[]): RunOutcome {
  if (!states.every(isTaskFinished)) return { kind: 'unfinished' };
  if (states.some((s) => s === 'failed' || s === 'upstream_failed' || s === 'cancelled')) return { kind: 'failed' };
  return { kind: 'success' };
}
