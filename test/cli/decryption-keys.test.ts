/**
 * `sluice decryption-keys <name>` gives a reader of the tables what it needs to decrypt the
 * columns a named key encrypts, every version of it, and nothing else: Python's `cryptography`
 * decrypts randomized and deterministic values of two key versions with only its output and
 * docs/encryption.md's recipe. Each use is recorded on the key before anything is printed. A key
 * that does not exist is one line and exit 1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { EncryptionKeyStore, MasterKeyring, sealSourceConfig } from '@sluice/crypto';
import { createPrismaClient, migrate } from '@sluice/db';
import { freePort, startPostgres } from '@sluice/local-services';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testEnv } from '../support/env.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const main = path.resolve(here, '../../packages/cli/src/main.ts');
const masterKey = randomBytes(32).toString('base64');
let db: TestDatabase;

before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db.drop();
});

function run(command: string, args: string[], env: Record<string, string>, stdin = '', cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], ...(cwd === undefined ? {} : { cwd }) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const sluice = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', main, ...args], { DATABASE_URL: db.url, SLUICE_MASTER_KEY: masterKey, SLUICE_LOG_FORMAT: 'json' });

test("a reader decrypts every version's values with the printed keys and Python's cryptography", { timeout: 60_000 }, async () => {
  const keys = new EncryptionKeyStore(db.prisma, MasterKeyring.fromBase64(masterKey));
  await keys.create('pii', null);
  const v1 = await keys.loadCipher('pii');
  const written = [v1.encrypt('alice@example.com'), v1.encrypt('42', 'deterministic')];
  await keys.rotate('pii');
  const v2 = await keys.loadCipher('pii');
  written.push(v2.encrypt('bob@example.com'), v2.encrypt('2024-03-10 02:30:00.123456+00', 'deterministic'), v2.encrypt('é😀'));

  const r = await sluice(['decryption-keys', 'pii']);
  assert.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as { key: string; active_version: number; versions: { version: number; aes_256_gcm_key: string }[] };
  assert.equal(printed.key, 'pii');
  assert.equal(printed.active_version, 2);
  assert.deepEqual(printed.versions.map((v) => v.version), [1, 2]);
  assert.match(r.stderr, /decryption keys of encryption key pii \(versions 1, 2\) were written to stdout/, 'each use is logged');
  const recorded = (await keys.get('pii')).disclosures;
  assert.equal(recorded.length, 1, 'each use is recorded on the key');
  assert.deepEqual(recorded[0]?.versions, [1, 2]);
  assert.equal(recorded[0]?.disclosedBy, `${os.userInfo().username}@${os.hostname()}`);

  const py = await run(process.env['SLUICE_TEST_PYTHON'] ?? 'python3', [path.join(here, 'decrypt_values.py')], {}, JSON.stringify({ keys: printed, values: written }));
  assert.equal(py.code, 0, py.stderr);
  assert.deepEqual(JSON.parse(py.stdout), ['alice@example.com', '42', 'bob@example.com', '2024-03-10 02:30:00.123456+00', 'é😀']);
});

test('a key that does not exist, no key name, or another master key: one line each, nothing on stdout', { timeout: 60_000 }, async () => {
  const r = await sluice(['decryption-keys', 'nope']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), 'sluice: encryption key nope not found');
  assert.equal(r.stdout, '');
  const bare = await sluice(['decryption-keys']);
  assert.equal(bare.code, 2);
  assert.equal(bare.stderr.trim(), 'usage: sluice decryption-keys <encryption key name>   (e.g. sluice decryption-keys pii)');
  const other = await run(process.execPath, ['--import', 'tsx', main, 'decryption-keys', 'pii'], {
    DATABASE_URL: db.url,
    SLUICE_MASTER_KEY: randomBytes(32).toString('base64'),
    SLUICE_LOG_FORMAT: 'json',
  });
  assert.equal(other.code, 1);
  assert.match(other.stderr.trim(), /^sluice: SLUICE_MASTER_KEY: cannot open encryption key pii: sealed with master key \w+, which this process does not hold/);
  assert.ok(!other.stderr.includes('    at '), 'no stack trace');
  assert.equal(other.stdout, '');
  const keys = new EncryptionKeyStore(db.prisma, MasterKeyring.fromBase64(masterKey));
  assert.equal((await keys.get('pii')).disclosures.length, 1, 'a key that could not be opened was not disclosed, and is not recorded as if it were');
});

test("in a checkout that pnpm start runs, the command uses that start's local PostgreSQL and master key when they are unset (QA rounds 40b F3, 41b F1)", { timeout: 90_000 }, async () => {
  const checkout = mkdtempSync(path.join(testEnv.tmpDir, 'checkout-'));
  const home = path.join(checkout, '.sluice');
  mkdirSync(home);
  // PostgreSQL runs as its own user when the tests run as root, and must reach its data directory.
  chmodSync(checkout, 0o755);
  chmodSync(home, 0o755);
  const localKey = randomBytes(32).toString('base64');
  writeFileSync(path.join(home, 'master.key'), `${localKey}\n`, { mode: 0o600 });
  // The local PostgreSQL as pnpm start runs it (user and database sluice), on a port other than
  // the default, with nothing in the environment saying which (QA round 41b F1: the default was used).
  const port = await freePort();
  const local = await startPostgres(path.join(home, 'postgres'), port, { durable: false });
  const unset = { DATABASE_URL: '', SLUICE_MASTER_KEY: '', SLUICE_LOCAL_POSTGRES_PORT: '', SLUICE_LOG_FORMAT: 'json' };
  // Run from the checkout: tsx is imported by its path, as the checkout's cwd is not the repository's.
  const tsx = import.meta.resolve('tsx');
  const fromCheckout = () => run(process.execPath, ['--import', tsx, main, 'decryption-keys', 'pii'], unset, '', checkout);
  try {
    await migrate(local.url);
    const prisma = createPrismaClient(local.url, { max: 1 });
    try {
      await new EncryptionKeyStore(prisma, MasterKeyring.fromBase64(localKey)).create('pii', null);
    } finally {
      await prisma.$disconnect();
    }
    const r = await fromCheckout();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { versions: { version: number }[] }).versions.map((v) => v.version), [1]);
    assert.ok(r.stderr.includes(`SLUICE_MASTER_KEY is not set: using ${path.join(home, 'master.key')}, the master key pnpm start made here`), r.stderr);
    assert.ok(r.stderr.includes(`DATABASE_URL is not set: using the local PostgreSQL this checkout's pnpm start runs, at postgresql://sluice@127.0.0.1:${port}/sluice`), r.stderr);
    assert.ok(!r.stderr.includes(localKey), 'the key itself is not said');
    // Elsewhere (no .sluice/ of a start), both are still asked for, at once.
    const elsewhere = await run(process.execPath, ['--import', tsx, main, 'decryption-keys', 'pii'], unset, '', testEnv.tmpDir);
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stderr, /DATABASE_URL/);
    assert.match(elsewhere.stderr, /SLUICE_MASTER_KEY/);
    assert.equal(elsewhere.stdout, '');
  } finally {
    await local.stop();
  }
  // The start stopped: the command says to start it, or to name the database (QA round 41b F3: "start PostgreSQL there").
  const stopped = await fromCheckout();
  assert.equal(stopped.code, 1);
  assert.equal(
    stopped.stderr.trim(),
    `sluice: DATABASE_URL: is not set, and the local PostgreSQL of this checkout's pnpm start does not run (none runs from ${path.join(home, 'postgres')}): start pnpm start here, or set DATABASE_URL to the installation's`,
  );
  assert.equal(stopped.stdout, '');
});

/** Starts a runner with `env`, stops it once it says it started (at most 60 s), and answers what it printed; it must exit 0. */
async function runnerUntilStarted(env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'runner'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const deadline = Date.now() + 60_000;
  while (!/runner \S+ started/.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
  return out;
}

test("a runner given another master key than the database's secrets' refuses to start, saying so; given the database's as a previous key, it starts", { timeout: 90_000 }, async () => {
  const held = MasterKeyring.fromBase64(masterKey);
  const other = randomBytes(32).toString('base64');
  const otherId = MasterKeyring.fromBase64(other).activeKeyId;
  const runnerEnv = {
    DATABASE_URL: db.url,
    REDIS_URL: testEnv.redisUrl,
    SLUICE_STORAGE_URL: `file://${path.join(testEnv.tmpDir, `runner-keys-${process.pid}`)}`,
    SLUICE_QUEUE_PREFIX: `runner-keys-${process.pid}`,
    SLUICE_LOG_FORMAT: 'json',
  };
  // before (QA round 31c F2): it started, and failed each run it took at its first task.
  const refused = await run(process.execPath, ['--import', 'tsx', main, 'runner'], { ...runnerEnv, SLUICE_MASTER_KEY: other });
  assert.equal(refused.code, 1, refused.stderr);
  assert.equal(
    refused.stderr.trim().split('\n').at(-1),
    `sluice: SLUICE_MASTER_KEY: is not the master key of this database's secrets (2 secrets sealed with master key ${held.activeKeyId}; this process holds ${otherId}): ` +
      "give every Sluice process the installation's master key, and its previous one in SLUICE_MASTER_KEY_PREVIOUS during a master key rotation",
  );
  assert.ok(!refused.stderr.includes(other) && !refused.stderr.includes(masterKey), 'no key material in the line');

  // During a master key rotation: the new key active, the database's as a previous one. (With a
  // DuckDB memory limit given, which the start says it read: QA round 42b F3.)
  const rotating = await runnerUntilStarted({ ...runnerEnv, SLUICE_MASTER_KEY: other, SLUICE_MASTER_KEY_PREVIOUS: masterKey, SLUICE_DUCKDB_MEMORY_LIMIT: '512MiB' });
  assert.match(rotating, /runner \S+ started/);
  assert.ok(rotating.includes('"DuckDB memory limit 512MiB for each task and for merges (SLUICE_DUCKDB_MEMORY_LIMIT)"'), rotating);

  // One job sealed with a key no runner holds (an API with a wrong key made it): a runner with the
  // installation's key starts, and names that job (QA round 33c F2: every runner refused to start).
  const strayId = '0b4f3c2a-1d2e-4f60-8a9b-33c0000000f2';
  await db.prisma.ingestionJob.create({
    data: { id: strayId, name: 'stray', sourceName: 'source-faker', sourceConfigEncrypted: sealSourceConfig(MasterKeyring.fromBase64(other), strayId, { count: 1 }), secretPaths: [], schemaName: 's', mode: 'append' },
  });
  try {
    const ownOut = await runnerUntilStarted({ ...runnerEnv, SLUICE_MASTER_KEY: masterKey });
    assert.match(ownOut, /runner \S+ started/);
    assert.ok(
      ownOut.includes(`1 secret sealed with master key ${otherId}, of jobs ${strayId} (\\"stray\\"); this process holds ${held.activeKeyId}`) && ownOut.includes('runs of those jobs fail on this runner until it is'),
      ownOut,
    );
  } finally {
    await db.prisma.ingestionJob.delete({ where: { id: strayId } });
  }
});
