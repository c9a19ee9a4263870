/**
 * What a queued run waits for, in the words the API's trigger answer and the UI both use: a
 * paused job starts none of its queued runs; any other job starts them oldest first as its runs
 * under way end (max_active_runs).
 */
export function queuedRunWait(jobPaused: boolean): string {
  return jobPaused
    ? 'Waits for its job to be resumed: a paused job starts none of its queued runs.'
    : "Waits for a slot: it starts when one of its job's runs under way ends (max_active_runs), after the runs queued before it.";
}

/** How long a task waits queued before a run says it waits for a runner (a runner takes one within milliseconds when it has a slot). */
export const RUNNER_WAIT_SAID_MS = 5_000;

/**
 * What a running run with no task running waits for, once its oldest queued task has waited
 * RUNNER_WAIT_SAID_MS for a runner: every runner's slots are taken (by tasks of this or other
 * jobs), or no runner runs. Null otherwise (QA round 48b D1: "running", and on its page "No task
 * has started yet.", for minutes, with nothing to say that other jobs' tasks held the runners).
 */
export function runnerWait(
  tasks: readonly { task_id: string; stream: string | null; state: string; queued_at: string | null }[],
  now: number,
): string | null {
  if (tasks.some((t) => t.state === 'running')) return null;
  const queued = tasks.filter((t) => t.state === 'queued' && t.queued_at !== null).sort((a, b) => Date.parse(a.queued_at ?? '') - Date.parse(b.queued_at ?? ''));
  const first = queued[0];
  if (first === undefined) return null;
  const waited = now - Date.parse(first.queued_at ?? '');
  if (waited < RUNNER_WAIT_SAID_MS) return null;
  const name = first.stream ? `${first.task_id} · ${first.stream}` : first.task_id;
  return (
    `Waits for a runner: ${name} has been queued for ${Math.round(waited / 1000)} s, and no runner has taken it. ` +
    'Every runner slot is taken by tasks of this or other jobs (a runner runs SLUICE_RUNNER_CONCURRENCY tasks at once), or no runner is running.'
  );
}
