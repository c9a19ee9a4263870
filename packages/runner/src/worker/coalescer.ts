/**
 * Group commit for the runner's hot path: callers submit items one at a time; they are written
 * in batches by `flush`, with at most `maxInFlight` batches in flight. Items submitted while
 * every slot is busy wait and go together in the next batch, so under load each round trip to
 * PostgreSQL carries many tries, and when idle a lone item goes out on the next turn of the
 * event loop (no timer, no added latency beyond that turn).
 */
export class Coalescer<I, O> {
  #pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #inFlight = 0;
  #scheduled = false;

  /**
   * @param flush writes a batch and answers one result per item, in order. If it throws, every
   *   item of the batch is rejected with that error.
   * @param options.maxBatch the most items one flush carries (default 200).
   * @param options.maxInFlight the most flushes running at once (default 1).
   */
  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch?: number; maxInFlight?: number } = {},
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#inFlight >= (this.options.maxInFlight ?? 1) || this.#scheduled || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#inFlight >= (this.options.maxInFlight ?? 1) || this.#pending.length === 0) return;
    this.#inFlight++;
    const batch = this.#pending.splice(0, this.options.maxBatch ?? 200);
    this.#schedule();
    try {
      const results = await this.flush(batch.map((b) => b.item));
      if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${results.length} results`);
      batch.forEach((b, i) => b.resolve(results[i] as O));
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }
}
