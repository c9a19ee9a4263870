import type { ReactNode } from 'react';
import { elapsed, formatDate, formatDuration, shortId } from '../lib/format.ts';
import { topoOrder } from '../lib/dag-layout.ts';
import { groupState, STATE_COLOURS, stateCounts, stateLabel } from '../lib/states.ts';
import { Link } from '../router.tsx';
import type { LiveDagTask, LiveRunWithMarks } from '../shared/events.ts';
import { StateMark } from './state-mark.tsx';
import { taskLogPath } from './dag-graph.tsx';

interface GridRow {
  task_id: string;
  /** -1: an unmapped task; -2: a mapped task's summary row; ≥ 0: the row of stream `stream`. */
  map_index: number;
  stream: string | null;
  label: string;
  child: boolean;
}

/**
 * Airflow's grid: one column per run (oldest left), one row per task and per stream of a
 * mapped task; each cell is the task instance's state and opens its log. `grouped`: a mapped task
 * is its one summary row (a job of many streams).
 */
export function RunGrid({
  tasks,
  streams,
  runs,
  selectedRunId,
  onSelectRun,
  grouped,
}: {
  tasks: LiveDagTask[];
  streams: string[];
  runs: LiveRunWithMarks[];
  selectedRunId: string | null;
  onSelectRun(runId: string): void;
  grouped: boolean;
}): ReactNode {
  const columns = [...runs].reverse();
  const rows: GridRow[] = [];
  for (const t of topoOrder(tasks)) {
    if (t.is_mapped && streams.length > 0) {
      rows.push({ task_id: t.task_id, map_index: -2, stream: null, label: grouped ? `${t.task_id} [${streams.length}]` : t.task_id, child: false });
      if (!grouped) streams.forEach((s, i) => rows.push({ task_id: t.task_id, map_index: i, stream: s, label: s, child: true }));
    } else rows.push({ task_id: t.task_id, map_index: -1, stream: null, label: t.task_id, child: false });
  }
  const durations = columns.map((r) => elapsed(r.started_at, r.ended_at) ?? 0);
  const longest = Math.max(1, ...durations);
  if (columns.length === 0) return <p className="muted">No runs yet. Trigger one to see it here.</p>;
  return (
    <div className="grid-scroll">
      <table className="run-grid" aria-label="Runs by task">
        <thead>
          <tr>
            <th scope="col" className="grid-corner">
              Task
            </th>
            {columns.map((r, i) => (
              <th key={r.run_id} scope="col" className={r.run_id === selectedRunId ? 'selected' : ''}>
                <button
                  type="button"
                  className="run-bar"
                  data-run-id={r.run_id}
                  data-state={r.state}
                  aria-pressed={r.run_id === selectedRunId}
                  aria-label={`Run ${shortId(r.run_id)} ${r.run_type}, ${stateLabel(r.state)}, ${formatDate(r.logical_date)}, ${formatDuration(durations[i] ?? null)}`}
                  title={`${formatDate(r.logical_date)} · ${stateLabel(r.state)} · ${formatDuration(durations[i] ?? null)}`}
                  onClick={() => onSelectRun(r.run_id)}
                >
                  <span style={{ height: `${Math.max(8, ((durations[i] ?? 0) / longest) * 48)}px`, background: STATE_COLOURS[r.state] }} />
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.task_id}:${row.map_index}`} className={row.child ? 'child' : ''}>
              <th scope="row">{row.child ? `↳ ${row.label}` : row.label}</th>
              {columns.map((r) => {
                if (row.map_index === -2) {
                  const mine = r.tasks.filter((t) => t.task_id === row.task_id).map((t) => t.state);
                  const worst = groupState(mine);
                  return (
                    <td key={r.run_id}>
                      <StateMark state={worst} title={`${row.task_id} (${mine.length} streams): ${mine.length > 0 ? stateCounts(mine) : stateLabel(worst)}`} />
                    </td>
                  );
                }
                // A stream's task by its name: its map index is its place in that run's streams, which may differ from run to run.
                const ti = r.tasks.find((t) => t.task_id === row.task_id && (row.stream === null ? t.map_index === row.map_index : t.stream === row.stream));
                if (ti === undefined) return <td key={r.run_id} />;
                const label = `${row.task_id}${row.child ? ` ${row.label}` : ''} in run ${shortId(r.run_id)}: ${stateLabel(ti.state)}`;
                return (
                  <td key={r.run_id} data-run-id={r.run_id} data-task={ti.task_id} data-map-index={ti.map_index} data-state={ti.state}>
                    <Link to={taskLogPath(r.run_id, ti.task_id, ti.map_index)} aria-label={label} className="cell-link">
                      <StateMark state={ti.state} title={label} />
                    </Link>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
