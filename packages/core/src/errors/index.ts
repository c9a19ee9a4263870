/**
 * Typed errors shared by every package. Only the HTTP edge maps them to status codes
 * (packages/api/src/http/error-handler.ts); only the runner maps `retryable` to BullMQ.
 */

export interface FieldIssue {
  /** Where: a dotted path into the request or config, e.g. `column_transformations[1].stream`. */
  path: string;
  /** What is wrong, in words a client can act on. */
  message: string;
}

export abstract class SluiceError extends Error {
  abstract readonly code: string;
  /** Whether trying the same work again could succeed. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Issues a ValidationError's message says one by one; the rest are counted. */
const ISSUES_SAID = 20;
/** The most characters one issue takes in the message: an issue that quotes a 100 KB value is cut (QA round 55c F6). */
const ISSUE_SAID_CHARS = 2_000;

/** `said` cut to ISSUE_SAID_CHARS, saying how long it was (not inside a surrogate pair). */
function shortened(said: string): string {
  if (said.length <= ISSUE_SAID_CHARS) return said;
  const end = /[\uDC00-\uDFFF]/.test(said.charAt(ISSUE_SAID_CHARS)) ? ISSUE_SAID_CHARS - 1 : ISSUE_SAID_CHARS;
  return `${said.slice(0, end)}… (cut: ${said.length.toLocaleString('en-US')} characters)`;
}

/** Input that breaks the contract; names every bad field (the first 20 in its message, the rest counted). */
export class ValidationError extends SluiceError {
  readonly code = 'validation_error';
  constructor(readonly issues: FieldIssue[], options?: { cause?: unknown }) {
    const said = issues.slice(0, ISSUES_SAID).map((i) => shortened(i.path ? `${i.path}: ${i.message}` : i.message));
    if (issues.length > ISSUES_SAID) said.push(`and ${issues.length - ISSUES_SAID} more`);
    super(said.join('; '), options);
  }
}

/** A request body in a media type the route does not read (HTTP 415). */
export class UnsupportedMediaTypeError extends SluiceError {
  readonly code = 'unsupported_media_type';
}

/** A process setting that is missing or wrong; names the variable and a good example (none for one to unset). */
export class ConfigError extends SluiceError {
  readonly code = 'config_error';
  constructor(readonly setting: string, problem: string, readonly example: string | null, options?: { cause?: unknown }) {
    super(`${setting}: ${problem}${example === null ? '' : ` (example: ${setting}=${example})`}`, options);
  }

  /**
   * One error for the settings a process found wrong, each said on a line of its own: a first
   * launch names every one, not one a launch (QA round 40b F3). Its `setting` is the first's.
   */
  static of(errors: readonly [ConfigError, ...ConfigError[]]): ConfigError {
    const [first] = errors;
    if (errors.length === 1) return first;
    const all = new ConfigError(first.setting, '', first.example);
    all.message = `${errors.length} settings are not set or not valid:\n${errors.map((e) => `  ${e.message}`).join('\n')}`;
    return all;
  }
}

/** `what id not found`, and, when given, what does exist (`…: it has tries 1–2`). */
export class NotFoundError extends SluiceError {
  readonly code = 'not_found';
  constructor(readonly what: string, readonly id: string, readonly existing?: string) {
    super(`${what} ${id} not found${existing === undefined ? '' : `: ${existing}`}`);
  }
}

/** The request conflicts with the current state (e.g. cancelling a finished run). */
export class ConflictError extends SluiceError {
  readonly code = 'conflict';
}

/** A request made on a stale read: its `If-Match` names a version of the resource that is no longer the current one (412). */
export class PreconditionFailedError extends SluiceError {
  readonly code = 'precondition_failed';
}

/**
 * A valid request the server will not do as asked because of an earlier one (an `Idempotency-Key`
 * reused for a different request): 422, as the IETF idempotency-key draft says.
 */
export class UnprocessableError extends SluiceError {
  readonly code = 'unprocessable';
}

export class AuthError extends SluiceError {
  readonly code = 'unauthorized';
}

export class ForbiddenError extends SluiceError {
  readonly code = 'forbidden';
}

/** A dependency (PostgreSQL, Redis, object store, DataHub) cannot be reached. */
export class ServiceUnavailableError extends SluiceError {
  readonly code = 'service_unavailable';
  override readonly retryable = true;
  constructor(readonly service: string, readonly address: string, readonly hint: string, options?: { cause?: unknown }) {
    super(`${service} is not reachable at ${address}: ${hint}`, options);
  }
}

/** What PostgreSQL's cancel of a statement that ran past its limit means, said the same on every path. */
export const STATEMENT_CANCELLED_SAID =
  'cancelled a statement that ran past its limit (statement_timeout): it waited on a lock another session holds (a client stopped inside a transaction?), or on an overloaded server';

/**
 * PostgreSQL answered, but cancelled a statement that ran past its limit (QA round 31: a lock held
 * by a frozen runner). Retryable as an outage is, and answered 503, but not said as unreachable.
 */
export class PostgresBusyError extends ServiceUnavailableError {
  constructor(address: string, options?: { cause?: unknown }) {
    super('PostgreSQL', address, STATEMENT_CANCELLED_SAID, options);
    this.message = `PostgreSQL at ${address} ${STATEMENT_CANCELLED_SAID}`;
  }
}

/** SQLSTATE 57014 from the server: a statement it cancelled (by statement_timeout: Sluice sends no cancel requests). */
export function isStatementCancelled(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !('severity' in err)) return false;
  return (err as { code?: unknown }).code === '57014';
}

/**
 * The server's limit on one statement (statement_timeout) of a pool whose client gives up after
 * `queryTimeoutMs`: a little shorter, so that PostgreSQL ends a statement (one waiting on a lock)
 * before the client gives up on it — a statement only the client gave up on still runs once the
 * lock goes, after its caller was told it failed (QA round 31).
 */
export function statementTimeoutFor(queryTimeoutMs: number): number {
  return Math.max(1, queryTimeoutMs - Math.min(5_000, Math.floor(queryTimeoutMs / 4)));
}

/** A task failure that retrying cannot fix (configuration errors, missing connectors). */
export class NonRetryableTaskError extends SluiceError {
  readonly code = 'task_failed_permanently';
}

/**
 * A task failure that a clear of the task would repeat, not only a retry: what the task needs is
 * gone from its run (a stream its extract's last try did not read to the end), or another run of
 * the job overtook this one's work (its load would go back in time). A new run is the remedy, so
 * the run page offers no clear of it, and the engine refuses one.
 */
export class UnclearableTaskError extends NonRetryableTaskError {}

/**
 * No connector of this name exists anywhere Sluice looks (PyAirbyte's order: an executable on
 * PATH, a pip package `airbyte-<name>` its index says it does not have, a Docker image where
 * Docker runs): as PyAirbyte refuses a source its registry does not know, the API refuses a job
 * for it. Not said when the index could not be asked (offline: nothing is known).
 */
export class ConnectorNotFoundError extends NonRetryableTaskError {
  constructor(readonly sourceName: string, readonly attempts: readonly string[]) {
    super(`connector ${sourceName} could not be found or installed: ${attempts.join('; ')}`);
  }
}

/**
 * The source said its configuration is wrong (an Airbyte TRACE error of type `config_error`, or a
 * failed `check`): no retry can fix it, and the API refuses a job whose connector says so.
 */
export class ConnectorConfigError extends NonRetryableTaskError {}

/** A task failure that may pass on a later try (network, transient source errors). */
export class RetryableTaskError extends SluiceError {
  readonly code = 'task_failed_transiently';
  override readonly retryable = true;
}

/**
 * Why a try that was declared lost (its heartbeat went stale) and retried elsewhere stops before
 * writing: the staging its task shares with the retry is left to the retry.
 */
export const TRY_GIVEN_UP = 'this try was given up meanwhile (declared lost and retried elsewhere): it leaves the staging to the retry';

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/** Anything thrown, as an Error (a thrown string or value becomes its message). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** The message of anything thrown, for logs and stored errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * PostgreSQL's own answer (node-postgres's DatabaseError) that the connection is gone: class 08,
 * or the server stopping or starting (57P01 "terminating connection due to administrator
 * command" to a statement under way when it stops).
 */
export function isPostgresGoingAway(err: unknown): err is { code: string; severity: unknown } {
  if (typeof err !== 'object' || err === null || !('severity' in err)) return false;
  const code: unknown = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code));
}

/** node-postgres's words for a connection that ended under a client (between statements, or under one). */
export const PG_CONNECTION_LOST = /Connection terminated unexpectedly|Client has encountered a connection error and is not queryable|Query read timeout/;

/** node-postgres's own messages when a connection never comes (its pool's connection timeout). */
export const PG_CONNECT_TIMEOUT = /Connection terminated due to connection timeout|timeout exceeded when trying to connect/;

/**
 * What a PostgreSQL client throws, as callers should see it: a socket error of its connection, or
 * the server's answer that the connection is gone, becomes a ServiceUnavailableError naming
 * PostgreSQL and its `address` (host:port, never credentials; retryable); every other error is
 * passed on as it is.
 */
export function asPostgresUnavailable(err: unknown, address: string): unknown {
  if (isStatementCancelled(err)) return new PostgresBusyError(address, { cause: err });
  if (isPostgresGoingAway(err)) return new ServiceUnavailableError('PostgreSQL', address, `${err.code} ${errorMessage(err)}`, { cause: err });
  if (err instanceof Error && (PG_CONNECTION_LOST.test(err.message) || PG_CONNECT_TIMEOUT.test(err.message))) {
    // A server that stopped answering (hung, or a network that drops its packets) ends a query by the pool's query timeout.
    const detail = err.message === 'Query read timeout' ? 'it answered no query in time (Query read timeout)' : err.message;
    return new ServiceUnavailableError('PostgreSQL', address, detail, { cause: err });
  }
  if (!isSocketError(err)) return err;
  const code: unknown = (err as { code?: unknown }).code;
  return new ServiceUnavailableError('PostgreSQL', address, typeof code === 'string' ? code : errorMessage(err), { cause: err });
}

/** host:port of a PostgreSQL connection string, for errors (never its credentials). */
export function postgresAddress(connectionString: string): string {
  try {
    return new URL(connectionString).host || 'the database server';
  } catch {
    return 'the database server';
  }
}

/** Socket errors of a connection that could not be made or was cut. */
const SOCKET_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * Whether an error is a socket's: a connection that could not be made or was cut (also when it
 * is one attempt of several, for a host with more than one address). It says nothing of whose.
 */
export function isSocketError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code: unknown = (err as { code?: unknown }).code;
  if (typeof code === 'string' && SOCKET_ERROR_CODES.has(code)) return true;
  return err instanceof AggregateError && err.errors.some(isSocketError);
}
