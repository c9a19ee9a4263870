import { errorSummary, isDatabaseUnreachable, storableText, type Sql } from '@sluice/db';
import { FailureStreak, redactTaskFields, type Logger } from '@sluice/logging';
import type { TaskLog, TaskLogLevel } from './task-handler.ts';

/** How often buffered lines are written while tries run (a try's end writes its lines at once). */
const FLUSH_MS = 250;

/** Lines kept for the next write while PostgreSQL is away; beyond, the oldest are dropped (and counted). */
const MAX_KEPT_LINES = 20_000;

/**
 * A try's connector info and debug lines written to task_logs; those past it go to the process log
 * only (at debug), and one line says so. A connector that logs a line per record wrote 300,000
 * lines, 89 MB of PostgreSQL, in one try (QA round 42b F5); its warnings and errors are all kept.
 */
export const MAX_CONNECTOR_LINES_PER_TRY = 50_000;

interface Route {
  instanceId: string;
  tryNumber: number;
}

interface Line extends Route {
  ts: Date;
  level: string;
  message: string;
}

/**
 * The process's writer of task_logs: lines of every try running here are buffered and written
 * together, one INSERT at a time (lines that arrive during a write go in the next one), every
 * FLUSH_MS and whenever a try ends.
 */
class TaskLogBuffer {
  #buffer: Line[] = [];
  /** Lines dropped while PostgreSQL was away, said when it is back. */
  #dropped = 0;
  #written: Promise<void> = Promise.resolve();
  #next: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly sql: Sql,
    /** Told of failed writes (a streak is said once) and of the first write after them. */
    private readonly failures: { failed(err: unknown, lines: number): void; succeeded(dropped: number): void },
  ) {
    this.#timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  push(line: Line): void {
    // PostgreSQL's text cannot hold NUL: one such line (a connector's, a config key named in a
    // warning) failed its whole batch, every try's lines in it (QA round 43a F5).
    this.#buffer.push({ ...line, message: storableText(line.message) });
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
        this.failures.succeeded(this.#dropped);
        this.#dropped = 0;
      } catch (err) {
        if (isDatabaseUnreachable(err)) {
          // Kept, ahead of what came since, for the first write once PostgreSQL is back.
          this.#buffer = [...batch, ...this.#buffer];
          const excess = this.#buffer.length - MAX_KEPT_LINES;
          if (excess > 0) {
            this.#buffer.splice(0, excess);
            this.#dropped += excess;
          }
        }
        this.failures.failed(err, batch.length);
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

/** What a connector's line is prefixed with in the task log, by where it came from (Airbyte's own logs say "source >"). */
const ORIGIN_PREFIX: Readonly<Record<string, string>> = { connector: 'source > ', stderr: 'source stderr > ', stdout: 'source stdout > ' };

/**
 * A task log line: the message, prefixed by a connector line's origin, followed by its other
 * fields as `key=value` (a value with spaces, quotes or `=` quoted as JSON; objects as JSON) —
 * QA round 34a: each connector line ended in a literal `{"origin":"connector"}`.
 */
function taskLogLine(message: string, origin: unknown, fields: Record<string, unknown>): string {
  const prefix = typeof origin === 'string' ? (ORIGIN_PREFIX[origin] ?? '') : '';
  const pairs = Object.entries(fields).map(([key, value]) => {
    if (typeof value !== 'string') return `${key}=${JSON.stringify(value) ?? String(value)}`;
    return `${key}=${/^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`;
  });
  return [`${prefix}${message}`, ...pairs].join(' ');
}

/** A try's log as the runner holds it: the handler's `TaskLog`, and a flush of this try's lines. */
export interface TryLog extends TaskLog {
  /** Resolves once every line this try logged so far is written; at once when it logged none. */
  flush(): Promise<void>;
  /**
   * A line for this try's log, which the process log has at debug: what the process says once for
   * all its tries (PostgreSQL away: each try's heartbeat lines), not once per try.
   */
  quiet(level: TaskLogLevel, message: string, meta?: Record<string, unknown>): void;
}

export interface TaskLogWriter {
  /**
   * The log of one try: each entry goes (redacted) to task_logs under this try and to the
   * process logger with `fields`.
   */
  forTry(target: Route, fields: Record<string, unknown>): TryLog;
  /** Writes what is buffered and stops the timer. */
  close(): Promise<void>;
}

/**
 * Task log lines go straight to the buffer (masked by `redactTaskFields`: Sluice's own secrets;
 * a connector's lines come masked with its config's values), not through a logger's stream of
 * formats per line: that was a tenth of the runner's CPU on the engine benchmark, for two lines
 * per try. The two lines every try has ("try N of M
 * started on runner …", "try N succeeded") are written by the state store's claim and success
 * statements, not here (ADR 0011).
 */
export function createTaskLogWriter(sql: Sql, processLogger: Logger): TaskLogWriter {
  let dropped = 0;
  // The runner's one line for a PostgreSQL outage, and one when it is back (QA round 29: each try's
  // heartbeat said it too, in the process log): its tries' lines, beats and outcomes wait for it.
  const streak = new FailureStreak(
    (err) => processLogger.warn("PostgreSQL is unreachable: running tries go on; their log lines (kept meanwhile), heartbeats and outcomes wait for it", { err: errorSummary(err) }),
    () => processLogger.info(`PostgreSQL is reachable again: task log lines are written${dropped > 0 ? ` (${dropped} of them were dropped meanwhile, beyond ${MAX_KEPT_LINES} kept)` : ''}`),
  );
  const buffer = new TaskLogBuffer(sql, {
    // Only an outage is said as one (its lines are kept); PostgreSQL refusing the lines is said as that (QA round 43a F5).
    failed: (err, lines) => {
      if (isDatabaseUnreachable(err)) streak.failed(err);
      else processLogger.error(`${lines} task log ${lines === 1 ? 'line was' : 'lines were'} not written: PostgreSQL refused them`, { err: errorSummary(err) });
    },
    succeeded: (n) => {
      dropped = n;
      streak.succeeded();
    },
  });
  return {
    forTry(target, fields) {
      let logged = false;
      let connectorLines = 0;
      let droppedSaid = false;
      const push = (level: string, message: string): void => {
        buffer.push({ instanceId: target.instanceId, tryNumber: target.tryNumber, level, message, ts: new Date() });
      };
      const write = (level: TaskLogLevel, message: string, meta: Record<string, unknown> = {}, quiet = false): void => {
        logged = true;
        const fromConnector = meta['origin'] !== undefined && meta['origin'] !== 'sluice';
        const chatter = fromConnector && (level === 'info' || level === 'debug');
        if (chatter) connectorLines += 1;
        if (chatter && connectorLines === MAX_CONNECTOR_LINES_PER_TRY + 1) {
          push(
            'warn',
            `the connector's info and debug lines past the first ${MAX_CONNECTOR_LINES_PER_TRY} of this try are not kept in its log (its warnings and errors are); the runner's own log has them only at SLUICE_LOG_LEVEL=debug`,
          );
        }
        if (!chatter || connectorLines <= MAX_CONNECTOR_LINES_PER_TRY) {
          const { message: text, origin, ...extra } = redactTaskFields({ ...meta, message });
          push(level, taskLogLine(String(text), origin, extra));
        }
        // A connector's own info lines (progress chatter, a third of a small run's lines) are the
        // task log's; the process log has them at debug.
        const processLevel = quiet || (level === 'info' && fromConnector) ? 'debug' : level;
        if (processLogger.isLevelEnabled(processLevel)) processLogger.log(processLevel, message, { ...fields, ...meta });
      };
      return {
        log: write,
        error: (message, meta) => write('error', message, meta),
        warn: (message, meta) => write('warn', message, meta),
        info: (message, meta) => write('info', message, meta),
        debug: (message, meta) => write('debug', message, meta),
        quiet: (level, message, meta) => write(level, message, meta, true),
        flush: () => {
          // Flushed once the try ended (and again before its outcome is retried): how many went, said once.
          const dropped = connectorLines - MAX_CONNECTOR_LINES_PER_TRY;
          if (dropped > 0 && !droppedSaid) {
            droppedSaid = true;
            push('warn', `${dropped} of the connector's info and debug lines of this try were not kept, past its first ${MAX_CONNECTOR_LINES_PER_TRY}`);
          }
          return logged ? buffer.flush() : Promise.resolve();
        },
      };
    },
    close: () => buffer.stop(),
  };
}
