import type { TableMetadata } from './types.ts';

/** Metadata keys whose values are 64-bit snapshot ids, which JSON.parse would round. */
const ID_KEYS = ['snapshot-id', 'parent-snapshot-id', 'current-snapshot-id'];
const ID_PATTERN = new RegExp(`"(${ID_KEYS.join('|')})"\\s*:\\s*(-?\\d+)`, 'g');
const BIGINT_MARK = '\u0000bigint:';

/**
 * Parses table metadata JSON keeping snapshot ids exact (as bigint): other writers (Java,
 * PyIceberg) use ids up to 2^63, beyond what a JS number holds.
 */
export function parseTableMetadata(text: string): TableMetadata {
  const quoted = text.replace(ID_PATTERN, (_m, key: string, digits: string) => `"${key}":"${digits}"`);
  return JSON.parse(quoted, (key, value: unknown) =>
    ID_KEYS.includes(key) && typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value) : value,
  ) as TableMetadata;
}

/** Serializes table metadata with bigint values written as plain JSON integers. */
export function stringifyTableMetadata(metadata: TableMetadata): string {
  return stringifyWithBigints(metadata);
}

/** JSON.stringify that writes bigint values as plain JSON integers (snapshot ids in REST requests too). */
export function stringifyWithBigints(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${BIGINT_MARK}${v.toString()}` : v));
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

/** JSON.parse keeping snapshot ids exact (as bigint) wherever they occur, e.g. in REST responses. */
export function parseWithSnapshotIds(text: string): unknown {
  return parseTableMetadata(text);
}
