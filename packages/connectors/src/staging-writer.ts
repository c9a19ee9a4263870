import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asError } from '@sluice/core';
import type { ObjectStore } from '@sluice/storage';
import { percentEncode } from './percent-encode.ts';

/** One NDJSON part file of a stream, as the manifest lists it. */
export interface StagedFile {
  key: string;
  records: number;
  bytes: number;
}

type ObjectWriteStream = Writable & { done(): Promise<void> };

/**
 * The longest key segment a stream gets: a file system's name holds 255 bytes, and the segment
 * is ASCII. A longer encoding keeps its start and ends in a digest of the whole name, so that
 * two long names that start alike stay apart.
 */
const MAX_SEGMENT = 200;

/** Characters kept as they are in a stream's key segment; anything else is percent-encoded; at most 200 characters. */
export function streamKeySegment(stream: string): string {
  const encoded = /^\.*$/.test(stream)
    ? stream.replace(/\./g, '%2E') || '%00'
    : percentEncode(stream, /[A-Za-z0-9._-]/);
  if (encoded.length <= MAX_SEGMENT) return encoded;
  const digest = createHash('sha256').update(stream, 'utf8').digest('hex').slice(0, 32);
  // Not cut inside a %XX escape: the start stays a readable part of the name.
  const start = encoded.slice(0, MAX_SEGMENT - digest.length - 1).replace(/%[0-9A-F]?$/, '');
  return `${start}~${digest}`;
}

/** Room in a batch beyond `chunkBytes`, so the record that fills a chunk rarely needs a larger buffer. */
const BATCH_SLACK = 64 * 1024;
/** A stream's first batch starts this small and grows (a source may interleave hundreds of small streams). */
const FIRST_BATCH_BYTES = 16 * 1024;

/**
 * Writes one stream's records as NDJSON parts `{prefix}part-NNNNN.jsonl` through the store's
 * write streams. Each record is encoded into the current chunk's buffer as it arrives (so its
 * text, often a slice of a much larger piece of the connector's output, is not kept alive), and
 * a chunk is handed to the store once it holds `chunkBytes`. A write that the stream cannot take
 * while `maxBuffered` bytes are already queued makes `append` return a promise that settles on
 * `drain` (the caller awaits it, which pauses reading the connector), and a part is closed and a
 * new one started once it reaches `partBytes`. Memory therefore stays bounded by `maxBuffered`
 * plus the store's own buffer, and a batch buffer per stream (small until the stream fills one).
 */
export class StagingWriter {
  readonly files: StagedFile[] = [];
  records = 0;
  /** NDJSON bytes staged so far: handed to the store, or in the current batch. */
  bytes = 0;
  #current: { stream: ObjectWriteStream; file: StagedFile } | undefined;
  #batch: Buffer | undefined;
  #batchBytes = 0;
  /** Size of the next new batch buffer: small until the stream has filled a chunk. */
  #batchSize = FIRST_BATCH_BYTES;
  #batchRecords = 0;
  #failed: Error | undefined;
  readonly #chunkBytes: number;
  readonly #maxBuffered: number;

  constructor(
    private readonly store: ObjectStore,
    private readonly prefix: string,
    private readonly partBytes: number,
    chunkBytes = 256 * 1024,
    maxBuffered = 4 * 1024 * 1024,
    /** Awaited before a part is completed (its object made to exist); what it throws abandons the part. */
    private readonly beforeCommit?: () => Promise<void>,
  ) {
    this.#maxBuffered = maxBuffered;
    // Small parts (tests, tiny limits) still roll close to their limit.
    this.#chunkBytes = Math.max(1024, Math.min(chunkBytes, Math.floor(partBytes / 8)));
  }

  /** Adds one record (a JSON text without newline). Returns a promise only when the caller must wait. */
  append(json: string): Promise<void> | undefined {
    const batch = this.#reserve(json);
    const written = batch.write(json, this.#batchBytes, 'utf8') + 1;
    batch[this.#batchBytes + written - 1] = 0x0a;
    this.#batchBytes += written;
    this.#batchRecords += 1;
    this.records += 1;
    this.bytes += written;
    if (this.#batchBytes >= this.#chunkBytes) return this.#flush();
    return undefined;
  }

  /** The batch buffer, with room for `json` and its newline. */
  #reserve(json: string): Buffer {
    const batch = this.#batch;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: count exactly only when that bound does not fit.
    if (batch && json.length * 3 + 1 <= batch.length - this.#batchBytes) return batch;
    const needed = this.#batchBytes + Buffer.byteLength(json, 'utf8') + 1;
    if (batch && needed <= batch.length) return batch;
    const full = this.#chunkBytes + BATCH_SLACK;
    const larger = Buffer.allocUnsafe(Math.max(needed, batch ? Math.min(batch.length * 4, full) : this.#batchSize));
    batch?.copy(larger, 0, 0, this.#batchBytes);
    this.#batch = larger;
    return larger;
  }

  #open(): { stream: ObjectWriteStream; file: StagedFile } {
    const key = `${this.prefix}part-${String(this.files.length).padStart(5, '0')}.jsonl`;
    const stream = this.store.createWriteStream(key);
    stream.on('error', (err: Error) => {
      this.#failed ??= err;
    });
    const file: StagedFile = { key, records: 0, bytes: 0 };
    this.files.push(file);
    this.#current = { stream, file };
    return this.#current;
  }

  async #flush(): Promise<void> {
    this.#throwIfFailed();
    const batch = this.#batch;
    if (this.#batchRecords === 0 || !batch) return;
    // The store's stream keeps the chunk until written: the next records go to a new buffer.
    const buf = batch.subarray(0, this.#batchBytes);
    const current = this.#current ?? this.#open();
    current.file.records += this.#batchRecords;
    current.file.bytes += buf.length;
    this.#batch = undefined;
    // A stream that filled a chunk will likely fill the next: start it at full size.
    if (buf.length >= this.#chunkBytes) this.#batchSize = this.#chunkBytes + BATCH_SLACK;
    this.#batchBytes = 0;
    this.#batchRecords = 0;
    const ok = current.stream.write(buf);
    if (current.file.bytes >= this.partBytes) {
      await this.#closeCurrent();
    } else if (!ok && current.stream.writableLength >= this.#maxBuffered) {
      // The store's streams keep small buffers; waiting at each of them would stall the connector's
      // pipe at every chunk. Reading on until `maxBuffered` is queued keeps both sides busy, and
      // memory stays bounded by it.
      await once(current.stream, 'drain');
    }
    this.#throwIfFailed();
  }

  /** A store stream that failed (its 'error' event) fails the next write or finish. */
  #throwIfFailed(): void {
    const failed: Error | undefined = this.#failed;
    if (failed) throw failed;
  }

  async #closeCurrent(): Promise<void> {
    const current = this.#current;
    if (!current) return;
    this.#current = undefined;
    try {
      await this.beforeCommit?.();
    } catch (err) {
      const reason = asError(err);
      this.#failed ??= reason;
      current.stream.done().catch(() => undefined);
      current.stream.destroy(reason);
      throw err;
    }
    current.stream.end();
    try {
      await current.stream.done();
    } catch (err) {
      // The part is listed in `files` but does not exist: every later finish must say so, so that
      // no one takes this stream as staged (an extract's checkpoint keeping it, say).
      this.#failed ??= asError(err);
      throw err;
    }
  }

  /** Writes what is batched and completes the last part; the objects exist when this resolves. */
  async finish(): Promise<void> {
    await this.#flush();
    await this.#closeCurrent();
    this.#throwIfFailed();
  }

  /**
   * Takes over the parts an earlier try staged of this stream (before any record is appended):
   * they stay, and this writer's parts follow them.
   */
  adopt(files: readonly StagedFile[]): void {
    if (this.files.length > 0 || this.records > 0) throw new Error('a writer adopts earlier parts before it writes');
    for (const f of files) {
      this.files.push({ ...f });
      this.records += f.records;
      this.bytes += f.bytes;
    }
  }

  /**
   * After `finish`: keeps the stream's first `records` records, which are its first `bytes` bytes
   * (a position noted while appending), and removes the rest. The part they end in is copied, up
   * to that byte, to a part of its own (streamed: no part is held in memory).
   */
  async keepFirst(records: number, bytes: number): Promise<void> {
    const kept: StagedFile[] = [];
    let at = 0;
    for (const f of this.files) {
      if (at + f.bytes <= bytes) {
        kept.push(f);
      } else if (at < bytes) {
        const cut: StagedFile = { key: f.key.replace(/\.jsonl$/, '-cut.jsonl'), records: records - kept.reduce((n, k) => n + k.records, 0), bytes: bytes - at };
        await this.#copyHead(f.key, cut.key, cut.bytes);
        await this.store.delete(f.key);
        kept.push(cut);
      } else {
        await this.store.delete(f.key);
      }
      at += f.bytes;
    }
    this.files.splice(0, this.files.length, ...kept);
    this.records = records;
    this.bytes = bytes;
  }

  /** Copies the first `bytes` bytes of `from` to `to`; they must end a record. */
  async #copyHead(from: string, to: string, bytes: number): Promise<void> {
    const out = this.store.createWriteStream(to);
    let left = bytes;
    let last = -1;
    await pipeline(await this.store.getStream(from), async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        if (left <= 0) break;
        const piece = chunk.length <= left ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        last = piece[piece.length - 1] ?? last;
        yield piece;
      }
    }, out);
    await out.done();
    if (left !== 0 || last !== 0x0a) throw new Error(`${from} does not hold ${bytes} bytes of whole records`);
  }

  /** Abandons the part being written (a failed extract): the object store drops an unfinished upload, and a later `finish` fails. */
  abort(reason: Error): void {
    this.#failed ??= reason;
    const current = this.#current;
    this.#current = undefined;
    this.#batch = undefined;
    if (!current) return;
    // The upload's completion promise rejects once the stream is destroyed; nobody waits for it any more.
    current.stream.done().catch(() => undefined);
    if (!current.stream.destroyed) current.stream.destroy(reason);
  }
}
