import { ValidationError, assertNever } from '@sluice/core';
import type { Logger } from '@sluice/logging';
import type { ObjectStore } from '@sluice/storage';
import { tableName, type CatalogBackend, type TableIdentifier } from './catalog-backend.ts';
import { NoSuchTableError, TableAlreadyExistsError } from './errors.ts';
import { evolveSchema, initialSchema } from './evolve-schema.ts';
import { IcebergTable } from './iceberg-table.ts';
import { RestCatalogBackend, type RestCatalogOptions } from './rest-catalog-backend.ts';
import { SqlCatalogBackend } from './sql-catalog-backend.ts';
import { currentSchema, newTableMetadata } from './table-metadata.ts';
import type { ColumnSpec, IcebergField } from './types.ts';

interface CatalogCommonOptions {
  /** Catalog name tables are registered under; default `sluice`. */
  name?: string;
  /** Object store holding the warehouse; every table location must lie under its root. */
  store: ObjectStore;
  /** Key prefix of the warehouse in the store; default `warehouse`. Tables go to `{warehouse}/{namespace}/{table}`. */
  warehouse?: string;
  logger?: Logger;
}

export type OpenCatalogOptions = CatalogCommonOptions &
  (
    | {
        /** The SQL catalog in PostgreSQL (PyIceberg SqlCatalog / Java JdbcCatalog tables). */
        type: 'sql';
        /** PostgreSQL URL of the catalog database (Sluice's DATABASE_URL). */
        uri: string;
      }
    | {
        /** An Iceberg REST catalog service. */
        type: 'rest';
        /** Base URI of the service, without `/v1`. */
        uri: string;
        token?: string;
        headers?: Record<string, string>;
        /** The service's own `warehouse` parameter (`GET /v1/config?warehouse=`), when it needs one. */
        catalogWarehouse?: string;
      }
  );

export interface CreateTableOptions {
  /** Table location URI; default `{warehouse}/{namespace}/{table}` in the store. */
  location?: string;
  properties?: Record<string, string>;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_\-]*$/;

function checkIdentifier(id: TableIdentifier): void {
  const issues = [];
  if (!NAME.test(id.namespace)) issues.push({ path: 'namespace', message: `invalid namespace ${JSON.stringify(id.namespace)} (letters, digits, _ and -)` });
  if (!NAME.test(id.name)) issues.push({ path: 'table', message: `invalid table name ${JSON.stringify(id.name)} (letters, digits, _ and -)` });
  if (issues.length > 0) throw new ValidationError(issues);
}

/** An Iceberg catalog: creates, loads, lists and drops tables whose files live in one object store. */
export class IcebergCatalog {
  constructor(
    private readonly backend: CatalogBackend,
    private readonly store: ObjectStore,
    private readonly warehouse: string,
    private readonly logger: Logger | undefined,
  ) {}

  get name(): string {
    return this.backend.name;
  }

  async loadTable(namespace: string, name: string): Promise<IcebergTable> {
    const id = { namespace, name };
    const loaded = await this.backend.loadTable(id);
    if (!loaded) throw new NoSuchTableError(tableName(id));
    return new IcebergTable(id, this.backend, this.store, this.logger, loaded.metadataLocation, loaded.metadata);
  }

  async tableExists(namespace: string, name: string): Promise<boolean> {
    return (await this.backend.loadTable({ namespace, name })) !== undefined;
  }

  /** Creates an empty table (and its namespace when missing). Throws {@link TableAlreadyExistsError}. */
  async createTable(namespace: string, name: string, columns: ColumnSpec[], options: CreateTableOptions = {}): Promise<IcebergTable> {
    const id = { namespace, name };
    checkIdentifier(id);
    const location = (options.location ?? this.store.uri(`${this.warehouse}/${namespace}/${name}`)).replace(/\/+$/, '');
    this.store.keyOf(location); // the table must live in this catalog's store
    const created = await this.backend.createTable(id, newTableMetadata(location, initialSchema(columns), options.properties ?? {}));
    if (!created) throw new TableAlreadyExistsError(tableName(id));
    this.logger?.info('Iceberg table created', { table: tableName(id), location });
    return new IcebergTable(id, this.backend, this.store, this.logger, created.metadataLocation, created.metadata);
  }

  /**
   * Loads the table, creating it with `columns` when it does not exist (safe when two writers
   * race); `created` says whether this call made it.
   */
  async loadOrCreateTable(
    namespace: string,
    name: string,
    columns: ColumnSpec[],
    options: CreateTableOptions = {},
  ): Promise<{ table: IcebergTable; created: boolean }> {
    if (await this.tableExists(namespace, name)) return { table: await this.loadTable(namespace, name), created: false };
    try {
      return { table: await this.createTable(namespace, name, columns, options), created: true };
    } catch (err) {
      if (err instanceof TableAlreadyExistsError) return { table: await this.loadTable(namespace, name), created: false };
      throw err;
    }
  }

  /**
   * The field (id, type) each of `columns` would be written with if a write of these columns were
   * committed to the table now — the table's current schema evolved as a write evolves it, or, for
   * a table that does not exist yet, the schema {@link loadOrCreateTable} would create. A task can
   * then write Iceberg-ready data files ahead of the commit (`WriteInput.icebergFields`); the
   * commit re-checks them against the schema it commits with. Throws what the write would
   * (IncompatibleSchemaError, ValidationError) when the columns cannot be written to the table.
   * `replaceIncompatible`: the write replaces every row (an overwrite), as the commit's does.
   */
  async fieldsForWrite(namespace: string, name: string, columns: ColumnSpec[], options: { replaceIncompatible?: boolean } = {}): Promise<IcebergField[]> {
    const loaded = await this.backend.loadTable({ namespace, name });
    const schema = loaded
      ? evolveSchema(tableName({ namespace, name }), currentSchema(loaded.metadata), loaded.metadata['last-column-id'], 0, columns, options).schema
      : initialSchema(columns);
    const byName = new Map(schema.fields.map((f) => [f.name, f]));
    return columns.map((c) => {
      const f = byName.get(c.name);
      if (!f) throw new Error(`column ${c.name} missing from the evolved schema of ${namespace}.${name}`);
      return f;
    });
  }

  listNamespaces(): Promise<string[]> {
    return this.backend.listNamespaces();
  }

  listTables(namespace: string): Promise<string[]> {
    return this.backend.listTables(namespace);
  }

  /** Drops a table; with `purge`, also deletes every file under its location. */
  async dropTable(namespace: string, name: string, options: { purge?: boolean } = {}): Promise<boolean> {
    const id = { namespace, name };
    const loaded = options.purge ? await this.backend.loadTable(id) : undefined;
    const dropped = await this.backend.dropTable(id);
    if (dropped && loaded) await this.store.deletePrefix(`${this.store.keyOf(loaded.metadata.location)}/`);
    return dropped;
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}

/** Opens a catalog. The caller keeps ownership of the store (close it yourself). */
export function openCatalog(options: OpenCatalogOptions): IcebergCatalog {
  const name = options.name ?? 'sluice';
  let backend: CatalogBackend;
  switch (options.type) {
    case 'sql':
      backend = new SqlCatalogBackend(options.uri, name, options.store);
      break;
    case 'rest': {
      const rest: RestCatalogOptions = { uri: options.uri, name };
      if (options.token) rest.token = options.token;
      if (options.headers) rest.headers = options.headers;
      if (options.catalogWarehouse) rest.warehouse = options.catalogWarehouse;
      backend = new RestCatalogBackend(rest);
      break;
    }
    default:
      return assertNever(options, 'catalog type');
  }
  return new IcebergCatalog(backend, options.store, (options.warehouse ?? 'warehouse').replace(/^\/+|\/+$/g, ''), options.logger);
}
