/**
 * Which errors say "PostgreSQL is unreachable" (the API answers 503, a try's error says so), and
 * how a database error reads in one line.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import { ServiceUnavailableError } from '@sluice/core';
import { createPrismaClient, errorSummary, isDatabaseBusy, isDatabaseUnreachable, isDatabaseWaitable, sqlOf, sqlTransaction } from '@sluice/db';
import pg from 'pg';
import { SqlCatalogBackend } from '@sluice/iceberg';
import { freePort } from '@sluice/local-services';
import { openObjectStore } from '@sluice/storage';
import { createTestDatabase } from '../support/database.ts';
import { testEnv } from '../support/env.ts';

test('a server that is not there: the errors of Prisma (raw and model queries) and of plain SQL on its pool all say unreachable', async () => {
  const port = await freePort();
  const url = `postgresql://sluice:hunter2pw@127.0.0.1:${port}/sluice`;
  const prisma = createPrismaClient(url, { max: 1 });
  try {
    const viaPrisma = await prisma.$queryRaw`SELECT 1`.then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(isDatabaseUnreachable(viaPrisma), String(viaPrisma));
    const viaModel = await prisma.ingestionJob.count().then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(isDatabaseUnreachable(viaModel), String(viaModel));
    // What a try's error and the log say of it: one line, without Prisma's call and source excerpt.
    assert.match(errorSummary(viaModel), /^PostgreSQL is unreachable \(Can't reach database server at 127\.0\.0\.1:\d+\)$/);
    const viaSql = await sqlOf(prisma).query`SELECT 1`.then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(isDatabaseUnreachable(viaSql), String(viaSql));
    // The plain-SQL path names the server (without its credentials) and stays retryable.
    assert.ok(viaSql instanceof ServiceUnavailableError);
    assert.equal(viaSql.message, `PostgreSQL is not reachable at 127.0.0.1:${port}: ECONNREFUSED`);
    assert.equal(errorSummary(viaSql), viaSql.message);
    const viaTransaction = await sqlTransaction(prisma, async (sql) => sql.query`SELECT 1`).then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(viaTransaction instanceof ServiceUnavailableError && isDatabaseUnreachable(viaTransaction), String(viaTransaction));
  } finally {
    await prisma.$disconnect();
  }
});

test('a statement under way whose connection the server ends (as when it stops) says unreachable, naming the server', async () => {
  const db = await createTestDatabase({ migrated: false });
  try {
    const sleeping = sqlOf(db.prisma).query`SELECT pg_sleep(30)`.then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    // Its connection ended as a fast shutdown ends it (57P01).
    let ended = 0;
    for (let i = 0; i < 50 && ended === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ended = Number(await db.prisma.$executeRawUnsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND pid <> pg_backend_pid()`));
    }
    assert.equal(ended, 1, 'the sleeping statement was found');
    const err = await sleeping;
    assert.ok(err instanceof ServiceUnavailableError, String(err));
    assert.ok(isDatabaseUnreachable(err));
    const address = new URL(db.url).host;
    assert.equal(err.message, `PostgreSQL is not reachable at ${address}: 57P01 terminating connection due to administrator command`);
    assert.equal(errorSummary(err), err.message);
    // Through Prisma (its raw query failed with the server's 57P01): unreachable too, said in one line.
    const viaPrisma = db.prisma.$queryRaw`SELECT pg_sleep(29)`.then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    ended = 0;
    for (let i = 0; i < 50 && ended === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ended = Number(await sqlOf(db.prisma).query<{ n: number }[]>`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(29)%' AND pid <> pg_backend_pid()`.then((r) => r[0]?.n ?? 0));
    }
    assert.equal(ended, 1, 'the sleeping statement was found');
    const prismaErr = await viaPrisma;
    assert.ok(isDatabaseUnreachable(prismaErr), String(prismaErr));
    assert.match(errorSummary(prismaErr), /^PostgreSQL is unreachable \(/);
  } finally {
    await db.drop();
  }
});

test('a connection a transaction holds, ended by the server between statements, fails the transaction and not the process', async () => {
  const db = await createTestDatabase({ migrated: false });
  try {
    const terminate = (pid: number): Promise<unknown> => db.prisma.$executeRawUnsafe(`SELECT pg_terminate_backend(${pid})`);
    const ended = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    // Plain SQL: the connection is idle in the transaction when the server ends it (before: an
    // unhandled 'error' event ended this process).
    const viaSql = await sqlTransaction(db.prisma, async (sql) => {
      const [row] = await sql.query<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      await terminate(row?.pid ?? 0);
      await ended(300);
      await sql.query`SELECT 1`;
    }).then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(viaSql instanceof ServiceUnavailableError && isDatabaseUnreachable(viaSql), String(viaSql));
    assert.match(viaSql.message, new RegExp(`^PostgreSQL is not reachable at ${new URL(db.url).host}: `));
    // Prisma's interactive transaction holds its connection the same way.
    const viaPrisma = await db.prisma
      .$transaction(async (tx) => {
        const [row] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
        await terminate(row?.pid ?? 0);
        await ended(300);
        await tx.$queryRaw`SELECT 1`;
      })
      .then(
        () => assert.fail('answered'),
        (e: unknown) => e,
      );
    assert.ok(isDatabaseUnreachable(viaPrisma), String(viaPrisma));
    // The pool replaced the connections it lost.
    assert.deepEqual(await sqlOf(db.prisma).query`SELECT 1 AS one`, [{ one: 1 }]);
  } finally {
    await db.drop();
  }
});

test('failed statements and other errors are not "unreachable"', () => {
  assert.equal(isDatabaseUnreachable(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })), false);
  assert.equal(isDatabaseUnreachable(Object.assign(new Error('Unique constraint failed'), { code: 'P2002' })), false);
  assert.equal(isDatabaseUnreachable(new Error('boom')), false);
  assert.equal(isDatabaseUnreachable('ECONNREFUSED'), false);
  assert.equal(isDatabaseUnreachable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' })), true);
  // A bare socket error says nothing of whose connection it was: an object store's is not PostgreSQL's.
  const s3Refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
  assert.equal(isDatabaseUnreachable(s3Refused), false);
  assert.equal(isDatabaseUnreachable(new Error('writing its output failed', { cause: s3Refused })), false);
  assert.equal(errorSummary(new Error('writing its output failed: connect ECONNREFUSED 127.0.0.1:9000', { cause: s3Refused })), 'writing its output failed: connect ECONNREFUSED 127.0.0.1:9000');
  assert.equal(isDatabaseUnreachable(new ServiceUnavailableError('PostgreSQL', '127.0.0.1:5432', 'ECONNREFUSED')), true);
  assert.equal(isDatabaseUnreachable(new ServiceUnavailableError('OAuth issuer', 'https://id.example', 'down')), false);
});

test("a failed statement's summary is Prisma's last line: what happened, not where it was called", async () => {
  const db = await createTestDatabase();
  try {
    const jobId = randomUUID();
    await db.prisma.ingestionJob.create({
      data: { id: jobId, name: 'summary', sourceName: 'source-faker', sourceConfigEncrypted: 'x', schemaName: 's', mode: 'append', streams: [] },
    });
    await db.prisma.dag.create({ data: { id: randomUUID(), jobId, version: 1 } });
    const err = await db.prisma.dag.create({ data: { id: randomUUID(), jobId, version: 1 } }).then(
      () => assert.fail('a second version 1 was accepted'),
      (e: unknown) => e,
    );
    assert.match(String(err), /Invalid `/, 'Prisma says where it was called');
    const summary = errorSummary(err);
    assert.equal(summary, 'Unique constraint failed on the constraint: `dags_job_id_version_key`');
    assert.doesNotMatch(summary, /\n|Invalid `/);
    assert.equal(isDatabaseUnreachable(err), false);
  } finally {
    await db.drop();
  }
});

test("a transaction over its time limit reads as one that waited too long, not as Prisma's advice to raise its timeout", async () => {
  const db = await createTestDatabase();
  const prisma = createPrismaClient(db.url, { max: 2 });
  try {
    const expired = await prisma
      .$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_sleep(0.6)`;
          await tx.$queryRaw`SELECT 1`;
        },
        { timeout: 200 },
      )
      .then(
        () => assert.fail('answered'),
        (e: unknown) => e,
      );
    assert.ok(!isDatabaseUnreachable(expired), 'the server answered');
    // Rolled back: a write waiting for PostgreSQL writes it again (QA round 29: a server that hung under it failed a finished try).
    assert.ok(isDatabaseWaitable(expired));
    // before (QA round 25): "Transaction API error: … Consider increasing the interactive transaction timeout …"
    assert.match(
      errorSummary(expired),
      /^a PostgreSQL transaction took too long \(0\.\d+ s, over its limit of 0\.2 s\): it waited on a lock another transaction held, or on an overloaded server or one that stopped answering$/,
    );
  } finally {
    await prisma.$disconnect();
    await db.drop();
  }
});

test('a server that stops answering without closing its connections: a statement fails by the query timeout, said as unreachable, not waited on for good (QA round 28)', async () => {
  const db = await createTestDatabase({ migrated: false });
  // A proxy to the server that can go silent: its connections stay open, and nothing passes.
  let silent = false;
  const sockets: net.Socket[] = [];
  const target = new URL(db.url);
  const proxy = net.createServer((client) => {
    const server = net.connect(Number(target.port), target.hostname);
    sockets.push(client, server);
    client.on('data', (d) => !silent && server.write(d));
    server.on('data', (d) => !silent && client.write(d));
    client.on('error', () => undefined);
    server.on('error', () => undefined);
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const url = new URL(db.url);
  url.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  const prisma = createPrismaClient(url.toString(), { max: 3, queryTimeoutMs: 1_000 });
  const store = openObjectStore(`file://${testEnv.tmpDir}/catalog-silent-${process.pid}`);
  const catalog = new SqlCatalogBackend(url.toString(), 'sluice', store, 1_000);
  try {
    // Three connections open, as a pool in use has them (a connection opened once the server is
    // silent waits for its greeting, which the connection timeout ends).
    await Promise.all([1, 2, 3].map(() => sqlOf(prisma).query`SELECT pg_sleep(0.2)`));
    await prisma.$queryRaw`SELECT 1`;
    // The catalog's connection open, by a query that succeeds (a failed one's connection is dropped).
    await prisma.$executeRawUnsafe('CREATE TABLE iceberg_namespace_properties (catalog_name text, namespace text)');
    await prisma.$executeRawUnsafe('CREATE TABLE iceberg_tables (catalog_name text, table_namespace text)');
    assert.deepEqual(await catalog.listNamespaces(), []);
    silent = true;
    const started = Date.now();
    const viaSql = await sqlOf(prisma).query`SELECT 1`.then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(viaSql instanceof ServiceUnavailableError && isDatabaseUnreachable(viaSql), String(viaSql));
    assert.match(viaSql.message, /^PostgreSQL is not reachable at 127\.0\.0\.1:\d+: it answered no query in time \(Query read timeout\)$/);
    // before: each waited for as long as the kernel kept the connection (minutes).
    assert.ok(Date.now() - started < 5_000, `${Date.now() - started} ms`);
    const viaPrisma = await prisma.$queryRaw`SELECT 1`.then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(isDatabaseUnreachable(viaPrisma), String(viaPrisma));
    const viaTransaction = await sqlTransaction(prisma, async (sql) => sql.query`SELECT 1`).then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(isDatabaseUnreachable(viaTransaction), String(viaTransaction));
    assert.ok(Date.now() - started < 10_000, `${Date.now() - started} ms`);
    // The Iceberg catalog's own pool too (before: a load's commit waited 50 s and more; QA round 30).
    const viaCatalog = await catalog.listNamespaces().then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(viaCatalog instanceof ServiceUnavailableError, String(viaCatalog));
    assert.match(viaCatalog.message, /it answered no query in time \(Query read timeout\)/);
  } finally {
    silent = false;
    for (const s of sockets) s.destroy();
    await prisma.$disconnect().catch(() => undefined);
    await catalog.close().catch(() => undefined);
    await store.close();
    proxy.close();
    await db.drop();
  }
});

test("a statement that waits on another session's lock past its limit is cancelled by PostgreSQL itself, said so, and writes nothing later; a transaction left idle is ended (QA round 31b)", { timeout: 60_000 }, async () => {
  const db = await createTestDatabase({ migrated: false });
  const prisma = createPrismaClient(db.url, { queryTimeoutMs: 1_500 });
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  try {
    await prisma.$executeRawUnsafe('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
    await prisma.$executeRawUnsafe('INSERT INTO counters VALUES (1, 0)');
    // Another session holds the row: a client stopped inside its transaction.
    await holder.query('BEGIN');
    await holder.query('SELECT n FROM counters WHERE id = 1 FOR UPDATE');
    const busy = /^PostgreSQL( at 127\.0\.0\.1:\d+)? cancelled a statement that ran past its limit \(statement_timeout\): it waited on a lock another session holds \(a client stopped inside a transaction\?\), or on an overloaded server$/;
    const viaSql = await sqlOf(prisma).execute`UPDATE counters SET n = n + 1 WHERE id = 1`.then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(viaSql instanceof ServiceUnavailableError, String(viaSql));
    assert.match(viaSql.message, busy);
    const viaPrisma = await prisma.$executeRaw`UPDATE counters SET n = n + 1 WHERE id = 1`.then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    for (const e of [viaSql, viaPrisma]) {
      assert.ok(isDatabaseBusy(e), String(e));
      assert.ok(isDatabaseWaitable(e), 'a write waits it out');
      assert.ok(!isDatabaseUnreachable(e), 'it answered');
    }
    assert.match(errorSummary(viaPrisma), busy);
    await holder.query('ROLLBACK');
    await new Promise((r) => setTimeout(r, 300));
    // before: only the client gave up; the UPDATEs ran once the lock went (a trigger answered 503 made its run).
    assert.equal((await holder.query<{ n: number }>('SELECT n FROM counters WHERE id = 1')).rows[0]?.n, 0);

    // A transaction of Sluice's left idle (its process frozen) is ended by the server after twice
    // the statement limit, which lets its locks go.
    const frozen = sqlTransaction(prisma, async (sql) => {
      await sql.query`SELECT n FROM counters WHERE id = 1 FOR UPDATE`;
      await new Promise((r) => setTimeout(r, 4_000));
      await sql.query`SELECT 1`;
    }).then(
      () => assert.fail('the idle transaction went on'),
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 3_500));
    await holder.query(`SET lock_timeout = '200ms'`);
    await holder.query('UPDATE counters SET n = 5 WHERE id = 1');
    assert.ok(await frozen);
  } finally {
    await holder.end();
    await prisma.$disconnect();
    await db.drop();
  }
});

test("a statement PostgreSQL refuses is said in its words and code, without Prisma's wrapper (QA rounds 49a, 49b)", async () => {
  const db = await createTestDatabase({ migrated: false });
  try {
    const err = await db.prisma.$queryRaw`SELECT 1 / (SELECT 0)`.then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    // Before: "Raw query failed. Code: `22012`. Message: `division by zero`".
    assert.equal(errorSummary(err), 'division by zero (SQLSTATE 22012)');
    // PostgreSQL's own disk full says whose disk, through Prisma and through plain SQL alike (QA round 51b).
    const full = `DO $$ BEGIN RAISE EXCEPTION 'could not extend file "base/16384/16469": No space left on device' USING ERRCODE = 'disk_full'; END $$`;
    const said = `PostgreSQL's disk is full (its data directory's file system): could not extend file "base/16384/16469": No space left on device`;
    const viaPrisma = await db.prisma.$executeRawUnsafe(full).then(() => assert.fail('answered'), (e: unknown) => e);
    assert.equal(errorSummary(viaPrisma), `${said} (SQLSTATE 53100)`);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const viaSql = await client.query(full).then(() => assert.fail('answered'), (e: unknown) => e);
      assert.equal(errorSummary(viaSql), said);
    } finally {
      await client.end();
    }
  } finally {
    await db.drop();
  }
});
