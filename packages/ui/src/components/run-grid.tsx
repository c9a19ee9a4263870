import { useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { elapsed, formatDuration, formatLogicalDate, shortId } from '../lib/format.ts';
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
  const [focused, setFocused] = useState('');
  const columns = [...runs].reverse();
  // The newest runs are on the right: a grid wider than its box (a phone) opens scrolled to them,
  // not to the oldest (QA round 28).
  const scroller = useRef<HTMLDivElement>(null);
  const hasRuns = runs.length > 0;
  useLayoutEffect(() => {
    const box = scroller.current;
    if (box !== null && hasRuns) box.scrollLeft = box.scrollWidth;
  }, [hasRuns]);
  const rows: GridRow[] = [];
  for (const t of topoOrder(tasks)) {
    if (t.is_mapped && streams.length > 0) {
      rows.push({ task_id: t.task_id, map_index: -2, stream: null, label: grouped ? `${t.task_id} [${streams.length}]` : t.task_id, child: false });
      if (!grouped) streams.forEach((s, i) => rows.push({ task_id: t.task_id, map_index: i, stream: s, label: s, child: true }));
    } else rows.push({ task_id: t.task_id, map_index: -1, stream: null, label: t.task_id, child: false });
  }
  const durations = columns.map((r) => elapsed(r.started_at, r.ended_at) ?? 0);
  const longest = Math.max(1, ...durations);
  // One tab stop for the whole grid (WAI-ARIA's grid pattern): the arrow keys, Home and End move
  // within it (QA round 27: every cell was a tab stop, 164 Tabs past a grid of 25 runs). The stop
  // is the cell last focused, else the selected run's bar, else the newest run's.
  // Each cell's task instance (none for a mapped task's summary row): a stream's task by its name,
  // as its map index is its place in that run's streams, which may differ from run to run.
  const cells = rows.map((row) =>
    columns.map((r) =>
      row.map_index === -2 ? undefined : r.tasks.find((t) => t.task_id === row.task_id && (row.stream === null ? t.map_index === row.map_index : t.stream === row.stream)),
    ),
  );
  const focusable = new Set<string>(columns.map((_, c) => `0:${c}`));
  cells.forEach((line, i) => line.forEach((ti, c) => (ti !== undefined ? focusable.add(`${i + 1}:${c}`) : undefined)));
  const selectedColumn = columns.findIndex((r) => r.run_id === selectedRunId);
  const stop = focusable.has(focused) ? focused : `0:${selectedColumn >= 0 ? selectedColumn : columns.length - 1}`;
  const cellProps = (row: number, col: number) => ({
    'data-grid-row': row,
    'data-grid-col': col,
    tabIndex: `${row}:${col}` === stop ? 0 : -1,
    onFocus: () => setFocused(`${row}:${col}`),
  });
  const onKeyDown = (e: KeyboardEvent<HTMLTableElement>): void => {
    const from = (e.target as HTMLElement).closest<HTMLElement>('[data-grid-row]');
    if (from === null) return;
    const row = Number(from.dataset['gridRow']);
    const col = Number(from.dataset['gridCol']);
    const steps: Record<string, [number, number, number]> = {
      ArrowUp: [-1, 0, rows.length + 1],
      ArrowDown: [1, 0, rows.length + 1],
      ArrowLeft: [0, -1, columns.length],
      ArrowRight: [0, 1, columns.length],
      Home: [0, -1, col + 1],
      End: [0, 1, columns.length - col],
    };
    const step = steps[e.key];
    if (step === undefined) return;
    e.preventDefault();
    const [dr, dc, most] = step;
    // Home and End go to the farthest cell of the row; the arrows to the nearest one (empty cells are passed over).
    const far = e.key === 'Home' || e.key === 'End';
    let target: HTMLElement | null = null;
    for (let n = 1; n < most; n++) {
      const found = e.currentTarget.querySelector<HTMLElement>(`[data-grid-row="${row + dr * n}"][data-grid-col="${col + dc * n}"]`);
      if (found !== null) {
        target = found;
        if (!far) break;
      }
    }
    target?.focus();
  };
  if (columns.length === 0) return <p className="muted">No runs yet. Trigger one to see it here.</p>;
  return (
    <div className="grid-scroll" ref={scroller}>
      <p className="visually-hidden" id="run-grid-keys">
        The arrow keys, Home and End move between runs and tasks.
      </p>
      <table className="run-grid" aria-label="Runs by task" aria-describedby="run-grid-keys" onKeyDown={onKeyDown}>
        <thead>
          <tr>
            <th scope="col" className="grid-corner">
              Task
            </th>
            {columns.map((r, i) => (
              <th key={r.run_id} scope="col" className={r.run_id === selectedRunId ? 'selected' : ''}>
                <button
                  type="button"
                  {...cellProps(0, i)}
                  className="run-bar"
                  data-run-id={r.run_id}
                  data-state={r.state}
                  aria-pressed={r.run_id === selectedRunId}
                  aria-label={`Run ${shortId(r.run_id)} ${r.run_type}, ${stateLabel(r.state)}, ${formatLogicalDate(r.logical_date)}, ${formatDuration(durations[i] ?? null)}`}
                  title={`${formatLogicalDate(r.logical_date)} · ${stateLabel(r.state)} · ${formatDuration(durations[i] ?? null)}`}
                  onClick={() => onSelectRun(r.run_id)}
                >
                  <span style={{ height: `${Math.max(8, ((durations[i] ?? 0) / longest) * 48)}px`, background: STATE_COLOURS[r.state] }} />
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, rowIndex) => (
            <tr key={`${row.task_id}:${row.map_index}`} className={row.child ? 'child' : ''}>
              <th scope="row">{row.child ? `↳ ${row.label}` : row.label}</th>
              {columns.map((r, c) => {
                if (row.map_index === -2) {
                  const mine = r.tasks.filter((t) => t.task_id === row.task_id).map((t) => t.state);
                  const worst = groupState(mine);
                  return (
                    <td key={r.run_id}>
                      <StateMark state={worst} title={`${row.task_id} (${mine.length} streams): ${mine.length > 0 ? stateCounts(mine) : stateLabel(worst)}`} />
                    </td>
                  );
                }
                const ti = cells[rowIndex]?.[c];
                if (ti === undefined) return <td key={r.run_id} />;
                const label = `${row.task_id}${row.child ? ` ${row.label}` : ''} in run ${shortId(r.run_id)}: ${stateLabel(ti.state)}`;
                return (
                  <td key={r.run_id} data-run-id={r.run_id} data-task={ti.task_id} data-map-index={ti.map_index} data-state={ti.state}>
                    <Link to={taskLogPath(r.run_id, ti.task_id, ti.map_index)} aria-label={label} className="cell-link" {...cellProps(rowIndex + 1, c)}>
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
