import type { z } from 'zod';
import { ValidationError, type FieldIssue } from '../errors/index.ts';

/** `['column_transformations', 1, 'stream']` → `column_transformations[1].stream`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function join(prefix: string, path: string): string {
  if (prefix === '') return path;
  if (path === '') return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}

/**
 * zod issues as Sluice field issues: one per bad field, unknown keys one each
 * (`foo: unknown field`). Messages never quote the rejected value, so secrets cannot leak.
 * An issue with the input as a whole (a JSON array posted for an object) is named `body`: only a
 * request body can be the wrong kind of value, queries and path parameters are always strings.
 */
export function fieldIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const base = formatIssuePath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: join(prefix, join(base, key)), message: 'unknown field' });
    } else {
      out.push({ path: join(prefix, base) || 'body', message: issue.message });
    }
  }
  return out;
}

/** Parses `input` with `schema`; a ValidationError listing every bad field otherwise. */
export function parseRequest<T extends z.ZodType>(schema: T, input: unknown, prefix = ''): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(fieldIssues(result.error, prefix));
}
