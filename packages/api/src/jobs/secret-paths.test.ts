import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findSecretPaths, maskSecrets, secretValues, type ConnectorSpec } from './secret-paths.ts';

test('without a spec, values under secret-like key names are secrets (whole subtrees)', () => {
  const config = { host: 'h', password: 'p1', credentials: { client_id: 'id', refresh: 'r' }, list: [{ api_token: 't' }], port: 1 };
  assert.deepEqual(findSecretPaths(config, undefined), ['credentials.client_id', 'credentials.refresh', 'list.0.api_token', 'password']);
});

test('with a spec, airbyte_secret decides, through nested objects, arrays and oneOf', () => {
  const spec: ConnectorSpec = {
    connectionSpecification: {
      type: 'object',
      properties: {
        password: { type: 'string' },
        opaque: { type: 'string', airbyte_secret: true },
        auth: { oneOf: [{ properties: { key: { type: 'string', airbyte_secret: true } } }, { properties: { user: { type: 'string' } } }] },
        hosts: { type: 'array', items: { type: 'object', properties: { secret_id: { type: 'string', airbyte_secret: true } } } },
      },
    },
  };
  const config = { password: 'not-secret-per-spec', opaque: 'o', auth: { key: 'k' }, hosts: [{ secret_id: 'a' }, { secret_id: 'b' }] };
  assert.deepEqual(findSecretPaths(config, spec), ['auth.key', 'hosts.0.secret_id', 'hosts.1.secret_id', 'opaque']);
});

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
  assert.deepEqual(secretValues(config, paths).sort(), ['pw-456', 'tok-123']);
});
