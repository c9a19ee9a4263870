import { NonRetryableTaskError } from '@sluice/core';
import { readsIncrementally } from '@sluice/core/pipeline';
import type {
  AirbyteCatalog,
  AirbyteStream,
  ConfiguredAirbyteCatalog,
  ConfiguredAirbyteStream,
  DestinationSyncMode,
  SyncMode,
} from './protocol.ts';

/** The job's write mode, as the ingestion contract names it. */
export type WriteMode = 'append' | 'overwrite' | 'merge';

/**
 * Builds the configured catalog `read` gets from the discovered catalog and the job.
 *
 * - `streams` null or empty selects every stream; names the source does not have are an error
 *   (non-retryable) that names them and lists the available ones.
 * - `append` and `merge` read incrementally where the stream supports it (full refresh where it
 *   does not); `overwrite` always reads a full refresh.
 * - The destination sync mode follows the write mode: append → `append`, overwrite → `overwrite`,
 *   merge → `append_dedup`.
 * - Cursor and primary keys come from the catalog (`default_cursor_field`,
 *   `source_defined_primary_key`).
 */
export function buildConfiguredCatalog(
  catalog: AirbyteCatalog,
  selection: { streams: readonly string[] | null | undefined; mode: WriteMode },
): ConfiguredAirbyteCatalog {
  const byName = new Map<string, AirbyteStream>();
  for (const s of catalog.streams) byName.set(s.name, s);
  const wanted = selection.streams && selection.streams.length > 0 ? [...new Set(selection.streams)] : [...byName.keys()];
  const unknown = wanted.filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    const available = [...byName.keys()].sort();
    throw new NonRetryableTaskError(
      `unknown stream${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}: the source has ${
        available.length > 0 ? available.map((n) => `"${n}"`).join(', ') : 'no streams'
      }`,
    );
  }
  return { streams: wanted.map((name) => configureStream(byName.get(name) as AirbyteStream, selection.mode)) };
}

function configureStream(stream: AirbyteStream, mode: WriteMode): ConfiguredAirbyteStream {
  const cursor = stream.default_cursor_field ?? [];
  const syncMode: SyncMode = readsIncrementally(stream, mode) ? 'incremental' : 'full_refresh';
  const destination: DestinationSyncMode = mode === 'append' ? 'append' : mode === 'overwrite' ? 'overwrite' : 'append_dedup';
  const configured: ConfiguredAirbyteStream = { stream, sync_mode: syncMode, destination_sync_mode: destination };
  if (cursor.length > 0) configured.cursor_field = [...cursor];
  if (stream.source_defined_primary_key && stream.source_defined_primary_key.length > 0) {
    configured.primary_key = stream.source_defined_primary_key.map((p) => [...p]);
  }
  return configured;
}
