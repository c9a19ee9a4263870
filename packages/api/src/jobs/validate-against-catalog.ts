import { z } from 'zod';
import { ValidationError, type FieldIssue } from '@sluice/core';
import type { ImportedState, IngestJobSpec } from '@sluice/core/contract';
import {
  ambiguousMergeKey,
  columnsNoStreamHas,
  encryptedCursors,
  metadataColumnCollision,
  planStreamColumns,
  tableNameCollision,
  type StreamPlan,
} from '@sluice/core/pipeline';

/** What of a job's definition its source's catalog must satisfy. */
export type JobDefinition = Pick<IngestJobSpec, 'streams' | 'mode' | 'mergeKeys' | 'columnTransformations' | 'addIngestionMetadata'>;

/** The parts of a source's Airbyte catalog (`discover`) the API checks a job against. */
export interface SourceCatalog {
  streams: {
    name: string;
    namespace?: string | null | undefined;
    json_schema: Record<string, unknown>;
    source_defined_primary_key?: string[][] | null | undefined;
    default_cursor_field?: readonly string[] | null | undefined;
  }[];
}

/** Runs the connector's `discover` with the job's config; undefined when the catalog cannot be had. */
export type DiscoverCatalog = (sourceName: string, config: Record<string, unknown>) => Promise<SourceCatalog | undefined>;

/** Names an error lists at most; a large catalog's others are counted, so that an error stays readable and small. */
const NAMES_SAID = 50;

/** `a, b, c`, or the first 50 and `… and N more`; `none` when there are none. */
function namesSaid(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  const said = names.slice(0, NAMES_SAID).join(', ');
  return names.length > NAMES_SAID ? `${said} … and ${names.length - NAMES_SAID} more` : said;
}

function columnsOf(stream: SourceCatalog['streams'][number]): string[] | null {
  const props = stream.json_schema['properties'];
  return props !== null && typeof props === 'object' && !Array.isArray(props) ? Object.keys(props) : null;
}

/**
 * Checks a job against its source's catalog: selected streams exist; merge keys are columns of
 * every selected stream, by source or new name, not dropped (or, without keys, each has a primary
 * key no transformation drops); transformations name columns their stream has — or, without
 * `stream`, a column some selected stream has — and give no two columns one name
 * (core/pipeline's planStreamColumns, the rule the transform task applies), nor one an ingestion
 * metadata column's name when the job adds those; and no encryption is of a column that holds a
 * stream's cursor (its state would keep the value in plaintext).
 */
export function validateAgainstCatalog(spec: JobDefinition, catalog: SourceCatalog): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const byName = new Map(catalog.streams.map((s) => [s.name, s]));
  const available = namesSaid([...byName.keys()]);
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
  // Listed streams were checked when the request was parsed; all of a catalog's are checked here.
  const collision = spec.streams.length === 0 ? tableNameCollision(selected.map((s) => s.name)) : null;
  if (collision) issues.push({ path: 'streams', message: `${collision} (the job selects all of the source's streams)` });
  // A transformation without `stream` must match some selected stream: checked only when every
  // selected stream's columns are known (the column may be one of an unknown stream's).
  const known = selected.map((s) => ({ stream: s.name, columns: columnsOf(s) }));
  if (known.every((s): s is { stream: string; columns: string[] } => s.columns !== null)) {
    issues.push(...columnsNoStreamHas(known, spec.columnTransformations));
  }
  for (const stream of selected) {
    const columns = columnsOf(stream);
    let plan: StreamPlan | null = null;
    if (columns !== null) {
      try {
        plan = planStreamColumns(stream.name, columns, spec.columnTransformations);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        issues.push(...err.issues);
      }
    }
    const collision = plan !== null && spec.addIngestionMetadata ? metadataColumnCollision(stream.name, plan.columns.map((c) => c.target)) : null;
    if (collision !== null) issues.push({ path: 'add_ingestion_metadata', message: collision });
    if (spec.mode === 'merge') issues.push(...mergeKeyIssues(spec, stream, columns, plan));
  }
  const reads = selected.map((s) => ({ name: s.name, cursor: s.default_cursor_field ?? null }));
  for (const e of encryptedCursors(reads, spec.columnTransformations)) issues.push({ path: `column_transformations[${e.index}]`, message: e.message });
  return issues;
}

/**
 * The merge keys of one stream, resolved as the load task resolves them (runner's mergeKeysFor):
 * a key names an output column, or a renamed column by its source name; a column a `drop`
 * removes is no key. Without keys, the stream's primary key must exist and be kept. Keys are
 * checked only where the stream's columns are known and its transformations valid (`plan`).
 */
function mergeKeyIssues(spec: JobDefinition, stream: SourceCatalog['streams'][number], columns: string[] | null, plan: StreamPlan | null): FieldIssue[] {
  const droppedBy = (column: string): number =>
    columns !== null && columns.includes(column) && plan !== null && !plan.columns.some((c) => c.source === column)
      ? spec.columnTransformations.findIndex((t) => t.drop && t.column === column && (t.stream === null || t.stream === stream.name))
      : -1;
  const issues: FieldIssue[] = [];
  if (spec.mergeKeys.length === 0) {
    const primaryKey = stream.source_defined_primary_key ?? [];
    if (primaryKey.length === 0) {
      issues.push({ path: 'merge', message: `stream "${stream.name}" has no primary key in the source's catalog: give merge keys` });
    }
    // Top-level key columns only, as the transform task records the primary key for load.
    for (const k of primaryKey.flatMap((p) => (p.length === 1 ? p : []))) {
      const i = droppedBy(k);
      if (i >= 0) {
        issues.push({
          path: 'merge',
          message: `stream "${stream.name}" would be merged on its primary key column "${k}" (no merge keys are given), which column_transformations[${i}] drops: give merge keys or keep the column`,
        });
      }
    }
    return issues;
  }
  if (columns === null || plan === null) return issues;
  for (const k of spec.mergeKeys) {
    const ambiguous = ambiguousMergeKey(stream.name, k, plan.columns);
    if (ambiguous !== null) {
      issues.push({ path: 'merge', message: ambiguous });
      continue;
    }
    if (plan.columns.some((c) => c.target === k || c.source === k)) continue;
    const i = droppedBy(k);
    issues.push({
      path: 'merge',
      message:
        i >= 0
          ? `column "${k}" of stream "${stream.name}" is dropped by column_transformations[${i}], so it cannot be a merge key`
          : `column "${k}" is not in stream "${stream.name}" (its columns: ${namesSaid(columns)})`,
    });
  }
  return issues;
}

const savedCatalog = z.looseObject({
  streams: z.array(z.looseObject({ name: z.string(), namespace: z.string().nullish(), json_schema: z.record(z.string(), z.unknown()) })),
});

/** The streams of the catalog a run's extract saved on the job (`ingestion_jobs.source_catalog`), or undefined. */
export function savedCatalogStreams(saved: unknown): Pick<SourceCatalog, 'streams'> | undefined {
  return savedCatalog.safeParse(saved).data;
}

/**
 * Checks imported states against the source's catalog: each stream they hold a position of is one
 * of the source's, namespace too (a connector reads a state only under its stream's exact
 * descriptor: one of another namespace would be handed to every read and never replaced).
 */
export function statesAgainstCatalog(states: readonly ImportedState[], catalog: Pick<SourceCatalog, 'streams'>): FieldIssue[] {
  const namespaceOf = (n: string | null | undefined): string | null => (n ? n : null);
  const said = (d: { name: string; namespace?: string | null | undefined }): string => (namespaceOf(d.namespace) === null ? `"${d.name}" (no namespace)` : `"${d.namespace}.${d.name}"`);
  return states.flatMap((s) =>
    s.streams.flatMap((d) => {
      const named = catalog.streams.filter((c) => c.name === d.name);
      if (named.some((c) => namespaceOf(c.namespace) === namespaceOf(d.namespace))) return [];
      const message =
        named.length === 0
          ? `stream "${d.name}" is not in the source's catalog (its streams: ${namesSaid([...new Set(catalog.streams.map((c) => c.name))])})`
          : `stream ${said(d)} is not in the source's catalog, which has ${named.map(said).join(', ')}: a state is read under its stream's exact namespace`;
      return [{ path: s.at, message }];
    }),
  );
}
