import Transport from 'winston-transport';
import type { Sql } from '@sluice/db';
import { childLogger, createLogger, type Logger } from '@sluice/logging';

/** How often buffered lines are written while tries run (a try's end writes its lines at once). */
const FLUSH_MS = 250;
const SPLAT = Symbol.for('splat');

/** The meta key that routes an entry to a try's log; it and the context fields stay out of the line. */
const ROUTE = 'taskLog';
const CONTEXT_FIELDS = new Set([ROUTE, 'component', 'runnerId', 'jobId', 'runId', 'taskId', 'stream', 'try', 'timestamp']);

interface Route {
  instanceId: string;
  tryNumber: number;
}

interface Line extends Route {
  ts: Date;
  level: string;
  message: string;
}

function isRoute(v: unknown): v is Route {
  return typeof v === 'object' && v !== null && 'instanceId' in v && typeof v.instanceId === 'string' && 'tryNumber' in v && typeof v.tryNumber === 'number';
}

/** Forwards every entry to the process logger, with its context fields but not the route. */
class ForwardTransport extends Transport {
  constructor(private readonly target: Logger) {
    super();
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const { level, message, timestamp: _ts, [SPLAT]: _splat, [ROUTE]: _route, ...rest } = info;
    this.target.log(String(level), String(message), rest);
    next();
  }
}

/**
 * The process's writer of task_logs: lines of every try running here are buffered and written
 * together, one INSERT at a time (lines that arrive during a write go in the next one), every
 * FLUSH_MS and whenever a try ends.
 */
class TaskLogTransport extends Transport {
  #buffer: Line[] = [];
  #written: Promise<void> = Promise.resolve();
  #next: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly sql: Sql,
    private readonly onError: (err: unknown) => void,
  ) {
    super();
    this.#timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const route = info[ROUTE];
    if (isRoute(route)) {
      const extra = Object.entries(info).filter(([k]) => !CONTEXT_FIELDS.has(k) && k !== 'level' && k !== 'message');
      const suffix = extra.length > 0 ? ` ${JSON.stringify(Object.fromEntries(extra))}` : '';
      this.#buffer.push({ ...route, level: String(info['level']), message: `${String(info['message'])}${suffix}`, ts: new Date() });
    }
    next();
  }

  /** Resolves once every line buffered before the call is written (or its write failed and was reported). */
  flush(): Promise<void> {
    if (this.#buffer.length === 0) return this.#written;
    this.#next ??= this.#written.then(async () => {
      this.#next = undefined;
      const batch = this.#buffer;
      this.#buffer = [];
      try {
        await this.sql.execute`
          INSERT INTO task_logs (task_instance_id, try_number, ts, level, message)
          SELECT t.id, t.try_number, t.ts, t.level, t.message
          FROM unnest(${batch.map((b) => b.instanceId)}::uuid[], ${batch.map((b) => b.tryNumber)}::int[], ${batch.map((b) => b.ts)}::timestamptz[],
                      ${batch.map((b) => b.level)}::text[], ${batch.map((b) => b.message)}::text[])
            WITH ORDINALITY AS t(id, try_number, ts, level, message, n)
          ORDER BY t.n`;
      } catch (err) {
        this.onError(err);
      }
    });
    this.#written = this.#next;
    return this.#written;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

export interface TaskLogWriter {
  /**
   * A logger for one try: each entry goes (redacted) to task_logs under this try and to the
   * process logger with `fields`.
   */
  forTry(target: Route, fields: Record<string, unknown>): Logger;
  /** Resolves once every line logged before the call is written. */
  flush(): Promise<void>;
  /** Writes what is buffered and stops the timer. */
  close(): Promise<void>;
}

export function createTaskLogWriter(sql: Sql, processLogger: Logger): TaskLogWriter {
  const sink = new TaskLogTransport(sql, (err) =>
    processLogger.error('could not write task log lines', { err: err instanceof Error ? err.message : String(err) }),
  );
  const base = createLogger({ silent: true, level: 'debug', transports: [sink, new ForwardTransport(processLogger)] });
  return {
    forTry: (target, fields) => childLogger(base, { ...fields, [ROUTE]: { instanceId: target.instanceId, tryNumber: target.tryNumber } }),
    flush: () => sink.flush(),
    async close() {
      await sink.stop();
      base.close();
    },
  };
}
