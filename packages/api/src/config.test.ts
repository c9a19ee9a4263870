import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ConfigError } from '@sluice/core';
import { loadApiConfig } from './config.ts';

const base = {
  DATABASE_URL: 'postgresql://u:p@127.0.0.1:5432/sluice',
  REDIS_URL: 'redis://127.0.0.1:6379',
  SLUICE_STORAGE_URL: 's3://warehouse/sluice',
  SLUICE_MASTER_KEY: randomBytes(32).toString('base64'),
  SLUICE_DEV_TOKEN: 'dev-token-long-enough',
};

test('defaults: port 8080, public URL without trailing slash, dev mode', () => {
  const c = loadApiConfig({ ...base, SLUICE_PUBLIC_URL: 'https://sluice.example.com/' });
  assert.equal(c.port, 8080);
  assert.equal(c.publicUrl, 'https://sluice.example.com');
  assert.deepEqual(c.auth, { issuer: null, audience: null, clientId: null, devToken: 'dev-token-long-enough' });
});

test('the public URL follows SLUICE_PORT when unset (QA round 37b F6: http://localhost:8080 whatever the port)', () => {
  assert.equal(loadApiConfig(base).publicUrl, 'http://localhost:8080');
  assert.equal(loadApiConfig({ ...base, SLUICE_PORT: '18700' }).publicUrl, 'http://localhost:18700');
});

test('listen address: loopback in development mode, every interface with an issuer, or as set', () => {
  assert.equal(loadApiConfig(base).host, '127.0.0.1', 'dev mode: anyone who loads a page is the admin');
  const { SLUICE_DEV_TOKEN: _d, ...noDev } = base;
  const oidc = { ...noDev, SLUICE_AUTH_ISSUER: 'https://login.example.com', SLUICE_AUTH_AUDIENCE: 'sluice-api' };
  assert.equal(loadApiConfig(oidc).host, null);
  assert.equal(loadApiConfig({ ...base, SLUICE_HOST: '0.0.0.0' }).host, '0.0.0.0');
  assert.equal(loadApiConfig({ ...oidc, SLUICE_HOST: '10.0.0.5' }).host, '10.0.0.5');
  assert.throws(() => loadApiConfig({ ...base, SLUICE_HOST: 'http://x' }), (e: unknown) => e instanceof ConfigError && e.setting === 'SLUICE_HOST');
});

test('a wrong setting stops the start with its name', () => {
  assert.throws(() => loadApiConfig({ ...base, SLUICE_MASTER_KEY: 'short' }), (e: unknown) => e instanceof ConfigError && e.setting === 'SLUICE_MASTER_KEY');
  assert.throws(() => loadApiConfig({ ...base, SLUICE_PORT: '70000' }), /SLUICE_PORT/);
});

test('an issuer needs an audience; no issuer and no dev token accepts no one', () => {
  assert.throws(() => loadApiConfig({ ...base, SLUICE_AUTH_ISSUER: 'https://login.example.com' }), /SLUICE_AUTH_AUDIENCE/);
  const { SLUICE_DEV_TOKEN: _d, ...noAuth } = base;
  assert.throws(() => loadApiConfig(noAuth), /SLUICE_AUTH_ISSUER: is not set, and neither is SLUICE_DEV_TOKEN/);
  const c = loadApiConfig({ ...noAuth, SLUICE_AUTH_ISSUER: 'https://login.example.com', SLUICE_AUTH_AUDIENCE: 'sluice-api' });
  assert.equal(c.auth.devToken, null);
  // A dev token (an admin's, never expiring) beside an issuer is refused (before: accepted silently; QA round 28).
  assert.throws(
    () => loadApiConfig({ ...base, SLUICE_AUTH_ISSUER: 'https://login.example.com', SLUICE_AUTH_AUDIENCE: 'sluice-api' }),
    // No example of a value to set, where the advice is to unset it (QA round 29).
    (e: unknown) => e instanceof ConfigError && e.setting === 'SLUICE_DEV_TOKEN' && /with SLUICE_AUTH_ISSUER set, unset it \(the issuer's tokens sign people in\)$/.test(e.message),
  );
});

test('previous master keys for a rotation: comma-separated, each checked', () => {
  const old = randomBytes(32).toString('base64');
  assert.deepEqual(loadApiConfig({ ...base, SLUICE_MASTER_KEY_PREVIOUS: ` ${old} ,` }).previousMasterKeys, [old]);
  assert.deepEqual(loadApiConfig(base).previousMasterKeys, []);
  assert.throws(() => loadApiConfig({ ...base, SLUICE_MASTER_KEY_PREVIOUS: `${old},nope` }), /SLUICE_MASTER_KEY_PREVIOUS/);
});

test('every bad or missing setting is named at once, each on a line of its own (QA round 40b F3: six launches, one setting each)', () => {
  assert.throws(
    () => loadApiConfig({ SLUICE_PORT: 'abc' }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.setting === 'DATABASE_URL' &&
      e.message.split('\n')[0] === '6 settings are not set or not valid:' &&
      ['DATABASE_URL: is not set', 'REDIS_URL: is not set', 'SLUICE_STORAGE_URL: is not set', 'SLUICE_PORT: must be a port number', 'SLUICE_MASTER_KEY: is not set', 'SLUICE_AUTH_ISSUER: is not set, and neither is SLUICE_DEV_TOKEN'].every(
        (said, i) => e.message.split('\n')[i + 1]?.startsWith(`  ${said}`),
      ),
  );
});

test("what the authentication settings say together goes before what one value lacks: a short dev token beside an issuer is to be removed (QA round 40c F7)", () => {
  assert.throws(
    () => loadApiConfig({ ...base, SLUICE_AUTH_ISSUER: 'https://login.example.com', SLUICE_AUTH_AUDIENCE: 'sluice-api', SLUICE_DEV_TOKEN: 'short' }),
    (e: unknown) => e instanceof ConfigError && e.setting === 'SLUICE_DEV_TOKEN' && /with SLUICE_AUTH_ISSUER set, unset it/.test(e.message) && !e.message.includes('12 characters'),
  );
  // And both of an issuer's problems at once: no audience, and a dev token left beside it.
  assert.throws(
    () => loadApiConfig({ ...base, SLUICE_AUTH_ISSUER: 'https://login.example.com' }),
    (e: unknown) => e instanceof ConfigError && /^2 settings are not set or not valid:\n {2}SLUICE_AUTH_AUDIENCE: is required with SLUICE_AUTH_ISSUER.*\n {2}SLUICE_DEV_TOKEN: is for single-user development/.test(e.message),
  );
  assert.throws(() => loadApiConfig({ ...base, SLUICE_PUBLIC_URL: 'notaurl' }), /SLUICE_PUBLIC_URL: must be an http\(s\) URL, e\.g\. https:\/\/sluice\.example\.com/);
});
