import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { freePort } from '@sluice/local-services';
import { randomUUID } from 'node:crypto';
import { createPrismaClient, errorSummary, isDatabaseUnreachable, sqlOf } from '@sluice/db';
import { createTestDatabase } from '../support/database.ts';

test('a server that is not there: the errors of Prisma (raw and model queries), plain SQL on its pool and node-postgres all say unreachable', async () => {
  const url = `postgresql://sluice@127.0.0.1:${await freePort()}/sluice`;
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
  } finally {
    await prisma.$disconnect();
  }
  const client = new pg.Client({ connectionString: url });
  const viaPg = await client.connect().then(
    () => assert.fail('connected'),
    (e: unknown) => e,
  );
  assert.ok(isDatabaseUnreachable(viaPg), String(viaPg));
});

test('failed statements and other errors are not "unreachable"', () => {
  assert.equal(isDatabaseUnreachable(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })), false);
  assert.equal(isDatabaseUnreachable(Object.assign(new Error('Unique constraint failed'), { code: 'P2002' })), false);
  assert.equal(isDatabaseUnreachable(new Error('boom')), false);
  assert.equal(isDatabaseUnreachable('ECONNREFUSED'), false);
  assert.equal(isDatabaseUnreachable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), true);
  assert.equal(isDatabaseUnreachable(new Error('wrapped', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })), true);
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
