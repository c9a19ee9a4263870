/**
 * The REST catalog client against Apache Iceberg's own REST catalog server (its test fixture,
 * run with java from Maven Central jars): create, append, merge with schema evolution, racing
 * writers and a retried load — then read back through the same REST catalog by PyIceberg.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ServiceUnavailableError } from '@sluice/core';
import { openCatalog, type ColumnSpec, type IcebergCatalog } from '@sluice/iceberg';
import { freePort } from '@sluice/local-services';
import { openObjectStore, type ObjectStore } from '@sluice/storage';
import { testEnv } from '../support/env.ts';
import { readWithPyIceberg } from './pyiceberg.ts';
import { startRestFixture, type RestFixture } from './rest-fixture.ts';

let fixture: RestFixture;
let dir: string;
let store: ObjectStore;
let catalog: IcebergCatalog;

before(async () => {
  fixture = await startRestFixture();
  dir = await mkdtemp(path.join(testEnv.tmpDir, 'iceberg-rest-'));
  store = openObjectStore(`file://${dir}/store`);
  catalog = openCatalog({ type: 'rest', uri: fixture.uri, store });
});
after(async () => {
  await catalog.close();
  await fixture.stop();
  await rm(dir, { recursive: true, force: true });
});

async function ndjson(name: string, rows: Array<Record<string, unknown>>): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
}

const cols: ColumnSpec[] = [
  { name: 'id', type: 'long' },
  { name: 'v', type: 'string' },
];

test('create, append, evolve and merge through the REST catalog; PyIceberg reads it through REST', async () => {
  const table = await catalog.createTable('rest_ns', 'items', cols);
  assert.deepEqual(await catalog.listTables('rest_ns'), ['items']);
  const first = await table.append(
    { format: 'ndjson', files: [await ndjson('a.ndjson', [{ id: 1, v: 'a' }, { id: 2, v: 'b' }])], columns: cols },
    { runId: 'run-1', taskId: 'load.items' },
  );
  assert.equal(first.status, 'committed');
  const wider: ColumnSpec[] = [...cols, { name: 'n', type: 'long' }];
  const merged = await table.merge(
    { format: 'ndjson', files: [await ndjson('b.ndjson', [{ id: 2, v: 'b2', n: 7 }, { id: 3, v: 'c', n: 8 }])], columns: wider },
    { keys: ['id'], runId: 'run-2', taskId: 'load.items', tableProperties: { 'sluice.job-id': 'job-2' } },
  );
  assert.equal(merged.status, 'committed');
  assert.equal(merged.schemaChanged, true);
  // A retried load finds its snapshot in the service's history.
  const retried = await (await catalog.loadTable('rest_ns', 'items')).append(
    { format: 'ndjson', files: [await ndjson('a.ndjson', [{ id: 1, v: 'a' }])], columns: cols },
    { runId: 'run-1', taskId: 'load.items' },
  );
  assert.equal(retried.status, 'already-committed');

  const view = await readWithPyIceberg('postgresql://unused/unused', 'rest_ns', 'items', false, undefined, fixture.uri);
  assert.deepEqual(view.schema, [
    { id: 1, name: 'id', type: 'long', required: false },
    { id: 2, name: 'v', type: 'string', required: false },
    { id: 3, name: 'n', type: 'long', required: false },
  ]);
  assert.deepEqual(
    view.rows.sort((a, b) => Number(a['id']) - Number(b['id'])),
    [
      { id: 1, v: 'a', n: null },
      { id: 2, v: 'b2', n: 7 },
      { id: 3, v: 'c', n: 8 },
    ],
  );
  assert.equal(view.snapshots.length, 2);
  assert.equal(view.snapshots[1]?.summary['sluice.run-id'], 'run-2');
  assert.equal(view.snapshots[1]?.summary['deleted-data-files'], '1');
  assert.equal(view.snapshots[1]?.parent_snapshot_id, view.snapshots[0]?.snapshot_id);
  assert.equal(view.properties['sluice.job-id'], 'job-2', "the merge's commit set the table property through the service");
});

test('two appends racing through the REST catalog both land', async () => {
  await catalog.createTable('rest_ns', 'race', cols);
  const [t1, t2] = await Promise.all([catalog.loadTable('rest_ns', 'race'), catalog.loadTable('rest_ns', 'race')]);
  const results = await Promise.all([
    t1.append({ format: 'ndjson', files: [await ndjson('r1.ndjson', [{ id: 1, v: 'x' }])], columns: cols }),
    t2.append({ format: 'ndjson', files: [await ndjson('r2.ndjson', [{ id: 2, v: 'y' }])], columns: cols }),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['committed', 'committed']);
  assert.ok(results.some((r) => r.attempts > 1), 'one writer lost the race (HTTP 409) and retried');
  const view = await readWithPyIceberg('postgresql://unused/unused', 'rest_ns', 'race', false, undefined, fixture.uri);
  assert.deepEqual(view.rows.map((r) => r['id']).sort(), [1, 2]);
  assert.equal(view.snapshots.length, 2);
});

test('creating an existing table through REST fails, and drop removes it', async () => {
  await assert.rejects(catalog.createTable('rest_ns', 'race', cols), /already exists/);
  assert.equal(await catalog.dropTable('rest_ns', 'race'), true);
  assert.equal(await catalog.tableExists('rest_ns', 'race'), false);
});

test('snapshot expiry through the REST catalog: the service drops the old snapshots; PyIceberg reads the rows as before', async () => {
  const table = await catalog.createTable('rest_ns', 'expiring', cols);
  for (const n of [1, 2, 3]) {
    const r = await table.append({ format: 'ndjson', files: [await ndjson(`e${n}.ndjson`, [{ id: n, v: `v${n}` }])], columns: cols }, { runId: `run-${n}`, taskId: 'load' });
    assert.equal(r.status, 'committed');
  }
  const r = await table.expireSnapshots({ olderThanMs: Date.now() + 1, retainLast: 1 });
  assert.equal(r.expired, 2);
  const view = await readWithPyIceberg('postgresql://unused/unused', 'rest_ns', 'expiring', false, undefined, fixture.uri);
  assert.equal(view.snapshots.length, 1, 'the service holds the current snapshot only');
  assert.deepEqual(view.rows.map((row) => row['id']).sort(), [1, 2, 3], 'appended rows stay: their files are the current snapshot\'s');
  assert.equal((await catalog.loadTable('rest_ns', 'expiring')).metadata.snapshots.length, 1);
});

test('compaction through the REST catalog: a replace snapshot the service takes; PyIceberg reads the same rows from one file', async () => {
  const table = await catalog.createTable('rest_ns', 'compacting', cols, { properties: { 'sluice.compaction.min-input-files': '3' } });
  for (const n of [1, 2, 3]) {
    const r = await table.append({ format: 'ndjson', files: [await ndjson(`c${n}.ndjson`, [{ id: n, v: `v${n}` }])], columns: cols }, { runId: `run-${n}`, taskId: 'load' });
    assert.equal(r.status, 'committed');
  }
  const r = await table.compactDataFiles({ runId: 'run-3', taskId: 'load/compaction' });
  assert.deepEqual([r.status, r.rewrittenFiles, r.addedFiles], ['committed', 3, 1]);
  const view = await readWithPyIceberg('postgresql://unused/unused', 'rest_ns', 'compacting', false, undefined, fixture.uri);
  assert.equal(view.files.length, 1);
  assert.deepEqual(view.rows.map((row) => row['id']).sort(), [1, 2, 3]);
  assert.equal(view.snapshots.at(-1)?.summary['operation'], 'replace');
});

test("a REST catalog that does not answer is said with its address and the connection's error, not a bare 'fetch failed' (QA round 35c F3)", async () => {
  const port = await freePort();
  const away = openCatalog({ type: 'rest', uri: `http://127.0.0.1:${port}`, store });
  try {
    await assert.rejects(away.listTables('rest_ns'), (err: unknown) => {
      assert.ok(err instanceof ServiceUnavailableError, String(err));
      assert.match(err.message, new RegExp(`^the Iceberg REST catalog is not reachable at http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
      return true;
    });
  } finally {
    await away.close();
  }
});
