import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthError, ConflictError, ForbiddenError, NotFoundError, ServiceUnavailableError, ValidationError } from '@sluice/core';
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
