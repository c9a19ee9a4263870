import type { Logger } from '@sluice/logging';
import type { EndedRun } from './state-store.ts';

/**
 * The process log's line of each run that ends, where it ended (the runner that finished its last
 * task, the API or scheduler that cancelled it): a success or a cancel at info, a failure at warn
 * with its failed task and error (the error line is that task's last try). QA round 33c F7: no
 * process said a run's outcome, only its tasks'.
 */
export function logRunOutcomes(logger: Logger): (runs: EndedRun[]) => void {
  return (runs) => {
    for (const r of runs) {
      const fields = { runId: r.runId, jobId: r.jobId, state: r.state };
      if (r.state === 'failed') logger.warn(`run failed: ${r.message ?? 'no error recorded'}`, fields);
      else if (logger.isLevelEnabled('info')) logger.info(r.state === 'success' ? 'run succeeded' : `run ${r.message ?? 'cancelled'}`, fields);
    }
  };
}
