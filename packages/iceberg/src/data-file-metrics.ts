import type { DuckDBConnection } from '@duckdb/node-api';
import { ValidationError } from '@sluice/core';
import { readMetrics, sluiceDataFileConstants } from './data-file-writer.ts';
import type { DataFile, DataFileMetricsJson, IcebergField } from './types.ts';

type Metrics = Omit<DataFile, 'file_path'>;

const pairs = <V, W>(m: Map<number, V> | null, f: (v: V) => W): [number, W][] | null => (m === null ? null : [...m].map(([k, v]) => [k, f(v)]));

export function metricsToJson(m: Metrics): DataFileMetricsJson {
  return {
    record_count: m.record_count.toString(),
    file_size_in_bytes: m.file_size_in_bytes.toString(),
    column_sizes: pairs(m.column_sizes, String),
    value_counts: pairs(m.value_counts, String),
    null_value_counts: pairs(m.null_value_counts, String),
    nan_value_counts: pairs(m.nan_value_counts, String),
    lower_bounds: pairs(m.lower_bounds, (b) => b.toString('base64')),
    upper_bounds: pairs(m.upper_bounds, (b) => b.toString('base64')),
    split_offsets: m.split_offsets === null ? null : m.split_offsets.map(String),
    sort_order_id: m.sort_order_id,
  };
}

/** The metrics of a data file Sluice wrote (content: data, Parquet, unpartitioned). Throws a ValidationError naming `where` on a malformed value. */
export function metricsFromJson(j: DataFileMetricsJson, where: string): Metrics {
  const int = (v: string, path: string): bigint => {
    if (!/^\d+$/.test(v)) throw new ValidationError([{ path: `${where}.${path}`, message: `not a non-negative integer: ${JSON.stringify(v)}` }]);
    return BigInt(v);
  };
  const counts = (p: [number, string][] | null, name: string): Map<number, bigint> | null =>
    p === null ? null : new Map(p.map(([id, v]) => [id, int(v, `${name}[${id}]`)]));
  const bytes = (p: [number, string][] | null): Map<number, Buffer> | null => (p === null ? null : new Map(p.map(([id, v]) => [id, Buffer.from(v, 'base64')])));
  return {
    ...sluiceDataFileConstants(),
    record_count: int(j.record_count, 'record_count'),
    file_size_in_bytes: int(j.file_size_in_bytes, 'file_size_in_bytes'),
    column_sizes: counts(j.column_sizes, 'column_sizes'),
    value_counts: counts(j.value_counts, 'value_counts'),
    null_value_counts: counts(j.null_value_counts, 'null_value_counts'),
    nan_value_counts: counts(j.nan_value_counts, 'nan_value_counts'),
    lower_bounds: bytes(j.lower_bounds),
    upper_bounds: bytes(j.upper_bounds),
    split_offsets: j.split_offsets === null ? null : j.split_offsets.map((v, i) => int(v, `split_offsets[${i}]`)),
    sort_order_id: j.sort_order_id,
  };
}

/**
 * The metrics of a Parquet file written locally as a data file for `fields` (with
 * `dataFileCopyOptions`), read from its footer.
 */
export async function readDataFileMetrics(connection: DuckDBConnection, localPath: string, fields: IcebergField[]): Promise<DataFileMetricsJson> {
  return metricsToJson(await readMetrics(connection, localPath, fields));
}
