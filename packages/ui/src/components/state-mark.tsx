import type { ReactNode } from 'react';
import { STATE_COLOURS, STATE_GLYPHS, stateLabel, type AnyState } from '../lib/states.ts';

/**
 * A coloured square for a state, with the state's sign in it (drawn by the stylesheet from
 * `data-glyph`, so that the text around a mark stays its words); its name is spoken and shown on
 * hover. With `title` "" it stands beside the state's name in words: hidden from screen readers
 * then, which would say "image" before every state (QA round 56b F4).
 */
export function StateMark({ state, size = 14, title }: { state: AnyState; size?: number; title?: string }): ReactNode {
  const label = title ?? stateLabel(state);
  const glyph = STATE_GLYPHS[state];
  const style = { width: size, height: size, lineHeight: `${size}px`, fontSize: Math.round(size * 0.8), background: STATE_COLOURS[state], color: glyph.ink };
  if (label === '') {
    return (
      <span className={`state-mark state-${state}`} aria-hidden="true" data-state={state} data-glyph={glyph.sign} style={style} />
    );
  }
  return (
    <span className={`state-mark state-${state}`} role="img" aria-label={label} title={label} data-state={state} data-glyph={glyph.sign} style={style} />
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
