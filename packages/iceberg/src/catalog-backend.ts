/** Where a table is named: a (one-level) namespace and a table name. */
export interface TableIdentifier {
  namespace: string;
  name: string;
}

export function tableName(id: TableIdentifier): string {
  return `${id.namespace}.${id.name}`;
}

/**
 * What a catalog keeps: for each table, the location of its current metadata file, swapped
 * atomically on commit. Implemented by the SQL catalog (PostgreSQL); the table logic above it
 * (metadata files, manifests, retries) is the same for every backend.
 */
export interface CatalogBackend {
  /** The catalog name tables are registered under (`sluice`). */
  readonly name: string;
  ensureNamespace(namespace: string): Promise<void>;
  listNamespaces(): Promise<string[]>;
  listTables(namespace: string): Promise<string[]>;
  /** The current metadata location, or undefined when the table is not registered. */
  currentMetadataLocation(id: TableIdentifier): Promise<string | undefined>;
  /** Registers a new table; answers false when it already exists. */
  registerTable(id: TableIdentifier, metadataLocation: string): Promise<boolean>;
  /** Compare-and-swap: points the table at `next` only if it still points at `expected`. */
  swapMetadataLocation(id: TableIdentifier, expected: string, next: string): Promise<boolean>;
  /** Unregisters a table; answers whether it existed. */
  dropTable(id: TableIdentifier): Promise<boolean>;
  close(): Promise<void>;
}
