import type { AbortReason } from './run-task-try.ts';

interface RunningTry {
  runId: string;
  abort(reason: AbortReason): void;
}

/**
 * The tries this runner is running, by instance id: a run's cancel reaches them, and the
 * runner's stop. Once the stop gave them up (`stopAll`), a try that starts after it (claimed
 * while the stop began) is stopped as it is added: before, it was not in the registry when the
 * stop looked, and ran to its end however long the stop was to wait.
 */
export class RunningTries {
  readonly #tries = new Map<string, RunningTry>();
  #stoppedWith: AbortReason | null = null;

  get size(): number {
    return this.#tries.size;
  }

  add(instanceId: string, t: RunningTry): void {
    this.#tries.set(instanceId, t);
    if (this.#stoppedWith !== null) t.abort(this.#stoppedWith);
  }

  delete(instanceId: string): void {
    this.#tries.delete(instanceId);
  }

  abortRun(runId: string, reason: AbortReason): void {
    for (const t of this.#tries.values()) if (t.runId === runId) t.abort(reason);
  }

  /** Stops every try running now, and every one added from now on. */
  stopAll(reason: AbortReason): void {
    this.#stoppedWith = reason;
    for (const t of this.#tries.values()) t.abort(reason);
  }
}
