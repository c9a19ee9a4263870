import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '@sluice/db';
import { freePort, startPostgres, type LocalService } from '@sluice/local-services';
import { openObjectStore } from '@sluice/storage';
import { openCatalog, type IcebergCatalog } from '../src/index.ts';

/** Seconds `fn` took, and what it answered. */
export async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [(performance.now() - t0) / 1000, r];
}

/** The value at `q` (0.5: the median) of the samples, sorted. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN;
}

export interface BenchCatalog {
  /** A scratch directory (the warehouse's store is under it). */
  tmp: string;
  catalog: IcebergCatalog;
  close: () => Promise<void>;
}

/**
 * A catalog on DATABASE_URL when set, else on a throwaway PostgreSQL; its warehouse file:// in a
 * temp dir, so that the numbers measure the writer, not a network.
 */
export async function openBenchCatalog(): Promise<BenchCatalog> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'sluice-bench-'));
  await chmod(tmp, 0o755); // PostgreSQL runs as the postgres user when we are root
  let pg: LocalService | undefined;
  let databaseUrl = process.env['DATABASE_URL'];
  if (!databaseUrl) {
    pg = await startPostgres(path.join(tmp, 'pg'), await freePort(), { durable: false });
    databaseUrl = pg.url;
  }
  await migrate(databaseUrl);
  const store = openObjectStore(`file://${tmp}/store`);
  const catalog = openCatalog({ type: 'sql', uri: databaseUrl, store, warehouse: `bench-${Date.now()}` });
  return {
    tmp,
    catalog,
    close: async () => {
      await catalog.close();
      await pg?.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
