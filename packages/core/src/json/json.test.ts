import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findInJson, nulPath } from './index.ts';

test('findInJson answers the first node its check says something of, with its path', () => {
  const v = { a: [1, { b: 'x' }], c: 2 };
  assert.deepEqual(findInJson(v, (x) => (x === 'x' ? 'found' : null)), { path: ['a', 1, 'b'], found: 'found' });
  assert.deepEqual(findInJson(v, (_x, key) => (key === 'c' ? true : null)), { path: ['c'], found: true });
  assert.equal(findInJson(v, () => null), null);
  // Iterative: a value nested far deeper than the stack would allow recursion to go.
  let deep: unknown = 'end';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(findInJson(deep, (x) => (x === 'end' ? true : null))?.path.length, 100_000);
});

test('nulPath finds the NUL character in a key or a string value, and shows it escaped (QA round 49b D4)', () => {
  assert.equal(nulPath({ streams: [{ json_schema: { properties: { 'a\u0000b': { type: 'string' } } } }] }), 'streams[0].json_schema.properties.a\\u0000b');
  // A STREAM state message whose cursor holds one.
  assert.equal(nulPath({ type: 'STREAM', stream: { stream_descriptor: { name: 'st' }, stream_state: { c: 'z\u0000end' } } }), 'stream.stream_state.c');
  assert.equal(nulPath('x\u0000'), '(the value itself)');
  assert.equal(nulPath({ a: ['b', 1, null, { c: '\u00e9' }] }), null);
});
