/**
 * Plain SQL on the Prisma client's pool (the per-try path): bound parameters, transactions that
 * commit or roll back as a whole, and $disconnect ending the pool even when only plain SQL used it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrismaClient, poolOf, sqlOf, sqlTransaction } from '@sluice/db';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase({ migrated: false });
  await sqlOf(db.prisma).execute`CREATE TABLE t (id int PRIMARY KEY, v text)`;
});
after(async () => {
  await db.drop();
});

test('interpolations are bound parameters, never spliced into the text', async () => {
  const sql = sqlOf(db.prisma);
  const hostile = "x'); DROP TABLE t; --";
  assert.equal(await sql.execute`INSERT INTO t (id, v) VALUES (${1}::int, ${hostile})`, 1);
  const rows = await sql.query<{ id: number; v: string }[]>`SELECT id, v FROM t WHERE v = ${hostile}`;
  assert.deepEqual(rows, [{ id: 1, v: hostile }]);
  const arr = await sql.query<{ n: number }[]>`SELECT count(*)::int AS n FROM t WHERE id = ANY(${[1, 2, 3]}::int[])`;
  assert.equal(arr[0]?.n, 1);
});

test('a transaction commits when its function resolves and leaves nothing when it throws', async () => {
  await sqlTransaction(db.prisma, async (sql) => {
    await sql.execute`INSERT INTO t (id, v) VALUES (10, 'kept')`;
  });
  await assert.rejects(
    sqlTransaction(db.prisma, async (sql) => {
      await sql.execute`INSERT INTO t (id, v) VALUES (11, 'lost')`;
      await sql.execute`INSERT INTO t (id, v) VALUES (10, 'duplicate key')`;
    }),
    /duplicate key/,
  );
  const rows = await sqlOf(db.prisma).query<{ id: number }[]>`SELECT id FROM t WHERE id >= 10 ORDER BY id`;
  assert.deepEqual(rows, [{ id: 10 }]);
});

test('$disconnect ends the pool even when Prisma itself never connected', async () => {
  const prisma = createPrismaClient(db.url, { max: 2 });
  await sqlOf(prisma).query`SELECT 1`;
  await prisma.$disconnect();
  assert.equal(poolOf(prisma).ended, true);
});
