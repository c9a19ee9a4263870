/**
 * docker/: no Docker engine runs here, so the compose file is checked with compose-go — the
 * library `docker compose config` itself uses — built from test/docker/compose-validate with the
 * machine's Go; and the Dockerfile is checked to install the same workspace the README does.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { testEnv } from '../support/env.ts';

const root = path.resolve(import.meta.dirname, '../..');
const compose = path.join(root, 'docker/compose.yml');
const validator = path.join(testEnv.tmpDir, 'compose-validate');
const go = spawnSync('go', ['version']).status === 0;

before(() => {
  if (!go) return;
  execFileSync('go', ['build', '-o', validator, '.'], { cwd: path.join(import.meta.dirname, 'compose-validate'), stdio: 'pipe' });
});

function validate(file: string, env: Record<string, string | undefined>): { status: number | null; out: string } {
  const r = spawnSync(validator, [file], { env: { PATH: process.env['PATH'], ...env }, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the compose file is a valid Compose project with PostgreSQL, Redis, S3, api, scheduler and two runners', { skip: go ? false : 'no Go toolchain to build the compose validator' }, () => {
  const r = validate(compose, { SLUICE_MASTER_KEY: 'bWFzdGVyLWtleS1mb3ItY29tcG9zZS12YWxpZGF0aW9u' });
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(r.out.trim().split('\n').sort(), ['api', 'migrate', 'minio', 'minio-init', 'postgres', 'redis', 'runner-1', 'runner-2', 'scheduler']);
});

test('the validator rejects what docker compose rejects: a missing required variable, a bad depends_on condition', { skip: go ? false : 'no Go toolchain' }, () => {
  const missing = validate(compose, {});
  assert.notEqual(missing.status, 0);
  assert.match(missing.out, /required variable SLUICE_MASTER_KEY is missing/);
  const bad = path.join(testEnv.tmpDir, 'bad-compose.yml');
  writeFileSync(bad, readFileSync(compose, 'utf8').replace('condition: service_healthy', 'condition: service_happy'));
  const r = validate(bad, { SLUICE_MASTER_KEY: 'x' });
  assert.notEqual(r.status, 0);
  assert.match(r.out, /condition value must be one of/);
});

test('the Dockerfile installs the README\'s workspace from the frozen lockfile, and everything it copies exists', () => {
  const dockerfile = readFileSync(path.join(root, 'docker/Dockerfile'), 'utf8');
  assert.match(dockerfile, /RUN pnpm install --frozen-lockfile/);
  const pnpmVersion = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { packageManager: string }).packageManager.split('@')[1];
  assert.match(dockerfile, new RegExp(`pnpm@${pnpmVersion?.replace(/\./g, '\\.') ?? 'x'}`), 'the image pins the pnpm of packageManager');
  const copied = [...dockerfile.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
  assert.ok(copied.includes('packages') && copied.includes('prisma') && copied.includes('pnpm-lock.yaml'));
  for (const p of copied) assert.ok(existsSync(path.join(root, p)), `COPY ${p}: missing from the repository`);
  for (const cmd of ['api', 'scheduler', 'runner', 'migrate']) {
    assert.match(readFileSync(path.join(root, 'packages/cli/src/main.ts'), 'utf8'), new RegExp(`case '${cmd}':`), `the image's command ${cmd} exists`);
  }
});
