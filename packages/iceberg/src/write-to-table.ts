import { ValidationError, assertNever } from '@sluice/core';
import type { IcebergCatalog } from './catalog.ts';
import type { WriteInput } from './data-file-writer.ts';
import type { CommitResult, WriteOptions } from './iceberg-table.ts';

export type WriteMode = 'append' | 'overwrite' | 'merge';

export interface WriteToTableRequest extends WriteOptions {
  namespace: string;
  table: string;
  mode: WriteMode;
  input: WriteInput;
  /** Merge key columns (required for `merge`, ignored otherwise). */
  keys?: string[];
}

/**
 * The load task's one call: creates the table (and namespace) from the input's columns when
 * missing, then appends, overwrites or merges, evolving the schema as needed. Idempotent per
 * `runId`/`taskId` (see {@link WriteOptions}).
 */
export async function writeToTable(catalog: IcebergCatalog, request: WriteToTableRequest): Promise<CommitResult> {
  const { namespace, table: name, mode, input, keys, ...options } = request;
  if (mode === 'merge' && (!keys || keys.length === 0)) {
    throw new ValidationError([{ path: 'merge', message: `merge into ${namespace}.${name} needs key columns` }]);
  }
  const { table } = await catalog.loadOrCreateTable(namespace, name, input.columns);
  switch (mode) {
    case 'append':
      return table.append(input, options);
    case 'overwrite':
      return table.overwrite(input, options);
    case 'merge':
      return table.merge(input, { ...options, keys: keys ?? [] });
    default:
      return assertNever(mode, 'write mode');
  }
}
