import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daysFromCivil, deserializeBound, parseStat, serializeBound } from './column-bounds.ts';

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

test('days from a civil date agree with the calendar across years 1 to 9999, the years under 100 included (QA round 49b D1)', () => {
  // Python's datetime agrees; Date.UTC read these as 1950-06-15, 1901-01-01 and 1999-01-01.
  assert.equal(daysFromCivil(50, 6, 15), -701_100);
  assert.equal(daysFromCivil(1, 1, 1), -719_162);
  assert.equal(daysFromCivil(99, 1, 1), -683_368);
  assert.equal(daysFromCivil(1970, 1, 1), 0);
  assert.equal(daysFromCivil(2000, 2, 29), 11_016);
  assert.equal(daysFromCivil(9999, 12, 31), 2_932_896);
  // Every day from year 1 to 9999 against JavaScript's own calendar (which takes years 100 and on as given).
  let expected = daysFromCivil(100, 1, 1);
  for (let t = Date.UTC(100, 0, 1); t <= Date.UTC(9999, 11, 31); t += 86_400_000 * 97, expected += 97) {
    const d = new Date(t);
    assert.equal(daysFromCivil(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()), expected, d.toISOString());
  }
  assert.equal(daysFromCivil(100, 1, 1) - daysFromCivil(99, 12, 31), 1);
  const bound = (type: 'date' | 'timestamptz', text: string): bigint => {
    const v = parseStat(type, text);
    assert.equal(typeof v, 'bigint', text);
    return v as bigint;
  };
  assert.equal(bound('date', '0050-06-15'), -701_100n);
  assert.equal(bound('timestamptz', '0099-01-01 00:00:00+00'), -683_368n * 86_400_000_000n);
});
