/**
 * Plain SQL over the client's `pg` pool, for the paths that run once per task try (the state
 * store, the runner's claims, contexts and log lines). Measured here, a statement through
 * Prisma's raw API costs about five times the CPU of the same statement through `pg`, and a
 * transaction seven times; everything else keeps using Prisma.
 *
 * Interpolations in the template become bound parameters ($1, $2, …); nothing is spliced into
 * the text. Each distinct text is a named prepared statement: a connection parses and plans it
 * once, then only binds and runs it (parsing and planning were a third of PostgreSQL's CPU on the
 * engine benchmark). A call site's template is constant, so the number of names stays bounded.
 * Results are `pg`'s: int8 and numeric arrive as strings (cast to int in the SQL when a number is
 * wanted), timestamptz as Date, json/jsonb parsed.
 */
import type pg from 'pg';
import { poolOf, type PrismaClient } from './client.ts';
import { asPostgresUnavailable, postgresAddress } from '@sluice/core';

export interface Sql {
  /** Runs one statement and answers its rows, typed as the caller says (`query<Row[]>`), unchecked as with any driver. */
  query<R extends object[]>(strings: TemplateStringsArray, ...values: unknown[]): Promise<R>;
  /** Runs one statement and answers how many rows it changed. */
  execute(strings: TemplateStringsArray, ...values: unknown[]): Promise<number>;
  /**
   * Calls `fn` once what was written so far is committed: at once outside a transaction; after
   * its COMMIT in one, never when it rolls back (a log line of what it did must not outrun it).
   */
  afterCommit(fn: () => void): void;
}

/** Statement name per text; node-pg prepares a name once per connection. */
const statementNames = new Map<string, string>();

function statement(strings: TemplateStringsArray, values: unknown[]): pg.QueryConfig<unknown[]> {
  const text = strings.reduce((acc, s, i) => `${acc}$${i}${s}`);
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `sluice_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

/** host:port of the pool's server, for errors (never its credentials). */
function addressOf(pool: pg.Pool): string {
  const { connectionString, host, port } = pool.options;
  return connectionString ? postgresAddress(connectionString) : `${host ?? 'localhost'}:${port ?? 5432}`;
}

/** A connection that could not be made or was cut says so as PostgreSQL's (see asPostgresUnavailable). */
function fromDatabase(err: unknown, pool: pg.Pool): Error {
  const e = asPostgresUnavailable(err, addressOf(pool));
  return e instanceof Error ? e : new Error(String(e));
}

function sqlOn(target: pg.Pool | pg.PoolClient, pool: pg.Pool, committed: (() => void)[] | null): Sql {
  const run = async (q: pg.QueryConfig<unknown[]>): Promise<pg.QueryResult<Record<string, unknown>>> => {
    try {
      return await target.query<Record<string, unknown>>(q);
    } catch (err) {
      throw fromDatabase(err, pool);
    }
  };
  return {
    async query<R extends object[]>(strings: TemplateStringsArray, ...values: unknown[]): Promise<R> {
      const rows: object[] = (await run(statement(strings, values))).rows;
      return rows as R;
    },
    async execute(strings: TemplateStringsArray, ...values: unknown[]): Promise<number> {
      return (await run(statement(strings, values))).rowCount ?? 0;
    },
    afterCommit(fn: () => void): void {
      if (committed === null) fn();
      else committed.push(fn);
    },
  };
}

/** Statements outside a transaction, each on any free connection of the pool. */
export function sqlOf(prisma: PrismaClient): Sql {
  const pool = poolOf(prisma);
  return sqlOn(pool, pool, null);
}

/**
 * Runs `fn` in one transaction (READ COMMITTED) on one connection of the pool: committed when it
 * resolves (then its `afterCommit` calls are made), rolled back when it throws. A connection whose
 * rollback failed is discarded.
 */
export async function sqlTransaction<T>(prisma: PrismaClient, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const pool = poolOf(prisma);
  const client = await pool.connect().catch((err: unknown) => {
    throw fromDatabase(err, pool);
  });
  let broken: Error | undefined;
  const committed: (() => void)[] = [];
  let result: T;
  try {
    await client.query('BEGIN');
    result = await fn(sqlOn(client, pool, committed));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch((e: unknown) => {
      broken = e instanceof Error ? e : new Error(String(e));
    });
    throw fromDatabase(err, pool);
  } finally {
    client.release(broken);
  }
  for (const then of committed) then();
  return result;
}

/**
 * `text` as a PostgreSQL text value can hold it: NUL (U+0000), which PostgreSQL refuses (and with it
 * the whole statement: a batch of log lines), as U+FFFD. For text Sluice writes on a try's behalf
 * (log lines, run warnings) that may quote a connector or a config key (QA round 43a F5).
 */
export function storableText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}
