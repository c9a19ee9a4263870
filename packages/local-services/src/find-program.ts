import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Finds an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** PostgreSQL's server programs live outside PATH on Debian: /usr/lib/postgresql/<major>/bin. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((d) => existsSync(path.join(root, d, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return path.join(root, majors[0], 'bin');
  }
  const initdb = which('initdb');
  return initdb ? path.dirname(initdb) : undefined;
}
