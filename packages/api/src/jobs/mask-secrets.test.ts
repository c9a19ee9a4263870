import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findSecretPaths } from '@sluice/core/secrets';
import { maskSecrets, restoreMaskedSecrets } from './mask-secrets.ts';

test('masking replaces exactly the secret values and leaves the input alone', () => {
  const config = { a: { token: 'tok-123' }, list: [{ password: 'pw-456' }], keep: 'x', nothing: null, client_secret: true, pin: 1234 };
  const paths = findSecretPaths(config, undefined);
  assert.deepEqual(maskSecrets(config, [...paths, 'nothing', 'absent.path', 'pin']), {
    a: { token: '**********' },
    list: [{ password: '**********' }],
    keep: 'x',
    nothing: null,
    // A boolean tells nothing: it keeps its type (QA round 37b F5: answered as "**********").
    client_secret: true,
    pin: '**********',
  });
  assert.equal(config.a.token, 'tok-123');
});

test('a mask sent back where a secret is saved keeps that secret; a changed value replaces it; a mask elsewhere is an issue', () => {
  const saved = { host: 'db1', creds: { user: 'u', password: 'old-pw' }, keys: ['k-1', 'k-2'], token: 'tok' };
  const paths = ['creds.password', 'keys.1', 'token'];
  const sent = { host: 'db2', creds: { user: 'u', password: '**********' }, keys: ['k-1', '**********'], token: 'new-tok' };
  assert.deepEqual(restoreMaskedSecrets(sent, saved, paths), {
    config: { host: 'db2', creds: { user: 'u', password: 'old-pw' }, keys: ['k-1', 'k-2'], token: 'new-tok' },
    issues: [],
  });
  assert.equal(sent.creds.password, '**********', 'the request is left alone');

  const elsewhere = restoreMaskedSecrets({ host: '**********', creds: { password: '**********' }, extra: [{ pw: '**********' }] }, { creds: {} }, ['creds.password']);
  assert.deepEqual(
    elsewhere.issues.map((i) => i.path),
    ['source_config.host', 'source_config.creds.password', 'source_config.extra[0].pw'],
  );
  assert.match(elsewhere.issues[0]?.message ?? '', /the job has no saved secret here: send the value itself/);
});

test("inside a list, a mask keeps its secret only where the entry is sent back as shown: an entry removed before it does not hand it another's secret", () => {
  const saved = { hosts: [{ host: 'h1', password: 'p1' }, { host: 'h2', password: 'p2' }], keys: ['k0', 'k1'] };
  const paths = ['hosts.0.password', 'hosts.1.password', 'keys.0', 'keys.1'];
  const shown = { hosts: [{ host: 'h1', password: '**********' }, { host: 'h2', password: '**********' }], keys: ['**********', '**********'] };
  assert.deepEqual(restoreMaskedSecrets(shown, saved, paths), { config: saved, issues: [] }, 'sent back as shown: all kept');
  assert.deepEqual(restoreMaskedSecrets({ ...shown, keys: ['k-new', '**********'] }, saved, paths).config.keys, ['k-new', 'k1'], 'one key replaced in place');

  const dropped = restoreMaskedSecrets({ hosts: [{ host: 'h2', password: '**********' }], keys: ['**********'] }, saved, paths);
  assert.deepEqual(
    dropped.issues.map((i) => i.path),
    ['source_config.hosts[0].password', 'source_config.keys[0]'],
  );
  assert.match(dropped.issues[0]?.message ?? '', /its list entry is not sent back as GET shows it .*: send the secret itself$/);
  const moved = restoreMaskedSecrets({ ...shown, hosts: [{ host: 'h9', password: '**********' }, shown.hosts[1]] }, saved, paths);
  assert.deepEqual(moved.issues.map((i) => i.path), ['source_config.hosts[0].password'], 'an entry changed beside its secret');
});

test("a URL's password is masked as the logs mask it, and a URL sent back as GET showed it keeps its saved password (QA round 28)", () => {
  const saved = { connection_string: 'postgres://bob:CONNPW-999@db.example.com:5432/app', hosts: ['https://u:p4ss@a.example.com/x'], plain: 'https://a.example.com/no-credentials' };
  const shown = maskSecrets(saved, []);
  assert.deepEqual(shown, {
    connection_string: 'postgres://bob:**********@db.example.com:5432/app',
    hosts: ['https://u:**********@a.example.com/x'],
    plain: 'https://a.example.com/no-credentials',
  });
  assert.deepEqual(restoreMaskedSecrets(shown, saved, []), { config: saved, issues: [] });
  // The URL changed around its mask (another host): the mask cannot be resolved.
  const moved = restoreMaskedSecrets({ ...shown, connection_string: 'postgres://bob:**********@db2.example.com:5432/app' }, saved, []);
  assert.deepEqual(moved.issues.map((i) => i.path), ['source_config.connection_string']);
  // Said as what it is (QA round 29: "the job has no saved secret here", where it has one).
  assert.match(moved.issues[0]?.message ?? '', /^holds the mask of the saved password written in it, but it differs from the saved value beyond it \(a URL's host, port, user or path/);
  // A new password in the URL is taken as it is.
  const changed = restoreMaskedSecrets({ ...shown, connection_string: 'postgres://bob:NEW@db.example.com:5432/app' }, saved, []);
  assert.deepEqual(changed, { config: { ...saved, connection_string: 'postgres://bob:NEW@db.example.com:5432/app' }, issues: [] });
});

test("a connection string's password, and a key named pwd, are masked as the logs mask them; sent back as GET showed them, they keep their saved values (QA round 55c F4)", () => {
  const saved = { connection_string: 'Server=db;Database=app;Password=CS_SECRET_Z4;Encrypt=yes', odbc: 'DSN=x;UID=u;PWD={p;w d};', jdbc: 'jdbc:sqlserver://h;user=u;password=JDBC-PW', pwd: 'PWD_SECRET_Y2', note: 'passwords are rotated monthly' };
  const paths = findSecretPaths(saved, undefined);
  assert.deepEqual(paths, ['pwd']);
  const shown = maskSecrets(saved, paths);
  assert.deepEqual(shown, {
    connection_string: 'Server=db;Database=app;Password=**********;Encrypt=yes',
    odbc: 'DSN=x;UID=u;PWD=**********;',
    jdbc: 'jdbc:sqlserver://h;user=u;password=**********',
    pwd: '**********',
    note: 'passwords are rotated monthly',
  });
  assert.deepEqual(restoreMaskedSecrets(shown, saved, paths), { config: saved, issues: [] });
  const moved = restoreMaskedSecrets({ ...shown, connection_string: 'Server=db2;Database=app;Password=**********;Encrypt=yes' }, saved, paths);
  assert.deepEqual(moved.issues.map((i) => i.path), ['source_config.connection_string']);
});
