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

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * Sluice's words for zod's common issues, where a schema gives none of its own (QA round 29: "Invalid
 * input: expected number, received NaN" for `?try=abc`): what the value must be, never the value.
 * Undefined leaves zod's own.
 */
export function issueWording(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const input = issue.input;
      // A record (source_config) is a JSON object too (QA round 37b F7: "expected record, received string").
      const expected = issue.expected === 'record' ? 'object' : issue.expected;
      if (expected === 'number' && typeof input === 'number' && Number.isNaN(input)) return 'must be a number';
      if (expected === 'int') return 'must be a whole number';
      if (expected === 'object' && Array.isArray(input)) return 'must be a JSON object, not an array';
      if (expected === 'object' && input === null) return 'must be a JSON object, not null';
      if (expected === 'array') return 'must be an array';
      if (['string', 'number', 'boolean', 'object'].includes(expected)) return `must be a ${expected === 'object' ? 'JSON object' : expected}`;
      return undefined;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'number') return issue.inclusive === false ? `must be more than ${min}` : `must be ${min} or more`;
      if (issue.origin === 'string') return min === 1 ? 'must not be empty' : `must have at least ${plural(min, 'character')}`;
      if (issue.origin === 'array') return min === 1 ? 'must not be empty' : `must have at least ${plural(min, 'item')}`;
      return undefined;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'number') return issue.inclusive === false ? `must be less than ${max}` : `must be ${max} or less`;
      if (issue.origin === 'string') return `must have at most ${plural(max, 'character')}`;
      if (issue.origin === 'array') return `must have at most ${plural(max, 'item')}`;
      return undefined;
    }
    case 'invalid_format':
      return issue.format === 'uuid' ? 'must be a UUID' : undefined;
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return undefined;
  }
}

/** Parses `input` with `schema`; a ValidationError listing every bad field otherwise. */
export function parseRequest<T extends z.ZodType>(schema: T, input: unknown, prefix = ''): z.output<T> {
  const result = schema.safeParse(input, { error: issueWording });
  if (result.success) return result.data;
  throw new ValidationError(fieldIssues(result.error, prefix, input));
}
