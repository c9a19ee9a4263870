/** The most items one batch carries. */
const MAX_BATCH = 200;

/**
 * Group commit for the runner's hot path: callers submit items one at a time; they are written
 * in batches by `flush`, with at most one batch in flight. Items submitted while a batch is in
 * flight wait for it and go together in the next one, so under load each round trip to
 * PostgreSQL carries many tries, and when idle a lone item goes out on the next turn of the
 * event loop (no timer, no added latency beyond that turn). One batch in flight, not more: on the
 * engine benchmark, three report batches in flight cost about a fifth more PostgreSQL CPU for the
 * same work (smaller batches, and this runner's transactions waiting on each other's run locks).
 */
export class Coalescer<I, O> {
  #pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #inFlight = false;
  #scheduled = false;

  /**
   * @param flush writes a batch and answers one result per item, in order. If it throws, every
   *   item of the batch is rejected with that error.
   */
  constructor(private readonly flush: (items: I[]) => Promise<O[]>) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#inFlight || this.#scheduled || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#inFlight || this.#pending.length === 0) return;
    this.#inFlight = true;
    const batch = this.#pending.splice(0, MAX_BATCH);
    try {
      const results = await this.flush(batch.map((b) => b.item));
      if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${results.length} results`);
      batch.forEach((b, i) => b.resolve(results[i] as O));
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.#inFlight = false;
      this.#schedule();
    }
  }
}
