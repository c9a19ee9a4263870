import { deterministicKeyVersion } from '@sluice/crypto';
import type { IcebergCatalog } from '@sluice/iceberg';

/**
 * The key version of the deterministic (merge-key) values table `namespace.name` holds in
 * `column`, read from the column's bounds in its manifests (no data file is opened); the highest
 * when several (a table written before merge keys kept their version); null when the table, the
 * column or such values do not exist.
 */
export async function keyVersionInTable(catalog: IcebergCatalog, namespace: string, name: string, column: string): Promise<number | null> {
  if (!(await catalog.tableExists(namespace, name))) return null;
  const bounds = await (await catalog.loadTable(namespace, name)).stringBounds(column);
  const versions = bounds.flatMap((b) => deterministicKeyVersion(b) ?? []);
  return versions.length === 0 ? null : Math.max(...versions);
}
