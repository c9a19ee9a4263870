import type { FieldIssue } from '@sluice/core';
import { valueAt } from '@sluice/core/secrets';
import { REDACTED } from '@sluice/logging';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Replaces the value at `path` (dot-separated, array positions as numbers) when there is one that is not null. */
function replaceAt(config: Record<string, unknown>, path: string, replace: (value: unknown) => unknown): void {
  const segs = path.split('.');
  const last = segs.pop();
  if (last === undefined) return;
  const parent = segs.length === 0 ? config : valueAt(config, segs.join('.'));
  if (isObject(parent) && parent[last] !== undefined && parent[last] !== null) parent[last] = replace(parent[last]);
  else if (Array.isArray(parent) && parent[Number(last)] !== undefined && parent[Number(last)] !== null) parent[Number(last)] = replace(parent[Number(last)]);
}

/** A copy of `config` with the value at every secret path (`findSecretPaths`) replaced by `**********`. */
export function maskSecrets(config: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
  const copy = structuredClone(config);
  for (const path of paths) replaceAt(copy, path, () => REDACTED);
  return copy;
}

/** Where `value` holds the string `**********`, as the request's field paths (`source_config.a.b[0]`). */
function masksIn(value: unknown, at: string): string[] {
  if (value === REDACTED) return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => masksIn(v, `${at}[${i}]`));
  if (isObject(value)) return Object.entries(value).flatMap(([k, v]) => masksIn(v, `${at}.${k}`));
  return [];
}

/**
 * A new `source_config` sent to replace a saved one, with each `**********` that stands where the
 * saved config has a secret given that secret's saved value — so that a client may send back the
 * config it read (masked) with only what it changes. A mask anywhere else cannot be resolved and
 * is an issue: storing it would hand the connector ten asterisks as a password.
 */
export function restoreMaskedSecrets(
  sent: Record<string, unknown>,
  saved: Record<string, unknown>,
  savedSecretPaths: readonly string[],
): { config: Record<string, unknown>; issues: FieldIssue[] } {
  const config = structuredClone(sent);
  for (const path of savedSecretPaths) {
    const kept = valueAt(saved, path);
    if (kept !== undefined && kept !== null) replaceAt(config, path, (v) => (v === REDACTED ? structuredClone(kept) : v));
  }
  const issues = masksIn(config, 'source_config').map((path) => ({
    path,
    message: `is ${REDACTED}, the mask GET shows for a saved secret, but the job has no saved secret here: send the value itself`,
  }));
  return { config, issues };
}
