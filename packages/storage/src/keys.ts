import { ValidationError } from '@sluice/core';

/**
 * Checks that a key is relative, '/'-separated and free of '.' / '..' segments, so that no key
 * can name anything outside the store's root (on file:// that would be a path traversal).
 */
export function assertKey(key: string, what = 'key'): void {
  const bad = (message: string): never => {
    throw new ValidationError([{ path: what, message: `${message}: ${JSON.stringify(key)}` }]);
  };
  if (key.length === 0) bad('must not be empty');
  if (key.startsWith('/')) bad('must be relative (no leading "/")');
  if (key.includes('\\') || key.includes('\0')) bad('must not contain "\\" or NUL');
  for (const segment of key.split('/')) {
    if (segment === '.' || segment === '..') bad('must not contain "." or ".." segments');
  }
}

/** Like {@link assertKey} but also accepts '' (the whole store) and a trailing '/'. */
export function assertPrefix(prefix: string): void {
  if (prefix === '') return;
  assertKey(prefix.endsWith('/') ? prefix.slice(0, -1) || 'x' : prefix, 'prefix');
}

/**
 * The keys of a listing, read whole first (deleting or moving while listing could skip or repeat
 * an object), with `last` apart: `others` in listing order, and `last` when it was listed.
 */
export async function keysWithLast(objects: AsyncIterable<{ key: string }>, last: string | undefined): Promise<{ others: string[]; last: string | undefined }> {
  const others: string[] = [];
  let found: string | undefined;
  for await (const { key } of objects) {
    if (key === last) found = key;
    else others.push(key);
  }
  return { others, last: found };
}

/**
 * A store's `movePrefix`: moves each object listed under `from` with `moveOne(key, targetKey)`,
 * the key `last` after every other. Answers how many.
 */
export async function movePrefixBy(
  objects: AsyncIterable<{ key: string }>,
  prefixes: { from: string; to: string; last: string | undefined },
  moveOne: (key: string, targetKey: string) => Promise<void>,
): Promise<number> {
  assertPrefix(prefixes.to);
  const { others, last } = await keysWithLast(objects, prefixes.last);
  const keys = last === undefined ? others : [...others, last];
  for (const key of keys) await moveOne(key, prefixes.to + key.slice(prefixes.from.length));
  return keys.length;
}

/** The URI of `key` in a store whose root is `rootUrl` (no trailing '/'). */
export function uriOfKey(rootUrl: string, key: string): string {
  assertKey(key);
  return `${rootUrl}/${key}`;
}

/**
 * The key of `uri` in a store whose root is `rootUrl`; `decode` undoes the scheme's escaping
 * (file:// URLs are percent-encoded). A URI outside the root is a ValidationError.
 */
export function keyOfUri(rootUrl: string, uri: string, decode: (raw: string) => string = (raw) => raw): string {
  const prefix = `${rootUrl}/`;
  if (!uri.startsWith(prefix)) {
    throw new ValidationError([{ path: 'uri', message: `${uri} is not under the store root ${rootUrl}` }]);
  }
  const key = decode(uri.slice(prefix.length));
  assertKey(key);
  return key;
}
