import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentEncode } from './percent-encode.ts';
import { streamKeySegment } from './staging-writer.ts';

test('bytes outside the kept ASCII characters are written %XX, a character of four bytes whole', () => {
  assert.equal(percentEncode('a b/ü', /[a-z]/), 'a%20b%2F%C3%BC');
  assert.equal(percentEncode('😀', /[a-z]/), '%F0%9F%98%80');
  assert.equal(percentEncode('😀', /[a-z]/), encodeURIComponent('😀'));
});

test("streams whose names differ only in a character beyond the Basic Multilingual Plane get keys of their own", () => {
  // Encoded a UTF-16 unit at a time, each half became U+FFFD: both names got one key, and one stream's parts the other's.
  assert.notEqual(streamKeySegment('events 😀'), streamKeySegment('events 😁'));
  assert.equal(streamKeySegment('events 😀'), 'events%20%F0%9F%98%80');
  assert.equal(streamKeySegment('café.orders-v2_x'), 'caf%C3%A9.orders-v2_x');
});
