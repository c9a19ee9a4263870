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
export function fieldIssues(error: z.ZodError, prefix = '', input?: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const base = formatIssuePath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: join(prefix, join(base, key)), message: 'unknown field' });
    } else {
      // zod's words for a field left out are those of a wrong type or value ("expected string, received undefined").
      const leftOut = (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union') && isMissing(input, issue.path);
      out.push({ path: join(prefix, base) || 'body', message: leftOut ? 'is required' : issue.message });
    }
  }
  return out;
}

/** Whether `path` names a member an object of `input` lacks (a required field left out, not one of the wrong type). */
function isMissing(input: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return false;
  let at: unknown = input;
  for (const seg of path.slice(0, -1)) {
    if (typeof at !== 'object' || at === null) return false;
    at = (at as Record<PropertyKey, unknown>)[seg];
  }
  const last = path.at(-1);
  return typeof at === 'object' && at !== null && !Array.isArray(at) && last !== undefined && !Object.hasOwn(at, last);
}

/** Parses `input` with `schema`; a ValidationError listing every bad field otherwise. */
export function parseRequest<T extends z.ZodType>(schema: T, input: unknown, prefix = ''): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(fieldIssues(result.error, prefix, input));
}
