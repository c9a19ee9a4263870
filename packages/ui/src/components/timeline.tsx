import type { ReactNode } from 'react';
import { elapsed, formatDuration } from '../lib/format.ts';
import { STATE_COLOURS, stateLabel } from '../lib/states.ts';
import { Link } from '../router.tsx';
import type { LiveTask } from '../shared/events.ts';
import { taskLogPath } from './dag-graph.tsx';

/**
 * Task durations on a shared time axis (a Gantt chart), from the run's start to now or its end.
 * A task shows its latest try; one that needed more tries says which, and the time its earlier
 * tries took (a lost runner's minute, a backoff) shows as the gap before its bar.
 */
export function Timeline({ runId, runStartedAt, tasks, now }: { runId: string; runStartedAt: string | null; tasks: LiveTask[]; now: number }): ReactNode {
  const started = tasks.filter((t) => t.started_at !== null);
  if (started.length === 0) return <p className="muted">No task has started yet.</p>;
  const t0 = Math.min(...started.map((t) => Date.parse(t.started_at as string)), runStartedAt === null ? Infinity : Date.parse(runStartedAt));
  const t1 = Math.max(...started.map((t) => (t.ended_at ? Date.parse(t.ended_at) : now)), t0 + 1);
  const span = t1 - t0;
  const ordered = [...started].sort((a, b) => Date.parse(a.started_at as string) - Date.parse(b.started_at as string));
  return (
    <div className="timeline" role="list" aria-label="Task timeline">
      <div className="timeline-axis" aria-hidden="true">
        <span>0</span>
        <span>{formatDuration(span / 2)}</span>
        <span>{formatDuration(span)}</span>
      </div>
      {ordered.map((t) => {
        const start = Date.parse(t.started_at as string) - t0;
        const d = elapsed(t.started_at, t.ended_at, now) ?? 0;
        const label = `${t.task_id}${t.stream ? ` · ${t.stream}` : ''}${t.try_number > 1 ? ` (try ${t.try_number})` : ''}`;
        return (
          <div className="timeline-row" role="listitem" key={`${t.task_id}:${t.map_index}`} data-task={t.task_id} data-map-index={t.map_index}>
            <Link className="timeline-label" to={taskLogPath(runId, t.task_id, t.map_index)}>
              {label}
            </Link>
            <div className="timeline-track">
              <span
                className="timeline-bar"
                title={`${label}: ${stateLabel(t.state)}, ${formatDuration(d)}`}
                style={{
                  left: `${(start / span) * 100}%`,
                  width: `${Math.max(0.5, (d / span) * 100)}%`,
                  background: STATE_COLOURS[t.state],
                }}
              />
            </div>
            <span className="timeline-duration">{formatDuration(d)}</span>
          </div>
        );
      })}
    </div>
  );
}
