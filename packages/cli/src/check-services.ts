import pg from 'pg';
import { Redis } from 'ioredis';
import { ConfigError, ServiceUnavailableError, errorMessage } from '@sluice/core';
import { appliedMigrations, readMigrations, refuseNewerDatabase } from '@sluice/db';

function describeAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? '6379' : '5432')}`;
  } catch {
    return 'an unparseable URL';
  }
}

/** How a check's failure ends: the fix, and for `sluice start` that it runs a local one when the URL is unset. */
interface CheckOptions {
  /** `sluice start`, which runs a local server when the variable is unset. */
  start?: boolean;
  timeoutMs?: number;
}

/** An error's text without its own closing period, to go on with ". …". */
const said = (err: unknown): string => (errorMessage(err) || 'connection failed').replace(/\.+$/, '');

/** SQLSTATEs of a server that answered and refused the login: the URL's user, password or database. */
const LOGIN_REFUSED = new Set(['28000', '28P01', '3D000']);

/**
 * Connects once to PostgreSQL; a failure becomes one line naming the address and the fix: a
 * server that refused the login is a wrong DATABASE_URL, one that did not answer is unreachable.
 */
export async function checkPostgres(url: string, options: CheckOptions = {}): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.timeoutMs ?? 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    // QA round 33c F8: "role … does not exist. Start PostgreSQL there" sent the operator to the wrong fix.
    if (LOGIN_REFUSED.has((err as { code?: string }).code ?? '')) {
      throw new ConfigError('DATABASE_URL', `PostgreSQL at ${describeAddress(url)} refused the login: ${said(err)}; check the URL's user, password and database`, 'postgresql://user:pass@host:5432/db', { cause: err });
    }
    throw new ServiceUnavailableError(
      'PostgreSQL',
      describeAddress(url),
      `${said(err)}. Start PostgreSQL there, or set DATABASE_URL=postgresql://user:pass@host:5432/db${options.start ? ' (unset it to let `pnpm start` run a local one)' : ''}`,
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Refuses a database a newer Sluice migrated (the processes of an older one would run on a schema they do not know). */
export async function checkSchemaNotNewer(url: string): Promise<void> {
  refuseNewerDatabase(await appliedMigrations(url), await readMigrations());
}

/**
 * Pings Redis once with no retries, and selects the URL's database; a failure becomes one line: a
 * database the server does not have is a wrong REDIS_URL, a server that did not answer unreachable.
 */
export async function checkRedis(url: string, options: CheckOptions = {}): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: options.timeoutMs ?? 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The connection's own error (ECONNREFUSED …): connect() then rejects with "Connection is closed."
  let connectionError: unknown;
  redis.on('error', (err: unknown) => {
    connectionError ??= err;
  });
  const db = redis.options.db ?? 0;
  try {
    await redis.connect();
    await redis.ping();
    // QA round 33c F8: with a database the server does not have, the processes started and did nothing.
    await redis.select(db);
  } catch (err) {
    if (/DB index is out of range/i.test(errorMessage(err)) || /DB index is out of range/i.test(errorMessage(connectionError))) {
      throw new ConfigError('REDIS_URL', `the Redis at ${describeAddress(url)} has no database ${db} (its "databases" setting counts them from 0)`, 'redis://host:6379/0', { cause: err });
    }
    throw new ServiceUnavailableError(
      'Redis',
      describeAddress(url),
      `${said(connectionError ?? err)}. Start Redis there, or set REDIS_URL=redis://host:6379${options.start ? ' (unset it to let `pnpm start` run a local one)' : ''}`,
      { cause: err },
    );
  } finally {
    redis.disconnect();
  }
}
