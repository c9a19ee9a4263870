import { test } from 'node:test';
import assert from 'node:assert/strict';
import { icebergSchemaFromJsonSchema, icebergTypeFromJsonSchema } from './json-schema-to-iceberg.ts';

test('JSON schema types map to Iceberg types by the documented rule', () => {
  const cases: Array<[Parameters<typeof icebergTypeFromJsonSchema>[0], string]> = [
    [{ type: 'integer' }, 'long'],
    [{ type: ['null', 'integer'] }, 'long'],
    [{ type: 'number', airbyte_type: 'integer' }, 'long'],
    [{ type: 'number' }, 'double'],
    [{ type: 'number', precision: 12, scale: 3 }, 'decimal(12, 3)'],
    [{ type: 'number', 'x-precision': 5 }, 'decimal(5, 0)'],
    [{ type: 'number', precision: 60, scale: 2 }, 'double'],
    [{ type: 'boolean' }, 'boolean'],
    [{ type: 'string' }, 'string'],
    [{ type: 'string', format: 'date' }, 'date'],
    [{ type: 'string', format: 'date-time' }, 'timestamptz'],
    [{ type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' }, 'timestamptz'],
    [{ type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' }, 'timestamp'],
    [{ type: 'string', format: 'time' }, 'string'],
    [{ type: 'object', properties: { a: { type: 'integer' } } }, 'string'],
    [{ type: 'array', items: { type: 'string' } }, 'string'],
    [{ type: ['string', 'integer'] }, 'string'],
    [{}, 'string'],
    [{ anyOf: [{ type: 'null' }, { type: 'string', format: 'date' }] }, 'date'],
    [{ oneOf: [{ type: 'string' }, { type: 'integer' }] }, 'string'],
  ];
  for (const [node, expected] of cases) assert.equal(icebergTypeFromJsonSchema(node), expected, JSON.stringify(node));
});

test('a stream schema becomes columns in property order, JSON-text columns marked', () => {
  const columns = icebergSchemaFromJsonSchema({
    type: 'object',
    properties: {
      id: { type: 'integer', description: 'the key' },
      payload: { type: ['null', 'object'] },
      name: { type: ['null', 'string'] },
      tags: { type: 'array' },
    },
  });
  assert.deepEqual(columns, [
    { name: 'id', type: 'long', json: false, doc: 'the key' },
    { name: 'payload', type: 'string', json: true },
    { name: 'name', type: 'string', json: false },
    { name: 'tags', type: 'string', json: true },
  ]);
});
