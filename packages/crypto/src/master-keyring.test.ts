import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ValidationError } from '@sluice/core';
import { MasterKeyring, SEALED_PREFIX, masterKeyId } from './master-keyring.ts';
import { openSourceConfig, sealSourceConfig } from './source-config-seal.ts';

test('sealed values are self-describing, round-trip, and never contain the plaintext', () => {
  const key = randomBytes(32);
  const ring = new MasterKeyring(key);
  const sealed = ring.seal('canary-s3cr3t-value', 'ctx');
  assert.ok(sealed.startsWith(`${SEALED_PREFIX}${masterKeyId(key)}:`));
  assert.ok(!sealed.includes('canary'));
  assert.equal(ring.openString(sealed, 'ctx'), 'canary-s3cr3t-value');
  assert.notEqual(ring.seal('x', 'ctx'), ring.seal('x', 'ctx'), 'a fresh IV each time');
});

test('the context is authenticated: a value moved to another row does not open', () => {
  const ring = new MasterKeyring(randomBytes(32));
  const sealed = sealSourceConfig(ring, 'job-a', { password: 'p' });
  assert.deepEqual(openSourceConfig(ring, 'job-a', sealed), { password: 'p' });
  assert.throws(() => openSourceConfig(ring, 'job-b', sealed), ValidationError);
});

test('a tampered ciphertext fails authentication', () => {
  const ring = new MasterKeyring(randomBytes(32));
  const sealed = ring.seal('hello world', 'c');
  const body = Buffer.from(sealed.slice(sealed.lastIndexOf(':') + 1), 'base64');
  body[14] = (body[14] ?? 0) ^ 1;
  const tampered = `${sealed.slice(0, sealed.lastIndexOf(':') + 1)}${body.toString('base64')}`;
  assert.throws(() => ring.open(tampered, 'c'), /failed authentication/);
});

test('the master key rotates: old values open with the previous key and reseal under the new one', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const sealedOld = new MasterKeyring(oldKey).seal('v', 'c');
  const rotated = new MasterKeyring(newKey, [oldKey]);
  assert.equal(rotated.openString(sealedOld, 'c'), 'v');
  assert.equal(rotated.needsReseal(sealedOld), true);
  const resealed = rotated.reseal(sealedOld, 'c');
  assert.equal(rotated.needsReseal(resealed), false);
  assert.throws(() => new MasterKeyring(oldKey).open(resealed, 'c'), /does not hold/);
  assert.equal(new MasterKeyring(newKey).openString(resealed, 'c'), 'v');
});

test('a master key that is not 32 bytes is refused, naming the setting', () => {
  assert.throws(() => MasterKeyring.fromBase64(Buffer.alloc(16).toString('base64')), /SLUICE_MASTER_KEY/);
});
