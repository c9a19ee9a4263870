import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, SecretRegistry } from './redact.ts';

test("a service URL's password is masked by value, unless it is the user name; credentials in any logged URL are masked", () => {
  const r = new SecretRegistry();
  r.addUrlPassword('postgresql://sluice:sluice@db:5432/sluice');
  r.addUrlPassword('redis://:s3cr%2Ft-pw@cache:6379');
  r.addUrlPassword('not a url');
  // The compose default (user = password) leaves the word alone in text…
  assert.equal(r.mask('this needs scope sluice:read'), 'this needs scope sluice:read');
  // …but not inside a URL, nor any other URL's credentials.
  assert.equal(r.mask('connect to postgresql://sluice:sluice@db:5432/sluice failed'), `connect to postgresql://sluice:${REDACTED}@db:5432/sluice failed`);
  assert.equal(r.mask('s3 at https://key:other-secret@minio:9000/b'), `s3 at https://key:${REDACTED}@minio:9000/b`);
  // A real password is masked wherever it appears, decoded.
  assert.equal(r.mask('AUTH s3cr/t-pw rejected'), `AUTH ${REDACTED} rejected`);
  // An e-mail address or a user-only URL is no credential.
  assert.equal(r.mask('owner jane.doe@example.com, ssh://git@host/repo'), 'owner jane.doe@example.com, ssh://git@host/repo');
});
