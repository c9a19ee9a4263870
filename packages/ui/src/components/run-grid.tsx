import type { ReactNode } from 'react';
import { elapsed, formatDate, formatDuration, shortId } from '../lib/format.ts';
import { topoOrder } from '../lib/dag-layout.ts';
import { STATE_COLOURS, stateLabel } from '../lib/states.ts';
import { Link } from '../router.tsx';
import type { LiveDagTask, LiveRunWithMarks } from '../shared/events.ts';
import { StateMark } from './state-mark.tsx';
import { taskLogPath } from './dag-graph.tsx';

interface GridRow {
  task_id: string;
  map_index: number;
  label: string;
  child: boolean;
}

/**
 * Airflow's grid: one column per run (oldest left), one row per task and per stream of a
 * mapped task; each cell is the task instance's state and opens its log.
 */
export function RunGrid({
  tasks,
  streams,
  runs,
  selectedRunId,
  onSelectRun,
}: {
  tasks: LiveDagTask[];
  streams: string[];
  runs: LiveRunWithMarks[];
  selectedRunId: string | null;
  onSelectRun(runId: string): void;
}): ReactNode {
  const columns = [...runs].reverse();
  const rows: GridRow[] = [];
  for (const t of topoOrder(tasks)) {
    if (t.is_mapped && streams.length > 0) {
      rows.push({ task_id: t.task_id, map_index: -2, label: t.task_id, child: false });
      streams.forEach((s, i) => rows.push({ task_id: t.task_id, map_index: i, label: s, child: true }));
    } else rows.push({ task_id: t.task_id, map_index: -1, label: t.task_id, child: false });
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
                  const mine = r.tasks.filter((t) => t.task_id === row.task_id);
                  const worst = summarize(mine.map((t) => t.state));
                  return (
                    <td key={r.run_id}>
                      <StateMark state={worst} title={`${row.task_id} (${mine.length} streams): ${stateLabel(worst)}`} />
                    </td>
                  );
                }
                const ti = r.tasks.find((t) => t.task_id === row.task_id && t.map_index === row.map_index);
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

/** The state a group of instances shows: failures first, then work in progress, then done. */
function summarize(states: string[]): import('../lib/states.ts').AnyState {
  const order = ['failed', 'upstream_failed', 'up_for_retry', 'running', 'queued', 'scheduled', 'cancelled', 'skipped', 'success'] as const;
  for (const s of order) if (states.includes(s)) return s;
  return 'none';
}
