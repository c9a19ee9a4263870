import { formatIssuePath } from '@sluice/core/contract';
import { findInJson } from '@sluice/core/json';

/**
 * The path of the first member named `__proto__` in a parsed JSON body (`source_config.__proto__`),
 * or null. JSON.parse keeps such a member as data, but a JavaScript object it is copied into takes
 * it as its prototype: the request's parsing dropped it without a word (QA round 48b O11: a
 * source_config member of that name vanished).
 */
export function protoKeyPath(body: unknown): string | null {
  const proto = findInJson(body, (_v, key) => (key === '__proto__' ? true : null));
  return proto === null ? null : formatIssuePath(proto.path);
}
