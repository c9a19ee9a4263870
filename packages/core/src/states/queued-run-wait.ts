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
