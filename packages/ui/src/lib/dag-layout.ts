import type { LiveDagTask } from '../shared/events.ts';

export interface GraphNode {
  key: string;
  task_id: string;
  map_index: number;
  stream: string | null;
  x: number;
  y: number;
}

export interface GraphEdge {
  from: GraphNode;
  to: GraphNode;
}

/** Tasks in dependency order (upstream first), ties by name. */
export function topoOrder(tasks: LiveDagTask[]): LiveDagTask[] {
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const t = byId.get(id);
    const d = t === undefined || t.upstream_task_ids.length === 0 ? 0 : 1 + Math.max(...t.upstream_task_ids.map((u) => depthOf(u, seen)));
    depth.set(id, d);
    return d;
  };
  for (const t of tasks) depthOf(t.task_id, new Set());
  return [...tasks].sort((a, b) => (depth.get(a.task_id) ?? 0) - (depth.get(b.task_id) ?? 0) || a.task_id.localeCompare(b.task_id));
}

/**
 * Lays the DAG out left to right by depth; a mapped task becomes one node per stream, stacked,
 * and mapped-to-mapped edges join the same stream only (the per-stream chains). `grouped`: a
 * mapped task is one node (map_index -2) for all its streams, as Airflow draws a mapped task.
 */
export function layoutDag(
  tasks: LiveDagTask[],
  allStreams: string[],
  cell: { w: number; h: number },
  grouped = false,
): { nodes: GraphNode[]; edges: GraphEdge[]; width: number; height: number } {
  const streams = grouped ? [] : allStreams;
  const ordered = topoOrder(tasks);
  const depth = new Map<string, number>();
  for (const t of ordered) {
    depth.set(t.task_id, t.upstream_task_ids.length === 0 ? 0 : 1 + Math.max(...t.upstream_task_ids.map((u) => depth.get(u) ?? 0)));
  }
  const lanes = Math.max(1, streams.length);
  const columns = new Map<number, LiveDagTask[]>();
  for (const t of ordered) {
    const d = depth.get(t.task_id) ?? 0;
    columns.set(d, [...(columns.get(d) ?? []), t]);
  }
  const nodes: GraphNode[] = [];
  const nodesOf = new Map<string, GraphNode[]>();
  let maxRows = lanes;
  for (const [d, col] of columns) {
    let row = 0;
    for (const t of col) {
      const mine: GraphNode[] = [];
      if (t.is_mapped && grouped && allStreams.length > 0) {
        mine.push({ key: `${t.task_id}:-2`, task_id: t.task_id, map_index: -2, stream: null, x: d * cell.w, y: row * cell.h });
        row += 1;
      } else if (t.is_mapped && streams.length > 0) {
        streams.forEach((s, i) => mine.push({ key: `${t.task_id}:${i}`, task_id: t.task_id, map_index: i, stream: s, x: d * cell.w, y: (row + i) * cell.h }));
        row += streams.length;
      } else {
        const center = col.length === 1 ? (lanes - 1) / 2 : row;
        mine.push({ key: `${t.task_id}:-1`, task_id: t.task_id, map_index: -1, stream: null, x: d * cell.w, y: center * cell.h });
        row += 1;
      }
      nodes.push(...mine);
      nodesOf.set(t.task_id, mine);
    }
    maxRows = Math.max(maxRows, row);
  }
  const edges: GraphEdge[] = [];
  for (const t of ordered) {
    for (const up of t.upstream_task_ids) {
      for (const to of nodesOf.get(t.task_id) ?? []) {
        for (const from of nodesOf.get(up) ?? []) {
          if (from.map_index >= 0 && to.map_index >= 0 && from.map_index !== to.map_index) continue;
          edges.push({ from, to });
        }
      }
    }
  }
  return { nodes, edges, width: (Math.max(0, ...depth.values()) + 1) * cell.w, height: maxRows * cell.h };
}
