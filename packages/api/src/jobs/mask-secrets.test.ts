import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findSecretPaths } from '@sluice/core/secrets';
import { maskSecrets, restoreMaskedSecrets } from './mask-secrets.ts';

test('masking replaces exactly the secret values and leaves the input alone', () => {
  const config = { a: { token: 'tok-123' }, list: [{ password: 'pw-456' }], keep: 'x', nothing: null };
  const paths = findSecretPaths(config, undefined);
  assert.deepEqual(maskSecrets(config, [...paths, 'nothing', 'absent.path']), {
    a: { token: '**********' },
    list: [{ password: '**********' }],
    keep: 'x',
    nothing: null,
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
