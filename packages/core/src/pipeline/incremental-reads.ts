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

/** A stream as a job reads it: the cursor's path, when the catalog declares one. */
export interface StreamRead {
  name: string;
  cursor: readonly string[] | null;
}

/**
 * The encryptions of a column that holds a stream's cursor: the source's state keeps the cursor's
 * latest value as it is, in plaintext (the connector reads it back on the next run; Sluice keeps
 * the state, shows it with the job, and the extract logs it), so the column would not be protected
 * (QA round 40b F1). Whatever the job's mode: a source may send its state on a full refresh too
 * (source-faker does; QA round 40c F1). One issue per transformation, with its index in
 * `transformations`.
 */
export function encryptedCursors(streams: readonly StreamRead[], transformations: readonly ColumnTransformation[]): { index: number; message: string }[] {
  const issues: { index: number; message: string }[] = [];
  transformations.forEach((t, index) => {
    if (t.encryptionKeyName === null) return;
    const read = streams.find((s) => s.cursor !== null && s.cursor[0] === t.column && (t.stream === null || t.stream === s.name));
    if (!read) return;
    issues.push({
      index,
      message:
        `encrypts "${t.column}", ${read.cursor?.length === 1 ? 'the cursor' : `which holds the cursor (${read.cursor?.join('.') ?? ''})`} of stream "${read.name}": ` +
        "the source's state keeps the cursor's latest value in plaintext (a source may send it on a full refresh too; the job's state shows it, and the extract's log), " +
        'so the column would not be protected: encrypt other columns',
    });
  });
  return issues;
}
