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
 * A store's `movePrefix`: lists every object under `fromPrefix` first (moving while listing could
 * list a moved object again), then moves each with `moveOne(key, targetKey)`, the key `last` after
 * every other. Answers how many.
 */
export async function movePrefixBy(
  objects: AsyncIterable<{ key: string }>,
  fromPrefix: string,
  toPrefix: string,
  moveOne: (key: string, targetKey: string) => Promise<void>,
  last?: string,
): Promise<number> {
  assertPrefix(toPrefix);
  const keys: string[] = [];
  let lastFound = false;
  for await (const obj of objects) {
    if (obj.key === last) lastFound = true;
    else keys.push(obj.key);
  }
  if (lastFound && last !== undefined) keys.push(last);
  for (const key of keys) await moveOne(key, toPrefix + key.slice(fromPrefix.length));
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
