import { Writable } from 'node:stream';
import winston from 'winston';
import { SecretRegistry, redact } from './redact.ts';

/** Structured fields every Sluice log line may carry. */
export interface LogFields {
  component?: string;
  jobId?: string;
  runId?: string;
  taskId?: string;
  [key: string]: unknown;
}

export type Logger = winston.Logger;

export type LogFormat = 'json' | 'pretty';

/**
 * Sluice's own secrets (the master keys, tokens, the passwords of its services' URLs): masked in
 * every process log line, every task log line and every API answer.
 */
export const secrets = new SecretRegistry();

/**
 * The secret values of the connector configs this process opened (every job's): masked in the
 * process's log lines, which operators read. Not in what a job's users read (its task logs, the
 * API's answers): there another job's values would blank their words, and say which words are some
 * job's secrets. A connector's output is masked with its own config's values before it is logged
 * (the connectors' SecretMasker), so a task log needs no other job's.
 */
export const configSecrets = new SecretRegistry();

const SPLAT = Symbol.for('splat');

/**
 * A process log entry's fields with secrets masked: values under secret-named keys, and Sluice's
 * and every connector config's secret values anywhere. Every process log line passes here.
 */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out = redact(fields, [secrets, configSecrets]) as Record<string, unknown>;
  // Fields Sluice itself sets (which part, which job, run and task) hold no secret: a user's
  // secret that is a common word ("runner") must not blank them in every line.
  for (const k of STRUCTURAL_FIELDS) if (k in fields) out[k] = fields[k];
  return out;
}

/** Fields of every log line whose values Sluice sets, never a source's or a user's text. */
const STRUCTURAL_FIELDS = ['level', 'component', 'jobId', 'runId', 'taskId', 'runnerId'] as const;

/** A task log line's fields with secrets masked: values under secret-named keys, and Sluice's own secret values anywhere. */
export function redactTaskFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redact(fields, [secrets]) as Record<string, unknown>;
}

const redactFormat = winston.format((info) => {
  Object.assign(info, redactFields(info));
  delete (info as Record<string | symbol, unknown>)[SPLAT];
  return info;
});

const pretty = winston.format.printf((info) => {
  const { level, message, timestamp, component, jobId, runId, taskId, ...rest } = info;
  const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v));
  const ctx = [
    component === undefined ? '' : text(component),
    jobId === undefined ? '' : `job=${text(jobId)}`,
    runId === undefined ? '' : `run=${text(runId)}`,
    taskId === undefined ? '' : `task=${text(taskId)}`,
  ]
    .filter(Boolean)
    .join(' ');
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return `${String(timestamp)} ${level} ${ctx ? `[${ctx}] ` : ''}${String(message)}${extra}`;
});

export interface CreateLoggerOptions {
  level?: string;
  format?: LogFormat;
  /** Extra transports (e.g. a task log sink); the console transport is always present unless `silent`. */
  transports?: winston.transport[];
  silent?: boolean;
  /** Every level to stderr, for a command whose stdout is its answer (`sluice decryption-keys`); else errors and warnings only. */
  allToStderr?: boolean;
}

/**
 * Creates the root logger. JSON lines by default; `pretty` for a terminal.
 * Every entry passes through redaction: secret-named keys and registered secret values are masked.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const format = options.format ?? 'json';
  const extra = options.transports ?? [];
  return winston.createLogger({
    level: options.level ?? 'info',
    // Silent with nowhere else to write: entries stop at the logger, before any formatting.
    silent: (options.silent ?? false) && extra.length === 0,
    format: winston.format.combine(
      redactFormat(),
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      format === 'json' ? winston.format.json() : winston.format.combine(winston.format.colorize(), pretty),
    ),
    transports: [
      new winston.transports.Console({
        silent: options.silent ?? false,
        stderrLevels: options.allToStderr === true ? Object.keys(winston.config.npm.levels) : ['error', 'warn'],
      }),
      ...extra,
    ],
  });
}

/**
 * Node's process warnings — a dependency's notice (the AWS SDK's seven lines on Node versions it
 * will stop supporting), a deprecation, a listener leak — as warnings of `logger`, one line each,
 * in place of Node's own printing to stderr: in the JSON format every line an operator's log
 * shipper reads is then an entry. The last logger given takes them.
 */
export function logProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    const text = warning.message.replace(/\s+/g, ' ').trim();
    logger.warn(warning.name === 'Warning' ? text : `${warning.name}: ${text}`, warning.code === undefined ? {} : { code: warning.code });
  });
}

/** A child logger carrying `{component, jobId, runId, taskId}` and any other fields. */
export function childLogger(parent: Logger, fields: LogFields): Logger {
  return parent.child(fields);
}

/**
 * A logger whose entries (JSON lines, redacted as any other) are kept in `lines`, for tests
 * that check what an operator would read. Nothing goes to the console.
 */
export function createMemoryLogger(options: { level?: string } = {}): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: options.level ?? 'info', silent: true, transports: [new winston.transports.Stream({ stream: sink })] });
  return { logger, lines };
}

/**
 * Something that keeps failing while a dependency is away (each retry, each poll) is said once
 * when it starts failing and once when it works again: `failed` calls `onStart` for the first
 * failure of a streak, `succeeded` calls `onEnd` for the first success after one.
 */
export class FailureStreak {
  #failing = false;

  constructor(
    private readonly onStart: (err: unknown) => void,
    private readonly onEnd: () => void,
  ) {}

  failed(err: unknown): void {
    if (!this.#failing) this.onStart(err);
    this.#failing = true;
  }

  succeeded(): void {
    if (this.#failing) this.onEnd();
    this.#failing = false;
  }
}
