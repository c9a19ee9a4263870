import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { openObjectStore, type ObjectStore } from '@sluice/storage';
import type { ConnectorLogEntry } from '@sluice/connectors';
import { createTestBucket } from '../support/s3.ts';
import { testEnv } from '../support/env.ts';

export const testConnectorDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../packages/connectors/test-connector');

/** Puts the repository's test connector (`source-sluice-test`) on PATH, as resolution expects. */
export function putTestConnectorOnPath(): void {
  const current = process.env['PATH'] ?? '';
  if (!current.split(path.delimiter).includes(testConnectorDir)) process.env['PATH'] = `${testConnectorDir}${path.delimiter}${current}`;
}

/** A bucket of this test's own on the test S3 server (moto), opened as an ObjectStore; `drop` empties and deletes it. */
export async function openTestS3Store(): Promise<{ store: ObjectStore; drop(): Promise<void> }> {
  const bucket = await createTestBucket();
  const store = openObjectStore(`s3://${bucket}/sluice`);
  return {
    store,
    async drop() {
      await store.deletePrefix('');
      await store.close();
      const client = new S3Client({ endpoint: testEnv.s3Endpoint, forcePathStyle: true });
      try {
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
    },
  };
}

/** Every record a manifest lists for a stream, parsed, in order. */
export async function readStagedRecords(
  store: ObjectStore,
  manifest: { streams: readonly { name: string; files: readonly { key: string }[] }[] },
  stream: string,
): Promise<Record<string, unknown>[]> {
  const s = manifest.streams.find((x) => x.name === stream);
  if (!s) throw new Error(`stream ${stream} is not in the manifest`);
  const out: Record<string, unknown>[] = [];
  for (const f of s.files) {
    const text = (await store.get(f.key)).toString('utf8');
    for (const line of text.split('\n')) if (line) out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

/** Every object under a prefix, as text (for "this secret appears nowhere" checks). */
export async function allObjectText(store: ObjectStore, prefix: string): Promise<string> {
  let text = '';
  for await (const o of store.list(prefix)) text += `${o.key}\n${(await store.get(o.key)).toString('utf8')}\n`;
  return text;
}

export function logCollector(): { entries: ConnectorLogEntry[]; onLog: (e: ConnectorLogEntry) => void; text(): string } {
  const entries: ConnectorLogEntry[] = [];
  return { entries, onLog: (e) => entries.push(e), text: () => entries.map((e) => `${e.level} ${e.origin} ${e.message}`).join('\n') };
}
