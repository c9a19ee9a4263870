import type { LiveEarlierTry, LiveRunSummary, RunStateName, TaskStateName } from '../shared/events.ts';

/** `interrupted`: an earlier try cut short by its runner's graceful stop (not a state the API has). */
export type AnyState = RunStateName | TaskStateName | 'interrupted' | 'none';

/** Airflow's colours for its states, so the grid reads the way operators expect. */
export const STATE_COLOURS: Record<AnyState, string> = {
  scheduled: '#d2b48c',
  queued: '#808080',
  running: '#32cd32',
  success: '#008000',
  failed: '#ff0000',
  up_for_retry: '#ffd700',
  upstream_failed: '#ffa500',
  skipped: '#ff69b4',
  cancelled: '#a9a9a9',
  // Airflow's colour for a try restarted from outside it.
  interrupted: '#ee82ee',
  none: '#ffffff',
};

/**
 * A sign for each state, drawn in its mark, so that a state is not told by colour alone (WCAG
 * 1.4.1; QA round 56b F1: success and failed read alike to a red-green colour-blind eye). Dark on
 * every colour but success's green, which takes white.
 */
export const STATE_GLYPHS: Record<AnyState, { sign: string; ink: string }> = {
  scheduled: { sign: '◦', ink: '#1a1a1a' },
  queued: { sign: '⋯', ink: '#1a1a1a' },
  running: { sign: '▸', ink: '#1a1a1a' },
  success: { sign: '✓', ink: '#ffffff' },
  failed: { sign: '✕', ink: '#1a1a1a' },
  up_for_retry: { sign: '↻', ink: '#1a1a1a' },
  upstream_failed: { sign: '!', ink: '#1a1a1a' },
  skipped: { sign: '»', ink: '#1a1a1a' },
  cancelled: { sign: '–', ink: '#1a1a1a' },
  interrupted: { sign: '~', ink: '#1a1a1a' },
  none: { sign: '', ink: '#1a1a1a' },
};

/**
 * How an earlier try is shown: one cut short by its runner's graceful stop (a deploy), retried at
 * once and not counted, as interrupted, not failed (QA round 47b F3: it showed red, as a source failure).
 */
export function earlierTryState(t: LiveEarlierTry): AnyState {
  return t.counted ? t.state : 'interrupted';
}

/**
 * Whether the job's `failed` status came of a cancel: the newest run to end of those that started
 * was cancelled. A run cancelled while it waited queued was withdrawn, not run, and leaves the job's
 * status as its runs that ran left it (a real failure before it stays a failure).
 */
export function failedByCancel(runs: readonly LiveRunSummary[]): boolean {
  let newest: LiveRunSummary | null = null;
  for (const r of runs) {
    if (r.started_at === null || r.ended_at === null) continue;
    if (newest === null || Date.parse(r.ended_at) > Date.parse(newest.ended_at ?? '')) newest = r;
  }
  return newest?.state === 'cancelled';
}

export const STATE_ORDER: AnyState[] = [
  'success',
  'running',
  'failed',
  'upstream_failed',
  'up_for_retry',
  'queued',
  'scheduled',
  'skipped',
  'cancelled',
];

export function stateLabel(state: AnyState): string {
  return state === 'none' ? 'no status' : state.replace(/_/g, ' ');
}

export const isFinished = (s: AnyState): boolean => ['success', 'failed', 'upstream_failed', 'skipped', 'cancelled'].includes(s);

/** The state a group of instances (a mapped task's streams) shows: failures first, then work in progress, then done. */
export function groupState(states: readonly AnyState[]): AnyState {
  const order = ['failed', 'upstream_failed', 'up_for_retry', 'running', 'queued', 'scheduled', 'cancelled', 'skipped', 'success'] as const;
  for (const s of order) if (states.includes(s)) return s;
  return 'none';
}

/** How many instances are in each state, in STATE_ORDER (states with none left out). */
export function stateTally(states: readonly AnyState[]): [AnyState, number][] {
  return STATE_ORDER.flatMap((s) => {
    const n = states.filter((x) => x === s).length;
    return n > 0 ? [[s, n] as [AnyState, number]] : [];
  });
}

/** How many instances are in each state, in STATE_ORDER: "78 success · 2 failed". */
export function stateCounts(states: readonly AnyState[]): string {
  return stateTally(states)
    .map(([s, n]) => `${n} ${stateLabel(s)}`)
    .join(' · ');
}

/** The characters a graph node's second line holds (its 11px text beside the state bar). */
const NODE_LINE_FITS = 22;

/**
 * A grouped graph node's counts: in words when they fit its line, else each state's number behind
 * a dot of its colour (QA round 42b F7: "14 success · 4 running · 12 que" ran out of the node); the
 * node's title and label keep the words.
 */
export function nodeCounts(states: readonly AnyState[]): { words: string } | { tally: [AnyState, number][] } {
  const words = stateCounts(states);
  return words.length <= NODE_LINE_FITS ? { words } : { tally: stateTally(states) };
}
