import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testEnv } from '../support/env.ts';
import { runPythonJson } from '../support/python.ts';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'read_table.py');

export interface PyIcebergView {
  namespaces: string[];
  tables: string[];
  format_version: number;
  schema: Array<{ id: number; name: string; type: string; required: boolean; doc?: string }>;
  arrow_types: Record<string, string>;
  rows: Array<Record<string, unknown>>;
  row_count: number;
  /** The current snapshot's manifests: data files added, existing, deleted in each. */
  manifests: Array<{ path: string; added_snapshot_id: string; added: number; existing: number; deleted: number }>;
  /** The current snapshot's manifest entries (status 0 existing, 1 added, 2 deleted). */
  entries: Array<{ status: number; snapshot_id: string; sequence_number: number; file_sequence_number: number; file_path: string }>;
  /** Every manifest some snapshot names. */
  all_manifest_paths: string[];
  /** Rows at each snapshot `readWithPyIcebergAt` named. */
  counts_at: Record<string, number>;
  /** Distinct values of each column `countWithPyIceberg` named. */
  distinct_counts: Record<string, number>;
  snapshots: Array<{ snapshot_id: string; parent_snapshot_id: string | null; sequence_number: number; summary: Record<string, string> }>;
  current_snapshot_id: string | null;
  properties: Record<string, string>;
  files: Array<{
    file_path: string;
    record_count: number;
    readable_metrics: Record<string, { column_size: number; value_count: number; null_value_count: number; lower_bound: unknown; upper_bound: unknown }>;
  }>;
}

/** Reads a table with PyIceberg's SqlCatalog('sluice') — an independent Iceberg implementation; `append` makes PyIceberg write those rows first, `setProperties` set those table properties first. */
export async function readWithPyIceberg(
  databaseUrl: string,
  namespace: string,
  table: string,
  s3: boolean,
  append?: Array<Record<string, unknown>>,
  restUri?: string,
  setProperties?: Record<string, string>,
): Promise<PyIcebergView> {
  return read({ append, set_properties: setProperties, rest_uri: restUri, database_url: databaseUrl, namespace, table, s3: s3Settings(s3) });
}

/**
 * Has PyIceberg add a Parquet file of `rows` to the table as an engine's add_files does: the file has
 * no field ids (its columns are the rows' keys), and the table gets a name mapping if it had none.
 * Answers the table as PyIceberg then reads it.
 */
export function addFilesWithPyIceberg(databaseUrl: string, namespace: string, table: string, s3: boolean, rows: Array<Record<string, unknown>>): Promise<PyIcebergView> {
  return read({ add_files: { rows }, database_url: databaseUrl, namespace, table, s3: s3Settings(s3) });
}

/** Reads a table with PyIceberg, and counts its rows at each of `snapshotIds` too (time travel). */
export function readWithPyIcebergAt(databaseUrl: string, namespace: string, table: string, s3: boolean, snapshotIds: string[]): Promise<PyIcebergView> {
  return read({ count_at: snapshotIds, database_url: databaseUrl, namespace, table, s3: s3Settings(s3) });
}

/** Reads a large table whole with PyIceberg and counts its rows (and distinct values of `distinct`'s columns) instead of answering them. */
export function countWithPyIceberg(databaseUrl: string, namespace: string, table: string, s3: boolean, distinct: string[] = []): Promise<PyIcebergView> {
  return read({ rows: false, count_distinct: distinct, database_url: databaseUrl, namespace, table, s3: s3Settings(s3) });
}

function s3Settings(s3: boolean): Record<string, string> | null {
  return s3
    ? {
        endpoint: testEnv.s3Endpoint,
        access_key: process.env['AWS_ACCESS_KEY_ID'] ?? 'test',
        secret_key: process.env['AWS_SECRET_ACCESS_KEY'] ?? 'test',
        region: process.env['AWS_REGION'] ?? 'us-east-1',
      }
    : null;
}

async function read(request: Record<string, unknown>): Promise<PyIcebergView> {
  return (await runPythonJson(script, request, 'PyIceberg reader')) as PyIcebergView;
}
