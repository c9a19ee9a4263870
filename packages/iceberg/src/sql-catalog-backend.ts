import pg from 'pg';
import { asPostgresUnavailable, isStatementCancelled, postgresAddress, statementTimeoutFor, ValidationError } from '@sluice/core';
import type { ObjectStore } from '@sluice/storage';
import type { CatalogBackend, CommitOutcome, LoadedTable, TableCommit, TableIdentifier } from './catalog-backend.ts';
import { parseTableMetadata, stringifyTableMetadata } from './metadata-json.ts';
import { metadataFilesLeftOut, nextMetadataFileName } from './table-metadata.ts';
import type { TableMetadata } from './types.ts';

/**
 * The SQL catalog on PostgreSQL, in exactly the tables PyIceberg's `SqlCatalog` and Iceberg's
 * Java `JdbcCatalog` use: `iceberg_tables (catalog_name, table_namespace, table_name,
 * metadata_location, previous_metadata_location, iceberg_type)` (their "v1" layout; tables Sluice
 * registers are `TABLE`, and a NULL type reads as a table, as both do) and `iceberg_namespace_properties
 * (catalog_name, namespace, property_key, property_value)`, a namespace existing as the row
 * `exists = true`. The tables come from Sluice's migrations; this class never creates them.
 * Metadata files are written here, next to the table (`{location}/metadata/NNNNN-uuid.metadata.json`),
 * and a commit is `UPDATE … SET metadata_location = new WHERE metadata_location = old`. The
 * metadata log keeps the table's `write.metadata.previous-versions-max` files (100), and with
 * `write.metadata.delete-after-commit.enabled` the files that leave it are deleted after the commit.
 */
export class SqlCatalogBackend implements CatalogBackend {
  private readonly pool: pg.Pool;
  /** host:port of the catalog's database, for errors. */
  private readonly address: string;
  /** The server's limit on one statement (below the client's, which is for a server that stopped answering). */
  private readonly statementTimeoutMs: number;

  constructor(
    connectionString: string,
    readonly name: string,
    private readonly store: ObjectStore,
    /** How long a statement waits for an answer (default 30 s, as Sluice's own pool). */
    queryTimeoutMs = 30_000,
  ) {
    // As Sluice's own pool (@sluice/db's createPrismaClient): a server that stops answering
    // without closing its connections fails a statement after 30 s, and a new connection after
    // 15 s, where a load's commit waited for as long as the kernel kept the connection (QA round 30).
    // The server ends a statement itself a little sooner (statement_timeout): one that waits on a
    // lock is then cancelled there, not left to run after the client gave up on it (QA round 31:
    // such an UPDATE ran later and pointed the table at a metadata file deleted meanwhile).
    this.statementTimeoutMs = statementTimeoutFor(queryTimeoutMs);
    this.pool = new pg.Pool({ connectionString, max: 4, connectionTimeoutMillis: 15_000, query_timeout: queryTimeoutMs, statement_timeout: this.statementTimeoutMs });
    this.address = postgresAddress(connectionString);
    // An idle connection the server closed (a restart, an administrator, a dropped database) is
    // dropped by the pool and the next query opens another. Without a listener, its error would
    // be thrown as an uncaught exception and end the process; queries' errors reach their callers.
    this.pool.on('error', () => undefined);
    // The pool's listener covers idle connections only; one checked out that the server ends
    // errs with no listener otherwise (see @sluice/db's createPrismaClient).
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /**
   * One statement; a database that cannot be reached says so, naming it (a load's error reads
   * "PostgreSQL is not reachable at …"), and one the server cancelled for taking too long says that.
   */
  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      if (isStatementCancelled(err)) {
        throw new Error(
          `PostgreSQL at ${this.address} cancelled an Iceberg catalog statement after ${this.statementTimeoutMs / 1000} s: ` +
            'it waited on a lock another session holds on the catalog table (iceberg_tables), or on an overloaded server',
          { cause: err },
        );
      }
      throw asPostgresUnavailable(err, this.address);
    }
  }

  async ensureNamespace(namespace: string): Promise<void> {
    await this.query(
      `INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value)
       VALUES ($1, $2, 'exists', 'true') ON CONFLICT DO NOTHING`,
      [this.name, namespace],
    );
  }

  async listNamespaces(): Promise<string[]> {
    const r = await this.query<{ namespace: string }>(
      `SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = $1
       UNION SELECT table_namespace FROM iceberg_tables WHERE catalog_name = $1 ORDER BY 1`,
      [this.name],
    );
    return r.rows.map((row) => row.namespace);
  }

  async listTables(namespace: string): Promise<string[]> {
    const r = await this.query<{ table_name: string }>(
      `SELECT table_name FROM iceberg_tables
        WHERE catalog_name = $1 AND table_namespace = $2 AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)
        ORDER BY table_name`,
      [this.name, namespace],
    );
    return r.rows.map((row) => row.table_name);
  }

  private async currentMetadataLocation(id: TableIdentifier): Promise<string | undefined> {
    const r = await this.query<{ metadata_location: string | null }>(
      `SELECT metadata_location FROM iceberg_tables
        WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3 AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)`,
      [this.name, id.namespace, id.name],
    );
    return r.rows[0]?.metadata_location ?? undefined;
  }

  async loadTable(id: TableIdentifier): Promise<LoadedTable | undefined> {
    const metadataLocation = await this.currentMetadataLocation(id);
    if (!metadataLocation) return undefined;
    const text = (await this.store.get(this.store.keyOf(metadataLocation))).toString('utf8');
    return { metadataLocation, metadata: parseTableMetadata(text) };
  }

  private async writeMetadata(metadata: TableMetadata, previousLocation: string | undefined): Promise<{ key: string; uri: string }> {
    const key = `${this.store.keyOf(metadata.location)}/metadata/${nextMetadataFileName(previousLocation)}`;
    if (!(await this.store.putIfAbsent(key, stringifyTableMetadata(metadata)))) {
      throw new Error(`metadata file ${this.store.uri(key)} already exists`);
    }
    return { key, uri: this.store.uri(key) };
  }

  async createTable(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable | undefined> {
    await this.ensureNamespace(id.namespace);
    const { key, uri } = await this.writeMetadata(metadata, undefined);
    let registered: boolean;
    try {
      const r = await this.query(
        `INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type)
         VALUES ($1, $2, $3, $4, NULL, 'TABLE') ON CONFLICT DO NOTHING`,
        [this.name, id.namespace, id.name, uri],
      );
      registered = r.rowCount === 1;
    } catch (error) {
      if (!answeredByServer(error)) {
        // An INSERT that got no answer may have happened, or may still: registered if the
        // catalog names its file; otherwise the file stays (see `commit`).
        if ((await this.currentMetadataLocation(id).catch(() => null)) === uri) return { metadataLocation: uri, metadata };
        throw error;
      }
      await this.store.delete(key);
      throw error;
    }
    if (!registered) {
      await this.store.delete(key);
      await this.refuseView(id);
      return undefined;
    }
    return { metadataLocation: uri, metadata };
  }

  /** A name the catalog holds as a view (Iceberg's JdbcCatalog keeps views in the same table) is no table's to take. */
  private async refuseView(id: TableIdentifier): Promise<void> {
    const r = await this.query<{ iceberg_type: string | null }>(
      `SELECT iceberg_type FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3`,
      [this.name, id.namespace, id.name],
    );
    if (r.rows[0]?.iceberg_type === 'VIEW') {
      throw new ValidationError([{ path: 'table', message: `${id.namespace}.${id.name} is a view in the catalog: a table cannot be created with its name (drop the view, or give the job another schema_name)` }]);
    }
  }

  async commit(id: TableIdentifier, commit: TableCommit): Promise<CommitOutcome> {
    const expected = commit.base.metadataLocation;
    const { key, uri } = await this.writeMetadata(commit.next, expected);
    let swapped: boolean;
    try {
      const r = await this.query(
        `UPDATE iceberg_tables SET metadata_location = $4, previous_metadata_location = $5
          WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3 AND metadata_location = $5`,
        [this.name, id.namespace, id.name, uri, expected],
      );
      swapped = r.rowCount === 1;
    } catch (error) {
      // The server answered with an error: the UPDATE was rolled back, and its file can go.
      if (answeredByServer(error)) {
        await this.store.delete(key);
        throw error;
      }
      // No answer (a server that stopped answering, a connection cut): the UPDATE may have
      // happened, or may still be waiting on the server to happen later. Committed if the table
      // points at its file; otherwise unknown, and the file stays, as Iceberg's writers keep theirs
      // on CommitStateUnknown (QA round 31: deleted, it left the table pointing at no file).
      const now = await this.currentMetadataLocation(id).catch(() => null);
      if (now !== uri) return { status: 'unknown', error };
      swapped = true;
    }
    if (!swapped) {
      await this.store.delete(key);
      return { status: 'conflict' };
    }
    // Maintenance after the commit, as Iceberg's writers do it: a file that cannot be deleted now
    // stays an orphan, and the commit stands.
    await Promise.allSettled(metadataFilesLeftOut(commit.base.metadata, expected, commit.next).map((f) => this.store.delete(this.store.keyOf(f))));
    return { status: 'committed', table: { metadataLocation: uri, metadata: commit.next } };
  }

  async dropTable(id: TableIdentifier): Promise<boolean> {
    const r = await this.query(
      `DELETE FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3`,
      [this.name, id.namespace, id.name],
    );
    return r.rowCount === 1;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Whether a failed statement's error came from the server: the statement then ended there, rolled
 * back. Any other failure (no answer in time, a connection cut) leaves it possibly done, or still
 * to be done.
 */
function answeredByServer(err: unknown): boolean {
  return err instanceof pg.DatabaseError || (err instanceof Error && err.cause instanceof pg.DatabaseError);
}
