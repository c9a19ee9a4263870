/**
 * The path of the first member named `__proto__` in a parsed JSON body (`source_config.__proto__`),
 * or null. JSON.parse keeps such a member as data, but a JavaScript object it is copied into takes
 * it as its prototype: the request's parsing dropped it without a word (QA round 48b O11: a
 * source_config member of that name vanished). Iterative: a body may nest deep.
 */
export function protoKeyPath(body: unknown): string | null {
  type Node = { v: unknown; path: string };
  const stack: Node[] = [{ v: body, path: '' }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { v, path } = top;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      v.forEach((child: unknown, i) => stack.push({ v: child, path: `${path}[${i}]` }));
      continue;
    }
    for (const [key, child] of Object.entries(v)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (key === '__proto__') return at;
      stack.push({ v: child, path: at });
    }
  }
  return null;
}
