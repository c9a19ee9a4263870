/** Socket errors of a connection that could not be made or was cut. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * Prisma's codes for "the database server could not be reached or the connection was lost":
 * P1001 can't reach, P1002 timed out, P1017 server closed the connection, P2024 timed out
 * waiting for a pool connection.
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024']);

/** Prisma's driver adapter's kinds of the same (found in an error's `meta.driverAdapterError.cause`). */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);

/** PostgreSQL's SQLSTATEs for the same: class 08 (connection exception), and the server shutting down or starting. */
function isConnectionSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/** node-postgres's own messages when a connection ends under it or never comes. */
const PG_MESSAGES = /Connection terminated unexpectedly|Connection terminated due to connection timeout|timeout exceeded when trying to connect/;

/**
 * Whether an error says PostgreSQL could not be reached, or dropped the connection — as opposed
 * to a statement that failed. Looks through Prisma's errors (and their driver adapter's), node-postgres's, their causes and
 * (for a host with several addresses) every attempt of an AggregateError.
 */
export function isDatabaseUnreachable(err: unknown, depth = 0): boolean {
  if (depth > 4 || typeof err !== 'object' || err === null) return false;
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  const errorCode = 'errorCode' in err && typeof err.errorCode === 'string' ? err.errorCode : undefined;
  if (code !== undefined && (SOCKET_CODES.has(code) || PRISMA_CODES.has(code) || isConnectionSqlState(code))) return true;
  if (errorCode !== undefined && PRISMA_CODES.has(errorCode)) return true;
  if ('kind' in err && typeof err.kind === 'string' && ADAPTER_KINDS.has(err.kind)) return true;
  if (err instanceof Error && PG_MESSAGES.test(err.message)) return true;
  if (err instanceof AggregateError && err.errors.some((e) => isDatabaseUnreachable(e, depth + 1))) return true;
  const meta = 'meta' in err && typeof err.meta === 'object' && err.meta !== null ? err.meta : undefined;
  if (meta && 'driverAdapterError' in meta && isDatabaseUnreachable(meta.driverAdapterError, depth + 1)) return true;
  return 'cause' in err && isDatabaseUnreachable(err.cause, depth + 1);
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
  const said = isPrismaError(err) ? (message.split('\n').map((l) => l.trim()).filter((l) => l !== '').at(-1) ?? message) : message;
  return isDatabaseUnreachable(err) ? `PostgreSQL is unreachable (${said})` : said;
}
