import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { testEnv } from './env.ts';

/** Creates a bucket of this test's own on the test S3 server and answers its name. */
export async function createTestBucket(): Promise<string> {
  const bucket = `sluice-t-${randomBytes(5).toString('hex')}`;
  const client = new S3Client({ endpoint: testEnv.s3Endpoint, forcePathStyle: true });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}
