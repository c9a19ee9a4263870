import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findSecretPaths, looksLikeSecretKey, pathsToMask, secretValues, type ConnectorSpec } from './secret-paths.ts';

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

test('secret values are the leaves at the paths, as strings', () => {
  const config = { a: { token: 'tok-123' }, list: [{ password: 'pw-456' }], keep: 'x', port: 5432 };
  assert.deepEqual(secretValues(config, findSecretPaths(config, undefined)).sort(), ['pw-456', 'tok-123']);
  assert.deepEqual(secretValues(config, ['port', 'absent.path']), ['5432']);
});

test('one name rule: password, secret, token, key, credential, authorization, session, cookie and jwt, in any case', () => {
  for (const k of ['Password', 'db_passwd', 'client_secret', 'ACCESS_TOKEN', 'api_key', 'apikey', 'credentials', 'Authorization', 'session_id', 'cookie', 'jwt', 'signed_JWT']) {
    assert.ok(looksLikeSecretKey(k), k);
  }
  for (const k of ['host', 'port', 'database', 'region', 'count', 'start_date', 'oauth', 'auth_method']) assert.equal(looksLikeSecretKey(k), false, k);
});

test('with a spec, keys it does not declare are secrets by name, keys it declares are its to decide', () => {
  // Shaped like source-faker's spec: a few declared fields, any other key allowed.
  const spec: ConnectorSpec = {
    connectionSpecification: {
      type: 'object',
      additionalProperties: true,
      properties: {
        count: { type: 'integer' },
        opaque: { type: 'string', airbyte_secret: true },
        token_url: { type: 'string' },
        options: { type: 'object' },
        hosts: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
      },
    },
  };
  const config = {
    count: 10,
    opaque: 'o',
    token_url: 'https://auth.example/token',
    password: 'hunter2',
    api_key: 'sk-live-abc',
    credentials: { client_secret: 'cs-xyz', access_token: 'at-123' },
    extra: { region: 'eu', session_token: 'st' },
    options: { private_key: 'pk', page_size: 5 },
    hosts: [{ name: 'h1', secret: 's1' }],
  };
  assert.deepEqual(findSecretPaths(config, spec), [
    'api_key',
    'credentials.access_token',
    'credentials.client_secret',
    'extra.session_token',
    'hosts.0.secret',
    'opaque',
    'options.private_key',
    'password',
  ]);
});

test("a schema under additionalProperties still marks secrets of keys the spec does not name", () => {
  const spec: ConnectorSpec = {
    connectionSpecification: {
      type: 'object',
      additionalProperties: { type: 'object', properties: { dsn: { type: 'string', airbyte_secret: true }, user: { type: 'string' } } },
    },
  };
  const config = { primary: { dsn: 'pg://u:p@h/db', user: 'u' }, replica: { dsn: 'pg://u:p@r/db', user: 'u', passwd: 'p' } };
  assert.deepEqual(findSecretPaths(config, spec), ['primary.dsn', 'replica.dsn', 'replica.passwd']);
});

test('until the spec is read for a config, every string of it is masked; then its secret paths only', () => {
  const config = { host: 'db.example', port: 5432, ssl: true, service_account_info: '{"k":1}', tags: ['a', null], nested: { api_key: 'k-1', note: null } };
  const job = { secretPaths: ['nested.api_key'], specSecretsKnown: false };
  assert.deepEqual(pathsToMask(config, job), ['host', 'nested.api_key', 'service_account_info', 'tags.0']);
  assert.deepEqual(pathsToMask(config, { ...job, specSecretsKnown: true }), ['nested.api_key']);
});
