/**
 * What the test runner (scripts/run-tests.ts) hands every test file: the URLs of the real
 * services. Tests read them here and nowhere else.
 */
function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run tests through \`pnpm test\`, which starts the services`);
  return v;
}

export const testEnv = {
  get databaseUrl(): string {
    return required('DATABASE_URL');
  },
  get redisUrl(): string {
    return required('REDIS_URL');
  },
  get s3Endpoint(): string {
    return required('AWS_ENDPOINT_URL_S3');
  },
  get tmpDir(): string {
    return process.env['SLUICE_TEST_TMP'] ?? '/tmp';
  },
};
