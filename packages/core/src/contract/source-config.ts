import { z } from 'zod';
import { findInJson } from '../json/index.ts';

/**
 * How deeply `source_config` may nest: the object itself is level 1, each object or array inside
 * it one more. Connector configs are shallow (a handful of levels: credentials in a oneOf, a list
 * of hosts); the limit keeps sealing, masking and answering the config (all recursive) clear of
 * the stack limit, and answers nestable by any JSON client.
 */
export const SOURCE_CONFIG_MAX_DEPTH = 64;

/** Whether `value` nests objects or arrays deeper than `limit` levels; iterative, so any depth is safe to ask about. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 1 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { v, depth } = top;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? (v as unknown[]) : Object.values(v)) stack.push({ v: child, depth: depth + 1 });
  }
  return false;
}

/**
 * `source_config`: the connector's configuration, any JSON object nested at most
 * {@link SOURCE_CONFIG_MAX_DEPTH} levels. Checked here, before anything recursive (secret paths,
 * sealing) walks it. Its strings are not text fields: the whole value is stored encrypted.
 */
export const sourceConfig = z
  .record(z.string(), z.unknown())
  .superRefine((c, ctx) => {
    // The depth first: a value too deep is said by that alone.
    if (nestsDeeperThan(c, SOURCE_CONFIG_MAX_DEPTH)) {
      ctx.addIssue({ code: 'custom', message: `nested deeper than ${SOURCE_CONFIG_MAX_DEPTH} levels` });
      return;
    }
    const bad = unkeptValue(c);
    if (bad) ctx.addIssue({ code: 'custom', path: bad.path, message: bad.message });
  });

/**
 * The first place in a parsed JSON value that Sluice would not keep as the client sent it (QA round
 * 43a): a key with the NUL character, which PostgreSQL's text cannot hold where a run names the key
 * (its warnings, its log); an integer beyond ±2^53, which JSON.parse has already rounded (an int64 id
 * or cursor would silently point elsewhere); a number beyond a double's range, which JSON.parse has
 * made ±Infinity (stored and sent on as null). Iterative; call it after the depth check.
 */
export function unkeptValue(value: unknown): { path: (string | number)[]; message: string } | null {
  const unkept = findInJson(value, (v, key) => {
    if (typeof key === 'string' && key.includes('\u0000')) return 'a key must not contain the NUL character (U+0000)';
    // JSON.parse reads 1e400 as Infinity, which JSON.stringify writes as null: the connector would
    // get null for it (QA round 55c F3).
    if (typeof v === 'number' && !Number.isFinite(v)) {
      return `a number beyond what a JSON number holds (about ±1.8e308): it became ${v} on the way in, and would reach the connector as null; send a smaller number, or a string`;
    }
    if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) {
      return `${v} is beyond the integers a JSON number keeps exactly (±2^53): it was rounded on the way in; send it as a string`;
    }
    return null;
  });
  return unkept === null ? null : { path: unkept.path, message: unkept.found };
}
