import { z } from 'zod';
import { CAST_TYPES, type ColumnTransformation } from '../pipeline/index.ts';
import { sourceIdentifier, text } from './text.ts';

export const TRANSFORMATION_TYPES = ['rename', 'encrypt', 'cast', 'drop'] as const;

/** A source column, as the source names it (not trimmed: {@link sourceIdentifier}). */
const columnName = sourceIdentifier.max(255, 'must be at most 255 characters');

/**
 * A column name Sluice creates (`new_name`): letters of any script, digits and `_`, not starting
 * with a digit — a name Spark, Trino and PyIceberg address without quoting, where a "." would read
 * as a field of a struct. Source columns (`column`) are taken as the source names them.
 */
const newColumnName = columnName.regex(
  /^[\p{L}_][\p{L}\p{N}_]*$/u,
  'must be a plain column name: letters, digits and "_", not starting with a digit (e.g. "customer_email"), as a "." would read as a nested field in Spark, Trino and PyIceberg',
);

/**
 * One entry of `column_transformations`, in either form the contract knows:
 *
 * - the seed contract's: `{column, stream?, new_name?, encryption_key_name?}` — rename and/or
 *   encrypt; at least one of `new_name`, `encryption_key_name`;
 * - the platform's: `{column, stream?, transformation_type: rename|encrypt|cast|drop, …}` —
 *   `rename` needs `new_name`, `encrypt` needs `encryption_key_name`, `cast` needs `target_type`
 *   (one of {@link CAST_TYPES}), `drop` takes nothing else;
 * - the one jobs are shown in (so a GET answer can be posted back): `{column, stream, new_name,
 *   encryption_key_name, target_type, drop}`, nulls allowed — `drop: true` alone, or at least one
 *   of the other three.
 *
 * `stream` absent or null = every selected stream that has the column. Unknown fields are rejected.
 */
export const columnTransformationInput = z
  .strictObject({
    column: columnName.describe('source column (top-level field of the stream record)'),
    stream: sourceIdentifier.nullish().describe(
      "stream it targets; null = every selected stream with the column (when the source's catalog can be read at create, some selected stream must have it)",
    ),
    new_name: newColumnName.nullish().describe('rename the column to this: letters, digits and "_", not starting with a digit'),
    encryption_key_name: text.trim().min(1, 'must not be empty').nullish().describe('encrypt the column with this named key (POST /api/encryption-keys)'),
    transformation_type: z.enum(TRANSFORMATION_TYPES).nullish().describe("the platform's form: what this transformation does"),
    target_type: z.enum(CAST_TYPES).nullish().describe('the Iceberg type to cast to (transformation_type cast, or the form jobs are shown in)'),
    drop: z.boolean().nullish().describe('the form jobs are shown in: true drops the column (as transformation_type drop)'),
  })
  .superRefine((t, ctx) => {
    const has = (v: string | boolean | null | undefined): boolean => v !== undefined && v !== null;
    if (has(t.transformation_type) && t.drop === true) {
      ctx.addIssue({ code: 'custom', path: ['drop'], message: 'give transformation_type or drop, not both' });
      return;
    }
    switch (t.transformation_type ?? null) {
      case null:
        // The seed contract's form, or the one jobs are shown in (GET answers can be posted back).
        if (t.drop === true) {
          for (const f of ['new_name', 'encryption_key_name', 'target_type'] as const) {
            if (has(t[f])) ctx.addIssue({ code: 'custom', path: [f], message: 'a dropped column cannot also be renamed, encrypted or cast' });
          }
        } else if (!has(t.new_name) && !has(t.encryption_key_name) && !has(t.target_type)) {
          ctx.addIssue({ code: 'custom', path: [], message: 'needs new_name, encryption_key_name or target_type (or a transformation_type, or drop)' });
        }
        break;
      case 'rename':
        if (!has(t.new_name)) ctx.addIssue({ code: 'custom', path: ['new_name'], message: 'required for transformation_type "rename"' });
        if (has(t.target_type)) ctx.addIssue({ code: 'custom', path: ['target_type'], message: 'only with transformation_type "cast"' });
        break;
      case 'encrypt':
        if (!has(t.encryption_key_name)) {
          ctx.addIssue({ code: 'custom', path: ['encryption_key_name'], message: 'required for transformation_type "encrypt"' });
        }
        if (has(t.target_type)) ctx.addIssue({ code: 'custom', path: ['target_type'], message: 'only with transformation_type "cast"' });
        break;
      case 'cast':
        if (!has(t.target_type)) ctx.addIssue({ code: 'custom', path: ['target_type'], message: 'required for transformation_type "cast"' });
        break;
      case 'drop':
        for (const f of ['new_name', 'encryption_key_name', 'target_type'] as const) {
          if (has(t[f])) ctx.addIssue({ code: 'custom', path: [f], message: 'a dropped column cannot also be renamed, encrypted or cast' });
        }
        break;
    }
  });

export type ColumnTransformationInput = z.output<typeof columnTransformationInput>;

/** The one stored form the transform task reads (see core/pipeline's planStreamColumns). */
export function normalizeColumnTransformation(t: ColumnTransformationInput): ColumnTransformation {
  return {
    column: t.column,
    stream: t.stream ?? null,
    newName: t.new_name ?? null,
    encryptionKeyName: t.encryption_key_name ?? null,
    castTo: t.target_type ?? null,
    drop: t.transformation_type === 'drop' || t.drop === true,
  };
}

/** The stored form shown back to clients (snake_case, every field present). */
export const columnTransformationView = z.object({
  column: z.string(),
  stream: z.string().nullable(),
  new_name: z.string().nullable(),
  encryption_key_name: z.string().nullable(),
  target_type: z.enum(CAST_TYPES).nullable(),
  drop: z.boolean(),
});
export type ColumnTransformationView = z.output<typeof columnTransformationView>;

export function columnTransformationToView(t: ColumnTransformation): ColumnTransformationView {
  return {
    column: t.column,
    stream: t.stream,
    new_name: t.newName,
    encryption_key_name: t.encryptionKeyName,
    target_type: t.castTo,
    drop: t.drop,
  };
}
