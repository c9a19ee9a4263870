// What the generated Prisma client and the built flow UI were made from: a SHA-256 of their sources,
// written beside them when they are made (stamps), so that a start can tell when they are older than
// the checkout. `git pull && pnpm install` runs no install script when the lockfile did not change
// (pnpm answers "Already up to date"), and the old client then failed every task on the new schema
// (QA round 53a F1).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Every file under these paths (files or directories, relative to `base`) that `keep` keeps, in a stable order. */
function files(paths, base, keep) {
  const out = [];
  const walk = (p) => {
    if (!existsSync(p)) return;
    if (statSync(p).isDirectory()) for (const name of readdirSync(p).sort()) walk(path.join(p, name));
    else if (keep(p)) out.push(p);
  };
  for (const p of paths) walk(path.join(base, p));
  return out;
}

/** A file no bundle is built from: a test beside the sources (`*.test.ts`, `*.test.tsx`). */
export const notATest = (file) => !/\.test\.tsx?$/.test(file);

/** A SHA-256 of the files under `paths` (relative to `base`) that `keep` keeps: their names and contents. */
export function hashOf(paths, base = root, keep = () => true) {
  const h = createHash('sha256');
  for (const f of files(paths, base, keep)) h.update(path.relative(base, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

/** The Prisma client: made from the schema. */
export const prismaClient = {
  what: 'the Prisma client (packages/db/src/generated)',
  stamp: path.join(root, 'packages/db/src/generated/.sources-sha256'),
  sources: () => hashOf(['prisma/schema.prisma', 'prisma.config.ts']),
};

/** The flow UI's bundle: made from its sources and the core's (its types and state rules). */
export const uiBundle = {
  what: 'the flow UI (packages/ui/dist)',
  stamp: path.join(root, 'packages/ui/dist/.sources-sha256'),
  paths: ['packages/ui/src', 'packages/ui/public', 'packages/ui/index.html', 'packages/ui/vite.config.ts', 'packages/ui/package.json', 'packages/core/src'],
  sources: () => hashOf(uiBundle.paths, root, notATest),
};

/** Whether what `artifact` names was made from the sources as they are now. */
export function upToDate(artifact) {
  return existsSync(artifact.stamp) && readFileSync(artifact.stamp, 'utf8').trim() === artifact.sources();
}

/** Stamps what `artifact` names as made from sources of hash `made` (taken before it was made: an edit during the build leaves it stale). */
export function writeStamp(artifact, made) {
  writeFileSync(artifact.stamp, made + '\n');
}
