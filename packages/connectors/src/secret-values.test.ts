import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectSecretValues } from './secret-values.ts';
import { execFileSync } from 'node:child_process';
import { configSecrets, SecretRegistry } from '@sluice/logging';
import { Connector } from './connector.ts';

const spec = {
  connectionSpecification: {
    type: 'object',
    properties: {
      host: { type: 'string' },
      canary: { type: 'string', airbyte_secret: true },
      login: {
        type: 'object',
        oneOf: [
          { properties: { kind: { const: 'oauth' }, refresh: { type: 'string', airbyte_secret: true } } },
          { properties: { kind: { const: 'basic' }, pw: { type: 'string', airbyte_secret: true } } },
        ],
      },
      tunnels: { type: 'array', items: { type: 'object', properties: { ssh_private: { type: 'string', airbyte_secret: true } } } },
    },
  },
};

test('values of airbyte_secret fields are found through properties, oneOf branches and array items', () => {
  const values = collectSecretValues(spec, {
    host: 'db.example.com',
    canary: 'canary-1234',
    login: { kind: 'basic', pw: 'hunter2hunter2' },
    tunnels: [{ ssh_private: 'ssh-secret-a' }, { ssh_private: 'ssh-secret-b' }],
  });
  for (const v of ['canary-1234', 'hunter2hunter2', 'ssh-secret-a', 'ssh-secret-b']) assert.ok(values.includes(v), v);
  assert.ok(!values.includes('db.example.com'));
  assert.ok(!values.includes('basic'));
});

test('secret-looking keys are secrets even when the spec does not mark them, and without a spec', () => {
  const values = collectSecretValues(undefined, { api_token: 'tok-98765', nested: { client_secret: 's3cr3t!!', region: 'eu-west-1' } });
  assert.ok(values.includes('tok-98765'));
  assert.ok(values.includes('s3cr3t!!'));
  assert.ok(!values.includes('eu-west-1'));
});

test('a secret with characters JSON escapes is also found in its escaped form', () => {
  const values = collectSecretValues(spec, { canary: 'a"b\\c-long' });
  assert.ok(values.includes('a"b\\c-long'));
  assert.ok(values.includes('a\\"b\\\\c-long'));
});

test('a secret is masked in the forms a Python connector prints its config in: json.dumps and repr', () => {
  const config = {
    host: 'db.example.com',
    canary: 'Quote"Back\\slash-ünï-SEC',
    login: { kind: 'basic', pw: "it's \"both\"\tkinds" },
    // Characters Python does not print (a pasted no-break space, DEL, escape), QA round 18.
    tunnels: [{ ssh_private: 'nbsp\u00a0Quote' }, { ssh_private: 'del\u007fQuote' }, { ssh_private: 'esc\u001bQuote\u2028kinds' }],
  };
  const registry = new SecretRegistry();
  for (const v of collectSecretValues(spec, config)) registry.add(v);
  // Python itself prints the config, as a connector's debug line or traceback would.
  const printed = execFileSync('python3', ['-c', 'import json, sys; c = json.load(sys.stdin); print(json.dumps(c)); print(repr(c)); print(json.dumps(c, ensure_ascii=False))'], {
    input: JSON.stringify(config),
    encoding: 'utf8',
  });
  const lines = printed.trim().split('\n');
  assert.equal(lines.length, 3);
  for (const line of lines) {
    const masked = registry.mask(line);
    assert.ok(masked.includes('db.example.com'), masked);
    for (const part of ['Quote', 'slash', 'SEC', 'both', 'kinds']) assert.ok(!masked.includes(part), `${part} in ${masked}`);
  }
});

test('each line of a secret of several lines is masked, as stderr reaches the log a line at a time', () => {
  const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\nQmVyeVNlY3JldEtleU1hdGVy\n-----END PRIVATE KEY-----\n';
  const registry = new SecretRegistry();
  for (const v of collectSecretValues(spec, { canary: pem })) registry.add(v);
  for (const line of `stderr: secret is ${pem}`.split(/\r?\n/)) {
    const masked = registry.mask(line);
    assert.ok(!masked.includes('MIIEvQ') && !masked.includes('QmVyeVNl'), masked);
  }
  assert.equal(registry.mask('QmVyeVNlY3JldEtleU1hdGVy {"origin":"stderr"}'), '********** {"origin":"stderr"}');
});

test('a secret is masked percent-encoded, as a connector logging the URL it calls writes it (Python and JavaScript forms)', () => {
  const config = { canary: "p@ss w/rd+(it's)!*~ünï", login: { kind: 'basic', pw: 'plain-secret_123' } };
  const registry = new SecretRegistry();
  const values = collectSecretValues(spec, config);
  for (const v of values) registry.add(v);
  const printed = execFileSync(
    'python3',
    ['-c', "import json, sys; from urllib.parse import quote, quote_plus, urlencode; c = json.load(sys.stdin)['canary']; print(quote(c, safe='')); print(quote(c)); print(quote_plus(c)); print('https://api.example.com/v1?' + urlencode({'token': c, 'page': 2}))"],
    { input: JSON.stringify(config), encoding: 'utf8' },
  );
  const lines = [...printed.trim().split('\n'), `GET https://api.example.com/v1?token=${encodeURIComponent(config.canary)}&page=2`];
  assert.equal(lines.length, 5);
  for (const line of lines) {
    const masked = registry.mask(line);
    assert.ok(!/p%40ss|ss\+w|ss%20w/.test(masked), `${line} → ${masked}`);
  }
  assert.equal(registry.mask(lines[3] ?? ''), 'https://api.example.com/v1?token=**********&page=2');
  // A value that URLs carry as it is adds no other form.
  assert.equal(values.filter((v) => v.startsWith('plain-secret')).length, 1);
});

test('a secret is masked inside base64 whatever precedes it, as in a Basic Authorization header a connector logs', () => {
  const secret = 'k3y+With/Slash=End';
  const registry = new SecretRegistry();
  for (const v of collectSecretValues(spec, { canary: secret, host: 'db.example.com' })) registry.add(v);
  const printed = execFileSync(
    'python3',
    [
      '-c',
      "import base64, sys; s = sys.stdin.read()\nfor user in ['user', 'ab', 'a', 'alice@example.com', '']:\n  print('Authorization: Basic ' + base64.b64encode((user + ':' + s).encode()).decode())\nprint(base64.urlsafe_b64encode(('{\"pw\": \"' + s + '\"}').encode()).decode())",
    ],
    { input: secret, encoding: 'utf8' },
  );
  const lines = printed.trim().split('\n');
  assert.equal(lines.length, 6);
  for (const line of lines) {
    const masked = registry.mask(line);
    assert.ok(masked.includes('**********'), masked);
    // What is left of the base64 around the mask decodes to no four characters of the secret.
    for (const left of masked.replace(/^Authorization: Basic /, '').split('**********')) {
      const decoded = Buffer.from(left.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
      for (let i = 0; i + 4 <= secret.length; i++) assert.ok(!decoded.includes(secret.slice(i, i + 4)), `${secret.slice(i, i + 4)} decodes from ${left} (${masked})`);
    }
  }
  // Base64 of other text is left alone, and a short secret adds no base64 form (it would mask too much).
  assert.equal(registry.mask(Buffer.from('user:another-password').toString('base64')), Buffer.from('user:another-password').toString('base64'));
  assert.deepEqual(collectSecretValues(spec, { canary: 'abcd' }), ['abcd']);
});

test("before the spec is known, a command's masker hides every string of the config in its own text, and gives the process's log only the secrets key names show", () => {
  const connector = new Connector('source-unknown-spec', { kind: 'path', executable: '/bin/true' });
  const config = { host: 'db-unknown-spec.example', api_key: 'key-unknown-spec-42', nested: { region: 'region-unknown-spec' }, port: 5432, tls: true };
  const masker = connector.maskerWithoutWaiting(config);
  assert.equal(
    masker.mask('db-unknown-spec.example refused key-unknown-spec-42 in region-unknown-spec on 5432'),
    '********** refused ********** in ********** on 5432',
  );
  // JSON-escaped and URL forms, as a connector prints them, too.
  assert.equal(masker.mask('"host": "db-unknown-spec.example"'), '"host": "**********"');
  // Only the key-named secret reaches the process's log masking: the others may be no secret (a host, a region).
  assert.equal(configSecrets.mask('key-unknown-spec-42'), '**********');
  assert.equal(configSecrets.mask('db-unknown-spec.example region-unknown-spec'), 'db-unknown-spec.example region-unknown-spec');
});
