import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../errors/index.ts';
import { parseCreateIngestJob } from './create-ingest-job.ts';
import { formatIssuePath } from './parse-request.ts';

const base = {
  name: 'github issues',
  source_name: 'source-github',
  source_config: { repositories: ['a/b'], credentials: { personal_access_token: 'ghp_x' } },
  schema_name: 'raw_github',
  mode: 'append',
};

function issuesOf(body: unknown): string[] {
  try {
    parseCreateIngestJob(body);
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected a ValidationError');
}

test('the minimal body gets the contract defaults', () => {
  const spec = parseCreateIngestJob(base);
  assert.equal(spec.archiveStaging, true);
  assert.equal(spec.addIngestionMetadata, true);
  assert.deepEqual(spec.streams, []);
  assert.equal(spec.schedule, null);
  assert.equal(spec.timezone, 'UTC');
  assert.deepEqual(spec.columnTransformations, []);
});

test('both transformation forms normalise to one stored shape', () => {
  const spec = parseCreateIngestJob({
    ...base,
    streams: ['users', 'orders'],
    column_transformations: [
      { column: 'email', stream: 'users', new_name: 'email_enc', encryption_key_name: 'pii' },
      { column: 'age', stream: 'users', transformation_type: 'cast', target_type: 'long' },
      { column: 'notes', transformation_type: 'drop' },
    ],
  });
  assert.deepEqual(spec.columnTransformations, [
    { column: 'email', stream: 'users', newName: 'email_enc', encryptionKeyName: 'pii', castTo: null, drop: false },
    { column: 'age', stream: 'users', newName: null, encryptionKeyName: null, castTo: 'long', drop: false },
    { column: 'notes', stream: null, newName: null, encryptionKeyName: null, castTo: null, drop: true },
  ]);
});

const rejected: [string, Record<string, unknown>, RegExp][] = [
  ['unknown mode', { ...base, mode: 'upsert' }, /^mode: /],
  ['empty name', { ...base, name: '  ' }, /^name: must not be empty/],
  ['bad namespace', { ...base, schema_name: 'raw-github' }, /^schema_name: must be a valid Iceberg namespace/],
  ['dotted namespace', { ...base, schema_name: 'a.b' }, /^schema_name: /],
  ['merge with append', { ...base, merge: 'id' }, /^merge: merge keys are only allowed with mode "merge"/],
  ['empty merge key', { ...base, mode: 'merge', merge: 'id,,x' }, /^merge: merge key 2 is empty/],
  ['cron with 4 fields', { ...base, schedule: '* * * *' }, /^schedule: .*4 fields/],
  ['cron out of range', { ...base, schedule: '61 * * * *' }, /^schedule: minute field/],
  ['bad time zone', { ...base, schedule: '0 * * * *', timezone: 'Mars/Base' }, /^timezone: /],
  ['unknown field', { ...base, colour: 'red' }, /^colour: unknown field/],
  ['wrong type', { ...base, streams: 'users' }, /^streams: /],
  ['null archive_staging', { ...base, archive_staging: null }, /^archive_staging: /],
  ['stream not selected', { ...base, streams: ['users'], column_transformations: [{ column: 'a', new_name: 'b' }, { column: 'a', stream: 'orders', new_name: 'b' }] }, /^column_transformations\[1\]\.stream: stream "orders" is not among/],
  ['neither new_name nor key', { ...base, column_transformations: [{ column: 'a', stream: 's' }] }, /^column_transformations\[0\]: needs new_name, encryption_key_name or target_type/],
  ['unknown transformation field', { ...base, column_transformations: [{ column: 'a', new_name: 'b', colour: 1 }] }, /^column_transformations\[0\]\.colour: unknown field/],
  ['cast without target_type', { ...base, column_transformations: [{ column: 'a', transformation_type: 'cast' }] }, /^column_transformations\[0\]\.target_type: required/],
  ['bad target_type', { ...base, column_transformations: [{ column: 'a', transformation_type: 'cast', target_type: 'varchar' }] }, /^column_transformations\[0\]\.target_type: /],
  ['duplicate target', { ...base, column_transformations: [{ column: 'a', new_name: 'x' }, { column: 'b', stream: 's', new_name: 'x' }] }, /^column_transformations\[1\]\.new_name: duplicate target column "x" in stream "s"/],
  ['rename onto a renamed column', { ...base, column_transformations: [{ column: 'a', new_name: 'b' }, { column: 'b', transformation_type: 'cast', target_type: 'long' }] }, /^column_transformations\[1\]\.column: duplicate target column "b"/],
  // QA round 54a F3: the entry names the column by its new name, and is told to name its source one.
  [
    'encrypting a renamed column by its new name',
    { ...base, column_transformations: [{ column: 'email', new_name: 'mail' }, { column: 'mail', encryption_key_name: 'pii' }] },
    /^column_transformations\[1\]\.column: duplicate target column "mail" in every stream: column "email" \(column_transformations\[0\]\) is also named "mail"\. Transformations name the source's columns: to encrypt the column renamed to "mail", give "column": "email" here \(a rename and another change of one column both apply\)$/,
  ],
  [
    'targets that differ only in case',
    { ...base, column_transformations: [{ column: 'a', stream: 's', new_name: 'x' }, { column: 'b', stream: 's', new_name: 'X' }] },
    /^column_transformations\[1\]\.new_name: duplicate target column "X" in stream "s": column "a" \(column_transformations\[0\]\) is also named "x" \(DuckDB, Trino and Spark ignore the case of column names\)$/,
  ],
  ['rename onto metadata in another case', { ...base, column_transformations: [{ column: 'a', new_name: 'Ingestion_Time' }] }, /^column_transformations\[0\]\.new_name: "Ingestion_Time" is the ingestion metadata column "ingestion_time"/],
  ['rename onto metadata', { ...base, column_transformations: [{ column: 'a', new_name: 'ingestion_time' }] }, /^column_transformations\[0\]\.new_name: "ingestion_time" is an ingestion metadata column/],
  // Contradictions across entries (before: accepted, the drop or the last entry won; QA round 25).
  [
    'a drop and a rename of one column',
    { ...base, column_transformations: [{ column: 'name', stream: 'users', transformation_type: 'drop' }, { column: 'name', stream: 'users', new_name: 'nm' }] },
    /^column_transformations\[1\]: column "name" is dropped by column_transformations\[0\] in stream "users": it cannot also be renamed, encrypted or cast$/,
  ],
  [
    'a rename for every stream, then a drop in one',
    { ...base, column_transformations: [{ column: 'name', new_name: 'nm' }, { column: 'name', stream: 'users', drop: true }] },
    /^column_transformations\[1\]\.drop: column "name" is renamed, encrypted or cast by column_transformations\[0\] in stream "users": it cannot also be dropped$/,
  ],
  [
    'two casts of one column',
    { ...base, column_transformations: [{ column: 'amount', transformation_type: 'cast', target_type: 'string' }, { column: 'amount', transformation_type: 'cast', target_type: 'long' }] },
    /^column_transformations\[1\]\.target_type: column "amount" is already cast to string by column_transformations\[0\] in every stream$/,
  ],
  [
    'two keys for one column',
    { ...base, column_transformations: [{ column: 'email', stream: 'users', encryption_key_name: 'k1' }, { column: 'email', encryption_key_name: 'k2' }] },
    /^column_transformations\[1\]\.encryption_key_name: column "email" is already encrypted with key "k1" by column_transformations\[0\] in stream "users"$/,
  ],
];

for (const [what, body, expected] of rejected) {
  test(`rejects: ${what}`, () => {
    const issues = issuesOf(body);
    assert.ok(issues.some((i) => expected.test(i)), `got ${JSON.stringify(issues)}`);
  });
}

test('one column renamed, encrypted and cast by separate entries, and an entry given twice, are one change', () => {
  const spec = parseCreateIngestJob({
    ...base,
    column_transformations: [
      { column: 'email', new_name: 'mail' },
      { column: 'email', encryption_key_name: 'pii' },
      { column: 'email', stream: 's', encryption_key_name: 'pii' },
      { column: 'age', transformation_type: 'cast', target_type: 'long' },
      { column: 'age', transformation_type: 'cast', target_type: 'long' },
    ],
  });
  assert.equal(spec.columnTransformations.length, 5);
});

test('renaming onto a metadata column is fine without the metadata columns', () => {
  const spec = parseCreateIngestJob({ ...base, add_ingestion_metadata: false, column_transformations: [{ column: 'a', new_name: 'ingestion_time' }] });
  assert.equal(spec.columnTransformations[0]?.newName, 'ingestion_time');
});

test('a required field left out is said to be required, not to be of the wrong type (QA round 25)', () => {
  const { name: _name, mode: _mode, ...rest } = base;
  assert.deepEqual(issuesOf(rest), ['name: is required', 'mode: is required']);
  assert.match(issuesOf({ ...base, name: 5 })[0] ?? '', /^name: must be a string$/);
});

test('every bad field is listed, not only the first', () => {
  const issues = issuesOf({ ...base, name: '', mode: 'x', schema_name: '1 2' });
  assert.equal(issues.length, 3, JSON.stringify(issues));
});

test('error messages never echo a rejected source_config value', () => {
  const issues = issuesOf({ ...base, source_config: 'canary-secret-123' });
  assert.ok(!issues.join(' ').includes('canary'));
});

test('issue paths use brackets for indexes', () => {
  assert.equal(formatIssuePath(['column_transformations', 1, 'stream']), 'column_transformations[1].stream');
});

test('source_config may nest 64 levels (the object is level 1), not 65; any depth is refused without recursion', () => {
  /** `levels` nested containers: the outer object, then arrays and objects in turn. */
  const nested = (levels: number): Record<string, unknown> => {
    let v: unknown = 'leaf';
    for (let i = 1; i < levels; i++) v = i % 2 === 0 ? { k: v } : [v];
    return { x: v };
  };
  assert.doesNotThrow(() => parseCreateIngestJob({ ...base, source_config: nested(64) }));
  assert.deepEqual(issuesOf({ ...base, source_config: nested(65) }), ['source_config: nested deeper than 64 levels']);
  // Far past any stack: a JSON.parse'd body of this depth overflows every recursive walk.
  assert.deepEqual(issuesOf({ ...base, source_config: nested(300_000) }), ['source_config: nested deeper than 64 levels']);
  // Wide is fine: depth, not size, is limited.
  assert.doesNotThrow(() => parseCreateIngestJob({ ...base, source_config: { list: Array.from({ length: 10_000 }, (_, i) => ({ i })) } }));
});

test('streams that would load one table are refused together, naming both and the table', () => {
  assert.deepEqual(issuesOf({ ...base, streams: ['Users', 'orders', 'users'] }), [
    'streams: streams "Users" and "users" would both load table "users" (table names are lower-case, other characters become _): select one of them',
  ]);
  assert.deepEqual(issuesOf({ ...base, streams: ['order-items', 'order_items'] }), [
    'streams: streams "order-items" and "order_items" would both load table "order_items" (table names are lower-case, other characters become _): select one of them',
  ]);
  assert.deepEqual(parseCreateIngestJob({ ...base, streams: ['users', 'orders.v2'] }).streams, ['users', 'orders.v2']);
});

test("a source's stream and column names are taken exactly as sent, spaces included; blank ones are refused (QA round 55c F2: \"email \" encrypted \"email\")", () => {
  const spec = parseCreateIngestJob({
    ...base,
    streams: [' spaced '],
    column_transformations: [{ column: 'email ', stream: ' spaced ', encryption_key_name: 'pii' }],
  });
  assert.deepEqual(spec.streams, [' spaced ']);
  assert.equal(spec.columnTransformations[0]?.column, 'email ');
  assert.equal(spec.columnTransformations[0]?.stream, ' spaced ');
  assert.deepEqual(issuesOf({ ...base, streams: ['  '], column_transformations: [{ column: ' ', new_name: 'x' }] }), [
    'streams[0]: must not be empty',
    'column_transformations[0].column: must not be empty',
  ]);
  // A name Sluice makes has no spaces to keep: it is refused, not trimmed.
  assert.match(issuesOf({ ...base, column_transformations: [{ column: 'email', new_name: ' mail' }] })[0] ?? '', /^column_transformations\[0\]\.new_name: must be a plain column name/);
});

test('an owner and a tag are at most 255 characters, said as such (QA round 55c F1: a 3,000-character owner failed as a 500)', () => {
  assert.deepEqual(issuesOf({ ...base, owner_id: 'o'.repeat(256), tags: ['pii', 't'.repeat(256)] }), [
    'tags[1]: must be at most 255 characters',
    'owner_id: must be at most 255 characters',
  ]);
  const spec = parseCreateIngestJob({ ...base, owner_id: 'o'.repeat(255), tags: ['t'.repeat(255)] });
  assert.equal(spec.ownerId?.length, 255);
});

test('an issue that quotes a huge value is cut in the error, saying how long it was; the issue itself keeps it (QA round 55c F6: 100 KB errors)', () => {
  try {
    parseCreateIngestJob({ ...base, schedule: '@daily', timezone: 'x'.repeat(100_000) });
    assert.fail('expected a ValidationError');
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    assert.ok(err.message.length < 2_100, `${err.message.length} characters`);
    assert.match(err.message, /^timezone: "?x{100}/);
    assert.match(err.message, /… \(cut: 100,\d{3} characters\)$/);
    assert.ok((err.issues[0]?.message.length ?? 0) > 100_000);
  }
});
