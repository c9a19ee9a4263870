/**
 * Reading a table's own data files into its current schema, as the Iceberg spec says readers must.
 * A file an Iceberg writer wrote carries field ids and is read by them, so renamed, added and
 * promoted columns read right. A file added without field ids (Spark's or PyIceberg's `add_files`
 * of existing Parquet) is read through the table's name mapping (`schema.name-mapping.default`):
 * each field is the file's column named by one of the field's mapped names, or null when the file
 * has none of them. Read by field id, such a file would give nulls in every column.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ValidationError } from '@sluice/core';
import { quoteIdent, quoteString, sqlList } from './duckdb.ts';
import { duckdbType } from './iceberg-types.ts';
import type { IcebergField } from './types.ts';

export const NAME_MAPPING_PROPERTY = 'schema.name-mapping.default';

/** A name mapping's top-level entries: each field id and the column names it was written under. */
export type NameMapping = ReadonlyMap<number, readonly string[]>;

/** A local copy of one of the table's data files, and the file's own path in the table. */
export interface DataFileCopy {
  local: string;
  uri: string;
}

/**
 * The table's name mapping, from its properties; undefined when it has none. A mapping that is not
 * the spec's JSON (a list of `{"field-id"?, "names", "fields"?}`) is refused, naming the table.
 */
export function nameMappingOf(table: string, properties: Readonly<Record<string, string>>): NameMapping | undefined {
  const text = properties[NAME_MAPPING_PROPERTY];
  if (text === undefined) return undefined;
  const refuse = (why: string): never => {
    throw new ValidationError([{ path: 'table', message: `${table}'s ${NAME_MAPPING_PROPERTY} is not a name mapping: ${why}` }]);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return refuse('it is not JSON');
  }
  if (!Array.isArray(parsed)) return refuse('it is not a JSON list');
  const mapping = new Map<number, string[]>();
  for (const [i, entry] of parsed.entries()) {
    if (typeof entry !== 'object' || entry === null) return refuse(`entry ${i} is not an object`);
    const names: unknown = Reflect.get(entry, 'names');
    const id: unknown = Reflect.get(entry, 'field-id');
    if (!Array.isArray(names) || !names.every((n): n is string => typeof n === 'string')) return refuse(`entry ${i} has no list of names`);
    // An entry without a field id names columns the table does not read (the spec allows it).
    if (id === undefined) continue;
    if (typeof id !== 'number' || !Number.isInteger(id)) return refuse(`entry ${i}'s field-id is not an integer`);
    mapping.set(id, names);
  }
  return mapping;
}

/**
 * The table's name mapping brought up to its schema's `fields`, as JSON; undefined when the table
 * has none or it needs no change (a mapping an earlier write left behind its schema is healed too). A field the mapping lacks gets an entry under its name (a name another
 * entry held — a column replaced under a new id — moves to it); a field's new name joins its names.
 * Entries are kept otherwise, whatever else they hold (nested `fields`), so old files still read.
 */
export function nameMappingAfter(properties: Readonly<Record<string, string>>, fields: readonly IcebergField[]): string | undefined {
  const text = properties[NAME_MAPPING_PROPERTY];
  if (text === undefined) return undefined;
  let entries: unknown;
  try {
    entries = JSON.parse(text);
  } catch {
    return undefined;
  }
  // One this writer cannot read is left as it is: reading by it is refused, naming it (nameMappingOf).
  if (!Array.isArray(entries) || !entries.every((e): e is MappingEntry => typeof e === 'object' && e !== null && Array.isArray(Reflect.get(e, 'names')))) return undefined;
  const next: MappingEntry[] = entries.map((e) => ({ ...e, names: [...e.names] }));
  let changed = false;
  for (const field of fields) {
    const own = next.find((e) => e['field-id'] === field.id);
    if (own?.names.includes(field.name)) continue;
    for (const other of next) {
      if (other !== own && other.names.includes(field.name)) other.names = other.names.filter((n) => n !== field.name);
    }
    if (own) own.names.push(field.name);
    else next.push({ 'field-id': field.id, names: [field.name] });
    changed = true;
  }
  return changed ? JSON.stringify(next) : undefined;
}

interface MappingEntry {
  'field-id'?: number;
  names: string[];
  [other: string]: unknown;
}

/**
 * A SQL relation over local copies of the table's data files with the fields' columns (and, when
 * `filenameColumn` is given, a column of that name holding the local path a row was read from). Files with field ids are read by them in
 * one scan; each file without is read by the table's name mapping (from its `properties`, read only
 * then), and is refused when the table has none.
 */
export async function dataFilesRelation(
  c: DuckDBConnection,
  table: string,
  files: readonly DataFileCopy[],
  fields: readonly IcebergField[],
  properties: Readonly<Record<string, string>>,
  filenameColumn: string | null,
): Promise<string> {
  const unidentified = await filesWithoutFieldIds(c, files);
  // Read by the mapping as the next commit leaves it: a field an earlier write added and did not map
  // is read under its name, not as nulls (QA round 57a F1).
  const healed = unidentified.size > 0 ? nameMappingAfter(properties, fields) : undefined;
  const mapping = unidentified.size > 0 ? nameMappingOf(table, healed === undefined ? properties : { ...properties, [NAME_MAPPING_PROPERTY]: healed }) : undefined;
  const byId = files.filter((f) => !unidentified.has(f.local));
  const selects: string[] = [];
  if (byId.length > 0) {
    const schema = `MAP {${fields.map((f) => `${f.id}: {name: ${quoteString(f.name)}, type: ${quoteString(duckdbType(f.type))}, default_value: NULL}`).join(', ')}}`;
    selects.push(
      `SELECT ${fields.map((f) => quoteIdent(f.name)).join(', ')}${filenameColumn === null ? '' : `, ${quoteIdent(filenameColumn)}`}
         FROM read_parquet(${sqlList(byId.map((f) => f.local))}, schema = ${schema}${filenameColumn === null ? '' : `, filename = ${quoteString(filenameColumn)}`})`,
    );
  }
  for (const file of files.filter((f) => unidentified.has(f.local))) {
    if (mapping === undefined) {
      throw new ValidationError([
        {
          path: 'table',
          message: `${file.uri}, a data file of ${table}, has no Iceberg field ids and the table has no name mapping (${NAME_MAPPING_PROPERTY}) to read it by`,
        },
      ]);
    }
    const described = await c.runAndReadAll(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(${quoteString(file.local)}))`);
    const present = new Set(described.getRows().map(([name]) => String(name)));
    const columns = fields.map((f) => {
      const name = (mapping.get(f.id) ?? []).find((n) => present.has(n));
      const type = duckdbType(f.type);
      return name === undefined ? `NULL::${type} AS ${quoteIdent(f.name)}` : `CAST(${quoteIdent(name)} AS ${type}) AS ${quoteIdent(f.name)}`;
    });
    selects.push(`SELECT ${columns.join(', ')}${filenameColumn === null ? '' : `, ${quoteString(file.local)} AS ${quoteIdent(filenameColumn)}`} FROM read_parquet(${quoteString(file.local)})`);
  }
  if (selects.length === 0) throw new Error('dataFilesRelation needs at least one file');
  return selects.map((s) => `(${s})`).join(' UNION ALL ');
}

/** The local paths of the files none of whose columns carries a field id. */
async function filesWithoutFieldIds(c: DuckDBConnection, files: readonly DataFileCopy[]): Promise<Set<string>> {
  if (files.length === 0) return new Set();
  const reader = await c.runAndReadAll(
    `SELECT file_name, count(field_id) FROM parquet_schema(${sqlList(files.map((f) => f.local))}) GROUP BY file_name`,
  );
  return new Set(reader.getRows().flatMap(([name, ids]) => (Number(ids) === 0 ? [String(name)] : [])));
}
