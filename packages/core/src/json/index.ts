/**
 * JSON with every object's keys sorted, so that two equal values give one text whatever order
 * their keys came in (a request's, PostgreSQL jsonb's, a file's).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * The first node of a parsed JSON value, depth first, that `check` says something of, with its path
 * (`["a", 0, "b"]`): `check` is given each node with the key or index it sits at (null for the
 * value itself). Iterative, so a value of any depth is safe to walk; each node keeps its parent,
 * not a copy of its path, so a deep value costs one pass.
 */
export function findInJson<T>(value: unknown, check: (v: unknown, key: string | number | null) => T | null): { path: (string | number)[]; found: T } | null {
  type Node = { v: unknown; key: string | number | null; parent: Node | null };
  const pathOf = (n: Node): (string | number)[] => {
    const out: (string | number)[] = [];
    for (let at: Node | null = n; at !== null && at.key !== null; at = at.parent) out.unshift(at.key);
    return out;
  };
  const stack: Node[] = [{ v: value, key: null, parent: null }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const found = check(node.v, node.key);
    if (found !== null) return { path: pathOf(node), found };
    const { v } = node;
    if (v === null || typeof v !== 'object') continue;
    const parent = node;
    if (Array.isArray(v)) v.forEach((child: unknown, i) => stack.push({ v: child, key: i, parent }));
    else for (const [key, child] of Object.entries(v)) stack.push({ v: child, key, parent });
  }
  return null;
}

/**
 * Where a JSON value holds the NUL character (U+0000), in a string or a key, which PostgreSQL's
 * jsonb and text cannot store: its path, written with the NUL shown as `\u0000`
 * (`streams[0].json_schema.properties.a\u0000b`); null when nowhere.
 */
export function nulPath(value: unknown): string | null {
  const found = findInJson(value, (v, key) => ((typeof key === 'string' && key.includes('\u0000')) || (typeof v === 'string' && v.includes('\u0000')) ? true : null));
  if (found === null) return null;
  let out = '';
  for (const seg of found.path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out.replaceAll('\u0000', '\\u0000') || '(the value itself)';
}
