import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deserializeBound, parseStat, serializeBound } from './column-bounds.ts';

function hex(b: Buffer | undefined): string | undefined {
  return b?.toString('hex');
}

test('Parquet statistics become Iceberg single-value serialized bounds', () => {
  const bound = (type: Parameters<typeof parseStat>[0], text: string, upper = false): string | undefined => {
    const v = parseStat(type, text);
    return v === undefined ? undefined : hex(serializeBound(type, v, upper));
  };
  assert.equal(bound('long', '1'), '0100000000000000');
  assert.equal(bound('long', '-2'), 'feffffffffffffff');
  assert.equal(bound('int', '258'), '02010000');
  assert.equal(bound('boolean', 'true'), '01');
  assert.equal(bound('double', '1.5'), '000000000000f83f');
  assert.equal(bound('float', '1.0'), '0000803f');
  assert.equal(bound('date', '1970-01-02'), '01000000');
  assert.equal(bound('date', '1969-12-31'), 'ffffffff');
  // 2024-03-01T10:00:00Z = 1709287200 s
  assert.equal(bound('timestamptz', '2024-03-01 10:00:00+00'), hex(le64(1709287200_000000n)));
  assert.equal(bound('timestamptz', '2024-03-01 12:30:00.5+02'), hex(le64(1709289000_500000n)));
  assert.equal(bound('timestamp', '1999-12-31 23:59:59.5'), hex(le64(946684799_500000n)));
  assert.equal(bound('decimal(10, 2)', '12.34'), '04d2');
  assert.equal(bound('decimal(10, 2)', '-0.50'), 'ce');
  assert.equal(bound('decimal(10, 2)', '1.5'), '0096');
  assert.equal(bound('string', 'abc'), Buffer.from('abc').toString('hex'));
  assert.equal(bound('double', 'nan'), undefined);
});

test('long string bounds are truncated to 16 characters, the upper one incremented so it still bounds', () => {
  const v = parseStat('string', 'abcdefghijklmnopqrstuvwxyz');
  assert.ok(v !== undefined);
  assert.equal(serializeBound('string', v, false)?.toString(), 'abcdefghijklmnop');
  assert.equal(serializeBound('string', v, true)?.toString(), 'abcdefghijklmnoq');
});

test('bounds read back for merge pruning', () => {
  assert.equal(deserializeBound('long', le64(42n)), 42n);
  assert.equal(deserializeBound('long', Buffer.from('2a000000', 'hex')), 42n, 'int bounds of a promoted column');
  assert.equal(deserializeBound('double', Buffer.from('000000000000f83f', 'hex')), 1.5);
});

function le64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(n);
  return b;
}
