import type { ColumnTransformation } from './transformations.ts';

/** What of an Airbyte catalog stream decides whether a job reads it incrementally, and by what cursor. */
export interface CatalogStreamReads {
  name: string;
  supported_sync_modes?: readonly string[] | null | undefined;
  default_cursor_field?: readonly string[] | null | undefined;
  source_defined_cursor?: boolean | null | undefined;
}

/**
 * Whether a job of `mode` reads the stream incrementally: append and merge do where the stream
 * supports it and has a cursor (its default cursor field, or one the source defines); overwrite
 * always reads a full refresh, as Airbyte's Full Refresh - Overwrite.
 */
export function readsIncrementally(stream: CatalogStreamReads, mode: 'append' | 'overwrite' | 'merge'): boolean {
  return (
    (mode === 'append' || mode === 'merge') &&
    (stream.supported_sync_modes ?? ['full_refresh']).includes('incremental') &&
    ((stream.default_cursor_field ?? []).length > 0 || stream.source_defined_cursor === true)
  );
}

/** A stream as a job reads it: incrementally or not, and the cursor's path when it is known. */
export interface StreamRead {
  name: string;
  incremental: boolean;
  cursor: readonly string[] | null;
}

/**
 * The encryptions of a column that holds a stream's cursor, where the stream is read
 * incrementally: the source's saved state keeps the cursor's latest value as it is, in plaintext
 * (the connector reads it back on the next run; Sluice shows it with the job's state and the
 * extract logs it), so the column would not be protected (QA round 40b F1). One issue per
 * transformation, with its index in `transformations`.
 */
export function encryptedCursors(streams: readonly StreamRead[], transformations: readonly ColumnTransformation[]): { index: number; message: string }[] {
  const issues: { index: number; message: string }[] = [];
  transformations.forEach((t, index) => {
    if (t.encryptionKeyName === null) return;
    const read = streams.find((s) => s.incremental && s.cursor !== null && s.cursor[0] === t.column && (t.stream === null || t.stream === s.name));
    if (!read) return;
    issues.push({
      index,
      message:
        `encrypts "${t.column}", ${read.cursor?.length === 1 ? 'the cursor' : `which holds the cursor (${read.cursor?.join('.') ?? ''})`} of stream "${read.name}", which this job reads incrementally: ` +
        "the source's saved state keeps the cursor's latest value in plaintext (the job's state shows it, and the extract's log), so the column would not be protected. " +
        'Encrypt other columns, or read the stream in full each run (mode overwrite), which keeps no cursor',
    });
  });
  return issues;
}
