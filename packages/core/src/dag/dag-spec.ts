import { ValidationError, type FieldIssue } from '../errors/index.ts';
import { TASK_POLICY_DEFAULTS, TASK_TYPES, type TaskPolicy, type TaskType } from './task-types.ts';

/**
 * A task of a DAG. `isMapped` tasks expand at run time to one instance per stream (Airflow's
 * dynamic task mapping): the streams come from the result of the task's map source — the
 * nearest unmapped upstream task — when it succeeds.
 *
 * Trigger rule: every task uses Airflow's `all_success` — it runs when all its upstream
 * instances succeeded (a `skipped` upstream counts as done), and becomes `upstream_failed` as
 * soon as one of them failed.
 */
export interface DagTaskSpec extends TaskPolicy {
  taskId: string;
  taskType: TaskType;
  upstreamTaskIds: readonly string[];
  isMapped: boolean;
}

export interface DagSpec {
  tasks: readonly DagTaskSpec[];
}

/**
 * The ingestion DAG: `extract` → mapped `stage` → mapped `transform` → mapped `load` →
 * `archive`. Each stream's stage/transform/load chain is independent of the others'.
 */
export function ingestionDag(policies: Partial<Record<TaskType, Partial<TaskPolicy>>> = {}): DagSpec {
  const task = (taskType: TaskType, upstream: string[], isMapped: boolean): DagTaskSpec => ({
    taskId: taskType,
    taskType,
    upstreamTaskIds: upstream,
    isMapped,
    ...TASK_POLICY_DEFAULTS[taskType],
    ...policies[taskType],
  });
  return validateDag({
    tasks: [
      task('extract', [], false),
      task('stage', ['extract'], true),
      task('transform', ['stage'], true),
      task('load', ['transform'], true),
      task('archive', ['load'], false),
    ],
  });
}

export function taskSpec(spec: DagSpec, taskId: string): DagTaskSpec {
  const t = spec.tasks.find((x) => x.taskId === taskId);
  if (!t) throw new ValidationError([{ path: 'task_id', message: `no task ${taskId} in the DAG` }]);
  return t;
}

/**
 * The unmapped task whose result expands `taskId`, or null when `taskId` is not mapped.
 * A mapped task with a mapped upstream shares that upstream's source; otherwise its single
 * upstream is the source.
 */
export function mapSourceOf(spec: DagSpec, taskId: string): string | null {
  const t = taskSpec(spec, taskId);
  if (!t.isMapped) return null;
  const mappedUp = t.upstreamTaskIds.find((u) => taskSpec(spec, u).isMapped);
  if (mappedUp !== undefined) return mapSourceOf(spec, mappedUp);
  const only = t.upstreamTaskIds[0];
  if (t.upstreamTaskIds.length !== 1 || only === undefined) {
    throw new ValidationError([{ path: `tasks.${taskId}`, message: 'a mapped task needs a mapped upstream or exactly one upstream' }]);
  }
  return only;
}

/** Checks ids, task types, upstream references, acyclicity and mapping sources. */
export function validateDag(spec: DagSpec): DagSpec {
  const issues: FieldIssue[] = [];
  const ids = new Set<string>();
  for (const t of spec.tasks) {
    const path = `tasks.${t.taskId}`;
    if (!/^[a-z][a-z0-9_]*$/.test(t.taskId)) issues.push({ path, message: 'task ids are lower-case identifiers' });
    if (ids.has(t.taskId)) issues.push({ path, message: 'duplicate task id' });
    ids.add(t.taskId);
    if (!TASK_TYPES.includes(t.taskType)) issues.push({ path, message: `unknown task type ${String(t.taskType)}` });
    for (const k of ['retries', 'retryDelayMs', 'maxRetryDelayMs', 'timeoutMs'] as const) {
      if (!Number.isInteger(t[k]) || t[k] < 0) issues.push({ path: `${path}.${k}`, message: 'must be a non-negative integer' });
    }
    if (t.timeoutMs === 0) issues.push({ path: `${path}.timeoutMs`, message: 'must be positive' });
  }
  for (const t of spec.tasks) {
    for (const u of t.upstreamTaskIds) {
      if (!ids.has(u)) issues.push({ path: `tasks.${t.taskId}.upstream`, message: `unknown upstream task ${u}` });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  topologicalOrder(spec);
  const mappedSources = new Map<string, string | null>();
  for (const t of spec.tasks) mappedSources.set(t.taskId, mapSourceOf(spec, t.taskId));
  for (const t of spec.tasks) {
    const sources = new Set(t.upstreamTaskIds.filter((u) => taskSpec(spec, u).isMapped).map((u) => mappedSources.get(u)));
    if (t.isMapped && sources.size > 1) {
      issues.push({ path: `tasks.${t.taskId}`, message: 'mapped upstreams must expand from the same source' });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return spec;
}

/** Task ids in an order where every task follows its upstream tasks; throws on a cycle. */
export function topologicalOrder(spec: DagSpec): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]): void => {
    const s = state.get(id);
    if (s === 'done') return;
    if (s === 'visiting') {
      throw new ValidationError([{ path: 'tasks', message: `cycle: ${[...path, id].join(' → ')}` }]);
    }
    state.set(id, 'visiting');
    for (const u of taskSpec(spec, id).upstreamTaskIds) visit(u, [...path, id]);
    state.set(id, 'done');
    order.push(id);
  };
  for (const t of spec.tasks) visit(t.taskId, []);
  return order;
}

/** Task ids directly downstream of `taskId`. */
export function directDownstream(spec: DagSpec, taskId: string): string[] {
  return spec.tasks.filter((t) => t.upstreamTaskIds.includes(taskId)).map((t) => t.taskId);
}
