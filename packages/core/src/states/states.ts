/**
 * Airflow's run and task-instance states, and which transitions between them are legal.
 * The engine's state module (packages/engine/src/state-store.ts) checks every write against
 * these tables; nothing else decides whether a state change may happen.
 */
import { ConflictError } from '../errors/index.ts';

export const RUN_STATES = ['queued', 'running', 'success', 'failed', 'cancelled'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** How a run came to be: a schedule's fire or a trigger (the API, the UI). */
export const RUN_TYPES = ['scheduled', 'manual'] as const;

export const TASK_STATES = [
  'scheduled',
  'queued',
  'running',
  'success',
  'failed',
  'up_for_retry',
  'upstream_failed',
  'skipped',
  'cancelled',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/**
 * Legal run transitions.
 * - queued → running when a max_active_runs slot is free; queued → cancelled by an operator.
 * - running → success | failed when every task is finished; running → cancelled by an operator.
 * - failed, cancelled → running when an operator clears a task of the run, or → queued when the
 *   job already has max_active_runs runs running (it then starts as one of them ends, as Airflow
 *   queues a cleared run).
 */
export const RUN_TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  queued: ['running', 'cancelled'],
  running: ['success', 'failed', 'cancelled'],
  success: [],
  failed: ['running', 'queued'],
  cancelled: ['running', 'queued'],
};

/**
 * Legal task-instance transitions.
 * - scheduled → queued (its upstream succeeded), upstream_failed, skipped (a mapped instance
 *   whose stream disappeared on a re-expansion) or cancelled.
 * - queued → running (a runner claimed it) or cancelled.
 * - running → success, skipped (its try found nothing for it to do, as Airflow's AirflowSkipException
 *   ends a task: downstream takes it as done), failed (non-retryable or tries exhausted),
 *   up_for_retry, cancelled.
 * - up_for_retry → running (the retry's runner claimed it) or cancelled; failed when the
 *   recovery finds no try left.
 * - failed, upstream_failed, cancelled, skipped, success → scheduled: an operator cleared the
 *   instance or one of its upstream instances.
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  scheduled: ['queued', 'upstream_failed', 'skipped', 'cancelled'],
  queued: ['running', 'cancelled'],
  running: ['success', 'skipped', 'failed', 'up_for_retry', 'cancelled'],
  up_for_retry: ['running', 'failed', 'cancelled'],
  success: ['scheduled'],
  failed: ['scheduled'],
  upstream_failed: ['scheduled'],
  skipped: ['scheduled'],
  cancelled: ['scheduled'],
};

/** Task states in which an instance will not change again unless cleared. */
export const FINISHED_TASK_STATES: readonly TaskState[] = ['success', 'failed', 'upstream_failed', 'skipped', 'cancelled'];
/**
 * Task states of an instance that ended without success: under all_success they make its
 * downstream upstream_failed, and they are the states a clear takes back to scheduled.
 */
export const UNSUCCESSFUL_TASK_STATES: readonly TaskState[] = ['failed', 'upstream_failed', 'cancelled'];
/** Run states a run leaves only through a clear. */
export const FINISHED_RUN_STATES: readonly RunState[] = ['success', 'failed', 'cancelled'];
/** Task states that still hold or will take a runner's slot: cancel and recovery act on these. */
export const UNFINISHED_TASK_STATES: readonly TaskState[] = ['scheduled', 'queued', 'running', 'up_for_retry'];

export function isTaskFinished(state: TaskState): boolean {
  return FINISHED_TASK_STATES.includes(state);
}

export function canTransitionRun(from: RunState, to: RunState): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

export function canTransitionTask(from: TaskState, to: TaskState): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

/** The state a transition left from is not one it may leave from. */
export class IllegalTransitionError extends ConflictError {
  constructor(readonly entity: 'run' | 'task', readonly from: string, readonly to: string) {
    super(`a ${entity} cannot go from ${from} to ${to}`);
  }
}

export function assertRunTransition(from: RunState, to: RunState): void {
  if (!canTransitionRun(from, to)) throw new IllegalTransitionError('run', from, to);
}

export function assertTaskTransition(from: TaskState, to: TaskState): void {
  if (!canTransitionTask(from, to)) throw new IllegalTransitionError('task', from, to);
}

/** States an instance may be moved *to* `to` from: the guard of a transition's UPDATE. */
export function taskStatesLeadingTo(to: TaskState): TaskState[] {
  return TASK_STATES.filter((s) => TASK_TRANSITIONS[s].includes(to));
}

export function runStatesLeadingTo(to: RunState): RunState[] {
  return RUN_STATES.filter((s) => RUN_TRANSITIONS[s].includes(to));
}

/**
 * A manual trigger's answer: the run it made (started, or queued behind max_active_runs), or, for a
 * trigger repeated with an idempotency key, the run the first one made, in its state now.
 */
export type TriggeredRun =
  | { runId: string; state: 'queued' | 'running'; waitsForRedis?: true; replayed?: never }
  | { runId: string; state: RunState; replayed: true; waitsForRedis?: never };
