/**
 * The real thing: `airbyte-source-faker` installed from PyPI by the code under test (two
 * processes racing for the same install), then extracted into moto S3 with selected and all
 * streams, and incrementally with saved state.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  INSTALL_MARKER,
  readExtractManifest,
  resolveConnector,
  runExtract,
  type Connector,
  type ConnectorLogEntry,
  type ExtractResult,
} from '@sluice/connectors';
import { testEnv } from '../support/env.ts';
import { logCollector, openTestS3Store, readStagedRecords } from './support.ts';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const FAKER_VERSION = '7.2.1';

let connectorsDir: string;
let connector: Connector;
let s3: Awaited<ReturnType<typeof openTestS3Store>>;

function succeeded(r: ExtractResult): Extract<ExtractResult, { status: 'succeeded' }> {
  if (r.status !== 'succeeded') assert.fail(`expected success, got ${r.failure.reason}: ${r.failure.message}`);
  return r;
}

interface ChildAnswer {
  source: Connector['source'];
  logs: ConnectorLogEntry[];
}

async function resolveInChild(sourceName: string, dir: string, version?: string): Promise<ChildAnswer> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(here, 'resolve-in-child.ts'), sourceName, dir, ...(version ? [version] : [])], {
    timeout: 10 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChildAnswer;
}

before(async () => {
  connectorsDir = await mkdtemp(path.join(testEnv.tmpDir, 'connectors-'));
  s3 = await openTestS3Store();
});

after(async () => {
  await s3.drop();
  await rm(connectorsDir, { recursive: true, force: true });
});

describe('installing source-faker from PyPI', () => {
  test('two processes installing at once share one install', async () => {
    const [a, b] = await Promise.all([
      resolveInChild('source-faker', connectorsDir, FAKER_VERSION),
      resolveInChild('source-faker', connectorsDir, FAKER_VERSION),
    ]);
    assert.equal(a.source.kind, 'python');
    assert.deepEqual(a.source, b.source);
    const installedNow = [a, b].filter((x) => x.logs.some((l) => l.message.includes('(installed now)')));
    assert.equal(installedNow.length, 1, 'exactly one process installed');
    const dir = path.join(connectorsDir, `source-faker@${FAKER_VERSION}`);
    const marker = JSON.parse(await readFile(path.join(dir, INSTALL_MARKER), 'utf8')) as { installedVersion: string; packageName: string };
    assert.equal(marker.installedVersion, FAKER_VERSION);
    assert.equal(marker.packageName, 'airbyte-source-faker');
    assert.deepEqual((await readdir(connectorsDir)).filter((e) => e.startsWith('.tmp-')), []);
    // The console script runs on its own: its shebang names the published virtualenv, not the temp one.
    const script = await readFile(path.join(dir, 'bin', 'source-faker'), 'utf8');
    assert.equal(script.split('\n')[0], `#!${path.join(dir, 'bin', 'python')}`);
    assert.match(execFileSync(path.join(dir, 'bin', 'source-faker'), ['spec'], { encoding: 'utf8' }), /"type":\s*"SPEC"/);

    // In this process too: found, not installed again.
    const logs = logCollector();
    connector = await resolveConnector('source-faker', { connectorsDir, version: FAKER_VERSION, onLog: logs.onLog });
    assert.deepEqual(connector.source, a.source);
    assert.doesNotMatch(logs.text(), /installed now/);
  });
});

describe('extracting from source-faker', () => {
  const config = { count: 60, seed: 7, records_per_slice: 20, parallelism: 1, always_updated: false };

  test('spec, check and discover', async () => {
    assert.equal((await connector.check(config)).status, 'succeeded');
    const catalog = await connector.discover(config);
    assert.deepEqual(catalog.streams.map((s) => s.name).sort(), ['products', 'purchases', 'users']);
  });

  test('all streams', async () => {
    const progress: number[] = [];
    const r = succeeded(
      await runExtract({ connector, config, mode: 'append', store: s3.store, runId: 'faker-all', onProgress: (p) => progress.push(p.records) }),
    );
    const byName = new Map(r.manifest.streams.map((s) => [s.name, s]));
    assert.deepEqual([...byName.keys()].sort(), ['products', 'purchases', 'users']);
    assert.equal(byName.get('users')?.records, 60);
    const users = await readStagedRecords(s3.store, r.manifest, 'users');
    assert.equal(users.length, 60);
    assert.deepEqual(new Set(users.map((u) => u['id'])).size, 60);
    assert.ok(typeof users[0]?.['email'] === 'string');
    assert.deepEqual(byName.get('users')?.primaryKey, [['id']]);
    assert.deepEqual(byName.get('users')?.cursorField, ['updated_at']);
    assert.equal(byName.get('users')?.syncMode, 'incremental');
    assert.ok((byName.get('purchases')?.records ?? 0) > 0);
    assert.ok((byName.get('products')?.records ?? 0) > 0);
    assert.deepEqual((await readExtractManifest(s3.store, 'faker-all'))?.streams.map((s) => s.records), r.manifest.streams.map((s) => s.records));
    assert.equal(progress.at(-1), r.manifest.streams.reduce((n, s) => n + s.records, 0));
  });

  test('selected streams, and incremental: a second run with the saved state reads only new records', async () => {
    const first = succeeded(await runExtract({ connector, config, streams: ['users'], mode: 'append', store: s3.store, runId: 'faker-inc-1' }));
    assert.deepEqual(first.manifest.streams.map((s) => [s.name, s.records]), [['users', 60]]);
    let keys: string[] = [];
    for await (const o of s3.store.list('staging/faker-inc-1/raw/')) keys.push(o.key);
    assert.ok(keys.every((k) => k.startsWith('staging/faker-inc-1/raw/users/')), keys.join(', '));
    assert.equal(first.state.length, 1);
    assert.equal(first.state[0]?.stream?.stream_descriptor.name, 'users');

    const second = succeeded(
      await runExtract({ connector, config, streams: ['users'], mode: 'append', state: first.state, store: s3.store, runId: 'faker-inc-2' }),
    );
    assert.equal(second.manifest.streams[0]?.records, 0, 'nothing new since the saved state');
    keys = [];
    for await (const o of s3.store.list('staging/faker-inc-2/raw/')) keys.push(o.key);
    assert.deepEqual(keys, []);

    // Without the state the same config reads everything again: the state made the difference.
    const again = succeeded(await runExtract({ connector, config, streams: ['users'], mode: 'append', store: s3.store, runId: 'faker-inc-3' }));
    assert.equal(again.manifest.streams[0]?.records, 60);
  });
});
