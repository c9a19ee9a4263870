import { deterministicKeyVersion } from '@sluice/crypto';
import { NoSuchTableError, type IcebergCatalog } from '@sluice/iceberg';

/**
 * The key version of the deterministic (merge-key) values table `namespace.name` holds in
 * `column`, read from the column's bounds in its manifests (no data file is opened); the highest
 * when several (a table written before merge keys kept their version); null when the table, the
 * column or such values do not exist.
 */
export async function keyVersionInTable(catalog: IcebergCatalog, namespace: string, name: string, column: string): Promise<number | null> {
  let table;
  try {
    table = await catalog.loadTable(namespace, name); // one catalog read, not an exists check and a load
  } catch (err) {
    if (err instanceof NoSuchTableError) return null;
    throw err;
  }
  const bounds = await table.stringBounds(column);
  const versions = bounds.flatMap((b) => deterministicKeyVersion(b) ?? []);
  return versions.length === 0 ? null : Math.max(...versions);
}
