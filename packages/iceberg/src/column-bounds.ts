import { parseType } from './iceberg-types.ts';
import type { IcebergPrimitiveType } from './types.ts';

/**
 * Column bounds from Parquet statistics (as DuckDB's parquet_metadata() prints them), in
 * Iceberg's single-value binary serialization. A value this module cannot parse yields no
 * bound: a missing bound only costs pruning, a wrong one would lose rows.
 */

/** Value comparable within one type: bigint for integers/dates/times/decimals, number, utf-8 Buffer, boolean. */
export type BoundValue = bigint | number | Buffer | boolean;

/** Iceberg's default metrics mode truncates string bounds to 16 characters. */
const STRING_TRUNCATE = 16;

const TS = /^(-?\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([+-])(\d{2})(?::?(\d{2}))?)?$/;
const DATE = /^(-?\d{4,})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/**
 * Days since 1970-01-01 of a proleptic Gregorian date, in integer arithmetic over 400-year eras
 * (years counted from March, so that the leap day ends a year). Not Date.UTC: it reads years 0–99
 * as 1900–1999, which put the bounds of a date in year 50 at 1950, above the file's real minimum,
 * so that readers pruning by them skipped the file and a merge on such a key added its row again
 * (QA round 49b D1).
 */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yearFromMarch = m <= 2 ? y - 1 : y;
  const era = Math.floor(yearFromMarch / 400);
  const yearOfEra = yearFromMarch - era * 400;
  const dayOfYear = Math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function fractionMicros(frac: string | undefined): bigint {
  return BigInt((frac ?? '').padEnd(6, '0').slice(0, 6));
}

export function parseStat(type: IcebergPrimitiveType, text: string): BoundValue | undefined {
  const t = parseType(type);
  switch (t.kind) {
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : undefined;
    case 'int':
    case 'long':
      return /^-?\d+$/.test(text) ? BigInt(text) : undefined;
    case 'float':
    case 'double': {
      const n = Number(text);
      return Number.isFinite(n) || text === 'inf' || text === '-inf' ? (Number.isNaN(n) ? undefined : n) : undefined;
    }
    case 'date': {
      const m = DATE.exec(text);
      return m ? BigInt(daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]))) : undefined;
    }
    case 'time': {
      const m = TIME.exec(text);
      if (!m) return undefined;
      return (BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1_000_000n) + fractionMicros(m[4]);
    }
    case 'timestamp':
    case 'timestamptz': {
      const m = TS.exec(text);
      if (!m) return undefined;
      const days = BigInt(daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3])));
      const secs = days * 86_400n + BigInt(Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]));
      let offset = 0n;
      if (m[8]) offset = (m[8] === '-' ? -1n : 1n) * BigInt(Number(m[9]) * 3600 + Number(m[10] ?? '0') * 60);
      return (secs - offset) * 1_000_000n + fractionMicros(m[7]);
    }
    case 'string':
      return Buffer.from(text, 'utf8');
    case 'binary':
      return undefined;
    case 'decimal': {
      const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
      if (!m) return undefined;
      const frac = (m[3] ?? '').padEnd(t.scale, '0');
      if (frac.length > t.scale) return undefined;
      const unscaled = BigInt(`${m[2]}${frac}`);
      return m[1] === '-' ? -unscaled : unscaled;
    }
    default:
      return undefined;
  }
}

export function compareBounds(a: BoundValue, b: BoundValue): number {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return Buffer.compare(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error('bounds of different kinds cannot be compared');
}

function decimalBytes(unscaled: bigint): Buffer {
  // Two's-complement big-endian, minimum number of bytes.
  let n = 1;
  while (unscaled >= 1n << BigInt(8 * n - 1) || unscaled < -(1n << BigInt(8 * n - 1))) n += 1;
  const out = Buffer.alloc(n);
  let v = BigInt.asUintN(8 * n, unscaled);
  for (let i = n - 1; i >= 0; i -= 1) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Truncates a UTF-8 string bound to at most 16 code points; the upper bound is incremented so it still bounds. */
function truncateString(buf: Buffer, upper: boolean): Buffer | undefined {
  const chars = [...buf.toString('utf8')];
  if (chars.length <= STRING_TRUNCATE) return buf;
  const head = chars.slice(0, STRING_TRUNCATE);
  if (!upper) return Buffer.from(head.join(''), 'utf8');
  for (let i = head.length - 1; i >= 0; i -= 1) {
    const cp = head[i]?.codePointAt(0) ?? 0;
    let next = cp + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return Buffer.from(head.slice(0, i).join('') + String.fromCodePoint(next), 'utf8');
  }
  return undefined;
}

/** Iceberg single-value serialization of a bound of the given type. */
export function serializeBound(type: IcebergPrimitiveType, v: BoundValue, upper: boolean): Buffer | undefined {
  const t = parseType(type);
  switch (t.kind) {
    case 'boolean':
      return Buffer.from([v === true ? 1 : 0]);
    case 'int':
    case 'date': {
      const b = Buffer.alloc(4);
      b.writeInt32LE(Number(v));
      return b;
    }
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz': {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(v as bigint);
      return b;
    }
    case 'float': {
      const b = Buffer.alloc(4);
      b.writeFloatLE(v as number);
      return b;
    }
    case 'double': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(v as number);
      return b;
    }
    case 'string':
      return truncateString(v as Buffer, upper);
    case 'decimal':
      return decimalBytes(v as bigint);
    default:
      return undefined;
  }
}

/** Reads a single-value-serialized bound back (for pruning on merge keys); undefined when not decodable. */
export function deserializeBound(type: IcebergPrimitiveType, buf: Buffer): BoundValue | undefined {
  const t = parseType(type);
  switch (t.kind) {
    case 'boolean':
      return buf[0] === 1;
    case 'int':
    case 'date':
      return buf.length === 4 ? BigInt(buf.readInt32LE()) : undefined;
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return buf.length === 8 ? buf.readBigInt64LE() : buf.length === 4 ? BigInt(buf.readInt32LE()) : undefined;
    case 'float':
      return buf.length === 4 ? buf.readFloatLE() : undefined;
    case 'double':
      return buf.length === 8 ? buf.readDoubleLE() : buf.length === 4 ? buf.readFloatLE() : undefined;
    case 'string':
      return buf;
    default:
      return undefined;
  }
}
