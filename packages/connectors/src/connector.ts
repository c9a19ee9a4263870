import { NonRetryableTaskError, errorMessage } from '@sluice/core';
import type { z } from 'zod';
import { connectorFailure, type ConnectorFailure } from './connector-failure.ts';
import { airbyteLogLevel, SecretMasker, type ConnectorLogHandler } from './connector-log.ts';
import { runConnectorProcess, type LaunchBuilder, type ProcessOutcome } from './connector-process.ts';
import {
  airbyteCatalogSchema,
  connectionStatusSchema,
  connectorSpecificationSchema,
  logSchema,
  traceSchema,
  type AirbyteCatalog,
  type ConnectorConfig,
  type ConnectorSpecification,
  type TraceError,
} from './protocol.ts';
import { collectConfigStrings, collectSecretValues } from './secret-values.ts';
import { repairSurrogates } from './record-line.ts';

/** Where a resolved connector comes from, in PyAirbyte's order of preference. */
export type ConnectorSource =
  | { kind: 'path'; executable: string }
  | { kind: 'python'; dir: string; python: string; script: string; packageName: string; installedVersion: string }
  | { kind: 'docker'; image: string; dockerCommand: string };

export interface ConnectorCommandOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  onLog?: ConnectorLogHandler;
}

export type CheckResult = { status: 'succeeded' } | { status: 'failed'; message: string };

/** The answer of `spec` or `discover` without throwing: the value, or why the command failed. */
export type CommandOutcome<T> = { ok: true; value: T } | { ok: false; failure: ConnectorFailure };

const DEFAULT_COMMAND_TIMEOUT_MS = 5 * 60_000;

/**
 * A runnable Airbyte source. `spec`, `check` and `discover` run the connector once each (the spec
 * is cached); `read` is driven by `runExtract`. Secret config values (spec fields marked
 * `airbyte_secret`, and secret-looking keys) are masked in everything it logs or throws.
 */
export class Connector {
  #spec: ConnectorSpecification | undefined;

  constructor(
    readonly sourceName: string,
    readonly source: ConnectorSource,
    readonly killGraceMs = 10_000,
  ) {}

  /** How a verb of this connector is started; for Docker the private directory is mounted read-only at the same path. */
  readonly launch: LaunchBuilder = (args, privateDir) => {
    switch (this.source.kind) {
      case 'path':
        return { command: this.source.executable, args };
      case 'python':
        // Through the virtualenv's interpreter: the script's shebang names the temp dir it was built in.
        return { command: this.source.python, args: [this.source.script, ...args] };
      case 'docker': {
        const uid = process.getuid?.();
        const gid = process.getgid?.();
        return {
          command: this.source.dockerCommand,
          args: [
            'run', '--rm', '-i', '--init', '--network', 'host',
            ...(uid !== undefined && gid !== undefined ? ['--user', `${uid}:${gid}`] : []),
            '-v', `${privateDir}:${privateDir}:ro`,
            this.source.image, ...args,
          ],
        };
      }
    }
  };

  /** A masker holding the secrets of `config` (and registering them with '@sluice/logging'). */
  async maskerFor(config: ConnectorConfig, options: ConnectorCommandOptions = {}): Promise<SecretMasker> {
    return this.maskerWithSpec(await this.spec(options), config);
  }

  /** Like `maskerFor`, with the spec already known. */
  maskerWithSpec(spec: ConnectorSpecification | undefined, config: ConnectorConfig): SecretMasker {
    const masker = new SecretMasker();
    masker.add(collectSecretValues(spec, config));
    return masker;
  }

  /**
   * A masker for a command that does not wait for the spec: by the spec when this process has read
   * it, else the secrets key names show (registered with the process's log, as always) and every
   * other string of the config in the command's own output only, since any of them may be a field
   * the spec marks `airbyte_secret`.
   */
  maskerWithoutWaiting(config: ConnectorConfig): SecretMasker {
    const masker = this.maskerWithSpec(this.#spec, config);
    if (!this.#spec) masker.addLocal(collectConfigStrings(config));
    return masker;
  }

  /** The spec, when this process has read it already (no command is run). */
  get knownSpec(): ConnectorSpecification | undefined {
    return this.#spec;
  }

  /** The connector's specification (cached after the first call). Throws the failure's task error. */
  async spec(options: ConnectorCommandOptions = {}): Promise<ConnectorSpecification> {
    return unwrap(await this.trySpec(options));
  }

  async trySpec(options: ConnectorCommandOptions = {}): Promise<CommandOutcome<ConnectorSpecification>> {
    if (this.#spec) return { ok: true, value: this.#spec };
    const outcome = await this.#simple('spec', {}, 'SPEC', 'spec', connectorSpecificationSchema, new SecretMasker(), options);
    if (outcome.ok) this.#spec = outcome.value;
    return outcome;
  }

  /**
   * Runs `check`: a FAILED connection status is an answer, not an error, and so is a check that
   * crashed (a non-zero exit, or a system error it reported), as Airbyte's platform fails its check
   * job then (QA round 27: a config naming a file that is not there went in, and every run failed).
   * A configuration error throws ConnectorConfigError; a transient error or a timeout throws (the
   * check could not be made). Without `masker`, the spec is read first for it.
   */
  async check(config: ConnectorConfig, options: ConnectorCommandOptions = {}, masker?: SecretMasker): Promise<CheckResult> {
    masker ??= await this.maskerFor(config, options);
    const outcome = await this.#simple('check', { config }, 'CONNECTION_STATUS', 'connectionStatus', connectionStatusSchema, masker, options);
    if (!outcome.ok && (outcome.failure.reason === 'exit_code' || outcome.failure.reason === 'system_error')) return { status: 'failed', message: outcome.failure.message };
    const status = unwrap(outcome);
    return status.status === 'SUCCEEDED' ? { status: 'succeeded' } : { status: 'failed', message: masker.mask(status.message ?? 'check failed') };
  }

  /** The source's catalog; throws the failure's task error. Without `masker`, the spec is read first for it. */
  async discover(config: ConnectorConfig, options: ConnectorCommandOptions = {}, masker?: SecretMasker): Promise<AirbyteCatalog> {
    masker ??= await this.maskerFor(config, options);
    return unwrap(await this.tryDiscover(config, masker, options));
  }

  async tryDiscover(config: ConnectorConfig, masker: SecretMasker, options: ConnectorCommandOptions = {}): Promise<CommandOutcome<AirbyteCatalog>> {
    return this.#simple('discover', { config }, 'CATALOG', 'catalog', airbyteCatalogSchema, masker, options);
  }

  async #simple<S extends z.ZodType>(
    verb: 'spec' | 'check' | 'discover',
    files: { config?: ConnectorConfig },
    messageType: string,
    field: string,
    schema: S,
    masker: SecretMasker,
    options: ConnectorCommandOptions,
  ): Promise<CommandOutcome<z.output<S>>> {
    let found: unknown;
    let invalid: string | undefined;
    const errors: TraceError[] = [];
    const onLog = options.onLog;
    let outcome: ProcessOutcome;
    try {
      outcome = await runConnectorProcess({
        launch: this.launch,
        verb,
        files,
        killGraceMs: this.killGraceMs,
        timeoutMs: options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
        onStderrLine: (line) => onLog?.({ level: 'warn', origin: 'stderr', message: masker.mask(line) }),
        maskStderr: (line) => masker.mask(line),
        onLine: (line) => {
          const msg = parseMessage(line);
          if (!msg) {
            onLog?.({ level: 'warn', origin: 'stdout', message: masker.mask(line) });
            return;
          }
          if (msg.type === messageType && found === undefined) {
            const parsed = schema.safeParse(msg[field]);
            if (parsed.success) found = parsed.data;
            else invalid = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
          } else if (msg.type === 'LOG') {
            const log = logSchema.safeParse(msg['log']);
            if (log.success) onLog?.({ level: airbyteLogLevel(log.data.level), origin: 'connector', message: masker.mask(log.data.message) });
          } else if (msg.type === 'TRACE') {
            const trace = traceSchema.safeParse(msg['trace']);
            if (trace.success && trace.data.type === 'ERROR' && trace.data.error) errors.push(trace.data.error);
          }
        },
      });
    } catch (err) {
      // The program could not be started (removed, not executable).
      return { ok: false, failure: connectorFailure('exit_code', `${this.sourceName} ${verb} could not start: ${masker.mask(errorMessage(err))}`, err) };
    }
    const failure = outcomeFailure(this.sourceName, verb, outcome, errors, masker);
    if (failure) return { ok: false, failure };
    if (found === undefined) {
      const problem = invalid ? `printed an invalid ${messageType} message (${masker.mask(invalid)})` : `printed no ${messageType} message`;
      return { ok: false, failure: connectorFailure('protocol_error', `${this.sourceName} ${verb} ${problem}`) };
    }
    return { ok: true, value: found as z.output<S> };
  }
}

function unwrap<T>(outcome: CommandOutcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw outcome.failure.error;
}

/** A protocol message, or undefined for a line that is not a JSON object with a `type`. */
export function parseMessage(line: string): (Record<string, unknown> & { type: string }) | undefined {
  const first = line.charCodeAt(0) === 0x7b ? 0 : line.indexOf('{');
  if (first === -1) return undefined;
  try {
    const v: unknown = JSON.parse(repairSurrogates(first === 0 ? line : line.slice(first)).text);
    if (typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string') {
      return v as Record<string, unknown> & { type: string };
    }
  } catch {
    // Not JSON.
  }
  return undefined;
}

/**
 * A connector's text in a failure message, at most this long: a run's error, or an API's 400, is
 * read in lists, not a dump of the source's bytes. The whole text is in the task's log (a run's
 * connector), or nowhere (the API's checks: the answer is all the client gets).
 */
const MAX_CONNECTOR_TEXT = 1000;
/** One line of a connector's stderr in a failure message, at most this long. */
const MAX_STDERR_LINE = 400;

function clip(text: string, max = MAX_CONNECTOR_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters in all)`;
}

/**
 * The last lines of a connector's stderr, as they end: a Python traceback's useful line — the
 * exception and its message — is its last, after the frames (QA round 44b F2: the first 1,000
 * characters of five lines showed frames and cut the exception off). Each line is clipped, and
 * the earlier ones are left out when they do not fit.
 */
function stderrExcerpt(lines: readonly string[]): string {
  const kept: string[] = [];
  let length = 0;
  for (const line of [...lines].reverse()) {
    const clipped = clip(line, MAX_STDERR_LINE);
    if (kept.length > 0 && length + clipped.length + 1 > MAX_CONNECTOR_TEXT) break;
    kept.unshift(clipped);
    length += clipped.length + 1;
  }
  return kept.join('\n');
}

/**
 * How a connector command ended, as a failure, or undefined when it succeeded. Sluice's own
 * stops (cancel, timeout) win; then what the source reported in TRACE errors (a config error
 * first); then the exit status.
 */
export function outcomeFailure(
  sourceName: string,
  verb: string,
  outcome: ProcessOutcome,
  errors: readonly TraceError[],
  masker: SecretMasker,
): ConnectorFailure | undefined {
  const what = `${sourceName} ${verb}`;
  switch (outcome.terminated) {
    case 'aborted':
      return connectorFailure('cancelled', `${what} was cancelled and stopped`);
    case 'timeout':
      return connectorFailure('timeout', `${what} did not finish in time and was stopped`);
    case 'line_too_long':
      return connectorFailure('protocol_error', `${what} printed a line too long to be a protocol message and was stopped`);
    case 'handler_failed': {
      const err = outcome.handlerError;
      if (err instanceof NonRetryableTaskError) return connectorFailure('protocol_error', masker.mask(err.message), err);
      const message = err instanceof Error ? err.message : String(err);
      return connectorFailure('staging_error', `${what} stopped: Sluice could not store what it read: ${masker.mask(message)}`, err);
    }
    case undefined:
      break;
  }
  const exit = outcome.exitCode === 0 ? '' : outcome.signal ? ` (killed by ${outcome.signal})` : ` (exit code ${String(outcome.exitCode)})`;
  if (errors.length > 0) {
    const chosen = errors.find((e) => e.failure_type === 'config_error') ?? errors[0];
    if (chosen) {
      const type = chosen.failure_type ?? 'system_error';
      const label = type === 'config_error' ? 'a configuration error' : type === 'transient_error' ? 'a transient error' : 'an error';
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
      // CDK connectors often say only "Something went wrong in the connector"; what went wrong is
      // their internal_message (the exception's text).
      const internal = chosen.internal_message && chosen.internal_message !== chosen.message ? ` (${clip(masker.mask(chosen.internal_message))})` : '';
      return connectorFailure(type, `${what} reported ${label}: ${clip(masker.mask(chosen.message))}${internal}${more}${exit}`);
    }
  }
  if (outcome.exitCode !== 0) {
    const tail = stderrExcerpt(outcome.stderrTail.slice(-5));
    return connectorFailure('exit_code', `${what} failed${exit}${tail ? `: ${tail}` : ''}`);
  }
  return undefined;
}
