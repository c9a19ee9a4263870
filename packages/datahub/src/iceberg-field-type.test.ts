import assert from 'node:assert/strict';
import { test } from 'node:test';
import { icebergFieldType } from './iceberg-field-type.ts';

const member = (t: string): string => Object.keys(icebergFieldType(t).type)[0]?.replace('com.linkedin.schema.', '') ?? '';

test('Iceberg primitives map to DataHub\'s field types', () => {
  const expected: Record<string, string> = {
    boolean: 'BooleanType', int: 'NumberType', long: 'NumberType', float: 'NumberType', double: 'NumberType',
    'decimal(38, 9)': 'NumberType', date: 'DateType', time: 'TimeType', timestamp: 'TimeType', timestamptz: 'TimeType',
    timestamp_ns: 'TimeType', timestamptz_ns: 'TimeType', string: 'StringType', uuid: 'StringType', 'fixed[16]': 'FixedType',
    binary: 'BytesType', ' LONG ': 'NumberType',
  };
  for (const [iceberg, datahub] of Object.entries(expected)) assert.equal(member(iceberg), datahub, iceberg);
});

test('nested types carry their element, key and value types', () => {
  assert.deepEqual(icebergFieldType('list<string>'), { type: { 'com.linkedin.schema.ArrayType': { nestedType: ['string'] } } });
  assert.deepEqual(icebergFieldType('map<string, map<string, long>>'), {
    type: { 'com.linkedin.schema.MapType': { keyType: 'string', valueType: 'map<string, long>' } },
  });
  assert.equal(member('struct<1: a: optional int, 2: b: required string>'), 'RecordType');
});

test('a type DataHub has no name for is NullType (unknown), not a guess', () => {
  assert.equal(member('variant'), 'NullType');
  assert.equal(member('decimal(10)'), 'NullType');
  assert.equal(member('map<string>'), 'NullType');
});
