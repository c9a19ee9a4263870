import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findSecretPaths } from '@sluice/core/secrets';
import { maskSecrets } from './mask-secrets.ts';

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
