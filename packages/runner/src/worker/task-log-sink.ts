import Transport from 'winston-transport';
import type { PrismaClient } from '@sluice/db';
import { createLogger, type Logger } from '@sluice/logging';

const FLUSH_MS = 500;
const SPLAT = Symbol.for('splat');

/** Forwards every entry to the process logger. */
class ForwardTransport extends Transport {
  constructor(private readonly target: Logger) {
    super();
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const { level, message, timestamp: _ts, [SPLAT]: _splat, ...rest } = info;
    this.target.log(String(level), String(message), rest);
    next();
  }
}

/** Buffers entries and writes them to task_logs in batches. */
class TaskLogTransport extends Transport {
  #buffer: { level: string; message: string; ts: Date }[] = [];
  #writing: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly taskInstanceId: string,
    private readonly tryNumber: number,
    private readonly onError: (err: unknown) => void,
  ) {
    super();
    this.#timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const { level, message, timestamp: _ts, [SPLAT]: _splat, component: _c, jobId: _j, runId: _r, taskId: _t, ...rest } = info;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    this.#buffer.push({ level: String(level), message: `${String(message)}${extra}`, ts: new Date() });
    next();
  }

  flush(): Promise<void> {
    const batch = this.#buffer;
    if (batch.length === 0) return this.#writing;
    this.#buffer = [];
    this.#writing = this.#writing
      .then(async () => {
        // One INSERT per batch, raw: a try writes at least one batch, on the hot path.
        await this.prisma.$executeRaw`
          INSERT INTO task_logs (task_instance_id, try_number, ts, level, message)
          SELECT ${this.taskInstanceId}::uuid, ${this.tryNumber}, t.ts, t.level, t.message
          FROM unnest(${batch.map((b) => b.ts)}::timestamptz[], ${batch.map((b) => b.level)}::text[], ${batch.map((b) => b.message)}::text[])
            WITH ORDINALITY AS t(ts, level, message, n)
          ORDER BY t.n`;
      })
      .catch(this.onError);
    return this.#writing;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

/**
 * A logger for one try: each entry goes (redacted) to task_logs under this try and to the
 * process logger. `close()` writes what is buffered.
 */
export function createTaskLogger(
  prisma: PrismaClient,
  processLogger: Logger,
  target: { taskInstanceId: string; tryNumber: number },
): { log: Logger; close(): Promise<void> } {
  const sink = new TaskLogTransport(prisma, target.taskInstanceId, target.tryNumber, (err) =>
    processLogger.error('could not write task log lines', { err: err instanceof Error ? err.message : String(err) }),
  );
  const log = createLogger({ silent: true, level: 'debug', transports: [sink, new ForwardTransport(processLogger)] });
  return {
    log,
    async close() {
      await sink.stop();
      log.close();
    },
  };
}
