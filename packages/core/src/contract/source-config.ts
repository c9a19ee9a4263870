import { z } from 'zod';

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
  .refine((c) => !nestsDeeperThan(c, SOURCE_CONFIG_MAX_DEPTH), `nested deeper than ${SOURCE_CONFIG_MAX_DEPTH} levels`);
