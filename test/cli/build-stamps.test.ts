/**
 * `pnpm start` and `pnpm sluice` make the Prisma client and the flow UI again when the checkout's
 * sources changed since they were made (QA round 53a F1: after `git pull && pnpm install`, which
 * installed nothing and so ran no install script, the old client failed every task on the new
 * schema). The install stamps what it made; a changed source makes the stamp stale.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { testEnv } from '../support/env.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const stamps = path.join(root, 'scripts/build-stamps.mjs');

/** Runs an ES module body with build-stamps.mjs imported as `s`; answers what it printed. */
function withStamps(body: string): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as s from ${JSON.stringify(stamps)};\n${body}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test("the install stamped the client and the UI it made, and a start then makes neither again", () => {
  // Out of date in a checkout whose sources were edited since: `node scripts/ensure-built.mjs` makes them again.
  assert.equal(withStamps('console.log(s.upToDate(s.prismaClient), s.upToDate(s.uiBundle))'), 'true true', 'stale: run node scripts/ensure-built.mjs');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/ensure-built.mjs')], { encoding: 'utf8' });
  assert.deepEqual([r.status, r.stderr], [0, '']);
});

test('a changed source makes the stamp stale; a stamp written after it is current', () => {
  const dir = mkdtempSync(path.join(testEnv.tmpDir, 'stamps-'));
  writeFileSync(path.join(dir, 'schema.prisma'), 'model A { id Int @id }\n');
  const artifact = `{ stamp: ${JSON.stringify(path.join(dir, 'stamp'))}, sources: () => s.hashOf(['schema.prisma'], ${JSON.stringify(dir)}) }`;
  assert.equal(withStamps(`const a = ${artifact}; console.log(s.upToDate(a)); s.writeStamp(a, a.sources()); console.log(s.upToDate(a));`), 'false\ntrue');
  writeFileSync(path.join(dir, 'schema.prisma'), 'model A { id Int @id\n name String }\n');
  assert.equal(withStamps(`console.log(s.upToDate(${artifact}))`), 'false');
});

test("a test beside the UI's or the core's sources is not one of the bundle's: editing it leaves the UI's stamp current", () => {
  const dir = mkdtempSync(path.join(testEnv.tmpDir, 'stamps-'));
  writeFileSync(path.join(dir, 'rules.ts'), 'export const a = 1;\n');
  writeFileSync(path.join(dir, 'rules.test.ts'), 'a test\n');
  const hash = `s.hashOf(['.'], ${JSON.stringify(dir)}, s.notATest)`;
  const before = withStamps(`console.log(${hash})`);
  writeFileSync(path.join(dir, 'rules.test.ts'), 'a test, edited\n');
  assert.equal(withStamps(`console.log(${hash})`), before);
  writeFileSync(path.join(dir, 'rules.ts'), 'export const a = 2;\n');
  assert.notEqual(withStamps(`console.log(${hash})`), before);
  // The UI's stamp is taken so: its hash is not that of every file under its paths, which hold
  // the core's tests (their edits made the next start build the UI again).
  assert.ok(existsSync(path.join(root, 'packages/core/src/contract/create-ingest-job.test.ts')));
  assert.equal(withStamps('console.log(s.uiBundle.sources() === s.hashOf(s.uiBundle.paths))'), 'false');
});
