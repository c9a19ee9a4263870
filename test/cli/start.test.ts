/**
 * `sluice start` (what `pnpm start` runs) as a real child process: with nothing configured it
 * starts local PostgreSQL and Redis, migrates, and `/readyz` reports all three dependencies
 * reachable; a stop signal ends it cleanly. Unreachable services and bad settings give one clear
 * line — not a stack trace — naming what and where.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import pg from 'pg';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, isListening, startRedis } from '@sluice/local-services';
import { createTestDatabase } from '../support/database.ts';
import { testEnv } from '../support/env.ts';
import { testConnectorDir } from '../connectors/support.ts';
import { readWithPyIceberg } from '../iceberg/pyiceberg.ts';
import { startRestFixture } from '../iceberg/rest-fixture.ts';

const root = path.resolve(import.meta.dirname, '../..');
// As package.json's scripts and the image run it: node itself, tsx as its loader (absolute, as the
// processes here run in directories of their own).
const tsxLoader = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const node = (args: string[]): string[] => ['--import', tsxLoader, main, ...args];
const main = path.join(root, 'packages/cli/src/main.ts');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sluice(args: string[], env: Record<string, string>, cwd: string = root, timeoutMs = 60_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, node(args), {
      cwd,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} did not exit in ${timeoutMs} ms: ${stdout}${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Started {
  child: ChildProcess;
  port: number;
  /** Everything it printed so far. */
  out: () => string;
  exited: Promise<number | null>;
}

/** A sluice command as a child process, everything it prints captured. */
function launch(args: string[], env: Record<string, string>, options: { cwd?: string; detached?: boolean } = {}): Omit<Started, 'port'> {
  const child = spawn(process.execPath, node(args), { cwd: options.cwd ?? root, detached: options.detached ?? false, env });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, out: () => out, exited };
}

/** Waits until `done` says the output has what it should (at most `timeoutMs`). */
async function waitForOutput(proc: { out: () => string }, what: string, done: (out: string) => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done(proc.out())) {
    if (Date.now() > deadline) throw new Error(`no ${what}: ${proc.out()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `sluice start` with nothing configured, in `cwd`, in a process group of its own (stopped as
 * Ctrl-C stops a terminal's foreground command: SIGINT to the group), logging JSON.
 */
async function startDetached(cwd: string): Promise<Started> {
  const port = await freePort();
  const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', SLUICE_PORT: String(port), SLUICE_LOG_FORMAT: 'json' };
  return { ...launch(['start'], env, { cwd, detached: true }), port };
}

test('PostgreSQL unreachable: one line naming it, its address and the fix', async () => {
  const port = await freePort();
  const r = await sluice(['scheduler'], { DATABASE_URL: `postgresql://sluice@127.0.0.1:${port}/sluice`, REDIS_URL: testEnv.redisUrl });
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', new RegExp(`^sluice: PostgreSQL is not reachable at 127\\.0\\.0\\.1:${port}: .*DATABASE_URL=`));
});

test('Redis unreachable: one line naming it, its address and the fix', async () => {
  const port = await freePort();
  const r = await sluice(['scheduler'], { DATABASE_URL: testEnv.databaseUrl, REDIS_URL: `redis://127.0.0.1:${port}` });
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', new RegExp(`^sluice: Redis is not reachable at 127\\.0\\.0\\.1:${port}: .*REDIS_URL=`));
});

test('a login PostgreSQL refuses, and a Redis database the server does not have, are wrong URLs, said so in one line (QA round 33c F8)', async () => {
  const noRole = new URL(testEnv.databaseUrl);
  noRole.username = 'nobody';
  noRole.password = '';
  const pgr = await sluice(['scheduler'], { DATABASE_URL: noRole.toString(), REDIS_URL: testEnv.redisUrl });
  assert.equal(pgr.code, 1);
  // Before: "PostgreSQL is not reachable at …: role "nobody" does not exist. Start PostgreSQL there, …"
  assert.match(pgr.stderr.trim(), /^sluice: DATABASE_URL: PostgreSQL at [^ ]+ refused the login: role "nobody" does not exist; check the URL's user, password and database \(example: DATABASE_URL=postgresql:\/\/user:pass@host:5432\/db\)$/);
  const redisDb = new URL(testEnv.redisUrl);
  redisDb.pathname = '/99';
  const rr = await sluice(['scheduler'], { DATABASE_URL: testEnv.databaseUrl, REDIS_URL: redisDb.toString() });
  assert.equal(rr.code, 1, rr.stdout + rr.stderr);
  // Before: the scheduler and the runner started, and did nothing.
  assert.match(rr.stderr.trim(), /^sluice: REDIS_URL: the Redis at [^ ]+ has no database 99 \(its "databases" setting counts them from 0\) \(example: REDIS_URL=redis:\/\/host:6379\/0\)$/);
  // An unreachable Redis: the connection's own error, and no hint about pnpm start for the other commands.
  const port = await freePort();
  const gone = await sluice(['runner'], { DATABASE_URL: testEnv.databaseUrl, REDIS_URL: `redis://127.0.0.1:${port}`, SLUICE_STORAGE_URL: 'file:///tmp/x', SLUICE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') });
  assert.equal(gone.stderr.trim(), `sluice: Redis is not reachable at 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}. Start Redis there, or set REDIS_URL=redis://host:6379`);
});

test('a database a newer Sluice migrated is refused by migrate and by every process, in one line (QA round 33c F1)', async () => {
  const db = await createTestDatabase();
  try {
    await db.prisma.$executeRaw`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count) VALUES (gen_random_uuid()::text, 'x', '29991231000000_from_a_newer_sluice', now(), now(), 1)`;
    const said = /^sluice: the database was migrated by a newer Sluice: it has 1 migration this version does not know \(the newest 29991231000000_from_a_newer_sluice; this version's newest is \d{14}_\w+\)\. Run that version or a newer one, or restore the database from before the upgrade$/;
    // Before: migrate said "database is up to date", and the older processes ran on the newer schema.
    const m = await sluice(['migrate'], { DATABASE_URL: db.url });
    assert.equal(m.code, 1, m.stdout + m.stderr);
    assert.match(m.stderr.trim(), said);
    const s = await sluice(['scheduler'], { DATABASE_URL: db.url, REDIS_URL: testEnv.redisUrl });
    assert.equal(s.code, 1, s.stdout + s.stderr);
    assert.match(s.stderr.trim(), said);
  } finally {
    await db.drop();
  }
});

test("a command's --help says what it reads and starts nothing (QA round 33c F8: `sluice api --help` started the API)", async () => {
  const r = await sluice(['api', '--help'], {});
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'usage: sluice api');
  assert.ok(lines.some((l) => /^ {2}DATABASE_URL +PostgreSQL connection URL$/.test(l)), r.stdout);
  assert.ok(lines.some((l) => /^ {2}SLUICE_MASTER_KEY +base64 of 32 random bytes/.test(l)), r.stdout);
  // No command at all is a usage error (QA round 37b F7: it exited 0), said on stderr; help asked for is not.
  const none = await sluice([], {});
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage: sluice <command>/);
  assert.equal((await sluice(['help'], {})).code, 0);
  const keys = await sluice(['decryption-keys', '-h'], {});
  assert.equal(keys.code, 0, keys.stderr);
  assert.match(keys.stdout, /^usage: sluice decryption-keys <key name>\n[\s\S]* {2}SLUICE_MASTER_KEY +the installation's master key/);
});

test('a command given arguments it does not take refuses them, naming the settings they look like (QA round 34a F6)', async () => {
  const r = await sluice(['api', '--port', '9000'], {});
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr.trim(),
    'sluice: api takes no arguments (given: --port 9000); its settings are environment variables (SLUICE_PORT=9000, say): `sluice api --help` lists them',
  );
  const keys = await sluice(['decryption-keys', 'pii', 'extra'], {});
  assert.equal(keys.code, 2, keys.stderr);
  assert.match(keys.stderr, /^sluice: decryption-keys takes one argument, the key name \(given: pii extra\)/);
  // start reads the API's settings too; a short option is named by what it stands for (QA round 35c F10).
  const host = await sluice(['start', '--host', '0.0.0.0'], {});
  assert.equal(host.code, 2, host.stderr);
  assert.match(host.stderr, /^sluice: start takes no arguments \(given: --host 0\.0\.0\.0\); its settings are environment variables \(SLUICE_HOST=0\.0\.0\.0, say\)/);
  const short = await sluice(['api', '-p', '9000'], {});
  assert.equal(short.code, 2, short.stderr);
  assert.match(short.stderr, /\(SLUICE_PORT=9000, say\)/);
  const upper = await sluice(['runner', '-C', '8', '--debug'], {});
  assert.match(upper.stderr, /\(SLUICE_RUNNER_CONCURRENCY=8, say\)/);
});

test('a bad setting stops the process with one line naming it and a good example', async () => {
  const r = await sluice(['start'], { SLUICE_PORT: 'eighty' });
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^sluice: SLUICE_PORT: .*\(example: SLUICE_PORT=8080\)/);
  const k = await sluice(['runner'], { DATABASE_URL: testEnv.databaseUrl, REDIS_URL: testEnv.redisUrl, SLUICE_STORAGE_URL: 'file:///tmp/x', SLUICE_MASTER_KEY: 'short' });
  assert.match(k.stderr, /^sluice: SLUICE_MASTER_KEY: must be base64 of exactly 32 bytes \(example: /);
  const m = await sluice(['runner'], { DATABASE_URL: testEnv.databaseUrl, REDIS_URL: testEnv.redisUrl, SLUICE_STORAGE_URL: 'file:///tmp/x', SLUICE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), SLUICE_DUCKDB_MEMORY_LIMIT: 'lots' });
  assert.equal(m.stderr.trim().split('\n').length, 1, m.stderr);
  assert.match(m.stderr, /^sluice: SLUICE_DUCKDB_MEMORY_LIMIT: must be a size such as 4GB or 512MiB \(example: SLUICE_DUCKDB_MEMORY_LIMIT=4GB\)/);
  const low = await sluice(['runner'], { DATABASE_URL: testEnv.databaseUrl, REDIS_URL: testEnv.redisUrl, SLUICE_STORAGE_URL: 'file:///tmp/x', SLUICE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), SLUICE_DUCKDB_MEMORY_LIMIT: '64MB' });
  assert.equal(low.stderr.trim(), 'sluice: SLUICE_DUCKDB_MEMORY_LIMIT: must be 128MiB or more: the least a stage task can read JSON records in (example: SLUICE_DUCKDB_MEMORY_LIMIT=4GB)');
  // In words and with an example, not zod's ("Too small: expected number to be >=0", "example: …"; QA round 33a F5).
  const runnerEnv = { DATABASE_URL: testEnv.databaseUrl, REDIS_URL: testEnv.redisUrl, SLUICE_STORAGE_URL: 'file:///tmp/x', SLUICE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
  const said = async (args: string[], env: Record<string, string>): Promise<string> => {
    const r = await sluice(args, env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    return r.stderr.trim();
  };
  assert.equal(await said(['runner'], { ...runnerEnv, SLUICE_ARCHIVE_RETENTION_DAYS: '-1' }), 'sluice: SLUICE_ARCHIVE_RETENTION_DAYS: must be a whole number, 0 or more (example: SLUICE_ARCHIVE_RETENTION_DAYS=30)');
  assert.equal(await said(['runner'], { ...runnerEnv, SLUICE_RUNNER_CONCURRENCY: '0' }), 'sluice: SLUICE_RUNNER_CONCURRENCY: must be a whole number from 1 to 256 (example: SLUICE_RUNNER_CONCURRENCY=4)');
  assert.equal(await said(['runner'], { ...runnerEnv, SLUICE_CATALOG_MAX_AGE_MINUTES: 'daily' }), 'sluice: SLUICE_CATALOG_MAX_AGE_MINUTES: must be a whole number from 0 to 525600 (example: SLUICE_CATALOG_MAX_AGE_MINUTES=60)');
  assert.equal(await said(['runner'], { ...runnerEnv, SLUICE_LOG_LEVEL: 'verbose' }), 'sluice: SLUICE_LOG_LEVEL: must be one of error, warn, info, debug (example: SLUICE_LOG_LEVEL=info)');
  // A process run on its own names every setting it lacks at once (QA round 40b F3: six launches for `api`).
  assert.match(
    await said(['api'], {}),
    /^sluice: 5 settings are not set or not valid:\n {2}DATABASE_URL: is not set .*\n {2}REDIS_URL: is not set .*\n {2}SLUICE_STORAGE_URL: is not set .*\n {2}SLUICE_MASTER_KEY: is not set .*\n {2}SLUICE_AUTH_ISSUER: is not set, and neither is SLUICE_DEV_TOKEN: .*\)$/,
  );
  // decryption-keys needs the installation's master key, not a new one (QA round 33a F6).
  assert.equal(
    await said(['decryption-keys', 'pii'], { DATABASE_URL: testEnv.databaseUrl }),
    "sluice: SLUICE_MASTER_KEY: is not set (the installation's master key, which sealed the key's versions) (example: SLUICE_MASTER_KEY=$(cat .sluice/master.key) (pnpm start's))",
  );
});

/** Listens on a free port and the one after it. Either may be taken meanwhile (a port the system
 * handed out, or another test's connection): then another pair is tried. */
async function holdTwoPorts(): Promise<{ port: number; busy: Server; next: Server }> {
  const listen = (port: number): Promise<Server | undefined> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(port, '127.0.0.1', () => resolve(srv));
    });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const busy = await listen(port);
    const next = busy && (await listen(port + 1));
    if (busy && next) return { port, busy, next };
    if (busy) await new Promise((resolve) => busy.close(resolve));
    if (attempt === 20) throw new Error(`no two free ports in a row after ${attempt} tries`);
  }
}

test('a port already in use: one line naming SLUICE_PORT; no migration applied, no scheduler or runner started first', async () => {
  // The port and the next one are held (the next by a local PostgreSQL of this start's, say): the
  // example names a free one (QA round 43b).
  const { port, busy, next } = await holdTwoPorts();
  const cwd = mkdtempSync(path.join(testEnv.tmpDir, 'start-busy-'));
  dirs.push(cwd);
  // An empty database: the start must leave it so (QA round 43b F1: a newer start migrated a running
  // older Sluice's database, then stopped on the port).
  const db = await createTestDatabase({ migrated: false });
  try {
    const r = await sluice(['start'], { DATABASE_URL: db.url, REDIS_URL: testEnv.redisUrl, SLUICE_PORT: String(port), SLUICE_LOG_FORMAT: 'json' }, cwd);
    assert.equal(r.code, 1);
    // before: the message, then a stack trace, after the scheduler and the runner had started
    const said = r.stderr.trim().split('\n');
    assert.equal(said.length, 1, r.stderr);
    const example = Number(new RegExp(`^sluice: SLUICE_PORT: port ${port} is already in use on 127\\.0\\.0\\.1 \\(another Sluice, or another program\\) \\(example: SLUICE_PORT=(\\d+)\\)$`).exec(said[0] ?? '')?.[1]);
    assert.ok(example > port + 1 && example <= port + 20, `${said[0] ?? ''}: a free port after ${port + 1}`);
    assert.doesNotMatch(r.stdout, /scheduler started|runner \S+ started|applied migrations/);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const tables = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'");
      assert.equal(tables.rows[0]?.n, 0, 'no migration was applied');
    } finally {
      await client.end();
    }
  } finally {
    await new Promise((resolve) => busy.close(resolve));
    await new Promise((resolve) => next.close(resolve));
    await db.drop();
  }
});

test("a local service's port another server holds is refused in one line, not joined; what was started is stopped again (QA round 33a F1)", { timeout: 120_000 }, async () => {
  // The port after the taken one is held too: the example names one that is free (as SLUICE_PORT's does).
  const { port: taken, busy, next } = await holdTwoPorts();
  const cwd = mkdtempSync(path.join(testEnv.tmpDir, 'start-taken-'));
  chmodSync(cwd, 0o755);
  dirs.push(cwd);
  const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const assertRefusal = (stderr: string, service: string, dir: string, portSetting: string, urlSetting: string): void => {
    const said = stderr.trim().split('\n');
    assert.equal(said.length, 1, stderr);
    const example = Number(
      new RegExp(
        `^sluice: port ${taken} is taken by a server that does not run from ${escapeRegExp(dir)} \\(another checkout's \`pnpm start\`\\?\\), so no local ${service} can run there: ` +
          `stop it, give this start another port \\(${portSetting}=(\\d+)\\), or set ${urlSetting} to that server to use it on purpose$`,
      ).exec(said[0] ?? '')?.[1],
    );
    // before: the next port, which is held as well
    assert.ok(example > taken + 1 && example <= taken + 20, `${said[0] ?? ''}: a free port after ${taken + 1}`);
  };
  try {
    // Before: a second checkout's start joined the first one's PostgreSQL and Redis on their fixed
    // ports, and its runner took the first one's tasks with another master key and object store.
    const pgTaken = await sluice(['start'], { SLUICE_LOCAL_POSTGRES_PORT: String(taken), SLUICE_PORT: String(await freePort()), SLUICE_LOG_FORMAT: 'json' }, cwd);
    assert.equal(pgTaken.code, 1, pgTaken.stdout + pgTaken.stderr);
    assertRefusal(pgTaken.stderr, 'PostgreSQL', path.join(cwd, '.sluice', 'postgres'), 'SLUICE_LOCAL_POSTGRES_PORT', 'DATABASE_URL');
    assert.equal(existsSync(path.join(cwd, '.sluice', 'postgres')), false, 'no cluster was made for it');

    const pgPort = await freePort();
    const redisTaken = await sluice(
      ['start'],
      { SLUICE_LOCAL_POSTGRES_PORT: String(pgPort), SLUICE_LOCAL_REDIS_PORT: String(taken), SLUICE_PORT: String(await freePort()), SLUICE_LOG_FORMAT: 'json' },
      cwd,
      90_000,
    );
    assert.equal(redisTaken.code, 1, redisTaken.stdout + redisTaken.stderr);
    assertRefusal(redisTaken.stderr, 'Redis', path.join(cwd, '.sluice', 'redis'), 'SLUICE_LOCAL_REDIS_PORT', 'REDIS_URL');
    assert.equal(await isListening('127.0.0.1', pgPort), false, 'the local PostgreSQL it had started is stopped again');
  } finally {
    await new Promise((resolve) => busy.close(resolve));
    await new Promise((resolve) => next.close(resolve));
  }
});

test("a local PostgreSQL that cannot bind its port (held by a socket that does not listen) is said in one line with the reason, not pg_ctl's stack (QA round 48b O1)", { timeout: 120_000 }, async () => {
  const port = await freePort();
  // Bound and not listening, as an outgoing connection's local port is: no server answers there.
  const holder = spawn('python3', ['-c', `import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1", ${port}))\nprint("bound", flush=True)\ntime.sleep(120)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout?.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`the port holder exited (${String(code)})`)));
    });
    const cwd = mkdtempSync(path.join(testEnv.tmpDir, 'start-unbound-'));
    chmodSync(cwd, 0o755);
    dirs.push(cwd);
    const r = await sluice(['start'], { SLUICE_LOCAL_POSTGRES_PORT: String(port), SLUICE_PORT: String(await freePort()), SLUICE_LOG_FORMAT: 'json' }, cwd, 90_000);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const said = r.stderr.trim().split('\n');
    // before: "sluice: Command failed: runuser -u postgres -- …/pg_ctl … could not start server", then a stack
    assert.equal(said.length, 1, r.stderr);
    const log = path.join(cwd, '.sluice', 'postgres', 'server.log');
    assert.match(
      said[0] ?? '',
      new RegExp(
        `^sluice: the local PostgreSQL did not start on 127\\.0\\.0\\.1:${port}: could not bind IPv4 address "127\\.0\\.0\\.1": Address already in use: ` +
          `port ${port} is in use \\(a connection's local port, say\\); give this start another port \\(SLUICE_LOCAL_POSTGRES_PORT=\\d+\\) \\(its log: ${log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`,
      ),
    );
  } finally {
    holder.kill();
  }
});

test('a runner whose bucket does not exist says so in one warning and takes no task until it does; it removes connector directories dead runners left', { timeout: 120_000 }, async () => {
  const db = await createTestDatabase();
  const tmp = mkdtempSync(path.join(testEnv.tmpDir, 'runner-tmp-'));
  dirs.push(tmp);
  // What a runner killed mid-connector leaves (no process has a pid that large).
  const leftover = path.join(tmp, 'sluice-connector-2147483646-1000-abcdef');
  mkdirSync(leftover);
  writeFileSync(path.join(leftover, 'config.json'), '{"password":"left-behind"}');
  // And a task's scratch directory, with a partial file (QA round 33b F5: never removed).
  const scratch = path.join(tmp, 'sluice-task-2147483646-1000-abcdef');
  mkdirSync(scratch);
  writeFileSync(path.join(scratch, 'part-00000.parquet'), 'PAR1 partial');
  const bucket = `sluice-no-such-bucket-${randomBytes(4).toString('hex')}`;
  // A table whose files are in another store (a ./.sluice copied from another directory keeps that
  // directory in its tables), beside one in this store: the first is said at start (QA round 43b F2).
  const moved = 'file:///old/checkout/.sluice/warehouse/moved/users/metadata/00001-a.metadata.json';
  await db.prisma.icebergTable.createMany({
    data: [
      { catalogName: 'sluice', tableNamespace: 'moved', tableName: 'users', metadataLocation: moved },
      { catalogName: 'sluice', tableNamespace: 'here', tableName: 'orders', metadataLocation: `s3://${bucket}/x/here/orders/metadata/00001-b.metadata.json` },
    ],
  });
  const proc = launch(['runner'], {
    TMPDIR: tmp,
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/root',
    DATABASE_URL: db.url,
    REDIS_URL: testEnv.redisUrl,
    SLUICE_STORAGE_URL: `s3://${bucket}/x`,
    AWS_ENDPOINT_URL_S3: testEnv.s3Endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    SLUICE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    SLUICE_QUEUE_PREFIX: 'start-test-bucket',
    SLUICE_LOG_FORMAT: 'json',
  });
  const { child, exited } = proc;
  try {
    await waitForOutput(proc, 'the wait for the bucket', (out) => out.includes('takes no task until it is'), 90_000);
    // Before: it started at once, took tasks, and failed them for good (QA round 33c F3).
    assert.doesNotMatch(proc.out(), /runner \S+ started/);
    const client = new S3Client({ endpoint: testEnv.s3Endpoint, forcePathStyle: true });
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    await waitForOutput(proc, 'the start once the bucket exists', (out) => /runner \S+ started/.test(out), 60_000);
    assert.match(proc.out(), /the object store is usable: taking tasks/);
    // Its tasks share the machine's memory by default (QA round 33b F2: each could take 80 % of it).
    assert.match(proc.out(), /DuckDB memory limit \d+MiB for each task and for merges \(80 % of this machine's memory shared by 4 tasks and the merges; SLUICE_DUCKDB_MEMORY_LIMIT sets it\)/);
    const warnings = proc.out().split('\n').filter((l) => l.includes('"level":"warn"') && l.includes('object store'));
    assert.equal(warnings.length, 2, proc.out());
    assert.ok(
      warnings.some((w) =>
        w.includes(
          `1 of the catalog's 2 tables keep their files outside this object store (s3://${bucket}/x), e.g. moved.users at ${moved}: loads into them fail. ` +
            'Set SLUICE_STORAGE_URL to the store they are in; a ./.sluice copied or moved from another directory keeps that directory in its tables (Iceberg names files by absolute location): run Sluice from there',
        ),
      ),
      warnings.join('\n'),
    );
    assert.match(warnings[0] ?? '', new RegExp(`bucket \\\\"${bucket}\\\\" does not exist; this runner takes no task until it is \\(SLUICE_STORAGE_URL\\), checking every 5 s`));
    assert.doesNotMatch(proc.out(), /\n\s+at /, 'no stack trace');
    // Every line is a JSON entry: before, the AWS SDK's notice on Node 20 (the S3 client's) was seven plain lines of Node's.
    for (const line of proc.out().split('\n').filter((l) => l.trim() !== '')) assert.doesNotThrow(() => JSON.parse(line), `not a JSON line: ${line}`);
    assert.equal(existsSync(leftover), false, "the dead runner's connector directory is gone");
    assert.match(proc.out(), /removed 1 connector directory \(config files\) left by runner processes that died/);
    assert.equal(existsSync(scratch), false, "the dead runner's task scratch directory is gone");
    assert.match(proc.out(), /removed 1 task scratch directory \(partial files, DuckDB's spill\) left by runner processes that died/);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await db.drop();
  }
});

test('start with nothing configured runs local PostgreSQL and Redis, and /readyz reports every dependency', { timeout: 180_000 }, async () => {
  const cwd = mkdtempSync(path.join(testEnv.tmpDir, 'start-'));
  chmodSync(cwd, 0o755);
  dirs.push(cwd);
  const { child, port, out, exited } = await startDetached(cwd);
  try {
    let ready: { status: string; checks: Record<string, { ok: boolean }> } | undefined;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !ready) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (res.status === 200) ready = (await res.json()) as typeof ready;
      } catch {
        // not listening yet
      }
      if (!ready) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(ready, `never ready: ${out()}`);
    // The API answers before the scheduler and the runner are up; the start says when all are.
    while (Date.now() < deadline && !out().includes('Sluice is up')) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      Object.fromEntries(Object.entries(ready.checks).map(([k, v]) => [k, v.ok])),
      { postgres: true, redis: true, object_store: true },
    );
    assert.match(out(), /DATABASE_URL is not set: using a local PostgreSQL/);
    assert.match(out(), /single-user development mode: the bearer token is in /);
    assert.ok(await isListening('127.0.0.1', 54329), 'the local PostgreSQL listens');
    // Its data is kept under ./.sluice/: it must survive a machine crash (tests' throwaway clusters run without fsync).
    const client = new pg.Client({ connectionString: 'postgresql://sluice@127.0.0.1:54329/sluice' });
    await client.connect();
    try {
      assert.equal((await client.query<{ fsync: string }>('SHOW fsync')).rows[0]?.fsync, 'on');
    } finally {
      await client.end();
    }
  } finally {
    process.kill(-(child.pid ?? 0), 'SIGINT');
    // Waited for here too, so that a failed assertion above does not leave its services on the
    // fixed local ports for the next test.
    await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
  }
  assert.equal(await exited, 0, out());
  assert.match(out(), /"message":"stopped"/);
  assert.equal(await isListening('127.0.0.1', 54329), false, 'the local PostgreSQL it started is stopped again');
  assert.equal(await isListening('127.0.0.1', 63799), false, 'the local Redis it started is stopped again');
});

test('a start after one killed with SIGKILL takes over the local PostgreSQL and Redis it left running, and stops them', { timeout: 240_000 }, async () => {
  const cwd = mkdtempSync(path.join(testEnv.tmpDir, 'start-after-kill-'));
  chmodSync(cwd, 0o755);
  dirs.push(cwd);
  const start = async (): Promise<Started> => {
    const started = await startDetached(cwd);
    const deadline = Date.now() + 120_000;
    while (!started.out().includes('Sluice is up')) {
      if (Date.now() > deadline) throw new Error(`never up: ${started.out()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return started;
  };
  const first = await start();
  // A second start from the same directory while the first runs refuses, and leaves the first's
  // services alone (QA round 37b F1: it took them over as leftovers, and stopped them as it failed).
  const twice = await sluice(['start'], { SLUICE_PORT: String(await freePort()), SLUICE_LOG_FORMAT: 'json' }, cwd);
  assert.equal(twice.code, 1, twice.stdout + twice.stderr);
  assert.equal(
    twice.stderr.trim(),
    `sluice: another sluice start (pid ${first.child.pid ?? 0}) runs from ${path.join(cwd, '.sluice')}: its PostgreSQL, Redis and data are its own. Stop it first (Ctrl-C in its terminal, or kill ${first.child.pid ?? 0}), or run this one from another directory`,
  );
  assert.equal((await fetch(`http://127.0.0.1:${first.port}/readyz`)).status, 200, 'the first start still has its PostgreSQL and Redis');
  process.kill(first.child.pid ?? 0, 'SIGKILL'); // the node process alone: its services run on
  await first.exited;
  assert.ok(await isListening('127.0.0.1', 54329), 'PostgreSQL outlived the killed start');
  assert.ok(await isListening('127.0.0.1', 63799), 'Redis outlived the killed start');

  const second = await start();
  assert.match(second.out(), /using a local PostgreSQL at \S+ \(data in .*\), left running by an earlier start that did not stop: it stops with this one/);
  assert.match(second.out(), /using a local Redis at \S+, left running by an earlier start that did not stop: it stops with this one/);
  // Ctrl-C on `pnpm start`: the terminal signals the group, and pnpm forwards its own SIGINT too,
  // a few milliseconds later. The second is sent once the start has taken the first: two pending
  // at once are one signal to the kernel (a fixed 50 ms gap merged them while the machine was busy).
  const firstTaken = new Promise<void>((resolve) => {
    const seen = (): void => {
      if (second.out().includes('"message":"SIGINT: shutting down')) resolve();
    };
    second.child.stdout?.on('data', seen);
    second.child.stderr?.on('data', seen);
  });
  process.kill(-(second.child.pid ?? 0), 'SIGINT');
  await firstTaken;
  process.kill(second.child.pid ?? 0, 'SIGINT');
  assert.equal(await second.exited, 0, second.out());
  assert.doesNotMatch(second.out(), /again: exiting now/, 'one Ctrl-C delivered twice is one stop, not the second one that exits at once');
  assert.match(second.out(), /"message":"stopped"/);
  // How long a stop may take, said as it starts (QA round 29b F8).
  assert.match(second.out(), /SIGINT: shutting down \(running tries get \d+ s to finish, then are stopped and retried; the runner stops within \d+ s in all; SIGINT again, 2\.5 s or more after this one, exits at once/);
  // The second delivery is said, as the same one (QA round 41a F1: a second signal within 2.5 s was dropped without a word).
  assert.match(second.out(), /SIGINT again \d\.\d s after the first: taken as the same one \(pnpm passes a terminal's Ctrl-C on too\); one 2\.5 s or more after the first exits at once/);
  // before: both kept listening after the second start had stopped
  assert.equal(await isListening('127.0.0.1', 54329), false, 'PostgreSQL stopped with the start that took it over');
  assert.equal(await isListening('127.0.0.1', 63799), false, 'Redis stopped with the start that took it over');
});

test('Redis lost while Sluice runs: one warning from each component, one line each when it is back, no stack traces', { timeout: 120_000 }, async () => {
  const cwd = mkdtempSync(path.join(testEnv.tmpDir, 'redis-outage-'));
  chmodSync(cwd, 0o755);
  dirs.push(cwd);
  const db = await createTestDatabase();
  const redisDir = path.join(cwd, 'redis');
  const redisPort = await freePort();
  let redis = await startRedis(redisDir, redisPort);
  const port = await freePort();
  const proc = launch(['start'], {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/root',
    SLUICE_PORT: String(port),
    SLUICE_LOG_FORMAT: 'json',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    SLUICE_STORAGE_URL: `file://${path.join(cwd, 'warehouse')}`,
  }, { cwd });
  const { child, exited } = proc;
  const linesSince = (from: number, pattern: RegExp): Array<{ component?: string; level: string; message: string }> =>
    proc.out()
      .slice(from)
      .split('\n')
      .filter((l) => pattern.test(l))
      .map((l) => JSON.parse(l) as { component?: string; level: string; message: string });
  try {
    await waitForOutput(proc, '"Sluice is up"', (o) => o.includes('Sluice is up'));
    const from = proc.out().length;
    await redis.stop();
    // Every connection of every component retries several times meanwhile (ioredis: 50 ms, 100 ms, …).
    await new Promise((r) => setTimeout(r, 3_000));
    redis = await startRedis(redisDir, redisPort);
    await waitForOutput(proc, '"reachable again" from the three components', () => linesSince(from, /is reachable again/).length >= 3);
    await new Promise((r) => setTimeout(r, 500));

    const since = proc.out().slice(from);
    assert.doesNotMatch(since, /Unhandled error event|^\s+at |errno/m, 'no stack trace or raw error dump');
    const lost = linesSince(from, /is unreachable/);
    assert.deepEqual(lost.map((l) => l.component).sort(), ['api', 'runner', 'scheduler'], since);
    for (const l of lost) {
      assert.equal(l.level, 'warn');
      assert.match(l.message, new RegExp(`^Redis at 127\\.0\\.0\\.1:${redisPort} is unreachable \\(connect ECONNREFUSED .*\\): retrying`));
    }
    const back = linesSince(from, /is reachable again/);
    assert.deepEqual(back.map((l) => l.component).sort(), ['api', 'runner', 'scheduler'], since);
    // Every other line since Redis went away is one of those, or the scheduler rebuilding the emptied Redis.
    const others = since.split('\n').filter((l) => l.trim() !== '' && !/is unreachable|is reachable again|Redis holds no Sluice sentinel|"route":"\/readyz"/.test(l));
    assert.deepEqual(others, []);
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(res.status, 200);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await redis.stop();
    await db.drop();
  }
});

test('with SLUICE_ICEBERG_REST_URL the tables are registered in that REST catalog, and PyIceberg reads them through it (QA round 35a F1)', { timeout: 180_000 }, async () => {
  const fixture = await startRestFixture();
  const cwd = mkdtempSync(path.join(testEnv.tmpDir, 'rest-catalog-'));
  dirs.push(cwd);
  const db = await createTestDatabase();
  const port = await freePort();
  const token = `dev-${randomBytes(12).toString('hex')}`;
  const env = {
    PATH: `${testConnectorDir}${path.delimiter}${process.env['PATH'] ?? ''}`,
    HOME: process.env['HOME'] ?? '/root',
    DATABASE_URL: db.url,
    REDIS_URL: testEnv.redisUrl,
    SLUICE_QUEUE_PREFIX: `rest${randomBytes(4).toString('hex')}`,
    SLUICE_STORAGE_URL: `file://${path.join(cwd, 'warehouse')}`,
    SLUICE_MASTER_KEY: randomBytes(32).toString('base64'),
    SLUICE_DEV_TOKEN: token,
    SLUICE_PORT: String(port),
    SLUICE_LOG_FORMAT: 'json',
  };
  // A token without the catalog's URL is refused, not ignored.
  const stray = await sluice(['start'], { ...env, SLUICE_ICEBERG_REST_TOKEN: 'a-token-1234' });
  assert.equal(stray.code, 1, stray.stderr);
  assert.match(stray.stderr, /^sluice: SLUICE_ICEBERG_REST_URL: is unset while SLUICE_ICEBERG_REST_TOKEN is set/);
  // A catalog that does not answer is said at a runner's start, in one line (QA round 35c F3).
  const closed = `http://127.0.0.1:${await freePort()}`;
  const lost = launch(['runner'], { ...env, SLUICE_ICEBERG_REST_URL: closed }, { cwd });
  try {
    await waitForOutput(lost, 'the warning for a catalog that does not answer', (o) => o.includes('fail until the catalog answers'));
    const warned = lost.out().split('\n').filter((l) => l.includes('"level":"warn"'));
    assert.equal(warned.length, 1, lost.out());
    assert.match(warned[0] ?? '', new RegExp(`"the Iceberg REST catalog is not reachable at ${closed}: connect ECONNREFUSED [^"]*; transform and load tasks fail until the catalog answers \\(SLUICE_ICEBERG_REST_URL, `));
  } finally {
    lost.child.kill('SIGTERM');
    await lost.exited;
  }
  // One that takes connections and never answers is said after 10 s, not after three tries of 30 s (QA round 36a F3).
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  const hung = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const waiting = launch(['runner'], { ...env, SLUICE_ICEBERG_REST_URL: hung }, { cwd });
  try {
    await waitForOutput(waiting, 'the warning for a catalog that never answers', (o) => o.includes('has not answered in 10 s'), 40_000);
    assert.match(waiting.out(), new RegExp(`"the Iceberg REST catalog at ${hung} has not answered in 10 s; transform and load tasks fail until the catalog answers`));
  } finally {
    waiting.child.kill('SIGTERM');
    await waiting.exited;
    silent.close();
  }
  const proc = launch(['start'], { ...env, SLUICE_ICEBERG_REST_URL: fixture.uri }, { cwd });
  const { child, exited } = proc;
  try {
    await waitForOutput(proc, '"Sluice is up"', (o) => o.includes('Sluice is up'));
    assert.ok(proc.out().includes(`tables are registered in the Iceberg REST catalog at ${fixture.uri}`), proc.out());
    await waitForOutput(proc, 'the catalog to answer at start', (o) => o.includes(`the Iceberg REST catalog at ${fixture.uri} answers`));
    const call = async (method: string, route: string, body?: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(`http://127.0.0.1:${port}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      assert.ok(res.status < 300, `${method} ${route}: ${res.status} ${await res.clone().text()}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const created = await call('POST', '/api/airbyte/ingest', { name: 'rest', source_name: 'source-sluice-test', source_config: { records: 5 }, schema_name: 'rest_e2e', mode: 'append', streams: ['users'] });
    const runId = String((await call('POST', `/api/airbyte/ingest/${String(created['job_id'])}/runs`))['run_id']);
    const deadline = Date.now() + 120_000;
    let state = '';
    while (Date.now() < deadline && state !== 'success' && state !== 'failed') {
      state = (await db.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } })).state;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(state, 'success', proc.out().slice(-3000));
    const view = await readWithPyIceberg('postgresql://unused/unused', 'rest_e2e', 'users', false, undefined, fixture.uri);
    assert.equal(view.rows.length, 5);
    assert.equal(view.properties['sluice.job-id'], created['job_id'], 'the job that owns the table is recorded in the REST catalog');
    const own = await db.prisma.icebergTable.count();
    assert.equal(own, 0, "Sluice's own catalog was not used");
  } finally {
    child.kill('SIGTERM');
    await exited;
    await fixture.stop();
    await db.drop();
  }
});

test('the api process on its own checks jobs against the connector, as start does: spec secrets masked, unknown columns refused', { timeout: 120_000 }, async () => {
  const cwd = mkdtempSync(path.join(testEnv.tmpDir, 'api-alone-'));
  dirs.push(cwd);
  const db = await createTestDatabase();
  const port = await freePort();
  const token = `dev-${randomBytes(12).toString('hex')}`;
  const proc = launch(['api'], {
    PATH: `${testConnectorDir}${path.delimiter}${process.env['PATH'] ?? ''}`,
    HOME: process.env['HOME'] ?? '/root',
    DATABASE_URL: db.url,
    REDIS_URL: testEnv.redisUrl,
    SLUICE_STORAGE_URL: `file://${path.join(cwd, 'warehouse')}`,
    SLUICE_MASTER_KEY: randomBytes(32).toString('base64'),
    SLUICE_DEV_TOKEN: token,
    SLUICE_PORT: String(port),
    SLUICE_LOG_FORMAT: 'json',
  }, { cwd });
  const { child, exited } = proc;
  try {
    await waitForOutput(proc, '"API listening"', (o) => o.includes('API listening'));
    const post = (body: Record<string, unknown>): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}/api/airbyte/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'alone', source_name: 'source-sluice-test', schema_name: 'raw', mode: 'append', streams: ['users'], ...body }),
      });
    // A misspelt column to encrypt would load the real one in plaintext: refused, naming the columns there are.
    const typo = await post({ source_config: { records: 5 }, column_transformations: [{ column: 'emial', stream: null, new_name: 'e', encryption_key_name: null }] });
    assert.equal(typo.status, 400);
    const typoBody = (await typo.json()) as { error: string };
    assert.match(typoBody.error, /^column_transformations\[0\]\.column: no selected stream has a column "emial"/);
    // `canary` is a secret by the spec only (airbyte_secret), not by its name.
    const created = await post({ source_config: { records: 5, canary: 'canary-value-123' } });
    assert.equal(created.status, 201);
    const { job_id: jobId } = (await created.json()) as { job_id: string };
    const job = (await (await fetch(`http://127.0.0.1:${port}/api/airbyte/ingest/${jobId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { source_config: Record<string, unknown> };
    assert.deepEqual(job.source_config, { records: 5, canary: '**********' });

    // A stop while a request waits on a lock: cut after the 8 s drain, and its statement is waited
    // for 3 s, not the 10 s of a step (QA round 35c F9: the stop took 18 s).
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM ingestion_jobs WHERE id = $1 FOR UPDATE', [jobId]);
      const trigger = fetch(`http://127.0.0.1:${port}/api/airbyte/ingest/${jobId}/runs`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
      trigger.catch(() => undefined);
      const waiting = async (): Promise<boolean> => (await holder.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).rowCount === 1;
      for (let i = 0; i < 200 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(await waiting(), 'the trigger waits on the lock');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, proc.out());
      assert.match(proc.out(), /stopping the API: 1 connection still busy after 8 s cut/);
      assert.match(proc.out(), /stopping database client: gave up waiting after 3 s; a statement of a request the stop cut was left/);
      assert.match(proc.out(), /"stopped"/);
      await assert.rejects(trigger, 'its client got no answer');
    } finally {
      await holder.end();
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
    await db.drop();
  }
});

/** A process's environment entries; none for a process that is gone, also one that exits while it is read. */
function environOf(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return [];
    throw err;
  }
}

test('a SIGTERM to the pnpm of `pnpm sluice scheduler`, which pnpm does not pass on, still stops Sluice gracefully (QA round 35c F1)', { timeout: 120_000 }, async () => {
  const cwd = mkdtempSync(path.join(testEnv.tmpDir, 'pnpm-term-'));
  dirs.push(cwd);
  const db = await createTestDatabase();
  const logFile = path.join(cwd, 'out.log');
  const fd = openSync(logFile, 'w');
  const pnpm = spawn('pnpm', ['--silent', 'sluice', 'scheduler'], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', DATABASE_URL: db.url, REDIS_URL: testEnv.redisUrl, SLUICE_QUEUE_PREFIX: `term${randomBytes(4).toString('hex')}`, SLUICE_LOG_FORMAT: 'json' },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const out = (): string => readFileSync(logFile, 'utf8');
  try {
    await waitForOutput({ out }, '"scheduler started"', (o) => o.includes('scheduler started'));
    pnpm.kill('SIGTERM');
    await waitForOutput({ out }, '"stopped"', (o) => o.includes('"message":"stopped"'), 30_000);
    assert.match(out(), /pnpm, which started this process, exited \(it does not pass a SIGTERM on\): shutting down/);
    // Nothing of it is left: no scheduler of this database runs once it has exited.
    const ours = (): string[] =>
      spawnSync('pgrep', ['-f', 'packages/cli/src/main.ts scheduler'], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter((pid) => pid !== '' && environOf(pid).includes(`DATABASE_URL=${db.url}`));
    for (let i = 0; i < 50 && ours().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(ours(), [], 'the scheduler exited');
  } finally {
    pnpm.kill('SIGKILL');
    await db.drop();
  }
});

test("pnpm's scripts and the image start node itself, with no process between that could kill Sluice before it stops", () => {
  // The tsx command relays a stop signal to its child and SIGKILLs the child when it has not
  // acknowledged the signal within ~60 ms (a busy event loop): local services would be left
  // running and tries not given back.
  const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.match(scripts['test'] ?? '', /^node --import tsx /, 'test');
  // Sluice's commands first make the client and UI again when stale (scripts/ensure-built.mjs), in node itself (QA round 53a F1).
  for (const name of ['start', 'sluice', 'db:migrate']) assert.match(scripts[name] ?? '', /^node --import \.\/scripts\/ensure-built\.mjs --import tsx /, name);
  const dockerfile = readFileSync(path.join(root, 'docker/Dockerfile'), 'utf8');
  assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "--import", "tsx", "packages\/cli\/src\/main\.ts"\]$/m);
});
