import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ValidationError } from '@sluice/core';
import { withDuckDb } from './duckdb.ts';
import { dataFilesRelation, nameMappingAfter, nameMappingOf, NAME_MAPPING_PROPERTY } from './table-files.ts';
import type { IcebergField } from './types.ts';

const fields: IcebergField[] = [
  { id: 1, name: 'id', required: false, type: 'long' },
  { id: 2, name: 'label', required: false, type: 'string' },
  { id: 3, name: 'score', required: false, type: 'double' },
];

test('a name mapping is read from the table property; entries without a field id are left out', () => {
  assert.equal(nameMappingOf('raw.t', {}), undefined);
  const mapping = nameMappingOf('raw.t', {
    [NAME_MAPPING_PROPERTY]: '[{"field-id": 1, "names": ["id"]}, {"field-id": 2, "names": ["label", "name"]}, {"names": ["extra"]}]',
  });
  assert.deepEqual(mapping, new Map([[1, ['id']], [2, ['label', 'name']]]));
});

test('a name mapping that is not the spec\'s JSON is refused, naming the table and the property', () => {
  for (const [text, why] of [
    ['{', 'it is not JSON'],
    ['{"field-id": 1}', 'it is not a JSON list'],
    ['[3]', 'entry 0 is not an object'],
    ['[{"field-id": 1, "names": "id"}]', 'entry 0 has no list of names'],
    ['[{"field-id": 1, "names": ["id"]}, {"field-id": "2", "names": ["x"]}]', "entry 1's field-id is not an integer"],
  ]) {
    assert.throws(
      () => nameMappingOf('raw.t', { [NAME_MAPPING_PROPERTY]: text as string }),
      (err: unknown) => err instanceof ValidationError && err.message.includes(`raw.t's ${NAME_MAPPING_PROPERTY} is not a name mapping: ${why}`),
      text,
    );
  }
});

test('files with field ids are read by them, files without by the name mapping (an alias, a narrower type, a column missing)', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-table-files-'));
  try {
    const withIds = path.join(dir, 'with-ids.parquet');
    const withoutIds = path.join(dir, 'without-ids.parquet');
    const rows = await withDuckDb(async (c) => {
      // Written by an Iceberg writer when `label` was called `old_label`: read by field id, the name does not matter.
      await c.run(`COPY (SELECT 1::BIGINT AS id, 'a' AS old_label, 0.5::DOUBLE AS score) TO '${withIds}' (FORMAT parquet, FIELD_IDS {id: 1, old_label: 2, score: 3})`);
      // Written outside Iceberg: an int id, the label under its alias, no score.
      await c.run(`COPY (SELECT 2::INTEGER AS id, 'b' AS name) TO '${withoutIds}' (FORMAT parquet)`);
      const properties = { [NAME_MAPPING_PROPERTY]: '[{"field-id": 1, "names": ["id"]}, {"field-id": 2, "names": ["label", "name"]}, {"field-id": 3, "names": ["score"]}]' };
      const files = [
        { local: withIds, uri: 's3://w/raw/t/data/1.parquet' },
        { local: withoutIds, uri: 's3://w/raw/t/data/2.parquet' },
      ];
      const relation = await dataFilesRelation(c, 'raw.t', files, fields, properties, 'filename');
      const read = await c.runAndReadAll(`SELECT id, label, score, filename FROM (${relation}) ORDER BY id`);
      // Files that all have field ids do not need the mapping: one that is not valid is not read.
      const byId = await dataFilesRelation(c, 'raw.t', files.slice(0, 1), fields, { [NAME_MAPPING_PROPERTY]: '{' }, null);
      assert.equal(Number((await c.runAndReadAll(`SELECT count(*) FROM (${byId})`)).getRows()[0]?.[0]), 1);
      return read.getRowsJS();
    });
    assert.deepEqual(rows, [
      [1n, 'a', 0.5, withIds],
      [2n, 'b', null, withoutIds],
    ]);

    // Without a name mapping a file without field ids cannot be read right: refused, naming it.
    await assert.rejects(
      withDuckDb((c) => dataFilesRelation(c, 'raw.t', [{ local: withoutIds, uri: 's3://w/raw/t/data/2.parquet' }], fields, {}, null)),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.message.includes('s3://w/raw/t/data/2.parquet, a data file of raw.t, has no Iceberg field ids and the table has no name mapping'),
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test("a name mapping follows the schema: a field it lacks is added under its name, a name a replaced column held moves to its new id; nothing else changes", () => {
  const mapped = (text: string): Record<string, string> => ({ [NAME_MAPPING_PROPERTY]: text });
  assert.equal(nameMappingAfter({}, fields), undefined, 'no mapping, none made');
  const full = '[{"field-id": 1, "names": ["id"]}, {"field-id": 2, "names": ["label", "name"]}, {"field-id": 3, "names": ["score"]}]';
  assert.equal(nameMappingAfter(mapped(full), fields), undefined, 'up to date: unchanged');
  // A column added by a write (score, id 3) joins; an entry's other keys (nested fields) are kept.
  const added = nameMappingAfter(mapped('[{"field-id": 1, "names": ["id"]}, {"field-id": 2, "names": ["label"], "fields": []}]'), fields);
  assert.deepEqual(JSON.parse(added ?? 'null'), [
    { 'field-id': 1, names: ['id'] },
    { 'field-id': 2, names: ['label'], fields: [] },
    { 'field-id': 3, names: ['score'] },
  ]);
  // score replaced under a new id (an overwrite of another type): the name moves to it.
  const replaced = nameMappingAfter(mapped(full), [...fields.slice(0, 2), { id: 4, name: 'score', required: false, type: 'string' }]);
  assert.deepEqual(JSON.parse(replaced ?? 'null'), [
    { 'field-id': 1, names: ['id'] },
    { 'field-id': 2, names: ['label', 'name'] },
    { 'field-id': 3, names: [] },
    { 'field-id': 4, names: ['score'] },
  ]);
});

test('a file without field ids is read by the mapping as the schema has it: a column an earlier write did not map is read, not taken as nulls (QA round 57a F1)', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-table-files-'));
  try {
    const file = path.join(dir, 'imported.parquet');
    const rows = await withDuckDb(async (c) => {
      await c.run(`COPY (SELECT 7::BIGINT AS id, 'x' AS label, 2.5::DOUBLE AS score) TO '${file}' (FORMAT parquet)`);
      // The mapping of the table before `score` was added by a write that left it behind.
      const stale = { [NAME_MAPPING_PROPERTY]: '[{"field-id": 1, "names": ["id"]}, {"field-id": 2, "names": ["label"]}]' };
      const relation = await dataFilesRelation(c, 'raw.t', [{ local: file, uri: 'file:///w/raw/t/data/imported.parquet' }], fields, stale, null);
      return (await c.runAndReadAll(`SELECT id, label, score FROM (${relation})`)).getRowsJS();
    });
    assert.deepEqual(rows, [[7n, 'x', 2.5]]);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
