/**
 * Apache Spark with Iceberg's own Java library, on Sluice's SQL catalog as Iceberg's JdbcCatalog:
 * it reads every row Sluice committed (append, merge) as PyIceberg does; it writes the table
 * (ALTER TABLE … SET TBLPROPERTIES, INSERT), after which Sluice appends and merges again, merging
 * Spark's manifests into its own — on a
 * file:// warehouse, where Java writes `file:/…` locations (QA round 7, D1); and a table Spark
 * partitioned is refused by Sluice before anything is written (D4). Needs java, mvn and pyspark
 * (`test/requirements.txt`); the jars come from Maven Central once per pom version.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { ColumnSpec } from '@sluice/iceberg';
import { runPythonJson } from '../support/python.ts';
import { createHarness, type IcebergHarness } from './harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const pom = path.join(here, 'spark-fixture', 'pom.xml');

function sparkJars(): string {
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 12);
  const lib = path.join(os.tmpdir(), `sluice-iceberg-spark-fixture-${hash}`);
  if (!existsSync(path.join(lib, 'done'))) {
    const r = spawnSync('mvn', ['-q', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`fetching Iceberg's Spark runtime with Maven failed (needs java and mvn): ${r.stderr || r.stdout || String(r.error)}`);
    spawnSync('touch', [path.join(lib, 'done')]);
  }
  return lib;
}

type Row = Record<string, unknown>;
let h: IcebergHarness;
let jars: string;

before(async () => {
  jars = sparkJars();
  h = await createHarness('file');
});
after(async () => {
  await h.close();
});

/** Runs Spark SQL steps; answers the rows of the steps that ask for them. */
async function spark(steps: { sql: string; rows?: boolean }[]): Promise<(Row[] | null)[]> {
  const u = new URL(h.db.url);
  const request = {
    jars,
    jdbc_uri: `jdbc:postgresql://${u.host}${u.pathname}`,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    warehouse: `${h.store.rootUrl}/warehouse`,
    steps,
  };
  return (await runPythonJson(path.join(here, 'spark_session.py'), request, 'Spark')) as (Row[] | null)[];
}

const byId = (rows: Row[]): Row[] => [...rows].sort((a, b) => Number(a['id']) - Number(b['id']));
const cols: ColumnSpec[] = [
  { name: 'id', type: 'long' },
  { name: 'v', type: 'string' },
  { name: 'x', type: 'double' },
  { name: 'at', type: 'timestamptz' },
];

test("Spark reads what Sluice commits, writes the table itself, and Sluice goes on writing it; PyIceberg agrees", { timeout: 300_000 }, async () => {
  const table = await h.catalog.createTable('spark', 't', cols);
  const batch = (from: number, n: number, tag: string): Row[] =>
    Array.from({ length: n }, (_, i) => ({ id: from + i, v: `${tag}-${from + i}`, x: (from + i) / 4, at: `2024-03-0${1 + (i % 9)}T10:00:00Z` }));
  await table.append({ format: 'ndjson', files: [await h.ndjson('s1.ndjson', batch(1, 50, 'a'))], columns: cols });
  await table.merge({ format: 'ndjson', files: [await h.ndjson('s2.ndjson', batch(40, 20, 'm'))], columns: cols }, { keys: ['id'] });

  const [read, history] = await spark([
    { sql: 'SELECT id, v, x, CAST(at AS STRING) AS at FROM sluice.spark.t', rows: true },
    { sql: 'SELECT count(*) AS n FROM sluice.spark.t.snapshots', rows: true },
  ]);
  const py = await h.read('spark', 't');
  assert.equal(read?.length, 59);
  assert.deepEqual(
    byId(read ?? []).map((r) => [r['id'], r['v'], r['x']]),
    byId(py.rows).map((r) => [r['id'], r['v'], r['x']]),
    'Spark and PyIceberg read the same rows',
  );
  assert.equal(byId(read ?? []).find((r) => r['id'] === 45)?.['v'], 'm-45');
  assert.equal(history?.[0]?.['n'], 2);

  // Java's commits write file:/… locations into the catalog and the metadata (Hadoop paths).
  await spark([
    // Manifests merged at every commit from here (Iceberg's default waits for 100): Sluice's next
    // commits rewrite the manifests Spark wrote, which Spark and PyIceberg then read.
    { sql: "ALTER TABLE sluice.spark.t SET TBLPROPERTIES ('history.expire.min-snapshots-to-keep'='3', 'commit.manifest.min-count-to-merge'='2')" },
    { sql: "INSERT INTO sluice.spark.t VALUES (1000, 'spark-1000', 1.5, TIMESTAMP '2024-05-01 00:00:00')" },
  ]);
  const location = await h.db.prisma.$queryRaw<{ metadata_location: string }[]>`
    SELECT metadata_location FROM iceberg_tables WHERE table_namespace = 'spark' AND table_name = 't'`;
  assert.match(location[0]?.metadata_location ?? '', /^file:\/[^/]/, 'Java wrote a file:/ location');

  const again = await h.catalog.loadTable('spark', 't');
  await again.append({ format: 'ndjson', files: [await h.ndjson('s3.ndjson', batch(2000, 5, 'b'))], columns: cols });
  await again.merge({ format: 'ndjson', files: [await h.ndjson('s4.ndjson', [{ id: 1000, v: 'merged-1000', x: 2.5, at: null }])], columns: cols }, { keys: ['id'] });

  const [after] = await spark([{ sql: 'SELECT id, v, x FROM sluice.spark.t', rows: true }]);
  const pyAfter = await h.read('spark', 't');
  assert.equal(after?.length, 65);
  assert.deepEqual(byId(after ?? []).map((r) => [r['id'], r['v']]), byId(pyAfter.rows).map((r) => [r['id'], r['v']]));
  assert.equal(byId(after ?? []).find((r) => r['id'] === 1000)?.['v'], 'merged-1000');
  assert.equal(pyAfter.manifests.length, 1, JSON.stringify(pyAfter.manifests));
  // The first merge's file, through Spark's and Sluice's manifest merges: EXISTING, with its own snapshot and sequence number.
  const first = pyAfter.snapshots[1];
  assert.ok(
    pyAfter.entries.some((e) => e.status === 0 && e.snapshot_id === first?.snapshot_id && e.sequence_number === first.sequence_number),
    JSON.stringify(pyAfter.entries),
  );
  // Sluice's append and merge, Spark's insert (its ALTER TABLE makes no snapshot), Sluice's append and merge.
  assert.deepEqual(
    pyAfter.snapshots.map((s) => s.summary['operation']),
    ['append', 'overwrite', 'append', 'append', 'overwrite'],
  );
});

test('a table Spark partitioned is refused by Sluice before anything is written', { timeout: 300_000 }, async () => {
  await spark([
    { sql: 'CREATE NAMESPACE IF NOT EXISTS sluice.sparkpart' },
    { sql: 'CREATE TABLE sluice.sparkpart.t (id BIGINT, v STRING, x DOUBLE, at TIMESTAMP) USING iceberg PARTITIONED BY (days(at))' },
    { sql: "INSERT INTO sluice.sparkpart.t VALUES (1, 'spark', 0.5, TIMESTAMP '2024-01-01 00:00:00')" },
  ]);
  const table = await h.catalog.loadTable('sparkpart', 't');
  const filesBefore = await h.keys('');
  await assert.rejects(
    table.append({ format: 'ndjson', files: [await h.ndjson('p1.ndjson', [{ id: 2, v: 'sluice', x: 1, at: '2024-01-02T00:00:00Z' }])], columns: cols }),
    /sparkpart\.t is partitioned \(partition spec 0\); this writer writes unpartitioned tables only/,
  );
  assert.deepEqual(await h.keys(''), filesBefore, 'nothing written');
  const [rows] = await spark([{ sql: 'SELECT count(*) AS n FROM sluice.sparkpart.t WHERE at >= TIMESTAMP "2024-01-01 00:00:00"', rows: true }]);
  assert.equal(rows?.[0]?.['n'], 1, 'filtered reads of the table still work');
});

test("Spark's merge-on-read deletes: Sluice appends (keeping the delete totals), refuses to merge saying how to compact, and merges once Spark compacted them", { timeout: 300_000 }, async () => {
  const table = await h.catalog.createTable('sparkdel', 't', cols);
  const rowsOf = (from: number, n: number, tag: string): Row[] => Array.from({ length: n }, (_, i) => ({ id: from + i, v: `${tag}-${from + i}`, x: 1, at: null }));
  await table.append({ format: 'ndjson', files: [await h.ndjson('d1.ndjson', rowsOf(1, 20, 'a'))], columns: cols });
  await spark([
    {
      sql: "ALTER TABLE sluice.sparkdel.t SET TBLPROPERTIES ('write.delete.mode'='merge-on-read', 'write.update.mode'='merge-on-read', 'write.merge.mode'='merge-on-read', 'sluice.compaction.min-input-files'='2')",
    },
    { sql: 'DELETE FROM sluice.sparkdel.t WHERE id <= 5' },
  ]);
  const withDeletes = await h.catalog.loadTable('sparkdel', 't');
  const appended = await withDeletes.append({ format: 'ndjson', files: [await h.ndjson('d2.ndjson', rowsOf(100, 3, 'b'))], columns: cols });
  assert.equal(appended.summary?.['total-data-files'], '2', 'data files only');
  assert.equal(appended.summary?.['total-records'], '23', 'the data files hold 23 records (5 of them deleted)');
  assert.ok(Number(appended.summary?.['total-delete-files']) >= 1, "Spark's delete file counted as one");
  assert.equal(appended.summary?.['total-position-deletes'], '5', "carried from Spark's snapshot");
  // Two data files make a tier here, but compaction leaves a table with live delete files as it is.
  const compacted = await (await h.catalog.loadTable('sparkdel', 't')).compactDataFiles({ runId: 'run-c', taskId: 'load/compaction' });
  assert.equal(compacted.status, 'nothing-to-do');

  const merge = (file: string) =>
    h.catalog.loadTable('sparkdel', 't').then(async (t) => t.merge({ format: 'ndjson', files: [file], columns: cols }, { keys: ['id'] }));
  const update = await h.ndjson('d3.ndjson', [{ id: 10, v: 'merged-10', x: 2, at: null }]);
  await assert.rejects(merge(update), /sparkdel\.t has delete files \(merge-on-read deletes another engine wrote\).*rewrite_data_files/);

  await spark([
    { sql: "CALL sluice.system.rewrite_data_files(table => 'sparkdel.t', options => map('rewrite-all', 'true', 'remove-dangling-deletes', 'true'))" },
    { sql: "CALL sluice.system.rewrite_position_delete_files(table => 'sparkdel.t', options => map('rewrite-all', 'true'))" },
  ]);
  // Compaction leaves a delete manifest whose only entry is deleted: no delete file is live.
  assert.equal((await merge(update)).status, 'committed');
  const [rows] = await spark([{ sql: 'SELECT id, v FROM sluice.sparkdel.t', rows: true }]);
  assert.equal(rows?.length, 18);
  assert.equal(byId(rows ?? []).find((r) => r['id'] === 10)?.['v'], 'merged-10');
  assert.ok(!(rows ?? []).some((r) => Number(r['id']) <= 5), "Spark's deletes hold");
});
