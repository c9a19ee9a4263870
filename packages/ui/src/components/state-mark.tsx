import type { ReactNode } from 'react';
import { STATE_COLOURS, stateLabel, type AnyState } from '../lib/states.ts';

/** A coloured square for a state; its name is spoken and shown on hover. */
export function StateMark({ state, size = 14, title }: { state: AnyState; size?: number; title?: string }): ReactNode {
  const label = title ?? stateLabel(state);
  return (
    <span
      className={`state-mark state-${state}`}
      role="img"
      aria-label={label}
      title={label}
      data-state={state}
      style={{ width: size, height: size, background: STATE_COLOURS[state] }}
    />
  );
}

/** A state as a labelled badge. */
export function StateBadge({ state }: { state: AnyState }): ReactNode {
  return (
    <span className={`state-badge state-${state}`} data-state={state}>
      <StateMark state={state} size={10} title="" />
      {stateLabel(state)}
    </span>
  );
}

/**
 * A job's status (new, running, completed, failed), coloured as the run state it follows. A job
 * `failed` by a cancel (the contract has no cancelled status) reads "failed (cancelled)", in the
 * cancel's grey, not an alarm's red (QA round 54b F4: red "failed" beside the list's grey "cancelled").
 */
export function JobStatusBadge({ status, byCancel = false }: { status: string; byCancel?: boolean }): ReactNode {
  const cancelled = status === 'failed' && byCancel;
  const colour: AnyState = status === 'running' ? 'running' : status === 'completed' ? 'success' : cancelled ? 'cancelled' : status === 'failed' ? 'failed' : 'none';
  return (
    <span className={`state-badge state-${colour}`} data-job-status={status} title={cancelled ? "the API's status is failed: its newest run to end was cancelled" : undefined}>
      <StateMark state={colour} size={10} title="" />
      {cancelled ? 'failed (cancelled)' : status}
    </span>
  );
}

export function StateLegend(): ReactNode {
  const states: AnyState[] = ['success', 'running', 'failed', 'upstream_failed', 'up_for_retry', 'queued', 'scheduled', 'skipped', 'cancelled'];
  return (
    <ul className="legend" aria-label="State colours">
      {states.map((s) => (
        <li key={s}>
          <StateMark state={s} size={10} title="" /> {stateLabel(s)}
        </li>
      ))}
    </ul>
  );
}
