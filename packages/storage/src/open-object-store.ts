import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '@sluice/core';
import { FileObjectStore } from './file-object-store.ts';
import type { ObjectStore } from './object-store.ts';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.ts';

export type OpenObjectStoreOptions = S3ObjectStoreOptions;

/**
 * Opens the object store a URL names: `file:///abs/path` or `s3://bucket[/prefix]`.
 *
 * For S3, credentials, region and endpoint come from the AWS SDK's own settings
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)
 * unless `options` gives them; path-style addressing is used whenever an endpoint is set,
 * since S3-compatible servers rarely serve virtual-hosted buckets.
 */
export function openObjectStore(url: string, options: OpenObjectStoreOptions = {}): ObjectStore {
  const bad = (message: string): never => {
    throw new ValidationError([{ path: 'url', message: `${message} (got ${JSON.stringify(url)})` }]);
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return bad('must be a URL: s3://bucket/prefix or file:///absolute/path');
  }
  switch (parsed.protocol) {
    case 'file:': {
      if (parsed.host !== '' && parsed.host !== 'localhost') bad('file:// URLs must name a local absolute path, e.g. file:///var/lib/sluice');
      const root = fileURLToPath(parsed).replace(/\/+$/, '');
      if (!path.isAbsolute(root) || root === '') bad('file:// URLs must name an absolute path other than /');
      return new FileObjectStore(root);
    }
    case 's3:': {
      if (!parsed.hostname) bad('s3:// URLs must name a bucket, e.g. s3://my-bucket/sluice');
      if (parsed.search || parsed.hash) bad('s3:// URLs take no query or fragment');
      const envEndpoint = process.env['AWS_ENDPOINT_URL_S3'] ?? process.env['AWS_ENDPOINT_URL'];
      return new S3ObjectStore(parsed.hostname, decodeURIComponent(parsed.pathname), {
        ...options,
        ...(envEndpoint ? { envEndpoint } : {}),
      });
    }
    default:
      return bad('unsupported scheme; use s3://bucket/prefix or file:///absolute/path');
  }
}
