/**
 * stage and transform on a real object store (file:// here, the same code path as S3 through the
 * ObjectStore interface) and a real SQL catalog: raw NDJSON from an extract manifest becomes typed
 * Parquet, values that do not fit are kept as rejects and counted, then renames, casts, drops,
 * encryption and the ingestion metadata columns are applied, written as data files for the load's
 * table (its field ids). The Parquet written is read back with DuckDB.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { NonRetryableTaskError } from '@sluice/core';
import { extractManifestKey, streamKeySegment, type ExtractManifest } from '@sluice/connectors';
import { ColumnCipher, generateKeyMaterial } from '@sluice/crypto';
import { openCatalog, type ColumnSpec, type IcebergCatalog, type IcebergField } from '@sluice/iceberg';
import { openObjectStore, type ObjectStore } from '@sluice/storage';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { readStagedManifest, stageStream } from '../../packages/runner/src/tasks/stage-stream.ts';
import type { TryWrites } from '../../packages/runner/src/tasks/staging-layout.ts';
import { transformStream, type TransformedManifest, type TransformStreamInput } from '../../packages/runner/src/tasks/transform-stream.ts';
import { mergeKeysFor } from '../../packages/runner/src/tasks/load-task.ts';
import { keyVersionInTable } from '../../packages/runner/src/tasks/key-version-in-table.ts';

let dir: string;
let store: ObjectStore;
let db: TestDatabase;
let catalog: IcebergCatalog;
/** The load's table in these tests: `pipeline.users` (created by some tests, absent for others). */
const fieldsForWrite = (columns: ColumnSpec[]): Promise<IcebergField[]> => catalog.fieldsForWrite('pipeline', 'users', columns);
const keyVersion = (column: string): Promise<number | null> => keyVersionInTable(catalog, 'pipeline', 'users', column);
const runId = '11111111-2222-3333-4444-555555555555';
const never = new AbortController().signal;
const cipher = new ColumnCipher('pii', new Map([[1, generateKeyMaterial()]]), 1);
/** A try that holds its task (the first, here). */
const currentTry: TryWrites = { tryNumber: 1, stillCurrent: async () => true };

/** transformStream over the staged `users` stream, with this file's store, run, cipher and catalog. */
function transformUsers(
  transformations: TransformStreamInput['transformations'],
  options: { mergeKeys?: string[]; metadata?: TransformStreamInput['metadata'] } = {},
): Promise<TransformedManifest> {
  return transformStream({
    store,
    runId,
    stream: 'users',
    transformations,
    loadCipher: async () => cipher,
    fieldsForWrite,
    keyVersionInTable: keyVersion,
    mergeKeys: options.mergeKeys ?? [],
    keepOrder: options.mergeKeys !== undefined,
    metadata: options.metadata ?? null,
    signal: never,
    progress: () => undefined,
    try: currentTry,
  });
}

/** transformStream over stream `stream` of run `run`, with no transformations unless given; `over` replaces any other input. */
function transformOf(run: string, stream: string, over: Partial<TransformStreamInput> = {}): Promise<TransformedManifest> {
  return transformStream({
    store,
    runId: run,
    stream,
    transformations: [],
    loadCipher: async () => cipher,
    fieldsForWrite: async (columns) => columns.map((c, n) => ({ id: n + 1, name: c.name, type: c.type, required: false })),
    keyVersionInTable: async () => null,
    mergeKeys: [],
    keepOrder: false,
    metadata: null,
    signal: never,
    progress: () => undefined,
    try: currentTry,
    ...over,
  });
}

async function readParquet(key: string, sql = 'SELECT * FROM read_parquet(?)'): Promise<Record<string, unknown>[]> {
  const local = path.join(dir, 'read.parquet');
  await store.download(key, local);
  const conn = await (await DuckDBInstance.create(':memory:')).connect();
  const r = await conn.runAndReadAll(sql.replace('?', `'${local}'`));
  const rows = r.getRowObjectsJS() as Record<string, unknown>[];
  conn.closeSync();
  return rows;
}

/** Each column's Iceberg field id as the Parquet file records it. */
async function fieldIdsOf(key: string): Promise<Record<string, number>> {
  const rows = await readParquet(key, 'SELECT name, field_id FROM parquet_schema(?) WHERE field_id IS NOT NULL');
  return Object.fromEntries(rows.map((r) => [String(r['name']), Number(r['field_id'])]));
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-pipeline-'));
  store = openObjectStore(`file://${dir}/root`);
  db = await createTestDatabase();
  catalog = openCatalog({ type: 'sql', uri: db.url, store });
  const lines = [
    { id: 1, email: 'a@x.io', age: 30, born: '1990-01-02', seen: '2024-05-01T10:00:00Z', profile: { k: 'v' }, score: '12' },
    { id: 2, email: 'b@x.io', age: 'forty', born: '1980-02-03', seen: '2024-05-02T11:00:00+02:00', profile: null, score: '7' },
    { id: 3, email: null, age: 50, born: 'not a date', seen: '2024-05-03T08:00:00', profile: { n: [1, 2] }, score: '9' },
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
    unread: [],
    failure: null,
  };
  await store.put(extractManifestKey(runId), JSON.stringify(manifest));
});

after(async () => {
  await catalog.close();
  await db.drop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('stage types every column and keeps records with misfit values as counted rejects', async () => {
  const warnings: string[] = [];
  const staged = await stageStream({ store, runId, stream: 'users', signal: never, progress: () => undefined, warn: (m) => void warnings.push(m), try: currentTry });
  assert.deepEqual(warnings, []);
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
  assert.equal(rows[2]?.['profile'], '{"n":[1,2]}');
  assert.equal(rows[1]?.['profile'], null);
  assert.equal(rows[2]?.['born'], null);
  assert.equal(rows[0]?.['email'], 'a@x.io');
  // Date-times in UTC: an offset is applied, none means UTC (whatever the machine's time zone).
  const seen = await readParquet(staged.files[0]?.key ?? '', 'SELECT epoch_ms(seen)::BIGINT AS ms FROM read_parquet(?)');
  assert.deepEqual(seen.map((r) => r['ms']), [Date.parse('2024-05-01T10:00:00Z'), Date.parse('2024-05-02T09:00:00Z'), Date.parse('2024-05-03T08:00:00Z')].map(BigInt));
});

/** Stages raw lines (JSON text, as a connector writes them) of one stream with the given schema properties, in a run of their own. */
async function stageRaw(
  run: string,
  raw: string[],
  properties: Record<string, unknown>,
  t: TryWrites = currentTry,
  stream = 'items',
  duckdb?: { memoryLimit: string },
): Promise<{ staged: Awaited<ReturnType<typeof stageStream>>; warnings: string[] }> {
  const key = `staging/${run}/raw/${streamKeySegment(stream)}/part-00000.jsonl`;
  const text = raw.join('\n') + '\n';
  const bytes = Buffer.byteLength(text);
  await store.put(key, text);
  const now = new Date().toISOString();
  const manifest: ExtractManifest = {
    version: 1,
    runId: run,
    sourceName: 'source-test',
    startedAt: now,
    completedAt: now,
    streams: [
      {
        name: stream,
        namespace: null,
        files: [{ key, records: raw.length, bytes }],
        records: raw.length,
        bytes,
        jsonSchema: { type: 'object', properties },
        primaryKey: [],
        cursorField: [],
        syncMode: 'full_refresh',
        destinationSyncMode: 'append',
        status: null,
      },
    ],
    state: [],
    ignoredRecords: 0,
    unread: [],
    failure: null,
  };
  await store.put(extractManifestKey(run), JSON.stringify(manifest));
  const warnings: string[] = [];
  const staged = await stageStream({ store, runId: run, stream, signal: never, progress: () => undefined, warn: (m) => void warnings.push(m), try: t, ...(duckdb ? { duckdb } : {}) });
  return { staged, warnings };
}

test('stage holds integers and booleans to their JSON Schema types: no rounding, no "yes"', async () => {
  // 1000.0 and a 64-bit bound stay as the connector sent them.
  const raw = [
    '{"n":10,"b":true}',
    '{"n":1000.0,"b":false}',
    '{"n":"12","b":"TRUE"}',
    '{"n":9223372036854775807,"b":"false"}',
    '{"n":10.5,"b":"yes"}',
    '{"n":-0.5,"b":1}',
    '{"n":2.5,"b":"t"}',
    '{"n":9223372036854775808,"b":0}',
  ];
  const { staged } = await stageRaw('11111111-2222-3333-4444-666666666666', raw, { n: { type: ['null', 'integer'] }, b: { type: ['null', 'boolean'] } });
  const rows = await readParquet(staged.files[0]?.key ?? '');
  assert.deepEqual(rows.map((r) => r['n']), [10n, 1000n, 12n, 9223372036854775807n, null, null, null, null]);
  assert.deepEqual(rows.map((r) => r['b']), [true, false, true, false, null, null, null, null]);
  assert.deepEqual(staged.mismatches, { n: 4, b: 4 });
  assert.equal(staged.rejectedRows, 4);
  assert.ok(staged.rejectsKey);
  const rejects = (await store.get(staged.rejectsKey)).toString('utf8').trim().split('\n');
  assert.deepEqual(rejects.map((l) => (JSON.parse(l) as { source_row: number }).source_row), [5, 6, 7, 8]);
  assert.match(rejects[3] ?? '', /"n":9223372036854775808[,}]/, 'a rejected value keeps its digits');
});

test('a "number" column says how many whole numbers it holds rounded past 2^53, and loads them as the nearest double (QA round 44b F4)', async () => {
  const raw = [
    '{"x":9007199254740993,"y":1}',
    '{"x":9007199254740992,"y":2}',
    '{"x":1152921504606846976,"y":3}',
    '{"x":-9007199254740993,"y":12345678901234567890}',
    '{"x":"9007199254740995","y":1.5}',
    '{"x":1.5,"y":null}',
  ];
  const { staged, warnings } = await stageRaw('11111111-2222-3333-4444-444444444444', raw, { x: { type: ['null', 'number'] }, y: { type: ['null', 'number'] } });
  assert.deepEqual(staged.rounded, { x: 3, y: 1 }, '2^53 and 2^60 are exact; 2^53 + 1, its negative, a digit string and a 20-digit number are not');
  assert.deepEqual(staged.mismatches, {});
  assert.deepEqual(warnings, [
    'stream items: 3 values of column "x" are whole numbers past 2^53, which the source\'s schema declares "number" (a double): loaded rounded to the nearest double (as 9007199254740993, say, loads as 9007199254740992). Whole numbers the source declares "integer" load exactly, up to 2^63',
    'stream items: 1 value of column "y" is a whole number past 2^53, which the source\'s schema declares "number" (a double): loaded rounded to the nearest double (as 9007199254740993, say, loads as 9007199254740992). Whole numbers the source declares "integer" load exactly, up to 2^63',
  ]);
  const rows = await readParquet(staged.files[0]?.key ?? '');
  assert.deepEqual(rows.map((r) => r['x']), [9007199254740992, 9007199254740992, 1152921504606846976, -9007199254740992, 9007199254740996, 1.5]);
  // An "integer" column holds them exactly, and says nothing.
  const exact = await stageRaw('11111111-2222-3333-4444-454545454545', ['{"x":9007199254740993}'], { x: { type: ['null', 'integer'] } });
  assert.deepEqual(exact.staged.rounded, {});
  assert.deepEqual(exact.warnings, []);
});

test('a stream with fields named file_row_number and source_row: its misfits are rejects as for any stream, each field under its own name (QA round 57a F5, F6)', async () => {
  const raw = [
    '{"id":1,"source_row":100,"file_row_number":7,"n":1}',
    '{"id":2,"source_row":200,"file_row_number":0,"n":"bad"}',
    '{"id":3,"source_row":1,"file_row_number":1,"n":3}',
  ];
  // before: "Using file_row_number option on file with column named file_row_number is not supported", and the stream failed.
  const { staged } = await stageRaw('11111111-2222-3333-4444-575757575757', raw, {
    id: { type: 'integer' },
    source_row: { type: ['null', 'integer'] },
    file_row_number: { type: ['null', 'integer'] },
    n: { type: ['null', 'integer'] },
  });
  assert.deepEqual((await readParquet(staged.files[0]?.key ?? '')).map((r) => [r['id'], r['source_row'], r['n']]), [[1n, 100n, 1n], [2n, 200n, null], [3n, 1n, 3n]]);
  assert.ok(staged.rejectsKey);
  // The position goes under a name the stream does not use (before: the record's own source_row was written as source_row_1).
  const rejects = (await store.get(staged.rejectsKey)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(rejects, [{ source_row_1: 2, id: 2, source_row: 200, file_row_number: 0, n: 'bad' }]);
});

test('a column of a string that may be a number is text: a string as it is, a number as its digits (QA round 27)', async () => {
  const raw = ['{"code":"abc"}', '{"code":42}', '{"code":true}', '{"code":null}'];
  const { staged } = await stageRaw('11111111-2222-3333-4444-141414141414', raw, { code: { type: ['null', 'string', 'integer', 'boolean'] } });
  // Before: JSON text, so "abc" was stored as "\"abc\"" where a string column held abc.
  assert.deepEqual((await readParquet(staged.files[0]?.key ?? '')).map((r) => r['code']), ['abc', '42', 'true', null]);
  assert.equal(staged.rejectedRows, 0);
});

test('an object or array column takes a value of its kind only; a column of any JSON keeps every value as its JSON text (QA round 31a)', async () => {
  const raw = [
    '{"o":{"a":1},"a":[1,"x"],"any":{"a":1}}',
    '{"o":{},"a":[],"any":[1]}',
    '{"o":null,"a":null,"any":null}',
    '{"o":"plain","a":"plain","any":"plain"}',
    '{"o":[1],"a":{"b":2},"any":7}',
    '{"o":7,"a":true,"any":true}',
  ];
  const { staged, warnings } = await stageRaw('11111111-2222-3333-4444-313131313131', raw, {
    o: { type: ['null', 'object'] },
    a: { type: 'array' },
    any: {},
  });
  assert.deepEqual(staged.columns.map((c) => c.type), ['object', 'array', 'json']);
  const rows = await readParquet(staged.files[0]?.key ?? '');
  // Before: "plain" in an object column was stored as "\"plain\"", and as plain once the source's
  // catalog said string, with no warning; now it does not fit, as a string does not fit an integer.
  assert.deepEqual(rows.map((r) => r['o']), ['{"a":1}', '{}', null, null, null, null]);
  assert.deepEqual(rows.map((r) => r['a']), ['[1,"x"]', '[]', null, null, null, null]);
  assert.deepEqual(rows.map((r) => r['any']), ['{"a":1}', '[1]', null, '"plain"', '7', 'true']);
  assert.deepEqual(staged.mismatches, { o: 3, a: 3 });
  assert.equal(staged.rejectedRows, 3);
  assert.ok(staged.rejectsKey);
  const rejects = (await store.get(staged.rejectsKey)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { source_row: number; o: unknown });
  assert.deepEqual(rejects.map((r) => [r.source_row, r.o]), [[4, 'plain'], [5, [1]], [6, 7]]);
  assert.deepEqual(warnings, []);
});

test('stage works under a small memory limit, and a record beyond what it reads there fails the task saying so (QA round 33b F1)', async () => {
  const raw = Array.from({ length: 200 }, (_, i) => JSON.stringify({ n: i, s: 'x'.repeat(1000) }));
  // Before: buffers for 128 MiB records took 512 MiB, and a limit of 512MB or less failed every stage with DuckDB's "Out of Memory".
  for (const memoryLimit of ['128MiB', '256MB', '512MB']) {
    const { staged } = await stageRaw(`11111111-2222-3333-4444-33b${memoryLimit.padStart(9, '0').replace(/[^0-9]/g, '0')}`, raw, { n: { type: 'integer' }, s: { type: 'string' } }, currentTry, 'items', { memoryLimit });
    assert.equal(staged.rows, 200, memoryLimit);
  }
  const big = [JSON.stringify({ n: 1, s: 'y'.repeat(33 * 2 ** 20) })];
  await assert.rejects(
    stageRaw('11111111-2222-3333-4444-33b000000001', big, { n: { type: 'integer' }, s: { type: 'string' } }, currentTry, 'items', { memoryLimit: '128MiB' }),
    (err: unknown) =>
      err instanceof NonRetryableTaskError &&
      // Which of the two is said depends on the order of DuckDB's threads' allocations (CI saw both).
      (err.message ===
        "stream items has a record larger than 32 MiB; the largest record stage reads is 32 MiB, a quarter of SLUICE_DUCKDB_MEMORY_LIMIT=128MiB (its JSON reader takes buffers of twice a record's size for each of its two threads): give the runners a higher limit, 1GiB for records of up to 256 MiB, and clear this task" ||
        /^stream items did not fit in SLUICE_DUCKDB_MEMORY_LIMIT=128MiB while stage read it: its 2 columns each take memory to read, and a record may be larger than the 32 MiB stage reads there; give the runners a higher limit, 1GiB for records of up to 256 MiB, and clear this task \(DuckDB: Out of Memory Error: /.test(err.message)),
  );
});

test('stage of many rows fits in the least memory limit: its row groups are sized to the limit, not 122,880 rows (QA round 51b D3: 20,000 users staged at 128MiB, 200,000 did not)', async () => {
  // 100,000 records of 1.2 KB in 17 columns: 120 MB, more than 128MiB holds as DuckDB's default row
  // group of 122,880 rows (before: "Out of Memory Error").
  const properties = { id: { type: 'integer' }, ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`f${i}`, { type: 'string' }])) };
  // Values that do not compress (a writer's buffers hold them encoded), as names and emails hardly do.
  const value = (r: number, i: number): string => createHash('sha256').update(`${r}/${i}`).digest('hex');
  const raw = Array.from({ length: 100_000 }, (_, r) => JSON.stringify({ id: r, ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`f${i}`, value(r, i)])) }));
  const { staged } = await stageRaw('11111111-2222-3333-4444-51b000000003', raw, properties, currentTry, 'users', { memoryLimit: '128MiB' });
  assert.equal(staged.rows, 100_000);
  assert.equal(staged.rejectedRows, 0);
  // In the records' order, whole (the staged file's row numbers are the records' positions).
  const [order] = await readParquet(staged.files[0]?.key ?? '', 'SELECT count(*) FILTER (WHERE id <> file_row_number) AS moved FROM read_parquet(?, file_row_number = true)');
  assert.equal(Number(order?.['moved']), 0, 'every record in its place');
  const some = await readParquet(staged.files[0]?.key ?? '', 'SELECT id, f15 FROM read_parquet(?) WHERE id IN (0, 54321, 99999) ORDER BY id');
  assert.deepEqual(some.map((r) => [Number(r['id']), r['f15']]), [0, 54321, 99999].map((r) => [r, value(r, 15)]), 'its values whole');
  const groups = (await readParquet(staged.files[0]?.key ?? '', 'SELECT DISTINCT row_group_id FROM parquet_metadata(?)')).length;
  assert.ok(groups > 1, `the file has ${groups} row groups`);
  // Transform writes its data files under the same limit: in the records' order (a merge's) and not.
  for (const keepOrder of [true, false]) {
    const out = await transformOf('11111111-2222-3333-4444-51b000000003', 'users', { keepOrder, ...(keepOrder ? { mergeKeys: ['id'] } : {}), duckdb: { memoryLimit: '128MiB' } });
    assert.equal(out.files.reduce((n, f) => n + f.rows, 0), 100_000, `keepOrder ${keepOrder}`);
  }
});

test("a wide stream that does not fit in stage's memory limit fails saying its width, not only its records' size (QA round 42b F2)", async () => {
  // 1,500 short columns: a few MB of records, but the reader's memory grows with the columns.
  const properties = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`c${i}`, { type: 'string' }]));
  const raw = Array.from({ length: 100 }, (_, r) => JSON.stringify(Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`c${i}`, `v${r}-${i}`]))));
  await assert.rejects(
    stageRaw('11111111-2222-3333-4444-42b000000002', raw, properties, currentTry, 'wide', { memoryLimit: '128MiB' }),
    (err: unknown) =>
      err instanceof NonRetryableTaskError &&
      /^stream wide did not fit in SLUICE_DUCKDB_MEMORY_LIMIT=128MiB while stage read it: its 1500 columns each take memory to read, and a record may be larger than the 32 MiB stage reads there; /.test(err.message),
  );
});

test('stage holds dates and timestamps to RFC 3339: a value with more, or another shape, is a reject, not cut (QA round 27)', async () => {
  const props = {
    d: { type: ['null', 'string'], format: 'date' },
    ts: { type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
    tz: { type: ['null', 'string'], format: 'date-time' },
    n: { type: ['null', 'integer'] },
  };
  const raw = [
    '{"d":"2024-01-01","ts":"2024-03-10T02:30:00","tz":"2024-03-10T02:30:00+02:00","n":"9007199254740993"}',
    '{"d":"2024-02-29","ts":"2024-03-10 02:30","tz":"2024-03-10t02:30:00.5z","n":"1.000"}',
    '{"d":"9999-12-31","ts":"2024-03-10","tz":"2024-03-10","n":null}',
    // before: 2024-01-01, 2024-03-10 02:30:00, a year 99999 and 9007199254740994.
    '{"d":"2024-01-01T23:30:00-05:00","ts":"2024-03-10T02:30:00+02:00","tz":"99999-01-01T00:00:00Z","n":"9007199254740993.5"}',
    '{"d":"2024-01-01 extra","ts":"2024-03-10T02:30:00Z","tz":"2024-03-10T02:30:00Z extra","n":null}',
    '{"d":"99999-01-01","ts":"-0001-01-01T00:00:00","tz":"0000-01-01T00:00:00Z","n":null}',
    '{"d":"0000-01-01","ts":null,"tz":null,"n":null}',
    '{"d":"2024-1-1","ts":null,"tz":null,"n":null}',
  ];
  const { staged } = await stageRaw('11111111-2222-3333-4444-121212121212', raw, props);
  const rows = await readParquet(
    staged.files[0]?.key ?? '',
    'SELECT d::VARCHAR AS d, ts::VARCHAR AS ts, epoch_ms(tz)::BIGINT AS tz, n FROM read_parquet(?)',
  );
  assert.deepEqual(rows.map((r) => r['d']), ['2024-01-01', '2024-02-29', '9999-12-31', null, null, null, null, null]);
  assert.deepEqual(rows.map((r) => r['ts']), ['2024-03-10 02:30:00', '2024-03-10 02:30:00', '2024-03-10 00:00:00', null, null, null, null, null]);
  assert.deepEqual(
    rows.map((r) => r['tz']),
    [Date.parse('2024-03-10T00:30:00Z'), Date.parse('2024-03-10T02:30:00.500Z'), Date.parse('2024-03-10T00:00:00Z')].map(BigInt).concat([null, null, null, null, null].map(() => null as unknown as bigint)),
  );
  assert.deepEqual(rows.map((r) => r['n']), [9007199254740993n, 1n, null, null, null, null, null, null]);
  assert.deepEqual(staged.mismatches, { d: 5, ts: 3, tz: 3, n: 1 });
  assert.equal(staged.rejectedRows, 5);
});

test("stage holds numbers in text to JSON's shape and a finite value, and an instant with its offset applied to years 0001 to 9999 (QA round 28)", async () => {
  const props = { n: { type: ['null', 'integer'] }, x: { type: ['null', 'number'] }, tz: { type: ['null', 'string'], format: 'date-time' } };
  const raw = [
    '{"n":"12","x":"-1.5e3","tz":"2024-01-01T10:00:00+0530"}',
    '{"n":"1e2","x":"NaN","tz":"0001-01-01T00:30:00Z"}',
    '{"n":100,"x":"-Infinity","tz":"9999-12-31T23:30:00+01:00"}',
    // before: 1000, 12, 12 and 1000.5, 7, 0.5, infinity, infinity; year 0, year 10000 (which PyIceberg and Spark cannot read) and the next day.
    '{"n":"1_000","x":"1_000.5","tz":"0001-01-01T00:30:00+01:00"}',
    '{"n":" 12 ","x":"  7 ","tz":"9999-12-31T23:30:00-01:00"}',
    '{"n":"+12","x":".5","tz":"2024-01-01T24:00:00Z"}',
    '{"n":null,"x":"1e400","tz":null}',
    '{"n":null,"x":1e400,"tz":null}',
  ];
  const { staged } = await stageRaw('11111111-2222-3333-4444-151515151515', raw, props);
  const rows = await readParquet(staged.files[0]?.key ?? '', 'SELECT n, x::VARCHAR AS x, epoch_ms(tz)::BIGINT AS tz FROM read_parquet(?)');
  assert.deepEqual(rows.map((r) => r['n']), [12n, 100n, 100n, null, null, null, null, null]);
  assert.deepEqual(rows.map((r) => r['x']), ['-1500.0', 'nan', '-inf', null, null, null, null, null]);
  assert.deepEqual(
    rows.map((r) => r['tz']),
    [Date.parse('2024-01-01T04:30:00Z'), Date.parse('0001-01-01T00:30:00Z'), Date.parse('9999-12-31T22:30:00Z')].map(BigInt).concat([null, null, null, null, null].map(() => null as unknown as bigint)),
  );
  assert.deepEqual(staged.mismatches, { n: 3, x: 5, tz: 3 });
  assert.equal(staged.rejectedRows, 5);
});

test('stage takes a time without seconds before an offset, refuses an offset hour of 24, and an integer in exponent form only where its double is exact (QA round 29)', async () => {
  const props = { n: { type: ['null', 'integer'] }, tz: { type: ['null', 'string'], format: 'date-time' } };
  const raw = [
    // before: refused (the cast takes T10:00 but not T10:00Z)
    '{"n":"1.5e3","tz":"2024-01-01T10:00Z"}',
    '{"n":"-12e0","tz":"2024-01-01t10:00+02:00"}',
    '{"n":"123456789012345e1","tz":"2024-01-01 10:00-0130"}',
    // before: 1, a day earlier, and 9007199254740992 taken
    '{"n":"1.00000000000000000001e0","tz":"2024-01-01T10:00:00+24:00"}',
    '{"n":"9.007199254740993e15","tz":null}',
    '{"n":"1.5e0","tz":null}',
    '{"n":"1e19","tz":null}',
    // Whole doubles beyond 2^53, bare (DuckDB writes them 1e+18): they fit (QA round 30).
    '{"n":1e18,"tz":null}',
    '{"n":1000000000000000000.0,"tz":null}',
  ];
  const { staged } = await stageRaw('11111111-2222-3333-4444-171717171717', raw, props);
  const rows = await readParquet(staged.files[0]?.key ?? '', 'SELECT n, epoch_ms(tz)::BIGINT AS tz FROM read_parquet(?)');
  assert.deepEqual(rows.map((r) => r['n']), [1500n, -12n, 1234567890123450n, null, null, null, null, 10n ** 18n, 10n ** 18n]);
  assert.deepEqual(
    rows.map((r) => r['tz']),
    [Date.parse('2024-01-01T10:00:00Z'), Date.parse('2024-01-01T08:00:00Z'), Date.parse('2024-01-01T11:30:00Z')].map(BigInt).concat([null, null, null, null, null, null].map(() => null as unknown as bigint)),
  );
  assert.deepEqual(staged.mismatches, { n: 4, tz: 1 });
});

test("streams with names no path takes as they are ('..', quotes, slashes) are staged and transformed under extract's encoding of them", async () => {
  // Names whose encoding is longer than a file name may be (255 bytes) end in a digest, and stay apart (QA round 18).
  const long = ['é'.repeat(100), `${'a'.repeat(254)}/`, `${'a'.repeat(254)}/b`];
  assert.equal(new Set(long.map(streamKeySegment)).size, 3);
  assert.ok(long.every((n) => streamKeySegment(n).length <= 200), long.map((n) => streamKeySegment(n).length).join(', '));
  assert.match(streamKeySegment(long[0] ?? ''), /^(%[0-9A-F]{2})+~[0-9a-f]{32}$/, 'cut between escapes, not inside one');
  for (const [i, stream] of ['..', '.', "x'; drop table dags;--", 'sp ace/slash', '(~*!)', ...long].entries()) {
    const run = `11111111-2222-3333-4444-bbbbbbbbbbb${i}`;
    const { staged } = await stageRaw(run, ['{"k":1}'], { k: { type: 'integer' } }, currentTry, stream);
    assert.equal(staged.rows, 1, stream);
    const segment = streamKeySegment(stream);
    assert.ok(staged.files[0]?.key.startsWith(`staging/${run}/staged/${segment}/`), `${stream}: ${staged.files[0]?.key}`);
    const out = await transformOf(run, stream);
    assert.equal(out.rows, 1, stream);
    assert.ok(out.files[0]?.key.startsWith(`staging/${run}/transformed/${segment}/`), `${stream}: ${out.files[0]?.key}`);
  }
});

test('stage leaves out a field with an empty name, says so, and stages the others', async () => {
  const { staged, warnings } = await stageRaw('11111111-2222-3333-4444-777777777777', ['{"id":1,"":"x"}', '{"id":2,"":"y"}'], { id: { type: 'integer' }, '': { type: 'string' } });
  assert.deepEqual(staged.columns.map((c) => c.name), ['id']);
  assert.equal(staged.rows, 2);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /stream items: the source's schema declares a field with an empty name; no column can have it/);
  assert.deepEqual((await readParquet(staged.files[0]?.key ?? '')).map((r) => r['id']), [1n, 2n]);
});

test("a record that names a field twice is staged with the field's last value, as JSON parsers read it, and the run is told", async () => {
  // before: DuckDB refused the record, quoting it in the error (values of encrypted columns too), and every try failed.
  const { staged, warnings } = await stageRaw(
    '11111111-2222-3333-4444-dddddddddddd',
    ['{"id":1,"age":"old","name":"a","age":40}', '{"id":2,"age":41,"name":"b"}', '{"id":3,"\\u0061ge":"x","age":"forty"}'],
    { id: { type: 'integer' }, name: { type: 'string' }, age: { type: ['null', 'integer'] } },
  );
  assert.equal(staged.rows, 3);
  assert.deepEqual(
    (await readParquet(staged.files[0]?.key ?? '')).map((r) => [r['id'], r['age'], r['name']]),
    [[1n, 40n, 'a'], [2n, 41n, 'b'], [3n, null, null]],
  );
  // The last value of row 3 does not fit: a reject, as any other.
  assert.equal(staged.rejectedRows, 1);
  assert.deepEqual(warnings, ['stream items: 2 records name a field more than once; each field\'s last value is loaded, as JSON parsers read such a record (the raw records keep every value)']);
});

test('stage refuses, once and clearly, a stream whose columns differ only in case (DuckDB reads them as one)', async () => {
  await assert.rejects(
    stageRaw('11111111-2222-3333-4444-888888888888', ['{"id":1,"name":"a","Name":"B"}'], { id: { type: 'integer' }, name: { type: 'string' }, Name: { type: 'string' } }),
    (err: unknown) =>
      err instanceof NonRetryableTaskError && /the source's columns "name" and "Name" differ only in case; .* this stream cannot be loaded: leave it out of streams/.test(err.message),
  );
});

test('transform renames, casts, drops, encrypts and adds the metadata columns', async () => {
  const when = new Date('2026-11-28T12:00:00Z');
  const out = await transformUsers(
    [
      { column: 'email', stream: 'users', newName: 'email_enc', encryptionKeyName: 'pii', castTo: null, drop: false },
      { column: 'score', stream: null, newName: null, encryptionKeyName: null, castTo: 'long', drop: false },
      { column: 'profile', stream: 'users', newName: null, encryptionKeyName: null, castTo: null, drop: true },
    ],
    { metadata: { ingestion_time: when, ingestion_run_id: runId, ingestion_mode: 'append', dag_job_id: 'job-1' } },
  );
  assert.deepEqual(
    out.columns.map((c) => `${c.name}:${c.type}`),
    ['id:long', 'email_enc:string', 'age:long', 'born:date', 'seen:timestamptz', 'score:long', 'ingestion_time:timestamptz', 'ingestion_run_id:string', 'ingestion_mode:string', 'dag_job_id:string'],
  );
  assert.deepEqual(out.primaryKey, ['id']);
  const rows = await readParquet(out.files[0]?.key ?? '');
  assert.equal(rows.length, 3);
  // Exactly the output columns (nothing of stage's bookkeeping), as data files of the table load
  // will create: field ids 1..n in column order, recorded for load to check.
  assert.deepEqual(Object.keys(rows[0] ?? {}), out.columns.map((c) => c.name));
  assert.deepEqual(await fieldIdsOf(out.files[0]?.key ?? ''), Object.fromEntries(out.columns.map((c, i) => [c.name, i + 1])));
  assert.deepEqual(out.icebergFields?.map((f) => `${f.id}:${f.name}:${f.type}`), out.columns.map((c, i) => `${i + 1}:${c.name}:${c.type}`));
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
  const out = await transformUsers([{ column: 'id', stream: 'users', newName: null, encryptionKeyName: 'pii', castTo: null, drop: false }], { mergeKeys: ['id'] });
  const rows = await readParquet(out.files[0]?.key ?? '');
  assert.match(String(rows[0]?.['id']), /^sluice:v1d:1:/);
  assert.equal(cipher.encrypt('1', 'deterministic'), rows[0]?.['id']);
});

test("a merge job's transform keeps the staged order across many row groups, so the last row of a key stays last", async () => {
  // More rows than one Parquet row group (122,880): a copy split at the target file size writes
  // its threads' row groups as they fill, and the last row of a key could come out before the first (QA round 14).
  const run = '11111111-2222-3333-4444-999999999999';
  const rows = 300_000;
  const raw = Array.from({ length: rows }, (_, i) => `{"k":${i % 1000},"v":${i}}`);
  await stageRaw(run, raw, { k: { type: 'integer' }, v: { type: 'integer' } });
  const out = await transformOf(run, 'items', { fieldsForWrite: (columns) => catalog.fieldsForWrite('pipeline', 'ordered_items', columns), mergeKeys: ['k'], keepOrder: true });
  assert.equal(out.rows, rows);
  const local: string[] = [];
  for (const [i, f] of out.files.entries()) {
    const p = path.join(dir, `ordered-${i}.parquet`);
    await store.download(f.key, p);
    local.push(`'${p}'`);
  }
  const conn = await (await DuckDBInstance.create(':memory:')).connect();
  const read = await conn.runAndReadAll(
    `SELECT v FROM read_parquet([${local.join(', ')}], filename = true, file_row_number = true)
      ORDER BY list_position([${local.join(', ')}], filename), file_row_number`,
  );
  const v = read.getRowObjectsJS().map((r) => Number(r['v']));
  conn.closeSync();
  assert.equal(v.length, rows);
  const outOfOrder = v.findIndex((x, i) => x !== i);
  assert.equal(outOfOrder, -1, `row ${outOfOrder} of the files is staged row ${v[outOfOrder]}`);
});

test("a try declared lost that goes on never replaces its retry's files: it stops before writing, or writes files of its own", async () => {
  // A runner frozen past its heartbeat goes on where it was while the retry of its task runs
  // elsewhere (QA round 13, F13). Here the retry (try 2) finishes first, then the lost try 1 reaches its writes.
  const run = '11111111-2222-3333-4444-aaaaaaaaaaaa';
  const retry: TryWrites = { tryNumber: 2, stillCurrent: async () => true };
  const transformItems = (t: TryWrites): Promise<TransformedManifest> =>
    transformOf(run, 'items', {
      transformations: [{ column: 'v', stream: null, newName: null, encryptionKeyName: 'pii', castTo: null, drop: false }],
      fieldsForWrite: (columns) => catalog.fieldsForWrite('pipeline', 'lost_items', columns),
      try: t,
    });
  const { staged } = await stageRaw(run, ['{"k":1,"v":"a"}', '{"k":"two","v":"b"}'], { k: { type: 'integer' }, v: { type: 'string' } }, retry);
  assert.equal(staged.rejectedRows, 1);
  const transformed = await transformItems(retry);
  assert.deepEqual([...staged.files, ...transformed.files].map((f) => path.basename(f.key)), ['try-2-part-00000.parquet', 'try-2-part-00000.parquet']);
  const contents = async (): Promise<Map<string, string>> => {
    const m = new Map<string, string>();
    for await (const o of store.list(`staging/${run}/`)) m.set(o.key, createHash('sha256').update(await store.get(o.key)).digest('hex'));
    return m;
  };
  const written = await contents();

  // Told it was given up (its heartbeat answers "not yours"): it writes nothing at all.
  const givenUp: TryWrites = { tryNumber: 1, stillCurrent: async () => false };
  await assert.rejects(
    stageStream({ store, runId: run, stream: 'items', signal: never, progress: () => undefined, warn: () => undefined, try: givenUp }),
    /this try was given up meanwhile \(declared lost and retried elsewhere\): it leaves the staging to the retry/,
  );
  await assert.rejects(transformItems(givenUp), /this try was given up meanwhile/);
  assert.deepEqual(await contents(), written, 'every file of the retry is there, unchanged, and nothing else');

  // Not told (PostgreSQL could not answer its heartbeat): its data files have names of their own,
  // so the retry's stay as they were, and whichever manifest is last names files that match it.
  const unaware: TryWrites = { tryNumber: 1, stillCurrent: async () => true };
  const late = await transformItems(unaware);
  const after = await contents();
  for (const [key, digest] of written) if (key.includes('/try-2-')) assert.equal(after.get(key), digest, `${key} unchanged`);
  assert.deepEqual(late.files.map((f) => path.basename(f.key)), ['try-1-part-00000.parquet']);
  for (const f of late.files) assert.equal((await store.head(f.key))?.size, f.bytes, `${f.key} is the file its manifest describes`);
  assert.deepEqual(
    (await readStagedManifest(store, run, 'items')).files.map((f) => f.key),
    staged.files.map((f) => f.key),
  );
});

test("transform writes the files with the existing table's field ids and types, and without planned ids when the table cannot take the columns", async () => {
  const table = await catalog.createTable('pipeline', 'users', [
    { name: 'note', type: 'string' },
    { name: 'score', type: 'double' },
    { name: 'id', type: 'long' },
  ]);
  try {
    const castScore = { column: 'score', stream: null, newName: null, encryptionKeyName: null, castTo: 'float' as const, drop: false };
    const out = await transformUsers([castScore, { column: 'profile', stream: null, newName: null, encryptionKeyName: null, castTo: null, drop: true }]);
    // id and score keep the table's ids (3, 2); score, cast to float, is written as the table's double;
    // the stream's other columns get the ids the load's schema evolution will give them (4, 5, …).
    assert.deepEqual(
      out.icebergFields?.map((f) => `${f.id}:${f.name}:${f.type}`),
      ['3:id:long', '4:email:string', '5:age:long', '6:born:date', '7:seen:timestamptz', '2:score:double'],
    );
    assert.deepEqual(await fieldIdsOf(out.files[0]?.key ?? ''), { id: 3, email: 4, age: 5, born: 6, seen: 7, score: 2 });
    const rows = await readParquet(out.files[0]?.key ?? '');
    assert.deepEqual(rows.map((r) => r['score']), [12, 7, 9]);

    // A column the table holds as a string, where the stream's (renamed) is a date: no plan;
    // the files get ids 1..n and load rewrites them (and fails, naming the column).
    const unplanned = await transformUsers([{ column: 'born', stream: null, newName: 'note', encryptionKeyName: null, castTo: null, drop: false }]);
    assert.equal(unplanned.icebergFields, null);
    assert.deepEqual(await fieldIdsOf(unplanned.files[0]?.key ?? ''), Object.fromEntries(unplanned.columns.map((c, i) => [c.name, i + 1])));
  } finally {
    await catalog.dropTable(table.id.namespace, table.id.name, { purge: true });
  }
});

test('a value that cannot be cast fails the task naming the column, the value and the row', async () => {
  await assert.rejects(
    transformUsers([{ column: 'email', stream: 'users', newName: null, encryptionKeyName: null, castTo: 'long', drop: false }]),
    (err: unknown) => err instanceof NonRetryableTaskError && /column "email": value "a@x.io" in row 1 cannot be cast to long/.test(err.message),
  );
});

test('a cast to an integer type takes whole numbers only: a fraction fails the task, it is not rounded', async () => {
  const run = '11111111-2222-3333-4444-777777777777';
  const { staged } = await stageRaw(
    run,
    ['{"amount":3.0,"code":"7","big":"9007199254740993"}', '{"amount":1.5,"code":"8","big":"9007199254740993.5"}', '{"amount":null,"code":"9.0","big":null}'],
    { amount: { type: ['null', 'number'] }, code: { type: 'string' }, big: { type: ['null', 'string'] } },
  );
  assert.equal(staged.rows, 3);
  // A fraction beyond a double's precision, in text, is a fraction too (before: rounded; QA round 26).
  await assert.rejects(
    transformOf(run, 'items', { transformations: [{ column: 'big', stream: null, newName: null, encryptionKeyName: null, castTo: 'long', drop: false }] }),
    (err: unknown) => err instanceof NonRetryableTaskError && err.message === 'stream "items", column "big": value "9007199254740993.5" in row 2 cannot be cast to long',
  );
  const cast = (column: string, castTo: 'int' | 'long') => [{ column, stream: null, newName: null, encryptionKeyName: null, castTo, drop: false }];
  for (const to of ['int', 'long'] as const) {
    // before: 1.5 was written as 2, and the run succeeded (QA round 25).
    await assert.rejects(
      transformOf(run, 'items', { transformations: cast('amount', to) }),
      (err: unknown) => err instanceof NonRetryableTaskError && err.message === `stream "items", column "amount": value "1.5" in row 2 cannot be cast to ${to}`,
    );
  }
  // Every column that cannot be cast is named at once, not one per run (QA round 27).
  await assert.rejects(
    transformOf(run, 'items', { transformations: [...cast('amount', 'long'), ...cast('big', 'int'), ...cast('code', 'long')] }),
    (err: unknown) =>
      err instanceof NonRetryableTaskError &&
      err.message ===
        'stream "items": 2 columns cannot be cast: column "amount": value "1.5" in row 2 cannot be cast to long; column "big": value "9007199254740993" in row 1 cannot be cast to int (nor can 1 more of its values)',
  );
  // Whole numbers, as numbers or as text (9.0 too), are cast as they are.
  const out = await transformOf(run, 'items', { transformations: cast('code', 'long') });
  assert.deepEqual((await readParquet(out.files[0]?.key ?? '')).map((r) => r['code']), [7n, 8n, 9n]);
});

test('a cast of text to a date takes full dates only, to a boolean true or false; a cast of a timestamp to a date converts it', async () => {
  const run = '11111111-2222-3333-4444-131313131313';
  await stageRaw(
    run,
    ['{"day":"2024-01-01","at":"2024-03-10T23:30:00Z","ok":"TRUE"}', '{"day":"2024-01-01 extra","at":"2024-03-11T00:30:00Z","ok":"yes"}'],
    { day: { type: 'string' }, at: { type: 'string', format: 'date-time' }, ok: { type: 'string' } },
  );
  // before: "yes" was cast to true (QA round 27), where stage's booleans take true and false only.
  await assert.rejects(
    transformOf(run, 'items', { transformations: [{ column: 'ok', stream: null, newName: null, encryptionKeyName: null, castTo: 'boolean', drop: false }] }),
    (err: unknown) => err instanceof NonRetryableTaskError && err.message === 'stream "items", column "ok": value "yes" in row 2 cannot be cast to boolean',
  );
  const cast = (column: string) => [{ column, stream: null, newName: null, encryptionKeyName: null, castTo: 'date' as const, drop: false }];
  // before: "2024-01-01 extra" was cast to 2024-01-01.
  await assert.rejects(
    transformOf(run, 'items', { transformations: cast('day') }),
    (err: unknown) => err instanceof NonRetryableTaskError && err.message === 'stream "items", column "day": value "2024-01-01 extra" in row 2 cannot be cast to date',
  );
  const out = await transformOf(run, 'items', { transformations: cast('at') });
  assert.deepEqual((await readParquet(out.files[0]?.key ?? '', 'SELECT "at"::VARCHAR AS v FROM read_parquet(?)')).map((r) => r['v']), ['2024-03-10', '2024-03-11']);
});

test("a cast of text to a number takes JSON's numbers only, and to a timestamp with a time zone instants of years 0001 to 9999 (QA round 28)", async () => {
  const run = '11111111-2222-3333-4444-161616161616';
  await stageRaw(run, ['{"n":"12","at":"2024-01-01T10:00:00+01:00"}', '{"n":"1_000","at":"0001-01-01T00:30:00+01:00"}'], { n: { type: 'string' }, at: { type: 'string' } });
  const cast = (column: string, castTo: 'long' | 'double' | 'timestamptz') => [{ column, stream: null, newName: null, encryptionKeyName: null, castTo, drop: false }];
  for (const to of ['long', 'double'] as const) {
    await assert.rejects(
      transformOf(run, 'items', { transformations: cast('n', to) }),
      (err: unknown) => err instanceof NonRetryableTaskError && err.message === `stream "items", column "n": value "1_000" in row 2 cannot be cast to ${to}`,
    );
  }
  await assert.rejects(
    transformOf(run, 'items', { transformations: cast('at', 'timestamptz') }),
    (err: unknown) => err instanceof NonRetryableTaskError && err.message === 'stream "items", column "at": value "0001-01-01T00:30:00+01:00" in row 2 cannot be cast to timestamptz',
  );
});

test('a cast of text to a timestamp with a time zone takes a time without seconds before an offset, and a lower-case t, as stage does (QA round 29)', async () => {
  const run = '11111111-2222-3333-4444-181818181818';
  await stageRaw(run, ['{"at":"2024-01-01T10:00Z"}', '{"at":"2024-01-01t10:00:30+02:00"}', '{"at":null}'], { at: { type: 'string' } });
  const out = await transformOf(run, 'items', { transformations: [{ column: 'at', stream: null, newName: null, encryptionKeyName: null, castTo: 'timestamptz', drop: false }] });
  const rows = await readParquet(out.files[0]?.key ?? '', 'SELECT epoch_ms("at")::BIGINT AS at FROM read_parquet(?)');
  assert.deepEqual(rows.map((r) => r['at']), [BigInt(Date.parse('2024-01-01T10:00:00Z')), BigInt(Date.parse('2024-01-01T08:00:30Z')), null]);
});

test('a value of an encrypted column that cannot be cast fails the task without naming the value', async () => {
  await assert.rejects(
    transformUsers([{ column: 'email', stream: 'users', newName: null, encryptionKeyName: 'pii', castTo: 'long', drop: false }]),
    (err: unknown) =>
      err instanceof NonRetryableTaskError &&
      err.message === 'stream "users", column "email": a value (not shown: the column is encrypted with key pii) in row 1 cannot be cast to long (nor can 1 more of its values)' &&
      !err.message.includes('a@x.io'),
  );
});

test('a transformation naming a column the stream lacks fails clearly', async () => {
  await assert.rejects(
    transformUsers([{ column: 'phone', stream: 'users', newName: 'tel', encryptionKeyName: null, castTo: null, drop: false }]),
    (err: unknown) => err instanceof NonRetryableTaskError && /has no column "phone"/.test(err.message),
  );
});

test("a merge key the job's transformations drop fails the load naming the drop, with explicit keys and with the primary key", async () => {
  const out = await transformUsers([{ column: 'id', stream: null, newName: null, encryptionKeyName: null, castTo: null, drop: true }]);
  assert.deepEqual(out.dropped, ['id']);
  assert.deepEqual(out.droppedPrimaryKey, ['id']);
  assert.throws(
    () => mergeKeysFor(null, out),
    (err: unknown) =>
      err instanceof NonRetryableTaskError &&
      err.message ===
        'stream "users": merge mode without "merge" keys merges on the source\'s primary key, but a "drop" in the job\'s column_transformations removes its column(s) "id": give merge keys or keep the column(s)',
  );
  assert.throws(
    () => mergeKeysFor('email, id', out),
    (err: unknown) => err instanceof NonRetryableTaskError && err.message === 'stream "users": merge key column(s) "id" are removed by a "drop" in the job\'s column_transformations',
  );
  assert.deepEqual(mergeKeysFor('email', out), ['email'], 'a kept column is still a key');
});

test('a job made before the API refused them: a merge key naming two columns fails the load, drops of every column fail transform, in words', async () => {
  const t = (column: string, more: Partial<TransformStreamInput['transformations'][number]>): TransformStreamInput['transformations'][number] => ({
    column,
    stream: 'users',
    newName: null,
    encryptionKeyName: null,
    castTo: null,
    drop: false,
    ...more,
  });
  const out = await transformUsers([t('id', { newName: 'user_id' }), t('age', { newName: 'id' })]);
  assert.throws(
    () => mergeKeysFor('id', out),
    (err: unknown) =>
      err instanceof NonRetryableTaskError &&
      err.message === 'merge key "id" of stream "users" names two columns: "age" renamed to "id", and "id" renamed to "user_id"; name the key "age" (the first) or "user_id" (the second)',
  );
  assert.deepEqual(mergeKeysFor('age', out), ['id'], 'the renamed age by its source name');
  assert.deepEqual(mergeKeysFor('user_id', out), ['user_id']);
  await assert.rejects(
    transformUsers(['id', 'email', 'age', 'born', 'seen', 'score', 'profile'].map((c) => t(c, { drop: true }))),
    (err: unknown) =>
      err instanceof NonRetryableTaskError &&
      err.message === 'column_transformations: stream "users": the drops remove every one of its columns (id, email, age, born, seen, profile, score), leaving nothing to load; leave the stream out of streams instead',
  );
});
