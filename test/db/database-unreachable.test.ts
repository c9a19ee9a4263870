import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { freePort } from '@sluice/local-services';
import { createPrismaClient, isDatabaseUnreachable, sqlOf } from '@sluice/db';

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
