import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openCatalog, type IcebergCatalog } from '@sluice/iceberg';
import { openObjectStore, type ObjectStore } from '@sluice/storage';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testEnv } from '../support/env.ts';
import { createTestBucket } from '../support/s3.ts';
import { readWithPyIceberg, type PyIcebergView } from './pyiceberg.ts';

export type BackendKind = 'file' | 's3';

/** A real PostgreSQL catalog database, a real object store (directory or moto bucket) and a scratch dir. */
export interface IcebergHarness {
  kind: BackendKind;
  db: TestDatabase;
  store: ObjectStore;
  catalog: IcebergCatalog;
  /** Local scratch directory for input files. */
  dir: string;
  /** Writes NDJSON input lines to a local file and answers its path. */
  ndjson(name: string, rows: Array<Record<string, unknown>>): Promise<string>;
  /** Writes a Parquet input file with DuckDB from a SELECT and answers its path; `rowGroupRows`: DuckDB's default when absent. */
  parquet(name: string, select: string, rowGroupRows?: number): Promise<string>;
  read(namespace: string, table: string): Promise<PyIcebergView>;
  /** PyIceberg appends rows to the table itself, then reads it. */
  appendWithPyIceberg(namespace: string, table: string, rows: Array<Record<string, unknown>>): Promise<PyIcebergView>;
  /** Every object key in the store under a prefix. */
  keys(prefix: string): Promise<string[]>;
  /** Another catalog on the same database and store (a second writer). */
  secondCatalog(): IcebergCatalog;
  close(): Promise<void>;
}

export async function createHarness(kind: BackendKind): Promise<IcebergHarness> {
  const db = await createTestDatabase();
  const dir = await mkdtemp(path.join(testEnv.tmpDir, 'iceberg-'));
  const store = kind === 'file' ? openObjectStore(`file://${dir}/store`) : openObjectStore(`s3://${await createTestBucket()}/lake`);
  const catalog = openCatalog({ type: 'sql', uri: db.url, store });
  const extra: IcebergCatalog[] = [];
  return {
    kind,
    db,
    store,
    catalog,
    dir,
    async ndjson(name, rows) {
      const p = path.join(dir, name);
      await writeFile(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      return p;
    },
    async parquet(name, select, rowGroupRows) {
      const p = path.join(dir, name);
      const instance = await DuckDBInstance.create(':memory:');
      const c = await instance.connect();
      try {
        await c.run(`COPY (${select}) TO '${p}' (FORMAT parquet${rowGroupRows === undefined ? '' : `, ROW_GROUP_SIZE ${rowGroupRows}`})`);
      } finally {
        c.closeSync();
        instance.closeSync();
      }
      return p;
    },
    read: (namespace, table) => readWithPyIceberg(db.url, namespace, table, kind === 's3'),
    appendWithPyIceberg: (namespace, table, rows) => readWithPyIceberg(db.url, namespace, table, kind === 's3', rows),
    async keys(prefix) {
      const out: string[] = [];
      for await (const o of store.list(prefix)) out.push(o.key);
      return out.sort();
    },
    secondCatalog() {
      const c = openCatalog({ type: 'sql', uri: db.url, store });
      extra.push(c);
      return c;
    },
    async close() {
      for (const c of extra) await c.close();
      await catalog.close();
      if (kind === 's3') await store.deletePrefix('');
      await store.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
