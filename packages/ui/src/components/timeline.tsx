import type { ReactNode } from 'react';
import { elapsed, formatDuration, taskName } from '../lib/format.ts';
import { STATE_COLOURS, earlierTryState, stateLabel } from '../lib/states.ts';
import { Link } from '../router.tsx';
import type { LiveEarlierTry, LiveTask } from '../shared/events.ts';
import { taskLogPath } from './dag-graph.tsx';

/** A try's span on the axis: an earlier try whose end is not known is drawn as a mark at its start. */
function earlierEnd(t: LiveEarlierTry): string {
  return t.ended_at ?? t.started_at;
}

function earlierInWords(t: LiveEarlierTry): string {
  return `try ${t.try_number} ${stateLabel(earlierTryState(t))}${t.counted ? '' : ' (not counted)'}, ${t.ended_at === null ? 'end not known' : formatDuration(elapsed(t.started_at, t.ended_at) ?? 0)}`;
}

/**
 * Task durations on a shared time axis (a Gantt chart), from the run's start to now or its end.
 * Each task's row draws every try: the earlier ones (retried after a failure or a lost runner, or
 * cleared) paler, then the latest, so the gaps between them are the retry backoffs (QA round 28:
 * only the latest try was drawn).
 */
export function Timeline({ runId, runStartedAt, tasks, now, running }: { runId: string; runStartedAt: string | null; tasks: LiveTask[]; now: number; running: boolean }): ReactNode {
  const started = tasks.filter((t) => t.started_at !== null || t.earlier_tries.length > 0);
  if (started.length === 0) return <p className="muted">No task has started yet.</p>;
  const firstStart = (t: LiveTask): number => Date.parse(t.earlier_tries[0]?.started_at ?? (t.started_at as string));
  const lastEnd = (t: LiveTask): number => {
    if (t.started_at !== null) return t.ended_at ? Date.parse(t.ended_at) : now;
    return Math.max(...t.earlier_tries.map((e) => Date.parse(earlierEnd(e))));
  };
  const t0 = Math.min(...started.map(firstStart), runStartedAt === null ? Infinity : Date.parse(runStartedAt));
  // A running run's axis runs to now: a retry's wait shows before its next try (QA round 30: the axis ended at the last try's end).
  const t1 = Math.max(...started.map(lastEnd), t0 + 1, running ? now : 0);
  const span = t1 - t0;
  const at = (iso: string): string => `${((Date.parse(iso) - t0) / span) * 100}%`;
  const width = (ms: number): string => `${Math.max(0.5, (ms / span) * 100)}%`;
  const ordered = [...started].sort((a, b) => firstStart(a) - firstStart(b));
  return (
    <div className="timeline" role="list" aria-label="Task timeline">
      <div className="timeline-axis" aria-hidden="true">
        <span>0</span>
        <span>{formatDuration(span / 2)}</span>
        <span>{formatDuration(span)}</span>
      </div>
      {ordered.map((t) => {
        const d = elapsed(t.started_at, t.ended_at, now);
        const name = taskName(t);
        const label = `${name}${t.try_number > 1 ? ` (try ${t.try_number})` : ''}`;
        return (
          <div className="timeline-row" role="listitem" key={`${t.task_id}:${t.map_index}`} data-task={t.task_id} data-map-index={t.map_index}>
            <Link className="timeline-label" to={taskLogPath(runId, t.task_id, t.map_index)}>
              {label}
            </Link>
            <div className="timeline-track">
              {t.earlier_tries.map((e) => (
                <span
                  key={e.try_number}
                  className="timeline-bar timeline-bar-earlier"
                  data-try={e.try_number}
                  title={`${name}: ${earlierInWords(e)}`}
                  style={{ left: at(e.started_at), width: width(Date.parse(earlierEnd(e)) - Date.parse(e.started_at)), background: STATE_COLOURS[earlierTryState(e)] }}
                />
              ))}
              {t.started_at !== null ? (
                <span
                  className="timeline-bar"
                  data-try={t.try_number}
                  title={`${label}: ${stateLabel(t.state)}, ${formatDuration(d ?? 0)}`}
                  style={{ left: at(t.started_at), width: width(d ?? 0), background: STATE_COLOURS[t.state] }}
                />
              ) : null}
            </div>
            {/* The state in words too: the bar's colour alone does not tell it (QA round 56b F1). */}
            <span className="timeline-duration">{d === null ? stateLabel(t.state) : `${formatDuration(d)} · ${stateLabel(t.state)}`}</span>
            {t.earlier_tries.length > 0 ? <span className="visually-hidden">earlier: {t.earlier_tries.map(earlierInWords).join('; ')}</span> : null}
          </div>
        );
      })}
    </div>
  );
}
