import type { FieldIssue } from '@sluice/core';
import { canonicalJson } from '@sluice/core/json';
import { valueAt } from '@sluice/core/secrets';
import { holdsMaskedInlinePassword, maskInlinePasswords, REDACTED } from '@sluice/logging';

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

/** `value` with each string in it (at any depth) given to `f`. */
function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return value;
}

/**
 * A copy of `config` with the value at every secret path (`findSecretPaths`) replaced by
 * `**********`, and the password written inside its other strings too — a URL's
 * (`postgres://user:**********@host/db`), a connection string's (`Server=db;Password=**********`) —
 * as the logs hide it. A boolean at a secret path is no
 * secret (true or false tells nothing a name does not) and keeps its type (QA round 37b F5: a
 * typed client read `"client_secret": true` back as a string).
 */
export function maskSecrets(config: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
  const copy = structuredClone(config);
  for (const path of paths) replaceAt(copy, path, (v) => (typeof v === 'boolean' ? v : REDACTED));
  return mapStrings(copy, maskInlinePasswords) as Record<string, unknown>;
}

/** Where `value` holds the string `**********` (alone, or as a URL's or connection string's password): each place's dot path (as secret paths are written) and field path (`source_config.a.b[0]`). */
function masksIn(value: unknown, dot: string, field: string): { dot: string; field: string }[] {
  const down = (k: string): string => (dot === '' ? k : `${dot}.${k}`);
  if (value === REDACTED || (typeof value === 'string' && holdsMaskedInlinePassword(value))) return [{ dot, field }];
  if (Array.isArray(value)) return value.flatMap((v, i) => masksIn(v, down(String(i)), `${field}[${i}]`));
  if (isObject(value)) return Object.entries(value).flatMap(([k, v]) => masksIn(v, down(k), `${field}.${k}`));
  return [];
}

/**
 * Whether each list entry on the way to `path` is sent back as GET showed it (`shown`), in a list
 * of the length it had: only then does a secret's place in a list say which secret it is. (An
 * entry removed before it would otherwise hand it the secret of the entry it moved into.)
 */
function sameListEntries(sent: Record<string, unknown>, shown: Record<string, unknown>, path: string): boolean {
  const segs = path.split('.');
  for (let j = 1; j < segs.length; j++) {
    const prefix = segs.slice(0, j).join('.');
    const list = valueAt(sent, prefix);
    if (!Array.isArray(list)) continue;
    const was = valueAt(shown, prefix);
    if (!Array.isArray(was) || was.length !== list.length) return false;
    const entry = `${prefix}.${segs[j] ?? ''}`;
    if (canonicalJson(valueAt(sent, entry)) !== canonicalJson(valueAt(shown, entry))) return false;
  }
  return true;
}

/**
 * The masks in a new job's `source_config`: a config copied from GET (secrets shown as
 * `**********`) has none of its secrets, and storing it would hand the connector the asterisks
 * as a password (QA round 48b D2: a create took it, where a PATCH refuses it).
 */
export function masksInNewConfig(config: Record<string, unknown>): FieldIssue[] {
  return masksIn(config, '', 'source_config').map(({ field }) => ({
    path: field,
    message: `holds ${REDACTED}, the mask GET shows in place of a saved secret; a new job has no saved secret to keep: send the value itself`,
  }));
}

/**
 * A new `source_config` sent to replace a saved one, with each `**********` that stands where the
 * saved config has a secret given that secret's saved value — so that a client may send back the
 * config it read (masked) with only what it changes. Inside a list, only an entry sent back as it
 * was shown keeps its secret. A mask anywhere else cannot be resolved and is an issue: storing it
 * would hand the connector ten asterisks as a password.
 */
export function restoreMaskedSecrets(
  sent: Record<string, unknown>,
  saved: Record<string, unknown>,
  savedSecretPaths: readonly string[],
): { config: Record<string, unknown>; issues: FieldIssue[] } {
  const config = structuredClone(sent);
  const shown = maskSecrets(saved, savedSecretPaths);
  // A URL or connection string sent back as GET showed it (its password masked) keeps its saved
  // password; one changed otherwise (another host, say) does not, as that would hand the saved
  // password to it, and is said so (QA round 29: "the job has no saved secret here", where it has one).
  const changedUrls = new Set<string>();
  for (const { dot: path } of masksIn(sent, '', '')) {
    const kept = valueAt(saved, path);
    const sentValue = valueAt(sent, path);
    if (sentValue === REDACTED || typeof kept !== 'string' || maskInlinePasswords(kept) === kept) continue;
    if (maskInlinePasswords(kept) === sentValue && sameListEntries(sent, shown, path)) replaceAt(config, path, () => kept);
    else changedUrls.add(path);
  }
  const moved = new Set<string>();
  for (const path of savedSecretPaths) {
    const kept = valueAt(saved, path);
    if (kept === undefined || kept === null || valueAt(sent, path) !== REDACTED) continue;
    if (sameListEntries(sent, shown, path)) replaceAt(config, path, () => structuredClone(kept));
    else moved.add(path);
  }
  const issues = masksIn(config, '', 'source_config').map(({ dot, field }) => ({
    path: field,
    message: moved.has(dot)
      ? `is ${REDACTED}, but its list entry is not sent back as GET shows it (an entry was added, removed or changed before it, or it was): send the secret itself`
      : changedUrls.has(dot)
        ? `holds the mask of the saved password written in it, but it differs from the saved value beyond it (a URL's host, port, user or path; a connection string's other settings): the saved password is kept only for the value GET shows, so send this one's password itself`
        : `is ${REDACTED}, the mask GET shows for a saved secret, but the job has no saved secret here: send the value itself`,
  }));
  return { config, issues };
}
