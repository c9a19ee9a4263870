import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskText, REDACTED, SecretRegistry } from './redact.ts';

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

test('a secret holding a shorter one, or a URL credential, is masked whole', () => {
  const r = new SecretRegistry();
  r.add('SHORTSEC');
  r.add('LONGPREFIX-SHORTSEC-LONGSUFFIX');
  r.add('https://user:zz@x/ PHRASE%20Q');
  assert.equal(r.mask('secret is LONGPREFIX-SHORTSEC-LONGSUFFIX, and SHORTSEC alone'), `secret is ${REDACTED}, and ${REDACTED} alone`);
  assert.equal(r.mask('secret is https://user:zz@x/ PHRASE%20Q (exit 1)'), `secret is ${REDACTED} (exit 1)`);
  // Registered in the other order, the same.
  const other = new SecretRegistry();
  other.add('LONGPREFIX-SHORTSEC-LONGSUFFIX');
  other.add('SHORTSEC');
  assert.equal(other.mask('[LONGPREFIX-SHORTSEC-LONGSUFFIX][SHORTSEC]'), `[${REDACTED}][${REDACTED}]`);
  // Places that touch or overlap are one mask; every occurrence is found.
  assert.equal(r.mask('SHORTSECSHORTSEC x SHORTSEC'), `${REDACTED} x ${REDACTED}`);
  assert.equal(r.mask('nothing here'), 'nothing here');
});

test('registries mask together: a value of one inside a value of another is masked whole', () => {
  const own = new SecretRegistry();
  const config = new SecretRegistry();
  own.add('master-key-1');
  config.add('xx-master-key-1-yy');
  assert.equal(maskText('a xx-master-key-1-yy b master-key-1', [own, config]), `a ${REDACTED} b ${REDACTED}`);
  assert.equal(maskText('a xx-master-key-1-yy', [own]), `a xx-${REDACTED}-yy`);
});

test("a connection string's password is masked in logged text, whatever its key's case; its other settings are not (QA round 55c F4)", () => {
  const registry = new SecretRegistry();
  assert.equal(
    registry.mask('source > config: {"connection_string": "Server=x;Password=CS_SECRET_Z4;", "odbc": "DSN=a;pwd = {p;w};UID=u"}'),
    'source > config: {"connection_string": "Server=x;Password=**********;", "odbc": "DSN=a;pwd = **********;UID=u"}',
  );
  assert.equal(registry.mask('jdbc:postgresql://h/db?user=u&PASSWORD=JDBC-1&ssl=true'), 'jdbc:postgresql://h/db?user=u&PASSWORD=**********&ssl=true');
  assert.equal(registry.mask('password rotation is due; passwordless=true'), 'password rotation is due; passwordless=true');
});
