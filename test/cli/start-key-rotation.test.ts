/**
 * A master key rotation in a checkout that `pnpm start` runs, as docs/encryption.md ("With pnpm
 * start") tells it: the new key replaces `./.sluice/master.key`, one start with the old key in
 * SLUICE_MASTER_KEY_PREVIOUS seals everything again, and afterwards a plain start and
 * `pnpm sluice decryption-keys` take the new key from the file. A start given SLUICE_MASTER_KEY
 * other than the file's says so (QA round 53b F1: after a rotation run with the variable, the file
 * kept the old key, a plain start took it and every run failed, and the command refused).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { EncryptionKeyStore, MasterKeyring } from '@sluice/crypto';
import { freePort } from '@sluice/local-services';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testEnv } from '../support/env.ts';

const root = path.resolve(import.meta.dirname, '../..');
const tsxLoader = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const main = path.join(root, 'packages/cli/src/main.ts');
let db: TestDatabase;
let checkout: string;

before(async () => {
  db = await createTestDatabase();
  checkout = mkdtempSync(path.join(testEnv.tmpDir, 'key-rotation-'));
  chmodSync(checkout, 0o755);
});
after(async () => {
  await db.drop();
  rmSync(checkout, { recursive: true, force: true });
});

/** What every command here is given: the test's PostgreSQL and Redis, the rest left to the checkout. */
const baseEnv = (): Record<string, string> => ({
  PATH: process.env['PATH'] ?? '',
  HOME: process.env['HOME'] ?? '/root',
  DATABASE_URL: db.url,
  REDIS_URL: testEnv.redisUrl,
  SLUICE_QUEUE_PREFIX: `key-rotation-${randomBytes(4).toString('hex')}`,
  SLUICE_LOG_FORMAT: 'json',
});

/** `sluice start` in the checkout with `env` added, until it says it is up; then stopped (SIGTERM), and what it printed answered. */
async function startUntilUp(env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, ['--import', tsxLoader, main, 'start'], { cwd: checkout, env: { ...baseEnv(), SLUICE_PORT: String(await freePort()), ...env } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const deadline = Date.now() + 90_000;
  while (!out.includes('Sluice is up') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
  assert.ok(out.includes('Sluice is up'), out);
  return out;
}

function decryptionKeys(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', tsxLoader, main, 'decryption-keys', 'pii'], { cwd: checkout, env: baseEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const warningsOf = (out: string): string[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; message: string })
    .filter((l) => l.level === 'warn')
    .map((l) => l.message);

test("a rotation done as the doc says for pnpm start: the file holds the new key, and a plain start and decryption-keys work on it; a start given another key than the file's says so", { timeout: 240_000 }, async () => {
  const home = path.join(checkout, '.sluice');
  mkdirSync(home);
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  writeFileSync(path.join(home, 'master.key'), `${oldKey}\n`, { mode: 0o600 });
  // A named key sealed with the old master key, as the checkout's API made it before the rotation.
  await new EncryptionKeyStore(db.prisma, MasterKeyring.fromBase64(oldKey)).create('pii', null);

  // The doc's steps: keep the old key aside, the new one in the file, one start with the old as previous.
  renameSync(path.join(home, 'master.key'), path.join(home, 'master.key.previous'));
  writeFileSync(path.join(home, 'master.key'), `${newKey}\n`, { mode: 0o600 });
  const rotating = await startUntilUp({ SLUICE_MASTER_KEY_PREVIOUS: oldKey });
  assert.match(rotating, /master key rotation: sealed 0 source configs and 1 encryption key version again with the active SLUICE_MASTER_KEY/);
  assert.deepEqual(warningsOf(rotating).filter((m) => /master key/i.test(m)), [], 'the rotating start warns of no key');
  rmSync(path.join(home, 'master.key.previous'));

  // Then plainly: the file's key opens everything, and the command takes it too.
  const plain = await startUntilUp({});
  assert.deepEqual(warningsOf(plain).filter((m) => /master key|SLUICE_MASTER_KEY/.test(m)), [], plain);
  const keys = await decryptionKeys();
  assert.equal(keys.code, 0, keys.stderr);
  assert.deepEqual((JSON.parse(keys.stdout) as { versions: { version: number }[] }).versions.map((v) => v.version), [1]);

  // A start given the variable with another key than the file's (a rotation done with the variable
  // alone): it says the file's key is another, which a plain start and the command would take.
  const other = await startUntilUp({ SLUICE_MASTER_KEY: oldKey, SLUICE_MASTER_KEY_PREVIOUS: newKey });
  const said = warningsOf(other).filter((m) => m.startsWith('SLUICE_MASTER_KEY is set and is not the key in'));
  assert.equal(said.length, 1, other);
  assert.ok(said[0]?.includes(path.join(home, 'master.key')), said[0]);
  assert.ok(!other.includes(oldKey) && !other.includes(newKey), 'no key is said');
  // The same key in both: nothing said.
  const same = await startUntilUp({ SLUICE_MASTER_KEY: newKey });
  assert.deepEqual(warningsOf(same).filter((m) => m.startsWith('SLUICE_MASTER_KEY is set')), []);
});
