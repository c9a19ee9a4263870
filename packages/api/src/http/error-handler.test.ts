import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthError, ConflictError, ForbiddenError, NotFoundError, PostgresBusyError, ServiceUnavailableError, ValidationError } from '@sluice/core';
import { mapError } from './error-handler.ts';

test('typed errors map to their statuses in one place', () => {
  const cases: [unknown, number][] = [
    [new ValidationError([{ path: 'name', message: 'must not be empty' }]), 400],
    [new AuthError('token expired'), 401],
    [new ForbiddenError('this needs scope sluice:write'), 403],
    [new NotFoundError('job', 'x'), 404],
    [new ConflictError('run finished'), 409],
    [new ServiceUnavailableError('OAuth issuer', 'https://x', 'down'), 503],
    [new Error('boom'), 500],
    [Object.assign(new Error("Can't reach database server at 127.0.0.1:5432"), { code: 'P1001' }), 503],
    // A bare socket error is not known to be PostgreSQL's (the plain-SQL path names its own).
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' }), 500],
    [Object.assign(new Error('too big'), { type: 'entity.too.large', status: 413 }), 413],
    [Object.assign(new Error('Unexpected token in {"password":"hunter2"}'), { type: 'entity.parse.failed', status: 400 }), 400],
  ];
  for (const [err, status] of cases) assert.equal(mapError(err).status, status, String(err));
});

test('internal and parser messages are not passed on', () => {
  assert.equal(mapError(new Error('db password is hunter2')).message, 'internal error (see the server log)');
  const parse = mapError(Object.assign(new Error('Unexpected token in {"password":"hunter2"}'), { type: 'entity.parse.failed', status: 400 }));
  assert.ok(!parse.message.includes('hunter2'));
});

test('401 and 403 carry RFC 6750 WWW-Authenticate challenges', () => {
  assert.equal(mapError(new AuthError('missing bearer token (Authorization: Bearer <token>)')).headers?.['WWW-Authenticate'], 'Bearer realm="sluice"');
  assert.match(mapError(new AuthError('token expired')).headers?.['WWW-Authenticate'] ?? '', /error="invalid_token"/);
  assert.match(mapError(new ForbiddenError('this needs scope sluice:admin')).headers?.['WWW-Authenticate'] ?? '', /insufficient_scope", scope="sluice:admin"/);
});

test("a statement PostgreSQL cancelled is a 503 said one way, whatever the path, without the server's address (QA round 32b F5)", () => {
  const said = 'PostgreSQL cancelled a statement that ran past its limit (statement_timeout): it waited on a lock another session holds (a client stopped inside a transaction?), or on an overloaded server: try again shortly';
  // The plain-SQL path's error, and node-postgres's own (SQLSTATE 57014) as Prisma's adapter passes it on.
  const cancelled = Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014', severity: 'ERROR' });
  for (const err of [new PostgresBusyError('10.0.0.5:5432'), new Error('driver adapter error', { cause: cancelled })]) {
    const mapped = mapError(err);
    assert.deepEqual([mapped.status, mapped.message, mapped.headers?.['Retry-After']], [503, said, '5'], String(err));
  }
});
