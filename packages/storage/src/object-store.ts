import type { Readable, Writable } from 'node:stream';

/** One object under a store's root. Keys are relative, '/'-separated, never starting with '/'. */
export interface ObjectInfo {
  key: string;
  size: number;
}

/** How deletePrefix and movePrefix order their work. */
export interface PrefixOptions {
  /** A key under the prefix to delete or move after every other object under it. */
  last?: string;
}

/**
 * The object store behind one interface: `s3://bucket/prefix` (any S3-compatible endpoint,
 * through @aws-sdk/client-s3) or `file:///path` for one machine. Staging, archive and the
 * Iceberg warehouse all live under one root.
 */
export interface ObjectStore {
  /** The root URL this store was opened with, e.g. `s3://warehouse/sluice` or `file:///var/lib/sluice`. */
  readonly rootUrl: string;
  /** The absolute URI of a key (what Iceberg metadata records as a file path). */
  uri(key: string): string;
  /** The key of an absolute URI under this root; throws when the URI is outside it. */
  keyOf(uri: string): string;
  put(key: string, body: Buffer | string): Promise<void>;
  /** Writes only when the key does not exist yet; answers false when it already existed. */
  putIfAbsent(key: string, body: Buffer | string): Promise<boolean>;
  /** A writable stream whose content becomes the object when the stream finishes (multipart on S3). */
  createWriteStream(key: string): Writable & { done(): Promise<void> };
  get(key: string): Promise<Buffer>;
  getStream(key: string): Promise<Readable>;
  /** Copies an object to a local file. */
  download(key: string, localPath: string): Promise<void>;
  /**
   * The object's own file when the store is a directory on this machine (file://), for readers
   * that can read it in place (DuckDB) instead of copying it; undefined for remote stores. The
   * file is the object: read it, never write, move or delete it.
   */
  localFile(key: string): string | undefined;
  /** Copies a local file to an object. */
  upload(localPath: string, key: string): Promise<void>;
  /**
   * Copies an object to another key of this store without passing its bytes through this
   * process (S3 CopyObject; a file copy on file://). The target appears whole or not at all.
   */
  copy(fromKey: string, toKey: string): Promise<void>;
  head(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /**
   * Deletes every object under a prefix; answers how many. What writes that never finished left
   * under it (a writer killed mid-write) goes too: a file:// temporary file, an S3 incomplete
   * multipart upload. The object at `options.last`, when there is one, goes after every other: a
   * delete cut short (its process killed) leaves it, so a caller whose record of the prefix's
   * work is that object (an extract manifest) finds it again and can finish.
   */
  deletePrefix(prefix: string, options?: PrefixOptions): Promise<number>;
  /**
   * Moves every object under `fromPrefix` to the same relative key under `toPrefix`; answers how
   * many. Writes that never finished under `fromPrefix` are discarded, not moved (as deletePrefix).
   * The object at `options.last` is moved after every other, as deletePrefix deletes it.
   */
  movePrefix(fromPrefix: string, toPrefix: string, options?: PrefixOptions): Promise<number>;
  /**
   * Discards the writes to keys under `prefix` that never finished (a writer killed mid-write):
   * S3's incomplete multipart uploads, a local store's temporary files. No listing shows them,
   * and S3 bills their parts. For a prefix no writer will finish a write under (a write that can
   * no longer commit): one under way is cut off. Answers how many.
   */
  discardUnfinishedWrites(prefix: string): Promise<number>;
  /** Answers whether the store can be reached (for /readyz); never throws. */
  ping(): Promise<{ ok: true } | { ok: false; error: string }>;
  close(): Promise<void>;
}
