import { FailureStreak, type Logger } from '@sluice/logging';
import { errorSummary } from '@sluice/db';

/** What a topic's fetch answers: the current payload, or `null` when the watched thing is gone. */
export type TopicFetch<T> = () => Promise<T | null>;

export interface TopicListener<T> {
  /**
   * Called with each new payload (the current one first), only when it changed, and the payload
   * this listener heard before it (undefined for its first): every listener of a topic hears each
   * of its changes, in order.
   */
  change(payload: T, previous: T | undefined): void;
  /** Called once when the watched thing is gone (deleted, or not visible). */
  gone(): void;
  /**
   * Called with true when the topic's fetch fails (PostgreSQL away: what was sent may be out of
   * date, and no change can be seen), and with false when it works again; a watcher that comes
   * while it fails hears true at once.
   */
  stale(stale: boolean): void;
}

interface Topic {
  fetch: TopicFetch<unknown>;
  listeners: Set<TopicListener<unknown>>;
  /** JSON of the last payload sent, to send only changes. */
  last: string | undefined;
  payload: unknown;
  /** Its fetches failing (PostgreSQL away): said once when it starts and once when it ends, not every tick. */
  failures: FailureStreak;
  /** Whether its last fetch failed (its watchers were told). */
  stale: boolean;
}

/**
 * Polls PostgreSQL for what browsers watch and fans each change out to every watcher.
 *
 * A topic (e.g. `run:<id>`) is fetched once per tick however many connections watch it, and
 * its listeners hear only payloads that differ from the last one; ticks run back to back with
 * `intervalMs` between them, and only while somebody watches. Polling reads the same rows any
 * writer changes, however it writes them (see docs/adr/0008-flow-ui.md for why not
 * LISTEN/NOTIFY).
 */
export class LiveHub {
  readonly #topics = new Map<string, Topic>();
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #closed = false;

  constructor(options: { intervalMs: number; logger: Logger }) {
    this.#intervalMs = options.intervalMs;
    this.#logger = options.logger;
  }

  /** Starts watching `key`; the listener hears the current payload at once. Answers the unsubscribe. */
  subscribe<T>(key: string, fetch: TopicFetch<T>, listener: TopicListener<T>): () => void {
    let topic = this.#topics.get(key);
    const l = listener as TopicListener<unknown>;
    if (topic === undefined) {
      const failures = new FailureStreak(
        (err) => this.#logger.warn('live update query failed; retrying every tick', { component: 'ui-live', topic: key, error: errorSummary(err) }),
        () => this.#logger.info('live updates resumed', { component: 'ui-live', topic: key }),
      );
      topic = { fetch, listeners: new Set([l]), last: undefined, payload: undefined, failures, stale: false };
      this.#topics.set(key, topic);
      void this.#refresh(key, topic);
    } else {
      topic.listeners.add(l);
      if (topic.last !== undefined) l.change(topic.payload, undefined);
      if (topic.stale) l.stale(true);
    }
    this.#schedule();
    return () => {
      const t = this.#topics.get(key);
      if (t === undefined) return;
      t.listeners.delete(l);
      if (t.listeners.size === 0) this.#topics.delete(key);
    };
  }

  /** How many topics are being polled (for tests and metrics). */
  get topicCount(): number {
    return this.#topics.size;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#topics.clear();
  }

  #schedule(): void {
    if (this.#closed || this.#running || this.#timer !== undefined || this.#topics.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    this.#running = true;
    try {
      await Promise.all([...this.#topics.entries()].map(([key, topic]) => this.#refresh(key, topic)));
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  async #refresh(key: string, topic: Topic): Promise<void> {
    let payload: unknown;
    try {
      payload = await topic.fetch();
    } catch (err) {
      topic.failures.failed(err);
      if (!topic.stale) {
        topic.stale = true;
        for (const l of topic.listeners) l.stale(true);
      }
      return;
    }
    topic.failures.succeeded();
    if (topic.stale) {
      topic.stale = false;
      for (const l of topic.listeners) l.stale(false);
    }
    if (this.#topics.get(key) !== topic) return;
    if (payload === null) {
      this.#topics.delete(key);
      for (const l of topic.listeners) l.gone();
      return;
    }
    const json = JSON.stringify(payload);
    if (json === topic.last) return;
    const previous = topic.payload;
    topic.last = json;
    topic.payload = payload;
    for (const l of topic.listeners) l.change(payload, previous);
  }
}
