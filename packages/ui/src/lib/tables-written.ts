export interface TableWritten {
  table: string;
  snapshot_id: string;
  task: string;
}

const SNAPSHOT_KEY = /^snapshot[_-]?id$/i;
const TABLE_KEYS = ['table', 'table_name', 'tableName', 'identifier', 'table_identifier'];

/**
 * The Iceberg tables a task's output says it committed: any object in the output holding a
 * snapshot id, named by its table field (or namespace + name).
 */
export function tablesWritten(output: unknown, task: string, depth = 0): TableWritten[] {
  if (output === null || typeof output !== 'object' || depth > 5) return [];
  if (Array.isArray(output)) return output.flatMap((o) => tablesWritten(o, task, depth + 1));
  const o = output as Record<string, unknown>;
  const found: TableWritten[] = [];
  const snapKey = Object.keys(o).find((k) => SNAPSHOT_KEY.test(k));
  const snap = snapKey !== undefined ? o[snapKey] : undefined;
  if (typeof snap === 'string' || typeof snap === 'number' || typeof snap === 'bigint') {
    const key = TABLE_KEYS.find((k) => typeof o[k] === 'string');
    const ns = o['namespace'] ?? o['schema_name'];
    const bare = key !== undefined ? String(o[key]) : typeof o['name'] === 'string' ? o['name'] : '(table)';
    const name = typeof ns === 'string' && !bare.includes('.') ? `${ns}.${bare}` : bare;
    found.push({ table: name, snapshot_id: String(snap), task });
  }
  for (const [k, v] of Object.entries(o)) if (k !== snapKey && v !== null && typeof v === 'object') found.push(...tablesWritten(v, task, depth + 1));
  return found;
}
