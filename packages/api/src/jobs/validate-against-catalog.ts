import { ValidationError, type FieldIssue } from '@sluice/core';
import type { IngestJobSpec } from '@sluice/core/contract';
import { columnsNoStreamHas, planStreamColumns } from '@sluice/core/pipeline';

/** The parts of a source's Airbyte catalog (`discover`) the API checks a job against. */
export interface SourceCatalog {
  streams: {
    name: string;
    json_schema: Record<string, unknown>;
    source_defined_primary_key?: string[][] | null | undefined;
  }[];
}

/** Runs the connector's `discover` with the job's config; undefined when the catalog cannot be had. */
export type DiscoverCatalog = (sourceName: string, config: Record<string, unknown>) => Promise<SourceCatalog | undefined>;

function columnsOf(stream: SourceCatalog['streams'][number]): string[] | null {
  const props = stream.json_schema['properties'];
  return props !== null && typeof props === 'object' && !Array.isArray(props) ? Object.keys(props) : null;
}

/**
 * Checks a job against its source's catalog: selected streams exist; merge keys are columns of
 * every selected stream (or, without keys, each has a primary key); transformations name columns
 * their stream has — or, without `stream`, a column some selected stream has — and give no two
 * columns one name (core/pipeline's planStreamColumns, the rule the transform task applies).
 */
export function validateAgainstCatalog(spec: IngestJobSpec, catalog: SourceCatalog): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const byName = new Map(catalog.streams.map((s) => [s.name, s]));
  const available = [...byName.keys()].join(', ') || 'none';
  spec.streams.forEach((s, i) => {
    if (!byName.has(s)) issues.push({ path: `streams[${i}]`, message: `stream "${s}" is not in the source's catalog (its streams: ${available})` });
  });
  if (spec.streams.length === 0) {
    spec.columnTransformations.forEach((t, i) => {
      if (t.stream !== null && !byName.has(t.stream)) {
        issues.push({ path: `column_transformations[${i}].stream`, message: `stream "${t.stream}" is not in the source's catalog (its streams: ${available})` });
      }
    });
  }
  const selected = (spec.streams.length > 0 ? spec.streams : [...byName.keys()]).flatMap((n) => {
    const s = byName.get(n);
    return s ? [s] : [];
  });
  // A transformation without `stream` must match some selected stream: checked only when every
  // selected stream's columns are known (the column may be one of an unknown stream's).
  const known = selected.map((s) => ({ stream: s.name, columns: columnsOf(s) }));
  if (known.every((s): s is { stream: string; columns: string[] } => s.columns !== null)) {
    issues.push(...columnsNoStreamHas(known, spec.columnTransformations));
  }
  for (const stream of selected) {
    const columns = columnsOf(stream);
    if (spec.mode === 'merge') {
      if (spec.mergeKeys.length > 0) {
        for (const k of spec.mergeKeys) {
          if (columns !== null && !columns.includes(k)) {
            issues.push({ path: 'merge', message: `column "${k}" is not in stream "${stream.name}" (its columns: ${columns.join(', ')})` });
          }
        }
      } else if ((stream.source_defined_primary_key ?? []).length === 0) {
        issues.push({ path: 'merge', message: `stream "${stream.name}" has no primary key in the source's catalog: give merge keys` });
      }
    }
    if (columns !== null) {
      try {
        planStreamColumns(stream.name, columns, spec.columnTransformations);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        issues.push(...err.issues);
      }
    }
  }
  return issues;
}
