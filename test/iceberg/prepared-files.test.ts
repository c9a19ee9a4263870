/**
 * Data files written ahead of the commit (the transform task's path): files written with the
 * field ids `fieldsForWrite` planned are committed as they are — the committed object is
 * byte-for-byte the input, with metrics from its footer — while the table still gives those
 * columns the planned ids and types; when the table's schema moved in between, the same input
 * is rewritten with the table's ids. PyIceberg, an independent reader, reads both right.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { dataFileCopyOptions, readDataFileMetrics, type ColumnSpec, type DataFileMetricsJson, type IcebergField, type StoredDataFile } from '@sluice/iceberg';
import { createHarness, type IcebergHarness } from './harness.ts';

const columns: ColumnSpec[] = [
  { name: 'id', type: 'long' },
  { name: 'name', type: 'string' },
  { name: 'seen_at', type: 'timestamptz' },
];

const sha = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

/**
 * Writes rows id = from..to-1 into `dir` as the transform task does (the planned fields, by
 * dataFileCopyOptions) and reads the file's metrics as transform records them.
 */
async function writePrepared(dir: string, fields: IcebergField[], from: number, to: number): Promise<{ local: string; metrics: DataFileMetricsJson }> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(
      `COPY (SELECT i::BIGINT AS id, 'n' || i AS name, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS seen_at FROM range(${from}, ${to}) t(i))
         TO '${dir}' (${dataFileCopyOptions(fields)})`,
    );
    const local = path.join(dir, 'data_0.parquet');
    return { local, metrics: await readDataFileMetrics(c, local, fields) };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe('committing prepared data files', () => {
  let h: IcebergHarness;
  before(async () => {
    h = await createHarness('file');
  });
  after(async () => {
    await h.close();
  });

  /** Writes rows id = from..to-1 as the transform task does: with the planned fields, by dataFileCopyOptions. */
  async function prepare(name: string, fields: IcebergField[], from: number, to: number): Promise<string> {
    return (await writePrepared(path.join(h.dir, name), fields, from, to)).local;
  }

  test('a table created after the files were planned gets them as they are, with their footer metrics', async () => {
    const fields = await h.catalog.fieldsForWrite('prep', 'fresh', columns);
    assert.deepEqual(fields.map((f) => `${f.id}:${f.name}:${f.type}`), ['1:id:long', '2:name:string', '3:seen_at:timestamptz']);
    const file = await prepare('fresh-1', fields, 0, 1000);
    const { table } = await h.catalog.loadOrCreateTable('prep', 'fresh', columns);
    const result = await table.append({ format: 'parquet', files: [file], columns, icebergFields: fields }, { runId: 'r1', taskId: 'load[fresh]' });
    assert.equal(result.status, 'committed');
    assert.equal(result.inputFilesAsIs, true);

    const [committed] = await table.dataFiles();
    assert.ok(committed);
    const local = path.join(h.dir, 'fresh-committed.parquet');
    await h.store.download(h.store.keyOf(committed.file_path), local);
    assert.equal(await sha(local), await sha(file), 'the committed data file is the prepared file, not a rewrite');

    const view = await h.read('prep', 'fresh');
    assert.equal(view.rows.length, 1000);
    assert.deepEqual(view.rows[0], { id: 0, name: 'n0', seen_at: '2024-01-01T00:00:00+00:00' });
    const m = view.files[0]?.readable_metrics ?? {};
    assert.equal(view.files[0]?.record_count, 1000);
    assert.deepEqual([m['id']?.value_count, m['id']?.null_value_count, m['id']?.lower_bound, m['id']?.upper_bound], [1000, 0, 0, 999]);
    assert.deepEqual([m['name']?.lower_bound, m['name']?.upper_bound], ['n0', 'n999']);
    assert.deepEqual([m['seen_at']?.lower_bound, m['seen_at']?.upper_bound], ['2024-01-01T00:00:00+00:00', '2024-01-01T00:16:39+00:00']);

    // A second batch planned against the existing table (one more column) is taken as it is too;
    // the new column is added to the schema by the commit, with the id that was planned.
    const wider: ColumnSpec[] = [...columns, { name: 'extra', type: 'long' }];
    const next = await h.catalog.fieldsForWrite('prep', 'fresh', wider);
    assert.deepEqual(next.map((f) => f.id), [1, 2, 3, 4]);
    const dir = path.join(h.dir, 'fresh-2');
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    await c.run(`COPY (SELECT 5000::BIGINT AS id, 'x' AS name, NULL::TIMESTAMPTZ AS seen_at, 7::BIGINT AS extra) TO '${dir}' (${dataFileCopyOptions(next)})`);
    c.closeSync();
    instance.closeSync();
    const second = await table.append({ format: 'parquet', files: [path.join(dir, 'data_0.parquet')], columns: wider, icebergFields: next });
    assert.equal(second.inputFilesAsIs, true);
    assert.equal(second.schemaChanged, true);
    const after2 = await h.read('prep', 'fresh');
    assert.equal(after2.rows.length, 1001);
    assert.deepEqual(after2.rows.find((r) => r['id'] === 5000), { id: 5000, name: 'x', seen_at: null, extra: 7 });
    assert.equal(after2.rows.find((r) => r['id'] === 1)?.['extra'], null);
  });

  test('when the table schema changed between planning and commit, the files are rewritten with the table ids', async () => {
    // Planned for a table that does not exist yet: id 1, name 2, seen_at 3.
    const fields = await h.catalog.fieldsForWrite('prep', 'raced', columns);
    const file = await prepare('raced-1', fields, 0, 100);
    // Meanwhile another writer creates the table with another column order: seen_at 1, name 2, id 3.
    await h.secondCatalog().createTable('prep', 'raced', [columns[2] as ColumnSpec, columns[1] as ColumnSpec, columns[0] as ColumnSpec]);
    const table = await h.catalog.loadTable('prep', 'raced');
    const result = await table.overwrite({ format: 'parquet', files: [file], columns, icebergFields: fields }, { runId: 'r2', taskId: 'load[raced]' });
    assert.equal(result.status, 'committed');
    assert.equal(result.inputFilesAsIs, false);

    const view = await h.read('prep', 'raced');
    assert.deepEqual(view.schema.map((f) => `${f.id}:${f.name}`), ['1:seen_at', '2:name', '3:id']);
    assert.equal(view.rows.length, 100);
    const row = view.rows.find((r) => r['id'] === 42);
    assert.deepEqual(row, { seen_at: '2024-01-01T00:00:42+00:00', name: 'n42', id: 42 });
    const m = view.files[0]?.readable_metrics ?? {};
    assert.deepEqual([m['id']?.lower_bound, m['id']?.upper_bound], [0, 99]);
  });

  test('a column whose type the table widened since planning is rewritten as the wider type', async () => {
    const narrow: ColumnSpec[] = [{ name: 'id', type: 'long' }, { name: 'ratio', type: 'float' }];
    const fields = await h.catalog.fieldsForWrite('prep', 'widened', narrow);
    const dir = path.join(h.dir, 'widened-1');
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    await c.run(`COPY (SELECT i::BIGINT AS id, (i / 4)::FLOAT AS ratio FROM range(0, 8) t(i)) TO '${dir}' (${dataFileCopyOptions(fields)})`);
    c.closeSync();
    instance.closeSync();
    await h.secondCatalog().createTable('prep', 'widened', [{ name: 'id', type: 'long' }, { name: 'ratio', type: 'double' }]);
    const table = await h.catalog.loadTable('prep', 'widened');
    const result = await table.append({ format: 'parquet', files: [path.join(dir, 'data_0.parquet')], columns: narrow, icebergFields: fields });
    assert.equal(result.inputFilesAsIs, false);
    const view = await h.read('prep', 'widened');
    assert.equal(view.arrow_types['ratio'], 'double');
    assert.deepEqual(view.rows.map((r) => r['ratio']), [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75]);
  });
});

/**
 * Data files already in the object store (the transform task uploads them under staging/ with
 * their metrics): committed by a copy within the store — no bytes through the writer — while the
 * planned ids hold, downloaded and rewritten when they do not. On file:// and on S3 (moto).
 */
for (const kind of ['file', 's3'] as const) {
  describe(`committing stored data files (${kind})`, () => {
    let h: IcebergHarness;
    before(async () => {
      h = await createHarness(kind);
    });
    after(async () => {
      await h.close();
    });

    /** Writes rows from..to-1 with the planned fields, uploads them to `key`, and answers the key with the file's metrics. */
    async function stage(name: string, fields: IcebergField[], from: number, to: number, key: string): Promise<StoredDataFile & { local: string }> {
      const { local, metrics } = await writePrepared(path.join(h.dir, name), fields, from, to);
      await h.store.upload(local, key);
      return { key, metrics, local };
    }

    test('while the planned ids hold, the stored file is copied into the table as it is, with the metrics given', async () => {
      const fields = await h.catalog.fieldsForWrite('stored', 'kept', columns);
      const staged = await stage('kept-1', fields, 0, 500, 'staging/run-1/transformed/kept/part-00000.parquet');
      assert.equal(staged.metrics.record_count, '500');
      const { table } = await h.catalog.loadOrCreateTable('stored', 'kept', columns);
      const result = await table.append(
        { format: 'parquet', files: [], stored: [{ key: staged.key, metrics: staged.metrics }], columns, icebergFields: fields },
        { runId: 'r1', taskId: 'load[kept]' },
      );
      assert.equal(result.status, 'committed');
      assert.equal(result.inputFilesAsIs, true);
      const [committed] = await table.dataFiles();
      assert.ok(committed);
      assert.ok(committed.file_path.includes('/data/'), `committed under the table's data/: ${committed.file_path}`);
      const local = path.join(h.dir, 'kept-committed.parquet');
      await h.store.download(h.store.keyOf(committed.file_path), local);
      assert.equal(await sha(local), await sha(staged.local), 'the committed data file is the staged object');
      assert.ok(await h.store.head(staged.key), 'the staged object stays where it was');

      const view = await h.read('stored', 'kept');
      assert.equal(view.rows.length, 500);
      assert.equal(view.files[0]?.record_count, 500);
      const m = view.files[0]?.readable_metrics ?? {};
      assert.deepEqual([m['id']?.value_count, m['id']?.null_value_count, m['id']?.lower_bound, m['id']?.upper_bound], [500, 0, 0, 499]);
      assert.deepEqual([m['name']?.lower_bound, m['name']?.upper_bound], ['n0', 'n99'], 'string bounds order as text');
    });

    test('when the table moved the ids since planning, the stored file is downloaded and rewritten', async () => {
      const fields = await h.catalog.fieldsForWrite('stored', 'moved', columns);
      const staged = await stage('moved-1', fields, 0, 50, 'staging/run-2/transformed/moved/part-00000.parquet');
      await h.secondCatalog().createTable('stored', 'moved', [columns[2] as ColumnSpec, columns[1] as ColumnSpec, columns[0] as ColumnSpec]);
      const table = await h.catalog.loadTable('stored', 'moved');
      const result = await table.overwrite({ format: 'parquet', files: [], stored: [staged], columns, icebergFields: fields }, { runId: 'r2', taskId: 'load[moved]' });
      assert.equal(result.status, 'committed');
      assert.equal(result.inputFilesAsIs, false);
      const view = await h.read('stored', 'moved');
      assert.deepEqual(view.schema.map((f) => `${f.id}:${f.name}`), ['1:seen_at', '2:name', '3:id']);
      assert.deepEqual(view.rows.find((r) => r['id'] === 42), { seen_at: '2024-01-01T00:00:42+00:00', name: 'n42', id: 42 });
    });

    test('stored files need Parquet, their fields, and no local files beside them', async () => {
      const { table } = await h.catalog.loadOrCreateTable('stored', 'checked', columns);
      const one = { key: 'staging/x.parquet', metrics: { record_count: '1', file_size_in_bytes: '1', column_sizes: null, value_counts: null, null_value_counts: null, nan_value_counts: null, lower_bounds: null, upper_bounds: null, split_offsets: null, sort_order_id: null } };
      await assert.rejects(table.append({ format: 'parquet', files: [], stored: [one], columns }), /icebergFields/);
      await assert.rejects(table.append({ format: 'ndjson', files: [], stored: [one], columns, icebergFields: [] }), /Parquet/);
      await assert.rejects(table.append({ format: 'parquet', files: ['/tmp/a.parquet'], stored: [one], columns, icebergFields: [] }), /not both/);
    });
  });
}
