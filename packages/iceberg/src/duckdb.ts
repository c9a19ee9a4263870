import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * The process's writer DuckDB while any write uses it: concurrent merges share it, and so its
 * memory limit. Closed once the last one is done, and made again by the next: a process-long
 * instance kept the memory of every merge and write it ran (QA round 54d: the runner's RSS grew
 * ≈ 160 MiB/h under per-minute merges and overwrites while the JS heap stayed flat). Writes that
 * overlap without a gap would keep one instance for ever, so an instance takes at most
 * WRITES_PER_INSTANCE writes: then it is retired, and the next writes wait until its last one is
 * done and it is closed (one instance at a time, so one memory limit at a time).
 */
interface Writer {
  db: Promise<DuckDBInstance>;
  /** Writes under way on it. */
  users: number;
  /** Writes it has taken. */
  taken: number;
  /** Set once it is retired: `closed` settles when its last write is done and it is closed. */
  retirement?: { closed: Promise<void>; settle: () => void };
}
let current: Writer | undefined;
/** The retired writer still in use; new writes wait for its `retirement.closed`. */
let retired: Writer | undefined;

function retire(writer: Writer): void {
  let settle: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (settle = resolve));
  writer.retirement = { closed, settle };
  retired = writer;
  current = undefined;
}

/** How many writes one writer DuckDB takes before it is retired (see {@link current}). */
export const WRITES_PER_INSTANCE = 64;

/** DuckDB settings for this process's writer; set before the first write. */
export interface DuckDbSettings {
  /** Worker threads (DuckDB's default: one per core). */
  threads?: number;
  /** e.g. '2GB'; DuckDB spills to `tempDirectory` beyond it. */
  memoryLimit?: string;
  /** Where DuckDB spills large merges and sorts; default `{os temp dir}/sluice-duckdb-{pid}` (each process its own: DuckDB names its spill files alike in each). */
  tempDirectory?: string;
}

let settings: DuckDbSettings = {};

export function configureDuckDb(next: DuckDbSettings): void {
  settings = next;
}

/** The writer's DuckDB memory limit, as configured; undefined: DuckDB's default. */
export function writerMemoryLimit(): string | undefined {
  return settings.memoryLimit;
}

/** Runs `fn` on a fresh connection to the process's in-memory DuckDB (UTC session time zone). */
export async function withDuckDb<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  while (retired?.retirement) await retired.retirement.closed;
  const writer = (current ??= {
    db: DuckDBInstance.create(':memory:', {
      ...(settings.threads ? { threads: String(settings.threads) } : {}),
      ...(settings.memoryLimit ? { memory_limit: settings.memoryLimit } : {}),
      temp_directory: settings.tempDirectory ?? path.join(os.tmpdir(), `sluice-duckdb-${process.pid}`),
    }),
    users: 0,
    taken: 0,
  });
  writer.users += 1;
  writer.taken += 1;
  if (writer.taken >= WRITES_PER_INSTANCE) retire(writer);
  try {
    const connection = await (await writer.db).connect();
    try {
      await connection.run(`SET TimeZone = 'UTC'`);
      return await fn(connection);
    } finally {
      connection.closeSync();
    }
  } finally {
    writer.users -= 1;
    if (writer.users === 0) {
      if (writer === current) current = undefined;
      // One that failed to open has nothing to close (its caller had the error).
      await writer.db.then((i) => i.closeSync()).catch(() => undefined);
      if (writer === retired) retired = undefined;
      writer.retirement?.settle();
    }
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function sqlList(paths: string[]): string {
  return `[${paths.map(quoteString).join(', ')}]`;
}
