import { ValidationError } from '@sluice/core';
import { ColumnCaseCollisionError, IncompatibleSchemaError } from './errors.ts';
import { canPromote, normalizeType, writesAsText } from './iceberg-types.ts';
import type { ColumnSpec, IcebergField, IcebergSchema } from './types.ts';

export interface EvolvedSchema {
  /** The schema the write commits with (the current one when nothing changed). */
  schema: IcebergSchema;
  lastColumnId: number;
  changed: boolean;
  /** The table's columns a column of another type replaced (`replaceIncompatible` only). */
  replaced: ReplacedColumn[];
}

/** A table column an overwrite replaced with one of the data's type, under the same name and a new field id. */
export interface ReplacedColumn {
  name: string;
  fromType: IcebergField['type'];
  toType: IcebergField['type'];
  fieldId: number;
}

/**
 * The table schema a write needs, matched to the current one by column name:
 * new columns are appended as optional fields with new ids; a column whose type widens
 * (int → long, float → double, decimal precision) is promoted in place; data narrower than the
 * table's column is cast up on write, and data of another type than a `string` column's (not
 * binary) is written as its text ({@link writesAsText}); anything else throws {@link IncompatibleSchemaError} — but
 * for a write that replaces every row (`replaceIncompatible`: an overwrite), which drops the table's
 * column and adds one of the data's type under the same name, with a new field id (no row of the
 * snapshot it commits holds the old one; older snapshots keep their schema). A new column named as
 * a table column but for case throws {@link ColumnCaseCollisionError}.
 * Table columns missing from the data stay, and are written as nulls (a required one is an error).
 * A column's `doc` is set when the data gives one that differs, and removed when it gives null.
 */
export function evolveSchema(
  tableName: string,
  current: IcebergSchema,
  lastColumnId: number,
  nextSchemaId: number,
  columns: ColumnSpec[],
  options: { replaceIncompatible?: boolean } = {},
): EvolvedSchema {
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw new ValidationError([{ path: `columns.${c.name}`, message: 'duplicate column name' }]);
    seen.add(c.name);
  }
  let fields: IcebergField[] = current.fields.map((f) => ({ ...f }));
  let identifierIds = current['identifier-field-ids'];
  const byName = new Map(fields.map((f) => [f.name, f]));
  let last = lastColumnId;
  let changed = false;
  const replaced: ReplacedColumn[] = [];
  for (const c of columns) {
    const type = normalizeType(c.type);
    const existing = byName.get(c.name);
    if (!existing) {
      const folded = c.name.toLowerCase();
      const twin = current.fields.find((f) => f.name.toLowerCase() === folded);
      if (twin) throw new ColumnCaseCollisionError(tableName, c.name, twin.name);
      last += 1;
      const field: IcebergField = { id: last, name: c.name, required: false, type };
      if (c.doc) field.doc = c.doc;
      fields.push(field);
      byName.set(c.name, field);
      changed = true;
    } else {
      if (existing.type !== type) {
        if (canPromote(existing.type, type)) {
          existing.type = type;
          changed = true;
        } else if (!canPromote(type, existing.type) && !(existing.type === 'string' && writesAsText(type) && !options.replaceIncompatible)) {
          if (!options.replaceIncompatible) throw new IncompatibleSchemaError(tableName, c.name, existing.type, type);
          last += 1;
          const field: IcebergField = { id: last, name: c.name, required: false, type };
          if (c.doc) field.doc = c.doc;
          fields = fields.map((f) => (f === existing ? field : f));
          identifierIds = identifierIds?.filter((id) => id !== existing.id);
          byName.set(c.name, field);
          replaced.push({ name: c.name, fromType: existing.type, toType: type, fieldId: last });
          changed = true;
          continue;
        }
      }
      if (c.doc === null && existing.doc !== undefined) {
        delete existing.doc;
        changed = true;
      } else if (typeof c.doc === 'string' && existing.doc !== c.doc) {
        existing.doc = c.doc;
        changed = true;
      }
    }
  }
  const missingRequired = current.fields.filter((f) => f.required && !seen.has(f.name));
  if (missingRequired.length > 0) {
    throw new ValidationError(
      missingRequired.map((f) => ({ path: `columns.${f.name}`, message: `${tableName}: required column ${f.name} (${f.type}) is missing from the data` })),
    );
  }
  if (!changed) return { schema: current, lastColumnId, changed: false, replaced };
  const schema: IcebergSchema = { type: 'struct', 'schema-id': nextSchemaId, fields };
  if (identifierIds) schema['identifier-field-ids'] = identifierIds;
  return { schema, lastColumnId: last, changed: true, replaced };
}

/** A first schema (id 0) for a new table: field ids 1..n in column order. */
export function initialSchema(columns: ColumnSpec[]): IcebergSchema {
  const empty: IcebergSchema = { type: 'struct', 'schema-id': 0, fields: [] };
  const evolved = evolveSchema('new table', empty, 0, 0, columns);
  return { ...evolved.schema, 'schema-id': 0 };
}
