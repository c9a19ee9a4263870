import pg from 'pg';
import type { CatalogBackend, TableIdentifier } from './catalog-backend.ts';

/**
 * The SQL catalog on PostgreSQL, in exactly the tables PyIceberg's `SqlCatalog` and Iceberg's
 * Java `JdbcCatalog` use: `iceberg_tables (catalog_name, table_namespace, table_name,
 * metadata_location, previous_metadata_location)` and `iceberg_namespace_properties
 * (catalog_name, namespace, property_key, property_value)`, a namespace existing as the row
 * `exists = true`. The tables come from Sluice's migrations; this class never creates them.
 */
export class SqlCatalogBackend implements CatalogBackend {
  private readonly pool: pg.Pool;

  constructor(
    connectionString: string,
    readonly name: string,
  ) {
    this.pool = new pg.Pool({ connectionString, max: 4 });
  }

  async ensureNamespace(namespace: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value)
       VALUES ($1, $2, 'exists', 'true') ON CONFLICT DO NOTHING`,
      [this.name, namespace],
    );
  }

  async listNamespaces(): Promise<string[]> {
    const r = await this.pool.query<{ namespace: string }>(
      `SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = $1
       UNION SELECT table_namespace FROM iceberg_tables WHERE catalog_name = $1 ORDER BY 1`,
      [this.name],
    );
    return r.rows.map((row) => row.namespace);
  }

  async listTables(namespace: string): Promise<string[]> {
    const r = await this.pool.query<{ table_name: string }>(
      `SELECT table_name FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 ORDER BY table_name`,
      [this.name, namespace],
    );
    return r.rows.map((row) => row.table_name);
  }

  async currentMetadataLocation(id: TableIdentifier): Promise<string | undefined> {
    const r = await this.pool.query<{ metadata_location: string | null }>(
      `SELECT metadata_location FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3`,
      [this.name, id.namespace, id.name],
    );
    return r.rows[0]?.metadata_location ?? undefined;
  }

  async registerTable(id: TableIdentifier, metadataLocation: string): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location)
       VALUES ($1, $2, $3, $4, NULL) ON CONFLICT DO NOTHING`,
      [this.name, id.namespace, id.name, metadataLocation],
    );
    return r.rowCount === 1;
  }

  async swapMetadataLocation(id: TableIdentifier, expected: string, next: string): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE iceberg_tables SET metadata_location = $4, previous_metadata_location = $5
        WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3 AND metadata_location = $5`,
      [this.name, id.namespace, id.name, next, expected],
    );
    return r.rowCount === 1;
  }

  async dropTable(id: TableIdentifier): Promise<boolean> {
    const r = await this.pool.query(
      `DELETE FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3`,
      [this.name, id.namespace, id.name],
    );
    return r.rowCount === 1;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
