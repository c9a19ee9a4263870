import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import avro from 'avsc';

/**
 * Avro object container files, written and read here rather than through avsc's streams:
 * the header must carry the raw schema JSON (Iceberg readers need its `field-id` attributes,
 * which avsc's parsed types drop), and 64-bit longs must stay exact (snapshot ids), so records
 * are encoded with a BigInt long type.
 */

/** avsc's long type, exact to 64 bits, with values as bigint. */
const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string | number),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/** An Avro schema as plain JSON (attributes such as `field-id` included). */
export type AvroSchema = Record<string, unknown>;

export function avroType(schema: AvroSchema): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry: { long: bigintLong } });
}

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);
const headerType = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});

function zigzagVarint(n: number): Buffer {
  let z = BigInt(n) >= 0n ? BigInt(n) << 1n : (-BigInt(n) << 1n) - 1n;
  const bytes: number[] = [];
  while (z >= 0x80n) {
    bytes.push(Number((z & 0x7fn) | 0x80n));
    z >>= 7n;
  }
  bytes.push(Number(z));
  return Buffer.from(bytes);
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let shift = 0n;
  let z = 0n;
  let p = pos;
  for (;;) {
    const b = buf[p];
    if (b === undefined) throw new Error('truncated Avro file');
    p += 1;
    z |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7n;
  }
  const n = z & 1n ? -((z + 1n) >> 1n) : z >> 1n;
  return [Number(n), p];
}

/** Encodes records into an Avro container file (deflate codec) with the given file metadata. */
export function writeAvroContainer(schema: AvroSchema, records: unknown[], metadata: Record<string, string>): Buffer {
  const type = avroType(schema);
  const sync = randomBytes(16);
  const meta: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(metadata)) meta[k] = Buffer.from(v);
  meta['avro.schema'] = Buffer.from(JSON.stringify(schema));
  meta['avro.codec'] = Buffer.from('deflate');
  const parts: Buffer[] = [headerType.toBuffer({ magic: MAGIC, meta, sync })];
  const blockSize = 4096;
  for (let i = 0; i < records.length; i += blockSize) {
    const chunk = records.slice(i, i + blockSize);
    const body = deflateRawSync(Buffer.concat(chunk.map((r) => type.toBuffer(r))));
    parts.push(zigzagVarint(chunk.length), zigzagVarint(body.length), body, sync);
  }
  return Buffer.concat(parts);
}

/** Decodes an Avro container file (null or deflate codec) with its writer's schema. */
export function readAvroContainer(buf: Buffer): { metadata: Record<string, string>; records: Array<Record<string, unknown>> } {
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new Error('not an Avro container file (bad magic bytes)');
  const decoded: { value: { meta: Record<string, Buffer>; sync: Buffer } | undefined; offset: number } = headerType.decode(buf, 0);
  const { value: header, offset } = decoded;
  if (!header) throw new Error('truncated Avro header');
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(header.meta)) metadata[k] = v.toString();
  const codec = metadata['avro.codec'] ?? 'null';
  if (codec !== 'null' && codec !== 'deflate') throw new Error(`unsupported Avro codec ${codec}`);
  const type = avroType(JSON.parse(metadata['avro.schema'] ?? 'null') as AvroSchema);
  const records: Array<Record<string, unknown>> = [];
  let pos = offset;
  while (pos < buf.length) {
    const [count, p1] = readVarint(buf, pos);
    const [size, p2] = readVarint(buf, p1);
    const raw = buf.subarray(p2, p2 + size);
    const block = codec === 'deflate' ? inflateRawSync(raw) : raw;
    let bpos = 0;
    for (let i = 0; i < count; i += 1) {
      const decodedRecord: { value: Record<string, unknown>; offset: number } = type.decode(block, bpos);
      const { value, offset: next } = decodedRecord;
      records.push(value);
      bpos = next;
    }
    pos = p2 + size + 16;
  }
  return { metadata, records };
}
