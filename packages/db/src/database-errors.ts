import { isPostgresGoingAway, isSocketError, isStatementCancelled, PG_CONNECT_TIMEOUT, PG_CONNECTION_LOST, PostgresBusyError, ServiceUnavailableError, STATEMENT_CANCELLED_SAID } from '@sluice/core';
import { Prisma } from './client.ts';

/**
 * Prisma's codes for "the database server could not be reached or the connection was lost":
 * P1001 can't reach, P1002 timed out, P1017 server closed the connection, P2024 timed out
 * waiting for a pool connection.
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024']);

/** Prisma's driver adapter's kinds of the same (found in an error's `meta.driverAdapterError.cause`). */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);


function stringField(err: object, key: string): string | undefined {
  const v: unknown = (err as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Whether an error says PostgreSQL could not be reached, or dropped the connection — as opposed
 * to a statement that failed, or another service's connection (a bare socket error says nothing
 * of whose it was: the plain-SQL path names its own, see core's `asPostgresUnavailable`). Looks through
 * Prisma's errors and their driver adapter's, node-postgres's, and their causes.
 */
export function isDatabaseUnreachable(err: unknown): boolean {
  return unreachable(err, false, 0);
}

function unreachable(err: unknown, fromDatabase: boolean, depth: number): boolean {
  if (depth > 4 || typeof err !== 'object' || err === null) return false;
  if (err instanceof ServiceUnavailableError) return err.service === 'PostgreSQL' && !(err instanceof PostgresBusyError);
  const code = stringField(err, 'code') ?? stringField(err, 'errorCode');
  if (code !== undefined && PRISMA_CODES.has(code)) return true;
  const kind = stringField(err, 'kind');
  if (kind !== undefined && ADAPTER_KINDS.has(kind)) return true;
  if (isPostgresGoingAway(err)) return true;
  if (err instanceof Error && (PG_CONNECTION_LOST.test(err.message) || PG_CONNECT_TIMEOUT.test(err.message))) return true;
  if (fromDatabase && isSocketError(err)) return true;
  const inside = fromDatabase || isPrismaError(err);
  const meta: unknown = (err as Record<string, unknown>)['meta'];
  if (typeof meta === 'object' && meta !== null && 'driverAdapterError' in meta && unreachable(meta.driverAdapterError, inside, depth + 1)) return true;
  return 'cause' in err && unreachable(err.cause, inside, depth + 1);
}

/**
 * Whether a write failed in a way that waiting and writing again can mend: PostgreSQL unreachable,
 * or a transaction that outlived its time limit (P2028), which rolled it back. A server that stops
 * answering without closing its connections shows as the second when a transaction's limit is
 * shorter than a statement's timeout (QA round 29: a finished try then failed, and was done again).
 */
export function isDatabaseWaitable(err: unknown): boolean {
  return isDatabaseUnreachable(err) || isTransactionExpired(err) || isDatabaseBusy(err);
}

/**
 * Whether PostgreSQL cancelled a statement that ran past its limit (statement_timeout; see
 * client.ts): it answers, but the statement waited on a lock or an overloaded server. Looks
 * through Prisma's errors and their driver adapter's, node-postgres's, and their causes.
 */
export function isDatabaseBusy(err: unknown): boolean {
  return busy(err, 0);
}

function busy(err: unknown, depth: number): boolean {
  if (depth > 4 || typeof err !== 'object' || err === null) return false;
  if (err instanceof PostgresBusyError || isStatementCancelled(err)) return true;
  // Prisma's driver adapter keeps the server's SQLSTATE as `{ kind: 'postgres', code }`.
  if (stringField(err, 'kind') === 'postgres' && stringField(err, 'code') === '57014') return true;
  const meta: unknown = (err as Record<string, unknown>)['meta'];
  if (typeof meta === 'object' && meta !== null && 'driverAdapterError' in meta && busy(meta.driverAdapterError, depth + 1)) return true;
  return 'cause' in err && busy(err.cause, depth + 1);
}

/** Prisma's P2028: a transaction that outlived its time limit (rolled back). */
function isTransactionExpired(err: unknown): err is Error {
  return err instanceof Error && stringField(err, 'code') === 'P2028';
}

/** Prisma's errors open with the call and an excerpt of its source, and end with what happened. */
function isPrismaError(err: unknown): err is Error {
  return err instanceof Error && err.name.startsWith('PrismaClient');
}

/**
 * An error in one line for people (a try's error, a log line): Prisma's call and source excerpt
 * left out, and said as "PostgreSQL is unreachable (…)" when the database could not be reached.
 */
export function errorSummary(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (!isPrismaError(err)) return (err as { code?: unknown } | null)?.code === DISK_FULL ? ownDiskFull(message) : message;
  const expired = transactionExpired(err);
  if (expired !== null) return expired;
  if (isDatabaseBusy(err)) return `PostgreSQL ${STATEMENT_CANCELLED_SAID}`;
  const last = message.split('\n').map((l) => l.trim()).filter((l) => l !== '').at(-1) ?? message;
  const said = withoutPrismaWrapper(last);
  if (said.endsWith(`(SQLSTATE ${DISK_FULL})`)) return ownDiskFull(said);
  return isDatabaseUnreachable(err) ? `PostgreSQL is unreachable (${said})` : said;
}

/** SQLSTATE of PostgreSQL's own disk being full. */
const DISK_FULL = '53100';

/**
 * Whose disk: PostgreSQL's "could not extend file \"base/16384/16469\": No space left on device"
 * names a file of its own data directory only (QA round 51b: with the store, the runners' scratch
 * and the connectors on other disks, an operator could not tell which had filled).
 */
function ownDiskFull(said: string): string {
  return `PostgreSQL's disk is full (its data directory's file system): ${said}`;
}

/**
 * PostgreSQL's own words out of Prisma's "Raw query failed. Code: `22012`. Message: `division by
 * zero`" (or "Database error. …"): "division by zero (SQLSTATE 22012)" (QA rounds 49a, 49b: the
 * wrapper and its N/A code reached logs and a try's error as they were).
 */
function withoutPrismaWrapper(line: string): string {
  const m = /^(?:Raw query failed|Database error)\. Code: `([^`]*)`\. Message: `?(.*?)`?$/.exec(line);
  if (!m) return line;
  const [, code, text] = m;
  return code === undefined || code === 'N/A' || code === '' ? (text ?? line) : `${text ?? ''} (SQLSTATE ${code})`;
}

/**
 * Prisma's P2028 for a transaction that outlived its time limit, said in terms an operator can act
 * on (Prisma's own text advises raising a timeout of its API, which is Sluice's to set); null for
 * any other error.
 */
function transactionExpired(err: Error): string | null {
  if (!isTransactionExpired(err)) return null;
  const limit = /timeout for this transaction was (\d+) ms, however (\d+) ms passed/.exec(err.message);
  const took = limit ? ` (${Number(limit[2]) / 1000} s, over its limit of ${Number(limit[1]) / 1000} s)` : '';
  return `a PostgreSQL transaction took too long${took}: it waited on a lock another transaction held, or on an overloaded server or one that stopped answering`;
}

/** Whether Prisma refused a write for breaking a unique constraint (P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}
