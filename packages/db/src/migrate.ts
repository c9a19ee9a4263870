import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * Applies the SQL migrations under `prisma/migrations/` in Prisma's layout, recording them in
 * Prisma's own `_prisma_migrations` table (same columns, same sha256 checksums, same advisory
 * lock), so `prisma migrate deploy` and `prisma migrate status` agree with what this did on a
 * machine where Prisma's CLI can fetch its schema engine. See docs/adr/0002-migrations.md.
 */

export const defaultMigrationsDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../prisma/migrations',
);

/** Prisma's migrate advisory lock key, so Sluice and Prisma's CLI never migrate at once. */
const PRISMA_ADVISORY_LOCK = 72707369;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    message: string,
    readonly migration: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export async function readMigrations(dir: string = defaultMigrationsDir): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
    migrations.push({ name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return migrations;
}

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Refuses a database that a newer Sluice migrated: its `_prisma_migrations` holds migrations this
 * build has no file for. The older processes would run on a schema they do not know, leaving out
 * what its new columns and tables keep (QA round 33c F1: a rollback ran, and tries lost their
 * history). `rows` are the applied migrations' names.
 */
export function refuseNewerDatabase(applied: readonly string[], migrations: readonly Migration[]): void {
  const known = new Set(migrations.map((m) => m.name));
  const unknown = applied.filter((name) => !known.has(name)).sort();
  if (unknown.length === 0) return;
  const newest = migrations[migrations.length - 1]?.name ?? '';
  const count = `${unknown.length} migration${unknown.length === 1 ? '' : 's'} this version does not know`;
  // Migration names begin with their time: one older than this build's newest is no newer Sluice's,
  // but another build's (a branch's), which this version will never have (QA round 34a).
  const older = unknown.filter((name) => name < newest);
  if (older.length > 0) {
    throw new MigrationError(
      `the database was migrated by another build of Sluice: it has ${count}, ${older.length === unknown.length ? '' : 'some '}older than this version's newest ` +
        `(${older.join(', ')}; this version's newest is ${newest}). ` +
        'Run the build that migrated it, or restore the database from before it did',
      older[0],
    );
  }
  throw new MigrationError(
    `the database was migrated by a newer Sluice: it has ${count} ` +
      `(the newest ${unknown[unknown.length - 1] ?? ''}; this version's newest is ${newest || 'none'}). ` +
      'Run that version or a newer one, or restore the database from before the upgrade',
    unknown[0],
  );
}

/** The names of the migrations applied to the database (none when it has no migrations table). */
export async function appliedMigrations(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
    ).catch((err: unknown) => {
      // 42P01: no migrations table yet (a database never migrated).
      if ((err as { code?: string }).code === '42P01') return { rows: [] };
      throw err;
    });
    return rows.map((r) => r.migration_name);
  } finally {
    await client.end();
  }
}

/** Applies every pending migration, each in its own transaction, under Prisma's advisory lock. */
export async function migrate(databaseUrl: string, dir: string = defaultMigrationsDir): Promise<MigrateResult> {
  const migrations = await readMigrations(dir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
      );
      refuseNewerDatabase(rows.map((r) => r.migration_name), migrations);
      const applied = new Map(rows.map((r) => [r.migration_name, r]));
      const result: MigrateResult = { applied: [], alreadyApplied: [] };
      for (const m of migrations) {
        const row = applied.get(m.name);
        if (row) {
          if (row.finished_at === null) {
            throw new MigrationError(
              `migration ${m.name} started earlier but did not finish; fix the database by hand, then mark it rolled back in _prisma_migrations`,
              m.name,
            );
          }
          if (row.checksum !== m.checksum) {
            throw new MigrationError(
              `migration ${m.name} was changed after it was applied (checksum differs); add a new migration instead of editing an applied one`,
              m.name,
            );
          }
          result.alreadyApplied.push(m.name);
          continue;
        }
        await applyOne(client, m);
        result.applied.push(m.name);
      }
      return result;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]);
    }
  } finally {
    await client.end();
  }
}

async function applyOne(client: pg.Client, m: Migration): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
      [id, m.checksum, m.name],
    );
    await client.query(m.sql);
    await client.query(
      'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
      [id],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    const message = err instanceof Error ? err.message : String(err);
    throw new MigrationError(`migration ${m.name} failed and was rolled back: ${message}`, m.name, { cause: err });
  }
}
