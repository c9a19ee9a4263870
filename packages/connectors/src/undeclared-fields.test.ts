import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UndeclaredFields } from './undeclared-fields.ts';

const schema = {
  properties: {
    id: { type: 'integer' },
    amt: { type: ['null', 'number'] },
    ok: { type: 'boolean' },
    name: { type: ['null', 'string'] },
    meta: { type: 'object' },
    tags: { type: 'array' },
    either: { type: ['integer', 'string'] },
    untyped: {},
  },
};

test("values of another type than the declared one are found by field; a string field takes any value, nulls fit every field", () => {
  const f = new UndeclaredFields([{ name: 's', jsonSchema: schema }]);
  f.sample('s', JSON.stringify({ id: 1, amt: 2, ok: true, name: 5, meta: { a: 1 }, tags: [], either: 'x', untyped: [1] }));
  f.sample('s', JSON.stringify({ id: null, amt: null, ok: null, name: { o: 1 }, meta: null, tags: null, either: 2 }));
  assert.deepEqual(f.misfits(), new Map(), 'every value fits');
  f.sample('s', JSON.stringify({ id: 1.5, amt: '3', ok: 'yes', meta: 'text', tags: {}, extra: 1 }));
  assert.deepEqual(f.misfits(), new Map([['s', ['amt', 'id', 'meta', 'ok', 'tags']]]));
  assert.deepEqual(f.found(), new Map([['s', ['extra']]]));
});
