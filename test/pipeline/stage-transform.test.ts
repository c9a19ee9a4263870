/**
 * stage and transform on a real object store (file:// here, the same code path as S3 through the
 * ObjectStore interface): raw NDJSON from an extract manifest becomes typed Parquet, values that do
 * not fit are kept as rejects and counted, then renames, casts, drops, encryption and the ingestion
 * metadata columns are applied. The Parquet written is read back with DuckDB.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { NonRetryableTaskError } from '@sluice/core';
import { extractManifestKey, type ExtractManifest } from '@sluice/connectors';
import { ColumnCipher, generateKeyMaterial } from '@sluice/crypto';
import { openObjectStore, type ObjectStore } from '@sluice/storage';
import { stageStream } from '../../packages/runner/src/tasks/stage-stream.ts';
import { transformStream } from '../../packages/runner/src/tasks/transform-stream.ts';

let dir: string;
let store: ObjectStore;
const runId = '11111111-2222-3333-4444-555555555555';
const never = new AbortController().signal;
const cipher = new ColumnCipher('pii', new Map([[1, generateKeyMaterial()]]), 1);

async function readParquet(key: string): Promise<Record<string, unknown>[]> {
  const local = path.join(dir, 'read.parquet');
  await store.download(key, local);
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const r = await db.runAndReadAll(`SELECT * FROM read_parquet('${local}')`);
  const rows = r.getRowObjectsJS() as Record<string, unknown>[];
  db.closeSync();
  return rows;
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-pipeline-'));
  store = openObjectStore(`file://${dir}/root`);
  const lines = [
    { id: 1, email: 'a@x.io', age: 30, born: '1990-01-02', seen: '2024-05-01T10:00:00Z', profile: { k: 'v' }, score: '12' },
    { id: 2, email: 'b@x.io', age: 'forty', born: '1980-02-03', seen: '2024-05-02T11:00:00+02:00', profile: null, score: '7' },
    { id: 3, email: null, age: 50, born: 'not a date', seen: null, profile: [1, 2], score: '9' },
  ];
  const key = `staging/${runId}/raw/users/part-00000.jsonl`;
  await store.put(key, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const manifest: ExtractManifest = {
    version: 1,
    runId,
    sourceName: 'source-test',
    startedAt: new Date().toISOString(),
    completedAt: new Date().toISOString(),
    streams: [
      {
        name: 'users',
        namespace: null,
        files: [{ key, records: 3, bytes: 100 }],
        records: 3,
        bytes: 100,
        jsonSchema: {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            email: { type: ['null', 'string'] },
            age: { type: 'integer' },
            born: { type: 'string', format: 'date' },
            seen: { type: ['null', 'string'], format: 'date-time' },
            profile: { type: ['null', 'object'] },
            score: { type: 'string' },
          },
        },
        primaryKey: [['id']],
        cursorField: [],
        syncMode: 'full_refresh',
        destinationSyncMode: 'overwrite',
        status: null,
      },
    ],
    state: [],
    ignoredRecords: 0,
  };
  await store.put(extractManifestKey(runId), JSON.stringify(manifest));
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('stage types every column and keeps records with misfit values as counted rejects', async () => {
  const staged = await stageStream({ store, runId, stream: 'users', signal: never, progress: () => undefined });
  assert.equal(staged.rows, 3);
  assert.deepEqual(staged.mismatches, { age: 1, born: 1 });
  assert.equal(staged.rejectedRows, 2);
  assert.ok(staged.rejectsKey);
  const rejects = (await store.get(staged.rejectsKey)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { source_row: number });
  assert.deepEqual(rejects.map((r) => r.source_row), [2, 3]);
  const rows = await readParquet(staged.files[0]?.key ?? '');
  assert.deepEqual(rows.map((r) => r['id']), [1n, 2n, 3n]);
  assert.deepEqual(rows.map((r) => r['age']), [30n, null, 50n]);
  assert.equal(rows[0]?.['profile'], '{"k":"v"}');
  assert.equal(rows[2]?.['profile'], '[1,2]');
  assert.equal(rows[1]?.['profile'], null);
  assert.equal(rows[2]?.['born'], null);
  assert.equal(rows[0]?.['email'], 'a@x.io');
});

test('transform renames, casts, drops, encrypts and adds the metadata columns', async () => {
  const when = new Date('2026-11-28T12:00:00Z');
  const out = await transformStream({
    store,
    runId,
    stream: 'users',
    transformations: [
      { column: 'email', stream: 'users', newName: 'email_enc', encryptionKeyName: 'pii', castTo: null, drop: false },
      { column: 'score', stream: null, newName: null, encryptionKeyName: null, castTo: 'long', drop: false },
      { column: 'profile', stream: 'users', newName: null, encryptionKeyName: null, castTo: null, drop: true },
    ],
    loadCipher: async () => cipher,
    mergeKeys: [],
    metadata: { ingestion_time: when, ingestion_run_id: runId, ingestion_mode: 'append', dag_job_id: 'job-1' },
    signal: never,
    progress: () => undefined,
  });
  assert.deepEqual(
    out.columns.map((c) => `${c.name}:${c.type}`),
    ['id:long', 'email_enc:string', 'age:long', 'born:date', 'seen:timestamptz', 'score:long', 'ingestion_time:timestamptz', 'ingestion_run_id:string', 'ingestion_mode:string', 'dag_job_id:string'],
  );
  assert.deepEqual(out.primaryKey, ['id']);
  const rows = await readParquet(out.files[0]?.key ?? '');
  assert.equal(rows.length, 3);
  assert.deepEqual(rows.map((r) => r['score']), [12n, 7n, 9n]);
  assert.ok(!('profile' in (rows[0] ?? {})));
  const enc = rows[0]?.['email_enc'];
  assert.equal(typeof enc, 'string');
  assert.match(String(enc), /^sluice:v1:1:/);
  assert.equal(cipher.decrypt(String(enc)), 'a@x.io');
  assert.equal(rows[2]?.['email_enc'], null);
  assert.ok(rows.every((r) => r['ingestion_run_id'] === runId && r['ingestion_mode'] === 'append' && r['dag_job_id'] === 'job-1'));
});

test('deterministic encryption for merge-key columns gives equal ciphertexts for equal values', async () => {
  const out = await transformStream({
    store,
    runId,
    stream: 'users',
    transformations: [{ column: 'id', stream: 'users', newName: null, encryptionKeyName: 'pii', castTo: null, drop: false }],
    loadCipher: async () => cipher,
    mergeKeys: ['id'],
    metadata: null,
    signal: never,
    progress: () => undefined,
  });
  const rows = await readParquet(out.files[0]?.key ?? '');
  assert.match(String(rows[0]?.['id']), /^sluice:v1d:1:/);
  assert.equal(cipher.encrypt('1', 'deterministic'), rows[0]?.['id']);
});

test('a value that cannot be cast fails the task naming the column, the value and the row', async () => {
  await assert.rejects(
    transformStream({
      store,
      runId,
      stream: 'users',
      transformations: [{ column: 'email', stream: 'users', newName: null, encryptionKeyName: null, castTo: 'long', drop: false }],
      loadCipher: async () => cipher,
      mergeKeys: [],
      metadata: null,
      signal: never,
      progress: () => undefined,
    }),
    (err: unknown) => err instanceof NonRetryableTaskError && /column "email": value "a@x.io" in row 1 cannot be cast to long/.test(err.message),
  );
});

test('a transformation naming a column the stream lacks fails clearly', async () => {
  await assert.rejects(
    transformStream({
      store,
      runId,
      stream: 'users',
      transformations: [{ column: 'phone', stream: 'users', newName: 'tel', encryptionKeyName: null, castTo: null, drop: false }],
      loadCipher: async () => cipher,
      mergeKeys: [],
      metadata: null,
      signal: never,
      progress: () => undefined,
    }),
    (err: unknown) => err instanceof NonRetryableTaskError && /has no column "phone"/.test(err.message),
  );
});
