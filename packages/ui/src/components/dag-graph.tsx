import type { ReactNode } from 'react';
import { layoutDag } from '../lib/dag-layout.ts';
import { taskName } from '../lib/format.ts';
import { groupState, nodeCounts, STATE_COLOURS, stateCounts, stateLabel, type AnyState } from '../lib/states.ts';
import { Link } from '../router.tsx';
import type { LiveDagTask, LiveTaskMark } from '../shared/events.ts';

const CELL = { w: 190, h: 54 };
const NODE = { w: 160, h: 38 };

/**
 * The DAG as a graph, coloured by the states of one run; per-stream tasks fan out into lanes, or,
 * `grouped`, are one node each that sums up their streams' states and opens the run's page.
 */
export function DagGraph({
  tasks,
  streams,
  runId,
  marks,
  grouped,
}: {
  tasks: LiveDagTask[];
  streams: string[];
  runId: string | null;
  marks: LiveTaskMark[];
  grouped: boolean;
}): ReactNode {
  const { nodes, edges, width, height } = layoutDag(tasks, streams, CELL, grouped);
  const statesOf = (taskId: string): AnyState[] => marks.filter((m) => m.task_id === taskId && m.map_index >= 0).map((m) => m.state);
  // A stream's node is its task's instance for that stream, found by name (a map index is a place in one run's streams).
  const markOf = (n: { task_id: string; stream: string | null }): LiveTaskMark | undefined =>
    marks.find((m) => m.task_id === n.task_id && (n.stream === null ? m.map_index === -1 : m.stream === n.stream));
  const pad = 8;
  return (
    <div className="graph-scroll">
      <svg
        className="dag-graph"
        role="group"
        aria-label="DAG graph"
        width={width - (CELL.w - NODE.w) + pad * 2}
        height={height + pad * 2}
        viewBox={`${-pad} ${-pad} ${width - (CELL.w - NODE.w) + pad * 2} ${height + pad * 2}`}
      >
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6" />
          </marker>
        </defs>
        {edges.map((e) => {
          const x1 = e.from.x + NODE.w;
          const y1 = e.from.y + NODE.h / 2;
          const x2 = e.to.x;
          const y2 = e.to.y + NODE.h / 2;
          const mx = (x1 + x2) / 2;
          return (
            <path
              key={`${e.from.key}>${e.to.key}`}
              d={`M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2 - 2} ${y2}`}
              fill="none"
              stroke="#8a94a6"
              strokeWidth="1.5"
              markerEnd="url(#arrow)"
            />
          );
        })}
        {nodes.map((n) => {
          const group = n.map_index === -2;
          const mark = group ? undefined : markOf(n);
          const state: AnyState = group ? groupState(statesOf(n.task_id)) : (mark?.state ?? 'none');
          const counts = group ? stateCounts(statesOf(n.task_id)) : '';
          const title = group ? `${n.task_id} [${streams.length}]` : n.task_id;
          // The name starts with the words drawn (WCAG 2.5.3, label in name: QA round 56b F5 — a group
          // drawn "load [30]" was named "load, 30 streams", which speech input could not match).
          const label = group ? `${title}, ${streams.length} streams` : taskName(n);
          const said = group && counts !== '' ? counts : stateLabel(state);
          const body = (
            <g transform={`translate(${n.x} ${n.y})`} data-task={n.task_id} data-map-index={mark?.map_index ?? n.map_index} data-stream={n.stream ?? undefined} data-state={state}>
              <rect width={NODE.w} height={NODE.h} rx="6" fill="#fff" stroke={STATE_COLOURS[state]} strokeWidth={state === 'none' ? 1 : 3} />
              <rect width="6" height={NODE.h} rx="3" fill={STATE_COLOURS[state]} />
              <text x="14" y="16" className="node-title">
                {title}
              </text>
              <text x="14" y="31" className="node-sub">
                {group ? <GroupCounts states={statesOf(n.task_id)} fallback={said} /> : (n.stream ?? said)}
                {n.stream !== null ? ` · ${said}` : ''}
              </text>
              <title>{`${label}: ${said}`}</title>
            </g>
          );
          return runId !== null && state !== 'none' ? (
            <Link
              key={n.key}
              to={group ? `/runs/${runId}` : taskLogPath(runId, n.task_id, mark?.map_index ?? n.map_index)}
              aria-label={`${label}: ${said}, ${group ? "open the run's tasks" : 'open log'}`}
            >
              {body}
            </Link>
          ) : (
            <g key={n.key}>{body}</g>
          );
        })}
      </svg>
    </div>
  );
}

/** A grouped node's second line: its counts in words, or as coloured dots when the words do not fit; `fallback` without counts. */
function GroupCounts({ states, fallback }: { states: AnyState[]; fallback: string }): ReactNode {
  if (states.length === 0) return fallback;
  const counts = nodeCounts(states);
  if ('words' in counts) return counts.words;
  return counts.tally.map(([s, n], i) => (
    <tspan key={s} data-state={s}>
      <tspan fill={STATE_COLOURS[s]}>{i > 0 ? ' ●' : '●'}</tspan>
      {` ${n}`}
    </tspan>
  ));
}

export function taskLogPath(runId: string, taskId: string, mapIndex: number, tryNumber?: number): string {
  const q = new URLSearchParams();
  if (mapIndex >= 0) q.set('map_index', String(mapIndex));
  if (tryNumber !== undefined) q.set('try', String(tryNumber));
  const qs = q.toString();
  return `/runs/${runId}/tasks/${encodeURIComponent(taskId)}${qs ? `?${qs}` : ''}`;
}
