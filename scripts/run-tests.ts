/**
 * `pnpm test`: type-checks the workspace, makes sure PostgreSQL, Redis and an S3-compatible
 * server are there (the ones named by DATABASE_URL / REDIS_URL / AWS_ENDPOINT_URL_S3, or local
 * ones started here for the run from the installed programs), then runs every test file with
 * node's test runner. `pnpm test -- <files>` runs only those files (and skips the type check).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, chmodSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startPostgres, startRedis, startS3, type LocalService } from '@sluice/local-services';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

function findTests(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'generated') continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) findTests(p, out);
    else if (entry.name.endsWith('.test.ts')) out.push(path.relative(root, p));
  }
}

const args = process.argv.slice(2).filter((a) => a !== '--');
let files = args.filter((a) => !a.startsWith('-'));
const passThrough = args.filter((a) => a.startsWith('-'));
if (files.length === 0) {
  // The workspace, then the browser UI (its own compiler settings: DOM, JSX).
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  for (const project of ['tsconfig.json', 'packages/ui/tsconfig.json', 'packages/ui/tsconfig.node.json']) {
    const tc = spawnSync(process.execPath, [tsc, '-p', project, '--noEmit'], { cwd: root, stdio: 'inherit' });
    if (tc.status !== 0) {
      console.error(`type check of ${project} failed: fix the errors above (pnpm typecheck)`);
      process.exit(1);
    }
  }
  files = [];
  for (const base of ['packages', 'test']) findTests(path.join(root, base), files);
  files.sort();
}

const services: LocalService[] = [];
const env: Record<string, string | undefined> = { ...process.env };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-test-'));
chmodSync(tmp, 0o755);
try {
  if (!env['DATABASE_URL']) {
    const pg = await startPostgres(path.join(tmp, 'pg'), await freePort(), { durable: false });
    services.push(pg);
    env['DATABASE_URL'] = pg.url;
  }
  if (!env['REDIS_URL']) {
    const redis = await startRedis(path.join(tmp, 'redis'), await freePort());
    services.push(redis);
    env['REDIS_URL'] = redis.url;
  }
  if (!env['AWS_ENDPOINT_URL_S3']) {
    const s3 = await startS3(await freePort());
    if (s3) {
      services.push(s3);
      env['AWS_ENDPOINT_URL_S3'] = s3.url;
      env['AWS_ACCESS_KEY_ID'] ??= 'test';
      env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
      env['AWS_REGION'] ??= 'us-east-1';
    } else {
      console.warn('no S3-compatible server (pip install "moto[server]"): S3 tests will fail');
    }
  }
  env['SLUICE_TEST_TMP'] = tmp;
  const concurrency = env['SLUICE_TEST_CONCURRENCY'] ?? '2';
  // A test that hangs fails after 15 minutes instead of holding the run (and CI) for good. A file
  // whose tests have all ended exits then (--test-force-exit), even when a handle it left open (a
  // browser's pipe, a client's socket) would keep it alive: once, flow-ui's file waited out the 15
  // minutes after its 20 tests had passed. Whether Sluice's own processes exit when stopped is
  // tested where they run as processes (test/cli).
  const runner = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=900000', '--test-force-exit', '--test-reporter=spec', ...passThrough, ...files],
    { cwd: root, env, stdio: 'inherit' },
  );
  // Ctrl-C or a SIGTERM (a CI timeout) stops the tests, and the services started here are still
  // stopped below: before, an interrupted run left its PostgreSQL, Redis and S3 server running.
  const forward = (signal: NodeJS.Signals): void => {
    runner.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number | null>((resolve) => runner.on('close', (c) => resolve(c)));
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  process.exitCode = code ?? 1;
} finally {
  for (const s of services.reverse()) {
    try {
      await s.stop();
    } catch (err) {
      console.warn(`stopping a test service failed: ${String(err)}`);
    }
  }
  if (statSync(tmp, { throwIfNoEntry: false })) rmSync(tmp, { recursive: true, force: true });
}
