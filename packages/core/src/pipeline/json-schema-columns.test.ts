import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnsFromJsonSchema } from './json-schema-columns.ts';

test('JSON schema properties map to column types by the documented rule', () => {
  const cols = columnsFromJsonSchema({
    type: 'object',
    properties: {
      id: { type: ['null', 'integer'] },
      price: { type: 'number' },
      count: { type: 'number', airbyte_type: 'integer' },
      ok: { type: 'boolean' },
      born: { type: 'string', format: 'date' },
      at: { type: ['null', 'string'], format: 'date-time' },
      local: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
      name: { type: 'string' },
      address: { type: 'object', properties: {} },
      tags: { type: 'array' },
      mixed: { type: ['string', 'integer'] },
      either: { type: ['null', 'string', 'object'] },
      num: { type: ['integer', 'number'] },
      anything: {},
      alt: { anyOf: [{ type: 'null' }, { type: 'integer' }] },
    },
  });
  assert.deepEqual(
    cols.map((c) => `${c.name}:${c.type}`),
    ['id:long', 'price:double', 'count:long', 'ok:boolean', 'born:date', 'at:timestamptz', 'local:timestamp', 'name:string',
      // A string that may be a number stays text (QA round 27: as JSON text, "abc" became "\"abc\"").
      'address:object', 'tags:array', 'mixed:string', 'either:json', 'num:double', 'anything:json', 'alt:long'],
  );
});

test('a schema without properties has no columns', () => {
  assert.deepEqual(columnsFromJsonSchema({ type: 'object' }), []);
});
