import type { IcebergSchema, Snapshot, TableMetadata } from './types.ts';

/** Where a table is named: a (one-level) namespace and a table name. */
export interface TableIdentifier {
  namespace: string;
  name: string;
}

export function tableName(id: TableIdentifier): string {
  return `${id.namespace}.${id.name}`;
}

/** A table's current state as the catalog answers it. */
export interface LoadedTable {
  metadataLocation: string;
  metadata: TableMetadata;
}

/** What one commit changes, both as the full next metadata and as the update list a REST catalog takes. */
export interface TableCommit {
  base: LoadedTable;
  /** The metadata after the commit, as this writer computed it (the SQL catalog writes exactly this). */
  next: TableMetadata;
  /** Set when the commit adds a new schema (and makes it current). */
  newSchema?: { schema: IcebergSchema; lastColumnId: number };
  /** A write: the snapshot it adds and makes main's. */
  snapshot?: Snapshot;
  /** Snapshot expiry: the snapshots it removes (none of them main's). */
  removedSnapshotIds?: bigint[];
  /** Table properties the commit sets (already in `next`). */
  setProperties?: Record<string, string>;
}

/**
 * `committed`: the catalog now points at the new state. `conflict`: another writer committed
 * first, nothing changed (retry on the newer state). `unknown`: the catalog could not say (e.g. it
 * became unreachable mid-commit): keep every file, since the commit may have landed.
 */
export type CommitOutcome =
  | { status: 'committed'; table: LoadedTable }
  | { status: 'conflict' }
  | { status: 'unknown'; error: unknown };

/**
 * What a catalog does for the table logic above it (data files, manifests, retries are shared):
 * the SQL catalog (PostgreSQL, compare-and-swap on the metadata location) and the REST catalog.
 */
export interface CatalogBackend {
  /** The catalog name tables are registered under (`sluice`). */
  readonly name: string;
  ensureNamespace(namespace: string): Promise<void>;
  listNamespaces(): Promise<string[]>;
  listTables(namespace: string): Promise<string[]>;
  /** The current state, or undefined when the table does not exist. */
  loadTable(id: TableIdentifier): Promise<LoadedTable | undefined>;
  /** Creates a table from its first metadata; answers undefined when it already exists. */
  createTable(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable | undefined>;
  commit(id: TableIdentifier, commit: TableCommit): Promise<CommitOutcome>;
  /** Drops a table (its files stay unless the caller purges them); answers whether it existed. */
  dropTable(id: TableIdentifier): Promise<boolean>;
  close(): Promise<void>;
}
