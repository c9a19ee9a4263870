import { errorMessage } from '@sluice/core';
import type { Logger } from '@sluice/logging';

export interface Closer {
  name: string;
  close(): Promise<void>;
  /** How long this step may take before the next one runs anyway; default SHUTDOWN_STEP_MS. */
  timeoutMs?: number;
  /** What giving up on this step leaves, for its line. */
  givenUp?: string;
}

/** How long one shutdown step may take before the next one runs anyway. */
const SHUTDOWN_STEP_MS = 10_000;

/**
 * Closes each step in reverse order of opening, each given its time (a step that takes longer is
 * said as a wait given up, with what that leaves, and the next one runs anyway); a step that
 * fails is said and the next one runs.
 */
export async function closeAll(logger: Logger, closers: Closer[]): Promise<void> {
  for (const c of [...closers].reverse()) {
    let timer: NodeJS.Timeout | undefined;
    const ms = c.timeoutMs ?? SHUTDOWN_STEP_MS;
    const late = Symbol('late');
    try {
      const ended = await Promise.race([
        c.close(),
        new Promise<typeof late>((resolve) => {
          timer = setTimeout(() => resolve(late), ms);
        }),
      ]);
      // Said as a wait given up, not as an error (QA round 29: "stopping runner failed: Error: did not finish within 40000 ms").
      if (ended === late) logger.warn(`stopping ${c.name}: gave up waiting after ${ms / 1000} s${c.givenUp ? `; ${c.givenUp}` : ''}`);
    } catch (err) {
      logger.warn(`stopping ${c.name} failed: ${errorMessage(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
