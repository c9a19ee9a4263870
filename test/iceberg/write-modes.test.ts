/**
 * Writes tables through append, overwrite and merge against real PostgreSQL (SQL catalog) and
 * a real object store (file:// and moto S3), then reads them back with PyIceberg and checks
 * rows, types, schema, snapshots and summaries exactly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnSpec } from '@sluice/iceberg';
import { createHarness, type BackendKind, type IcebergHarness } from './harness.ts';
import { addFilesWithPyIceberg } from './pyiceberg.ts';

const columns: ColumnSpec[] = [
  { name: 'id', type: 'long' },
  { name: 'name', type: 'string' },
  { name: 'score', type: 'double' },
  { name: 'active', type: 'boolean' },
  { name: 'born', type: 'date' },
  { name: 'seen_at', type: 'timestamptz' },
  { name: 'local_at', type: 'timestamp' },
  { name: 'amount', type: 'decimal(10, 2)' },
  { name: 'attrs', type: 'string' },
];

const firstRows = [
  { id: 1, name: 'ada', score: 1.5, active: true, born: '1990-01-02', seen_at: '2024-03-01T10:00:00Z', local_at: '2024-03-01T10:00:00', amount: '12.34', attrs: { tags: ['x'], n: 1 } },
  { id: 2, name: 'bob', score: null, active: false, born: null, seen_at: '2024-03-01T12:30:00.123456+02:00', local_at: null, amount: '-0.50', attrs: null },
  { id: 3, name: null, score: -2, active: null, born: '2000-12-31', seen_at: null, local_at: '1999-12-31T23:59:59.5', amount: null, attrs: [1, 'two'] },
];

const expectedFirstRows = [
  { id: 1, name: 'ada', score: 1.5, active: true, born: '1990-01-02', seen_at: '2024-03-01T10:00:00+00:00', local_at: '2024-03-01T10:00:00', amount: '12.34', attrs: '{"tags":["x"],"n":1}' },
  { id: 2, name: 'bob', score: null, active: false, born: null, seen_at: '2024-03-01T10:30:00.123456+00:00', local_at: null, amount: '-0.50', attrs: null },
  { id: 3, name: null, score: -2.0, active: null, born: '2000-12-31', seen_at: null, local_at: '1999-12-31T23:59:59.500000', amount: null, attrs: '[1,"two"]' },
];

function sortById<T extends Record<string, unknown>>(rows: T[]): T[] {
  return [...rows].sort((a, b) => Number(a['id']) - Number(b['id']));
}

for (const kind of ['file', 's3'] as BackendKind[]) {
  describe(`Iceberg writes on ${kind}://, read back by PyIceberg`, () => {
    let h: IcebergHarness;
    before(async () => {
      h = await createHarness(kind);
    });
    after(async () => {
      await h.close();
    });

    test('append (NDJSON, every supported type): rows, types, schema, stats and summary', async () => {
      const table = await h.catalog.createTable('raw', 'people', columns);
      const input = await h.ndjson('people-1.ndjson', firstRows);
      const result = await table.append(
        { format: 'ndjson', files: [input], columns },
        { runId: 'run-1', taskId: 'load.people', snapshotProperties: { 'sluice.stream': 'people' } },
      );
      assert.equal(result.status, 'committed');
      const view = await h.read('raw', 'people');
      assert.deepEqual(view.namespaces, ['raw']);
      assert.deepEqual(view.tables, ['people']);
      assert.equal(view.format_version, 2);
      assert.deepEqual(view.schema, [
        { id: 1, name: 'id', type: 'long', required: false },
        { id: 2, name: 'name', type: 'string', required: false },
        { id: 3, name: 'score', type: 'double', required: false },
        { id: 4, name: 'active', type: 'boolean', required: false },
        { id: 5, name: 'born', type: 'date', required: false },
        { id: 6, name: 'seen_at', type: 'timestamptz', required: false },
        { id: 7, name: 'local_at', type: 'timestamp', required: false },
        { id: 8, name: 'amount', type: 'decimal(10, 2)', required: false },
        { id: 9, name: 'attrs', type: 'string', required: false },
      ]);
      assert.deepEqual(view.arrow_types, {
        id: 'int64',
        name: 'string',
        score: 'double',
        active: 'bool',
        born: 'date32[day]',
        seen_at: 'timestamp[us, tz=UTC]',
        local_at: 'timestamp[us]',
        amount: 'decimal128(10, 2)',
        attrs: 'string',
      });
      assert.deepEqual(sortById(view.rows), expectedFirstRows);
      assert.equal(view.snapshots.length, 1);
      const snap = view.snapshots[0];
      assert.equal(snap?.snapshot_id, result.snapshotId?.toString());
      assert.equal(snap?.parent_snapshot_id, null);
      assert.equal(snap?.sequence_number, 1);
      const size = snap?.summary['added-files-size'];
      assert.match(size ?? '', /^\d+$/);
      assert.deepEqual(snap?.summary, {
        operation: 'append',
        'added-data-files': '1',
        'added-records': '3',
        'added-files-size': size,
        'changed-partition-count': '1',
        'total-records': '3',
        'total-files-size': size,
        'total-data-files': '1',
        'total-delete-files': '0',
        'total-position-deletes': '0',
        'total-equality-deletes': '0',
        'sluice.run-id': 'run-1',
        'sluice.task-id': 'load.people',
        'sluice.stream': 'people',
      });
      // Column statistics as PyIceberg decodes them from the manifest.
      assert.equal(view.files.length, 1);
      const m = view.files[0]?.readable_metrics ?? {};
      assert.equal(view.files[0]?.record_count, 3);
      assert.deepEqual([m['id']?.value_count, m['id']?.null_value_count, m['id']?.lower_bound, m['id']?.upper_bound], [3, 0, 1, 3]);
      assert.deepEqual([m['name']?.null_value_count, m['name']?.lower_bound, m['name']?.upper_bound], [1, 'ada', 'bob']);
      assert.deepEqual([m['score']?.lower_bound, m['score']?.upper_bound], [-2, 1.5]);
      assert.deepEqual([m['active']?.lower_bound, m['active']?.upper_bound], [false, true]);
      assert.deepEqual([m['born']?.lower_bound, m['born']?.upper_bound], ['1990-01-02', '2000-12-31']);
      assert.deepEqual([m['seen_at']?.lower_bound, m['seen_at']?.upper_bound], ['2024-03-01T10:00:00+00:00', '2024-03-01T10:30:00.123456+00:00']);
      assert.deepEqual([m['local_at']?.lower_bound, m['local_at']?.upper_bound], ['1999-12-31T23:59:59.500000', '2024-03-01T10:00:00']);
      assert.deepEqual([m['amount']?.lower_bound, m['amount']?.upper_bound], ['-0.50', '12.34']);
      assert.ok((m['id']?.column_size ?? 0) > 0);
    });

    test('a second append (Parquet input) adds a child snapshot and keeps the first rows', async () => {
      const table = await h.catalog.loadTable('raw', 'people');
      const parent = table.currentSnapshot?.['snapshot-id'];
      const input = await h.parquet(
        'people-2.parquet',
        `SELECT i AS id, 'p' || i AS name, i * 0.5 AS score FROM range(10, 1010) t(i)`,
      );
      const result = await table.append({
        format: 'parquet',
        files: [input],
        columns: [
          { name: 'id', type: 'long' },
          { name: 'name', type: 'string' },
          { name: 'score', type: 'double' },
        ],
      });
      assert.equal(result.status, 'committed');
      assert.equal(result.schemaChanged, false);
      const view = await h.read('raw', 'people');
      assert.equal(view.rows.length, 1003);
      const rows = sortById(view.rows);
      assert.deepEqual(rows.slice(0, 3), expectedFirstRows);
      assert.deepEqual(rows[3], { id: 10, name: 'p10', score: 5, active: null, born: null, seen_at: null, local_at: null, amount: null, attrs: null });
      assert.equal(view.snapshots.length, 2);
      const s2 = view.snapshots[1];
      assert.equal(s2?.parent_snapshot_id, parent?.toString());
      assert.equal(s2?.sequence_number, 2);
      assert.equal(s2?.summary['added-records'], '1000');
      assert.equal(s2?.summary['total-records'], '1003');
      assert.equal(s2?.summary['total-data-files'], '2');
      const s1size = BigInt(view.snapshots[0]?.summary['total-files-size'] ?? '0');
      assert.equal(BigInt(s2?.summary['total-files-size'] ?? '0'), s1size + BigInt(s2?.summary['added-files-size'] ?? '0'));
    });

    test('overwrite replaces every row atomically and records what it deleted', async () => {
      const table = await h.catalog.loadTable('raw', 'people');
      const input = await h.ndjson('people-3.ndjson', [
        { id: 100, name: 'new', score: 0.25 },
        { id: 101, name: 'newer', score: 0.75 },
      ]);
      const result = await table.overwrite(
        { format: 'ndjson', files: [input], columns: columns.slice(0, 3) },
        { runId: 'run-2', taskId: 'load.people' },
      );
      assert.equal(result.status, 'committed');
      const view = await h.read('raw', 'people');
      assert.deepEqual(sortById(view.rows).map((r) => [r['id'], r['name'], r['score']]), [
        [100, 'new', 0.25],
        [101, 'newer', 0.75],
      ]);
      const s3 = view.snapshots[2];
      assert.equal(view.snapshots.length, 3);
      const addedSize = s3?.summary['added-files-size'];
      const removed = s3?.summary['removed-files-size'];
      assert.deepEqual(s3?.summary, {
        operation: 'overwrite',
        'added-data-files': '1',
        'added-records': '2',
        'added-files-size': addedSize,
        'deleted-data-files': '2',
        'deleted-records': '1003',
        'removed-files-size': removed,
        'changed-partition-count': '1',
        'total-records': '2',
        'total-files-size': addedSize,
        'total-data-files': '1',
        'total-delete-files': '0',
        'total-position-deletes': '0',
        'total-equality-deletes': '0',
        'sluice.run-id': 'run-2',
        'sluice.task-id': 'load.people',
      });
      assert.equal(removed, view.snapshots[1]?.summary['total-files-size']);
      // Only the committed file is live; the deleted ones remain for time travel.
      assert.equal(view.files.length, 1);
    });

    test('merge replaces matching keys, appends new ones, and resolves duplicate keys by the last record', async () => {
      const cols: ColumnSpec[] = [
        { name: 'id', type: 'long' },
        { name: 'v', type: 'string' },
      ];
      const table = await h.catalog.createTable('raw', 'kv', cols);
      // Three files with disjoint key ranges: 1..100, 101..200, 201..300.
      for (const start of [1, 101, 201]) {
        const rows = Array.from({ length: 100 }, (_, i) => ({ id: start + i, v: `old-${start + i}` }));
        await table.append({ format: 'ndjson', files: [await h.ndjson(`kv-${start}.ndjson`, rows)], columns: cols });
      }
      const batch1 = await h.ndjson('merge-a.ndjson', [
        { id: 150, v: 'first' },
        { id: 400, v: 'brand-new' },
        { id: 150, v: 'second' },
        { id: 400, v: 'brand-newer' },
      ]);
      const batch2 = await h.ndjson('merge-b.ndjson', [
        { id: 120, v: 'x' },
        { id: 150, v: 'last wins' },
      ]);
      const result = await table.merge(
        { format: 'ndjson', files: [batch1, batch2], columns: cols },
        { keys: ['id'], runId: 'run-3', taskId: 'load.kv' },
      );
      assert.equal(result.status, 'committed');
      assert.equal(result.mergeDuplicateRows, 3, 'six input rows, three keys');
      const view = await h.read('raw', 'kv');
      assert.equal(view.rows.length, 301);
      const byId = new Map(view.rows.map((r) => [r['id'], r['v']]));
      assert.equal(byId.get(150), 'last wins');
      assert.equal(byId.get(120), 'x');
      assert.equal(byId.get(400), 'brand-newer'); // duplicate within one file: the later line wins
      assert.equal(byId.get(1), 'old-1');
      assert.equal(byId.get(300), 'old-300');
      const summary = view.snapshots.at(-1)?.summary;
      // Key 400 lies in no file's bounds, 120 and 150 only in 101..200's: one file rewritten.
      assert.equal(summary?.['operation'], 'overwrite');
      assert.equal(summary?.['deleted-data-files'], '1');
      assert.equal(summary?.['deleted-records'], '100');
      assert.equal(summary?.['added-records'], '101');
      assert.equal(summary?.['total-records'], '301');
      assert.equal(summary?.['total-data-files'], '3');
      assert.equal(summary?.['sluice.merge-duplicate-rows'], '3');
      // A retry of the same load finds its commit, and the count with it.
      const again = await table.merge({ format: 'ndjson', files: [batch1, batch2], columns: cols }, { keys: ['id'], runId: 'run-3', taskId: 'load.kv' });
      assert.deepEqual([again.status, again.mergeDuplicateRows], ['already-committed', 3]);
    });

    test("merge rewrites no file whose bounds take in a batch's key it does not hold: the new keys are appended", async () => {
      const cols: ColumnSpec[] = [
        { name: 'id', type: 'long' },
        { name: 'v', type: 'string' },
      ];
      const table = await h.catalog.createTable('raw', 'sparse', cols);
      // One file of even keys 2..200: its bounds (2..200) take in every odd key, which it does not hold.
      const rows = Array.from({ length: 100 }, (_, i) => ({ id: 2 * (i + 1), v: `old-${2 * (i + 1)}` }));
      await table.append({ format: 'ndjson', files: [await h.ndjson('sparse.ndjson', rows)], columns: cols });
      const odd = await table.merge({ format: 'ndjson', files: [await h.ndjson('odd.ndjson', [{ id: 51, v: 'new' }, { id: 99, v: 'new' }])], columns: cols }, { keys: ['id'] });
      assert.equal(odd.status, 'committed');
      const view = await h.read('raw', 'sparse');
      // before: the file was rewritten whole, its 100 rows deleted and added again (QA round 23, on encrypted keys).
      assert.deepEqual(
        [view.snapshots.at(-1)?.summary['operation'], view.snapshots.at(-1)?.summary['deleted-data-files'], view.snapshots.at(-1)?.summary['added-records']],
        ['append', undefined, '2'],
      );
      assert.equal(view.rows.length, 102);
      // A batch that does hold one of its keys rewrites it.
      await table.merge({ format: 'ndjson', files: [await h.ndjson('even.ndjson', [{ id: 100, v: 'replaced' }])], columns: cols }, { keys: ['id'] });
      const after = await h.read('raw', 'sparse');
      assert.deepEqual([after.snapshots.at(-1)?.summary['operation'], after.snapshots.at(-1)?.summary['deleted-data-files']], ['overwrite', '1']);
      assert.equal(after.rows.length, 102);
      assert.equal(new Map(after.rows.map((r) => [r['id'], r['v']])).get(100), 'replaced');
    });

    test('merge keeps the last row of a key in a batch of many row groups', async () => {
      const cols: ColumnSpec[] = [
        { name: 'id', type: 'long' },
        { name: 'v', type: 'long' },
      ];
      const table = await h.catalog.createTable('raw', 'kv_big', cols);
      // 300,000 rows in source order (more than two Parquet row groups), each key 300 times: the last has v = 299,000 + id.
      const batch = await h.parquet('merge-big.parquet', 'SELECT i % 1000 AS id, i AS v FROM range(300000) t(i)');
      const result = await table.merge({ format: 'parquet', files: [batch], columns: cols }, { keys: ['id'] });
      assert.equal(result.mergeDuplicateRows, 299_000);
      const view = await h.read('raw', 'kv_big');
      assert.equal(view.rows.length, 1000);
      const wrong = view.rows.filter((r) => Number(r['v']) !== 299_000 + Number(r['id']));
      assert.deepEqual(wrong.slice(0, 3), [], `${wrong.length} keys kept another row than their last`);
    });

    test("merge keeps a key's newest row by the cursor, not the last read, and a row marked deleted removes its key (Airbyte's Append + Deduped; QA round 28)", async () => {
      const cols: ColumnSpec[] = [
        { name: 'id', type: 'long' },
        { name: 'updated_at', type: 'timestamptz' },
        { name: 'v', type: 'string' },
        { name: '_ab_cdc_deleted_at', type: 'timestamptz' },
      ];
      const table = await h.catalog.createTable('raw', 'cdc', cols);
      const at = (day: number): string => `2024-01-0${day}T00:00:00Z`;
      await table.append({ format: 'ndjson', files: [await h.ndjson('cdc-0.ndjson', [1, 2, 3, 4].map((id) => ({ id, updated_at: at(1), v: `old-${id}`, _ab_cdc_deleted_at: null })))], columns: cols });
      const batch = await h.ndjson('cdc-1.ndjson', [
        { id: 1, updated_at: at(5), v: 'newest', _ab_cdc_deleted_at: null },
        { id: 1, updated_at: at(3), v: 'older', _ab_cdc_deleted_at: null },
        // Deleted, then (by the cursor) made again: the newer row stands.
        { id: 2, updated_at: at(4), v: 'back', _ab_cdc_deleted_at: null },
        { id: 2, updated_at: at(2), v: null, _ab_cdc_deleted_at: at(2) },
        // Deleted last: the key leaves the table.
        { id: 3, updated_at: at(2), v: 'three', _ab_cdc_deleted_at: null },
        { id: 3, updated_at: at(3), v: null, _ab_cdc_deleted_at: at(3) },
        // A deletion of a key the table never had changes nothing; a row without a cursor value loses to one with it.
        { id: 9, updated_at: at(3), v: null, _ab_cdc_deleted_at: at(3) },
        { id: 4, updated_at: at(2), v: 'dated', _ab_cdc_deleted_at: null },
        { id: 4, updated_at: null, v: 'undated', _ab_cdc_deleted_at: null },
      ]);
      const result = await table.merge({ format: 'ndjson', files: [batch], columns: cols }, { keys: ['id'], newestBy: 'updated_at', deletedBy: '_ab_cdc_deleted_at', runId: 'run-cdc', taskId: 'load.cdc' });
      assert.deepEqual([result.status, result.mergeDuplicateRows, result.mergeDeletions], ['committed', 4, 2]);
      const view = await h.read('raw', 'cdc');
      assert.deepEqual(
        sortById(view.rows).map((r) => [r['id'], r['v']]),
        [
          [1, 'newest'],
          [2, 'back'],
          [4, 'dated'],
        ],
      );
      assert.equal(view.snapshots.at(-1)?.summary['sluice.merge-deletions'], '2');
      // Without the cursor, the last row read wins, as before.
      const plain = await table.merge({ format: 'ndjson', files: [await h.ndjson('cdc-2.ndjson', [{ id: 1, updated_at: at(9), v: 'a', _ab_cdc_deleted_at: null }, { id: 1, updated_at: at(8), v: 'b', _ab_cdc_deleted_at: null }])], columns: cols }, { keys: ['id'] });
      assert.equal(plain.mergeDeletions, 0);
      assert.equal(new Map((await h.read('raw', 'cdc')).rows.map((r) => [r['id'], r['v']])).get(1), 'b');
      // The rows deletions remove are counted apart from the keys deleted: a key the table does not
      // hold removes none (QA round 29: "2 keys deleted … their rows are removed", with none removed).
      const removal = await table.merge(
        {
          format: 'ndjson',
          files: [await h.ndjson('cdc-3.ndjson', [{ id: 1, updated_at: at(9), v: null, _ab_cdc_deleted_at: at(9) }, { id: 77, updated_at: at(9), v: null, _ab_cdc_deleted_at: at(9) }])],
          columns: cols,
        },
        { keys: ['id'], newestBy: 'updated_at', deletedBy: '_ab_cdc_deleted_at' },
      );
      assert.deepEqual([removal.mergeDeletions, removal.mergeDeletedRows], [2, 1]);
      const removed = await h.read('raw', 'cdc');
      assert.deepEqual(sortById(removed.rows).map((r) => r['id']), [2, 4]);
      assert.deepEqual([removed.snapshots.at(-1)?.summary['sluice.merge-deletions'], removed.snapshots.at(-1)?.summary['sluice.merge-deleted-rows']], ['2', '1']);
      await assert.rejects(table.merge({ format: 'ndjson', files: [batch], columns: cols }, { keys: ['id'], newestBy: 'nope' }), /newestBy: column nope is not in the data/);
    });

    test("merge on a cursor holding numbers' text orders a key's rows by the numbers (newestByNumber), a long's beyond a double's precision too", async () => {
      const cols: ColumnSpec[] = [
        { name: 'id', type: 'long' },
        { name: 'seq', type: 'string' },
        { name: 'v', type: 'string' },
      ];
      const table = await h.catalog.createTable('raw', 'text_cursor', cols);
      const rows = [
        // As text "10" < "9"; as numbers 10 wins, though read first.
        { id: 1, seq: '10', v: 'ten' },
        { id: 1, seq: '9', v: 'nine' },
        // 2^53 + 1 and 2^53: one double, two longs.
        { id: 2, seq: '9007199254740993', v: 'greater' },
        { id: 2, seq: '9007199254740992', v: 'lesser' },
        // Text that reads as no number sorts as a missing value: the number wins.
        { id: 3, seq: '5', v: 'five' },
        { id: 3, seq: 'n/a', v: 'none' },
      ];
      const long = await table.merge({ format: 'ndjson', files: [await h.ndjson('text-cursor-1.ndjson', rows)], columns: cols }, { keys: ['id'], newestBy: 'seq', newestByNumber: 'long' });
      assert.equal(long.mergeDuplicateRows, 3);
      assert.deepEqual(sortById((await h.read('raw', 'text_cursor')).rows).map((r) => [r['id'], r['v']]), [[1, 'ten'], [2, 'greater'], [3, 'five']]);
      const doubles = [
        { id: 4, seq: '1e+20', v: 'big' },
        { id: 4, seq: '99.5', v: 'small' },
      ];
      await table.merge({ format: 'ndjson', files: [await h.ndjson('text-cursor-2.ndjson', doubles)], columns: cols }, { keys: ['id'], newestBy: 'seq', newestByNumber: 'double' });
      assert.equal(new Map((await h.read('raw', 'text_cursor')).rows.map((r) => [r['id'], r['v']])).get(4), 'big');
    });

    test('merge on a date key in a year under 100 replaces its row (QA round 49b D1: the bounds put year 50 in 1950, the file was skipped, and the row was added again)', async () => {
      const cols: ColumnSpec[] = [
        { name: 'd', type: 'date' },
        { name: 'v', type: 'string' },
      ];
      const table = await h.catalog.createTable('raw', 'early_dates', cols);
      await table.merge({ format: 'ndjson', files: [await h.ndjson('early-1.ndjson', [{ d: '0050-01-01', v: 'a' }, { d: '2024-01-01', v: 'x' }])], columns: cols }, { keys: ['d'] });
      const second = await table.merge({ format: 'ndjson', files: [await h.ndjson('early-2.ndjson', [{ d: '0050-01-01', v: 'b' }])], columns: cols }, { keys: ['d'] });
      assert.equal(second.summary?.operation, 'overwrite', 'the file holding the key was rewritten');
      const rows = (await h.read('raw', 'early_dates')).rows.map((r) => [String(r['d']), r['v']]).sort();
      assert.deepEqual(rows, [
        ['0050-01-01', 'b'],
        ['2024-01-01', 'x'],
      ]);
    });

    test("merge rewrites a file another engine added without field ids by the table's name mapping: its other rows keep their values", async () => {
      const cols: ColumnSpec[] = [
        { name: 'id', type: 'long' },
        { name: 'v', type: 'string' },
        { name: 'note', type: 'string' },
      ];
      const table = await h.catalog.createTable('raw', 'imported', cols);
      await table.append({ format: 'ndjson', files: [await h.ndjson('imported-1.ndjson', [{ id: 1, v: 'ours', note: 'n1' }])], columns: cols }, { runId: 'run-1', taskId: 'load' });
      // A file written outside Iceberg, without the note column, as Spark's or PyIceberg's add_files takes it in.
      const added = await addFilesWithPyIceberg(h.db.url, 'raw', 'imported', kind === 's3', [
        { id: 10, v: 'a' },
        { id: 11, v: 'b' },
      ]);
      assert.ok(added.properties['schema.name-mapping.default'], 'add_files gave the table a name mapping');
      assert.equal(added.files.length, 2);

      const result = await (await h.catalog.loadTable('raw', 'imported')).merge(
        { format: 'ndjson', files: [await h.ndjson('imported-2.ndjson', [{ id: 10, v: 'a2', note: 'merged' }])], columns: cols },
        { keys: ['id'], runId: 'run-2', taskId: 'load' },
      );
      assert.equal(result.status, 'committed');
      const view = await h.read('raw', 'imported');
      assert.deepEqual(sortById(view.rows), [
        { id: 1, v: 'ours', note: 'n1' },
        { id: 10, v: 'a2', note: 'merged' },
        { id: 11, v: 'b', note: null },
      ]);
      assert.equal(view.snapshots.at(-1)?.summary['deleted-data-files'], '1', 'the added file was rewritten, not left beside the new key');
    });

    test("a column a write adds joins the table's name mapping: a file imported later with it keeps its values through a merge (QA round 57a F1)", async () => {
      const first: ColumnSpec[] = [
        { name: 'id', type: 'long' },
        { name: 'a', type: 'string' },
      ];
      const table = await h.catalog.createTable('raw', 'mapped_evolved', first);
      await table.append({ format: 'ndjson', files: [await h.ndjson('me-1.ndjson', [{ id: 1, a: 'a1' }])], columns: first });
      await addFilesWithPyIceberg(h.db.url, 'raw', 'mapped_evolved', kind === 's3', [{ id: 10, a: 'a10' }]);
      // The source adds b: the write adds the column, and the mapping with it.
      const second: ColumnSpec[] = [...first, { name: 'b', type: 'string' }];
      const evolved = await h.catalog.loadTable('raw', 'mapped_evolved');
      await evolved.merge({ format: 'ndjson', files: [await h.ndjson('me-2.ndjson', [{ id: 2, a: 'a2', b: 'b2' }])], columns: second }, { keys: ['id'] });
      // before: [{"names":["id"],"field-id":1},{"names":["a"],"field-id":2}], and PyIceberg could not scan the table once a file with b came.
      const imported = await addFilesWithPyIceberg(h.db.url, 'raw', 'mapped_evolved', kind === 's3', [
        { id: 20, a: 'a20', b: 'b20' },
        { id: 21, a: 'a21', b: 'b21' },
      ]);
      assert.deepEqual(
        (JSON.parse(imported.properties['schema.name-mapping.default'] ?? '[]') as Array<{ 'field-id': number; names: string[] }>).map((e) => [e['field-id'], e.names]),
        [[1, ['id']], [2, ['a']], [3, ['b']]],
      );
      await (await h.catalog.loadTable('raw', 'mapped_evolved')).merge(
        { format: 'ndjson', files: [await h.ndjson('me-3.ndjson', [{ id: 20, a: 'a20-upd', b: 'b20-upd' }])], columns: second },
        { keys: ['id'] },
      );
      // before: {id: 21, b: null}: the merge read the imported file's b by a mapping without it.
      assert.deepEqual(sortById((await h.read('raw', 'mapped_evolved')).rows), [
        { id: 1, a: 'a1', b: null },
        { id: 2, a: 'a2', b: 'b2' },
        { id: 10, a: 'a10', b: null },
        { id: 20, a: 'a20-upd', b: 'b20-upd' },
        { id: 21, a: 'a21', b: 'b21' },
      ]);
    });

    test('merge of a stream with columns named rowid and filename: the last row read wins, and a second merge rewrites the file (QA round 57a F2, F3)', async () => {
      const cols: ColumnSpec[] = [
        { name: 'id', type: 'long' },
        { name: 'rowid', type: 'long' },
        { name: 'filename', type: 'string' },
        { name: 'v', type: 'string' },
      ];
      const table = await h.catalog.createTable('raw', 'pseudo', cols);
      // before: DuckDB's rowid was the source's column, so the row with the larger rowid value won.
      const first = await h.ndjson('pseudo-1.ndjson', [
        { id: 1, rowid: 5, filename: 'f1', v: 'first-read' },
        { id: 1, rowid: 1, filename: 'f2', v: 'last-read' },
        { id: 2, rowid: null, filename: null, v: 'two' },
      ]);
      await table.merge({ format: 'ndjson', files: [first], columns: cols }, { keys: ['id'] });
      // before: "Option filename adds column "filename", but a column with this name is also in the file".
      const second = await h.ndjson('pseudo-2.ndjson', [{ id: 2, rowid: 7, filename: 'f-two', v: 'two-updated' }]);
      assert.equal((await table.merge({ format: 'ndjson', files: [second], columns: cols }, { keys: ['id'] })).status, 'committed');
      assert.deepEqual(sortById((await h.read('raw', 'pseudo')).rows), [
        { id: 1, rowid: 1, filename: 'f2', v: 'last-read' },
        { id: 2, rowid: 7, filename: 'f-two', v: 'two-updated' },
      ]);
    });

    test('merge whose keys match nothing appends without rewriting any file', async () => {
      const table = await h.catalog.loadTable('raw', 'kv');
      const input = await h.ndjson('merge-c.ndjson', [{ id: 1000, v: 'n' }]);
      const result = await table.merge({ format: 'ndjson', files: [input], columns: [{ name: 'id', type: 'long' }, { name: 'v', type: 'string' }] }, { keys: ['id'] });
      assert.equal(result.summary?.operation, 'append');
      assert.equal(result.summary?.['deleted-data-files'], undefined);
      const view = await h.read('raw', 'kv');
      assert.equal(view.rows.length, 302);
    });
  });
}
