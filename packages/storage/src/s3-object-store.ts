import { createReadStream, createWriteStream as fsCreateWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { errorMessage } from '@sluice/core';
import { assertKey, assertPrefix, keyOfUri, movePrefixBy, uriOfKey } from './keys.ts';
import type { ObjectInfo, ObjectStore, PrefixOptions } from './object-store.ts';

export interface S3ObjectStoreOptions {
  /** An S3-compatible endpoint; defaults to the SDK's own (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL). */
  endpoint?: string;
  region?: string;
  /** Defaults to true when an endpoint is set (S3-compatible servers), false for AWS itself. */
  forcePathStyle?: boolean;
  /**
   * How long a request's connection may stay silent (no byte sent or received) before it is
   * given up and retried by the SDK (3 attempts): a hung endpoint fails the task that waits on it,
   * which is then retried, instead of holding it until its timeout (hours). Default 60 s.
   */
  idleTimeoutMs?: number;
  /**
   * Told when a request has waited `stallSaidMs` for its answer (once, until the store answers
   * again), and when the store answers again after that: a store that stopped answering stalls the
   * tasks that wait on it with nothing in any log otherwise (QA round 49a D2).
   */
  onStall?: (event: StoreStall) => void;
  /** How long a request waits before `onStall` hears of it. Default 30 s. */
  stallSaidMs?: number;
}

/** What `onStall` hears: the wait said, or the answer after it (`waitedMs`: how long the store kept it waiting). */
export interface StoreStall {
  kind: 'waiting' | 'answering';
  rootUrl: string;
  waitedMs: number;
}

const STALL_SAID_MS = 30_000;

/** Default of `idleTimeoutMs`; and how long connecting to the endpoint may take. */
const IDLE_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 10_000;

function statusOf(err: unknown): number | undefined {
  if (err instanceof S3ServiceException) return err.$metadata.httpStatusCode;
  return undefined;
}

/** Multipart part size for streamed writes and uploads (S3's minimum is 5 MiB). */
const PART_SIZE = 8 * 1024 * 1024;

/**
 * `s3://bucket/prefix` through @aws-sdk/client-s3 against AWS or any S3-compatible endpoint.
 * Credentials, region and endpoint come from the SDK's own environment variables unless given.
 */
export class S3ObjectStore implements ObjectStore {
  readonly rootUrl: string;
  private readonly client: S3Client;
  /** '' or 'some/prefix/' */
  private readonly base: string;

  constructor(
    private readonly bucket: string,
    prefix: string,
    options: S3ObjectStoreOptions & { envEndpoint?: string },
  ) {
    const trimmed = prefix.replace(/^\/+|\/+$/g, '');
    this.base = trimmed === '' ? '' : `${trimmed}/`;
    this.rootUrl = trimmed === '' ? `s3://${bucket}` : `s3://${bucket}/${trimmed}`;
    const config: S3ClientConfig = {
      forcePathStyle: options.forcePathStyle ?? Boolean(options.endpoint ?? options.envEndpoint),
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS },
    };
    if (options.endpoint) config.endpoint = options.endpoint;
    if (options.region) config.region = options.region;
    this.client = new S3Client(config);
    if (options.onStall) this.#watchStalls(options.onStall, options.stallSaidMs ?? STALL_SAID_MS);
  }

  /**
   * Times every request (its retries included) and tells `onStall` when the oldest one in flight
   * has waited `saidMs`, then when a request is answered after that.
   */
  #watchStalls(onStall: (event: StoreStall) => void, saidMs: number): void {
    const started = new Set<{ at: number }>();
    let saidAt: number | null = null;
    let timer: NodeJS.Timeout | null = null;
    const check = (): void => {
      if (started.size === 0) {
        if (timer !== null) clearInterval(timer);
        timer = null;
        return;
      }
      // A set iterates in insertion order: its first request is the one waiting longest.
      const oldest = started.values().next().value?.at ?? Date.now();
      if (saidAt === null && Date.now() - oldest >= saidMs) {
        saidAt = oldest;
        onStall({ kind: 'waiting', rootUrl: this.rootUrl, waitedMs: Date.now() - oldest });
      }
    };
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const request = { at: Date.now() };
        started.add(request);
        timer ??= setInterval(check, Math.min(1_000, Math.max(10, Math.floor(saidMs / 4)))).unref();
        try {
          const out = await next(args);
          if (saidAt !== null) {
            onStall({ kind: 'answering', rootUrl: this.rootUrl, waitedMs: Date.now() - saidAt });
            saidAt = null;
          }
          return out;
        } finally {
          started.delete(request);
        }
      },
      { step: 'initialize', name: 'sluiceStallWatch' },
    );
  }

  uri(key: string): string {
    return uriOfKey(this.rootUrl, key);
  }

  keyOf(uri: string): string {
    return keyOfUri(this.rootUrl, uri);
  }

  private s3Key(key: string): string {
    assertKey(key);
    return this.base + key;
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key), Body: body }));
  }

  async putIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key), Body: body, IfNoneMatch: '*' }),
      );
      return true;
    } catch (err) {
      // 412: the object exists. 409: a concurrent conditional write to the same key is in
      // progress (AWS); one of the two wins, and it is not us.
      const status = statusOf(err);
      if (status === 412 || status === 409) return false;
      throw err;
    }
  }

  createWriteStream(key: string): Writable & { done(): Promise<void> } {
    const stream = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.s3Key(key), Body: stream },
      partSize: PART_SIZE,
      queueSize: 2,
    });
    const finished = upload.done().then(() => undefined);
    finished.catch(() => undefined);
    stream.on('error', () => {
      void upload.abort().catch(() => undefined);
    });
    return Object.assign(stream, { done: () => finished });
  }

  async get(key: string): Promise<Buffer> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
    if (!out.Body) return Buffer.alloc(0);
    return Buffer.from(await out.Body.transformToByteArray());
  }

  async getStream(key: string): Promise<Readable> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
    if (!out.Body) return Readable.from([]);
    return out.Body as Readable;
  }

  /** Objects on S3 have no local file: readers download them. */
  localFile(): undefined {
    return undefined;
  }

  async download(key: string, localPath: string): Promise<void> {
    await fs.mkdir(path.dirname(localPath), { recursive: true });
    await pipeline(await this.getStream(key), fsCreateWriteStream(localPath));
  }

  async upload(localPath: string, key: string): Promise<void> {
    const { size } = await fs.stat(localPath);
    if (size <= PART_SIZE) {
      await this.put(key, await fs.readFile(localPath));
      return;
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.s3Key(key), Body: createReadStream(localPath) },
      partSize: PART_SIZE,
      queueSize: 4,
    });
    await upload.done();
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
      return { key, size: out.ContentLength ?? 0 };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertPrefix(prefix);
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.base + prefix, ContinuationToken: token }),
      );
      for (const obj of out.Contents ?? []) {
        if (obj.Key === undefined) continue;
        yield { key: obj.Key.slice(this.base.length), size: obj.Size ?? 0 };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
  }

  /**
   * Deletes page by page as the listing goes (a listing continues after the last key it gave, so
   * deleting what it gave skips nothing), holding at most one batch of keys: a dropped table's
   * prefix may hold millions.
   */
  async deletePrefix(prefix: string, options: PrefixOptions = {}): Promise<number> {
    let n = 0;
    let last: string | undefined;
    let batch: string[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((k) => ({ Key: this.base + k })), Quiet: true },
        }),
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new Error(`deleting ${failed.length} objects under ${this.rootUrl}/${prefix} failed: ${first?.Key}: ${first?.Message}`);
      }
      n += batch.length;
      batch = [];
    };
    for await (const { key } of this.list(prefix)) {
      if (key === options.last) last = key;
      else batch.push(key);
      if (batch.length === 1000) await flush();
    }
    await flush();
    await this.discardUnfinishedWrites(prefix);
    if (last !== undefined) {
      await this.delete(last);
      n++;
    }
    return n;
  }

  /**
   * Aborts the multipart uploads under a prefix that were never completed (a writer killed
   * mid-write: an extract's partial raw records). Their parts are stored and billed but no listing
   * shows them; a prefix retired whole (deleted or moved) has no write left to finish.
   */
  async discardUnfinishedWrites(prefix: string): Promise<number> {
    assertPrefix(prefix);
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    let n = 0;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.base + prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
        n++;
      }
      if (!page.IsTruncated) return n;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /** One CopyObject request: objects over 5 GiB are not supported (S3's limit for it). */
  async copy(fromKey: string, toKey: string): Promise<void> {
    const source = `${this.bucket}/${this.s3Key(fromKey)}`.split('/').map(encodeURIComponent).join('/');
    await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.s3Key(toKey), CopySource: source }));
  }

  /** Copy then delete, object by object (S3 has no rename). Objects over 5 GiB are not supported. */
  async movePrefix(fromPrefix: string, toPrefix: string, options: PrefixOptions = {}): Promise<number> {
    const n = await movePrefixBy(this.list(fromPrefix), { from: fromPrefix, to: toPrefix, last: options.last }, async (key, targetKey) => {
      await this.copy(key, targetKey);
      await this.delete(key);
    });
    await this.discardUnfinishedWrites(fromPrefix);
    return n;
  }

  async ping(): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return { ok: true };
    } catch (err) {
      // HeadBucket has no body: its 404 and 403 come without a message of their own.
      const status = statusOf(err);
      if (status === 404) return { ok: false, error: `${this.rootUrl}: bucket "${this.bucket}" does not exist` };
      if (status === 403) return { ok: false, error: `${this.rootUrl}: access to bucket "${this.bucket}" is denied (check the credentials and the bucket's policy)` };
      return { ok: false, error: `${this.rootUrl}: ${status ? `HTTP ${status} ` : ''}${errorMessage(err) || 'unreachable'}` };
    }
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}
