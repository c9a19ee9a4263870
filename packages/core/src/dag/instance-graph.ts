import { ValidationError } from '../errors/index.ts';
import { UNSUCCESSFUL_TASK_STATES, type TaskState } from '../states/index.ts';
import { directDownstream, mapSourceOf, taskSpec, type DagSpec } from './dag-spec.ts';

/** A task instance: a task, and for a mapped task the stream position (-1 when unmapped). */
export interface InstanceRef {
  taskId: string;
  mapIndex: number;
}

export interface InstanceView extends InstanceRef {
  state: TaskState;
}

/** A mapped instance to create when its map source succeeds. */
export interface MappedInstance extends InstanceRef {
  stream: string;
}

export const UNMAPPED = -1;

export function sameInstance(a: InstanceRef, b: InstanceRef): boolean {
  return a.taskId === b.taskId && a.mapIndex === b.mapIndex;
}

export function instanceKey(r: InstanceRef): string {
  return `${r.taskId}[${r.mapIndex}]`;
}

/** How messages name an instance: the task id, with its map index when it is mapped. */
export function instanceLabel(r: InstanceRef): string {
  return r.mapIndex === UNMAPPED ? r.taskId : `${r.taskId}[${r.mapIndex}]`;
}

/** What all_success makes of an instance given its upstream instances. */
export type Readiness = 'ready' | 'waiting' | 'upstream_failed';

const DONE: readonly TaskState[] = ['success', 'skipped'];

/**
 * The upstream instances of `inst`, or `'unexpanded'` when one of its upstream tasks is mapped
 * and not expanded yet (its map source has not succeeded), with that source's state.
 */
function upstreamOf<T extends InstanceView>(
  spec: DagSpec,
  inst: InstanceRef,
  byTask: Map<string, T[]>,
): { kind: 'instances'; instances: T[] } | { kind: 'unexpanded'; sourceState: TaskState | undefined } {
  const t = taskSpec(spec, inst.taskId);
  const out: T[] = [];
  for (const u of t.upstreamTaskIds) {
    const uSpec = taskSpec(spec, u);
    const uInstances = byTask.get(u) ?? [];
    if (!uSpec.isMapped) {
      out.push(...uInstances.filter((i) => i.mapIndex === UNMAPPED));
    } else if (t.isMapped) {
      out.push(...uInstances.filter((i) => i.mapIndex === inst.mapIndex));
    } else {
      const source = mapSourceOf(spec, u);
      const sourceInst = source === null ? undefined : (byTask.get(source) ?? []).find((i) => i.mapIndex === UNMAPPED);
      if (sourceInst?.state !== 'success') return { kind: 'unexpanded', sourceState: sourceInst?.state };
      out.push(...uInstances);
    }
  }
  return { kind: 'instances', instances: out };
}

function groupByTask<T extends InstanceView>(instances: readonly T[]): Map<string, T[]> {
  const byTask = new Map<string, T[]>();
  for (const i of instances) {
    const list = byTask.get(i.taskId) ?? [];
    list.push(i);
    byTask.set(i.taskId, list);
  }
  return byTask;
}

/** all_success for one instance. */
export function readiness(spec: DagSpec, inst: InstanceRef, instances: readonly InstanceView[]): Readiness {
  const up = upstreamOf(spec, inst, groupByTask(instances));
  if (up.kind === 'unexpanded') {
    return up.sourceState !== undefined && UNSUCCESSFUL_TASK_STATES.includes(up.sourceState) ? 'upstream_failed' : 'waiting';
  }
  if (up.instances.some((i) => UNSUCCESSFUL_TASK_STATES.includes(i.state))) return 'upstream_failed';
  if (up.instances.every((i) => DONE.includes(i.state))) return 'ready';
  return 'waiting';
}

/**
 * The upstream instance that keeps `inst` from ever running (failed, upstream_failed or
 * cancelled), or null when none does. For a mapped upstream task with no instances yet, that is
 * its map source.
 */
export function blockingUpstream<T extends InstanceView>(spec: DagSpec, inst: InstanceRef, instances: readonly T[]): T | null {
  const byTask = groupByTask(instances);
  const up = upstreamOf(spec, inst, byTask);
  if (up.kind === 'instances') return up.instances.find((i) => UNSUCCESSFUL_TASK_STATES.includes(i.state)) ?? null;
  for (const u of taskSpec(spec, inst.taskId).upstreamTaskIds) {
    const source = mapSourceOf(spec, u);
    const sourceInst = source === null ? undefined : (byTask.get(source) ?? []).find((i) => i.mapIndex === UNMAPPED);
    if (sourceInst !== undefined && UNSUCCESSFUL_TASK_STATES.includes(sourceInst.state)) return sourceInst;
  }
  return null;
}

/**
 * What keeps a clear of `root` from running anything: an upstream instance that is failed,
 * upstream_failed or cancelled and is not among what the clear resets (root and everything
 * downstream of it), or null. The engine refuses such a clear; the run page offers it only where
 * this is null.
 */
export function clearBlocker<T extends InstanceView>(spec: DagSpec, root: InstanceRef, instances: readonly T[]): T | null {
  const reset = new Set([root, ...downstreamInstances(spec, root, instances)].map(instanceKey));
  return blockingUpstream(spec, root, instances.map((i) => (reset.has(instanceKey(i)) ? { ...i, state: 'scheduled' as const } : i)));
}

/** An instance as a clear sees it: whether its last failure said a clear of it fails the same way. */
export interface ClearableView extends InstanceView {
  clearable: boolean;
}

/**
 * What a clear of `root` (an unsuccessful instance) would do: run `root` again (`self`); run
 * nothing, because an upstream instance keeps it from running — clear that one `instead`; or
 * fail the same way (`none`), because `root`, or the upstream instance it waits on, failed in a
 * way no clear changes (`because`: a new run is the remedy). `upstreamOutputsGone`: the run's
 * files were removed (the retention sweep), so the instance the clear would run first must have no
 * upstream task, or it has nothing to read (`outputs_gone`, `instance`: the one it would run;
 * a new run is the remedy). The engine refuses what is not `self`; the run page offers a clear
 * only there.
 */
export function clearAdvice<T extends ClearableView>(
  spec: DagSpec,
  root: T,
  instances: readonly T[],
  options: { upstreamOutputsGone?: boolean } = {},
): { kind: 'self' } | { kind: 'instead'; instance: T } | { kind: 'none'; because: T } | { kind: 'outputs_gone'; instance: T } {
  if (!root.clearable) return { kind: 'none', because: root };
  let target = root;
  // Each step goes upstream, so the walk ends; a blocker of a blocker can only be further up.
  for (let blocker = clearBlocker(spec, root, instances); blocker !== null; blocker = clearBlocker(spec, blocker, instances)) {
    target = blocker;
    if (!target.clearable) return { kind: 'none', because: target };
  }
  if (options.upstreamOutputsGone && taskSpec(spec, target.taskId).upstreamTaskIds.length > 0) return { kind: 'outputs_gone', instance: target };
  return target === root ? { kind: 'self' } : { kind: 'instead', instance: target };
}

/** What the engine must do to a run's `scheduled` instances after something changed. */
export interface RunDecision {
  toQueue: InstanceRef[];
  toUpstreamFailed: InstanceRef[];
}

/**
 * Decides, for every `scheduled` instance, whether it can be queued now or will never run
 * because an upstream failed; upstream_failed propagates through the whole DAG in one call.
 */
export function decideScheduled(spec: DagSpec, instances: readonly InstanceView[]): RunDecision {
  const current = instances.map((i) => ({ ...i }));
  const decision: RunDecision = { toQueue: [], toUpstreamFailed: [] };
  let changed = true;
  while (changed) {
    changed = false;
    for (const inst of current) {
      if (inst.state !== 'scheduled') continue;
      const r = readiness(spec, inst, current);
      if (r === 'upstream_failed') {
        inst.state = 'upstream_failed';
        decision.toUpstreamFailed.push({ taskId: inst.taskId, mapIndex: inst.mapIndex });
        changed = true;
      } else if (r === 'ready') {
        inst.state = 'queued';
        decision.toQueue.push({ taskId: inst.taskId, mapIndex: inst.mapIndex });
      }
    }
  }
  return decision;
}

/**
 * The instances to create when `sourceTaskId` succeeded and reported `streams`: one per
 * stream for every mapped task expanding from it, map index = the stream's position.
 */
export function expandMapped(spec: DagSpec, sourceTaskId: string, streams: readonly string[]): MappedInstance[] {
  const seen = new Set<string>();
  for (const [i, s] of streams.entries()) {
    if (typeof s !== 'string' || s.length === 0) {
      throw new ValidationError([{ path: `mappedStreams[${i}]`, message: 'stream names are non-empty strings' }]);
    }
    if (seen.has(s)) throw new ValidationError([{ path: `mappedStreams[${i}]`, message: `stream ${s} is listed twice` }]);
    seen.add(s);
  }
  const out: MappedInstance[] = [];
  for (const t of spec.tasks) {
    if (!t.isMapped || mapSourceOf(spec, t.taskId) !== sourceTaskId) continue;
    for (const [mapIndex, stream] of streams.entries()) out.push({ taskId: t.taskId, mapIndex, stream });
  }
  return out;
}

/** Whether a task's success expands mapped tasks (it is some mapped task's map source). */
export function isMapSource(spec: DagSpec, taskId: string): boolean {
  return spec.tasks.some((t) => t.isMapped && mapSourceOf(spec, t.taskId) === taskId);
}

/**
 * Every existing instance downstream of `root` (transitively, root excluded), following
 * instance-level edges: a mapped instance feeds the same map index of a mapped downstream
 * task, and every instance of an unmapped one; an unmapped instance feeds all instances.
 * A downstream task with no instance yet (a mapped task whose map source has not succeeded)
 * is walked through as a whole, so that what lies beyond it (archive, below a never-mapped
 * extract) is found too.
 */
export function downstreamInstances(spec: DagSpec, root: InstanceRef, instances: readonly InstanceRef[]): InstanceRef[] {
  const result = new Map<string, InstanceRef>();
  const passedThrough = new Set<string>();
  // `whole`: a task without instances, standing for all the instances it will have.
  const frontier: { ref: InstanceRef; whole: boolean }[] = [{ ref: root, whole: false }];
  while (frontier.length > 0) {
    const cur = frontier.pop();
    if (cur === undefined) break;
    const curMapped = !cur.whole && taskSpec(spec, cur.ref.taskId).isMapped;
    for (const d of directDownstream(spec, cur.ref.taskId)) {
      const existing = instances.filter((i) => i.taskId === d);
      if (existing.length === 0) {
        if (!passedThrough.has(d)) {
          passedThrough.add(d);
          frontier.push({ ref: { taskId: d, mapIndex: UNMAPPED }, whole: true });
        }
        continue;
      }
      const dMapped = taskSpec(spec, d).isMapped;
      for (const t of existing) {
        if (dMapped && curMapped && t.mapIndex !== cur.ref.mapIndex) continue;
        const k = instanceKey(t);
        if (result.has(k)) continue;
        result.set(k, { taskId: t.taskId, mapIndex: t.mapIndex });
        frontier.push({ ref: t, whole: false });
      }
    }
  }
  return [...result.values()];
}
