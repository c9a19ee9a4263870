import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ColumnCipher, deterministicKeyVersion, generateKeyMaterial } from './column-cipher.ts';

const v1 = generateKeyMaterial();
const v2 = generateKeyMaterial();

test('randomized encryption: documented format, fresh each time, decrypts', () => {
  const c = new ColumnCipher('pii', new Map([[1, v1]]), 1);
  const a = c.encrypt('alice@example.com');
  const b = c.encrypt('alice@example.com');
  assert.match(a, /^sluice:v1:1:[A-Za-z0-9+/=]+$/);
  assert.notEqual(a, b);
  assert.equal(c.decrypt(a), 'alice@example.com');
  assert.equal(c.decrypt(b), 'alice@example.com');
});

test('deterministic encryption: equal plaintexts give equal ciphertexts, different ones differ', () => {
  const c = new ColumnCipher('pii', new Map([[1, v1]]), 1);
  const a = c.encrypt('42', 'deterministic');
  assert.match(a, /^sluice:v1d:1:/);
  assert.equal(c.encrypt('42', 'deterministic'), a);
  assert.notEqual(c.encrypt('43', 'deterministic'), a);
  assert.equal(c.decrypt(a), '42');
  assert.equal(c.encrypt('', 'deterministic'), c.encrypt('', 'deterministic'));
  assert.equal(c.decrypt(c.encrypt('', 'deterministic')), '');
});

test('another key cannot decrypt, and deterministic values differ across keys', () => {
  const a = new ColumnCipher('a', new Map([[1, v1]]), 1);
  const b = new ColumnCipher('b', new Map([[1, v2]]), 1);
  assert.notEqual(a.encrypt('x', 'deterministic'), b.encrypt('x', 'deterministic'));
  assert.throws(() => b.decrypt(a.encrypt('x')), /failed authentication/);
});

test('after rotation new values use the new version and old ones still decrypt', () => {
  const before = new ColumnCipher('k', new Map([[1, v1]]), 1);
  const old = before.encrypt('secret');
  const after = new ColumnCipher('k', new Map([[1, v1], [2, v2]]), 2);
  assert.match(after.encrypt('secret'), /^sluice:v1:2:/);
  assert.equal(after.decrypt(old), 'secret');
});

test('an older version on request: deterministic values equal to those written before the rotation; its version read from a prefix', () => {
  const before = new ColumnCipher('k', new Map([[1, v1]]), 1);
  const after = new ColumnCipher('k', new Map([[1, v1], [2, v2]]), 2);
  const old = before.encrypt('id-7', 'deterministic');
  assert.equal(after.encrypt('id-7', 'deterministic', 1), old);
  assert.notEqual(after.encrypt('id-7', 'deterministic'), old);
  assert.equal(after.hasVersion(1), true);
  assert.equal(after.hasVersion(3), false);
  assert.throws(() => after.encrypt('id-7', 'deterministic', 3), /key k has no version 3/);
  assert.equal(deterministicKeyVersion(old.slice(0, 16)), 1, 'an Iceberg bound keeps 16 characters');
  assert.equal(deterministicKeyVersion('sluice:v1d:12:AAAA'), 12);
  assert.equal(deterministicKeyVersion(before.encrypt('id-7')), undefined, 'randomized values are not merge keys');
  assert.equal(deterministicKeyVersion('plain'), undefined);
});

test('switching the mode marker in the header is detected', () => {
  const c = new ColumnCipher('k', new Map([[1, v1]]), 1);
  const det = c.encrypt('value', 'deterministic');
  assert.throws(() => c.decrypt(det.replace('sluice:v1d:', 'sluice:v1:')), /failed authentication/);
  assert.throws(() => c.decrypt('plain text'), /not a Sluice-encrypted value/);
  assert.throws(() => c.decrypt('sluice:v1:9:AAAA'), /no version 9/);
});
